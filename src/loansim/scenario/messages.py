"""Turning validation errors into one clear line each: file, key path, value, expectation."""

from __future__ import annotations

import difflib
import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from loansim.distributions import DIST_NAMES

_MESSAGES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number (not inf or nan)",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must be letters, digits, spaces, '_', '-' or '.', and not start with '.', '-' or a space",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "missing": "is required but missing",
    "union_tag_invalid": "dist must be one of: " + ", ".join(DIST_NAMES),
    "union_tag_not_found": "a distribution needs a number or a table with a dist key (one of: " + ", ".join(DIST_NAMES) + ")",
}


def format_error(error: dict[str, Any], data: Any, prefix: tuple[str, ...], model: type[BaseModel], origins: dict[str, str], file: str) -> str:
    """One line for one pydantic error: origin file, dotted key, value written, what was expected."""
    keys = _real_keys(data, error["loc"])
    path = ".".join((*prefix, *keys)) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, data, keys[:-1])
        hint = did_you_mean(keys[-1], allowed)
        message = f"unknown key{hint}; expected one of: {', '.join(allowed)}" if allowed else "unknown key"
    elif kind == "literal_error":  # pydantic writes the choices already quoted: 'all' or 'past_miss'
        message = f"must be {error['ctx']['expected']}"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind].format(**{k: show(v) for k, v in error.get("ctx", {}).items()})
    else:
        message = error["msg"].removeprefix("Value error, ")
    written = error.get("input", 0)
    if kind == "missing":  # blame whoever wrote the table the key is missing from
        return f"{_origin(origins, path, file)}: {path}: {message}"
    if written is None or (isinstance(written, dict) and "dist" not in written and kind == "value_error"):
        return f"{_origin(origins, path, file)}: {path}: {message}"  # nothing written there, or a whole table
    return problem(origins, file, path, error.get("input"), message)


def problem(origins: dict[str, str], file: str, path: str, value: Any, message: str) -> str:
    """``file: key.path = value: message``, naming the file that set the key."""
    return f"{_origin(origins, path, file)}: {path} = {show(value)}: {message}"


def _origin(origins: dict[str, str], path: str, default: str) -> str:
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        source = origins.get(".".join(parts[:n]))
        if source is not None:
            return source
    return default


def _real_keys(data: Any, loc: tuple[Any, ...]) -> list[str]:
    """The parts of a pydantic error location that are keys of the input data.

    Pydantic puts validator and union-tag names into locations; walking the input data
    keeps only what the user wrote.
    """
    keys: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            keys.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            keys.append(str(part))
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in DIST_NAMES and not part.startswith("function-"):
            keys.append(part)  # a missing key: name it
            node = None
    return keys


def _allowed_keys(model: type[BaseModel], data: Any, keys: list[str]) -> list[str]:
    """Keys a table at `keys` below `model` accepts (for 'did you mean' hints)."""
    node, keys = data, list(keys)
    while keys:
        key = keys.pop(0)
        field = model.model_fields.get(key)
        node = node.get(key) if isinstance(node, dict) else None
        if field is None:
            return []
        annotation = field.annotation
        if get_origin(annotation) is dict and keys:  # a table of named tables, e.g. shocks.<name>
            annotation = get_args(annotation)[1]
            node = node.get(keys.pop(0)) if isinstance(node, dict) else None
        model = _model_of(annotation, node)
        if model is None:
            return []
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(node, dict) and node.get("dist") in DIST_NAMES:
        from loansim import distributions as d

        return {"fixed": d.Fixed, "uniform": d.Uniform, "normal": d.Normal, "lognormal": d.LogNormal, "beta": d.Beta}[node["dist"]]
    return None


def did_you_mean(word: str, choices: Any) -> str:
    """A ``(did you mean 'x'?)`` hint when a choice is close to `word`, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def show(value: Any) -> str:
    """A value as it would be written in TOML (strings quoted, tables inline)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else f"{value:g}"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)
