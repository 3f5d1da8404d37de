"""Turning validation errors into one clear line each: file, key path, value, expectation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import datetime
import difflib
import json
import re
from typing import Any, Iterator, get_args, get_origin

from pydantic import BaseModel

from loansim.distributions import DIST_NAMES

ECHO_LIMIT = 80  # characters of a value, key or name a message echoes; more is cut with "…"
_SHOW_DEPTH = 8
_LIST_ITEMS_SHOWN = 3  # of many items of one list wrong the same way, the first few are named
_TYPE_LABEL = re.compile(r"^(str|int|float|bool|none|(list|dict|tuple|set|literal)\[.*\]|[A-Z]\w*)$")  # tables and lists deeper than this inside a value are shown as "…"

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
    "string_too_long": "must be at most {max_length} characters long",
    "string_pattern_mismatch": "must be letters, digits, spaces, '_', '-' or '.', and not start with '.', '-' or a space",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "missing": "is required but missing",
    "union_tag_invalid": "dist must be one of: " + ", ".join(DIST_NAMES),
    "union_tag_not_found": "a distribution needs a number or a table with a dist key (one of: " + ", ".join(DIST_NAMES) + ")",
}


def format_errors(errors: Sequence[Mapping[str, Any]], data: Any, prefix: tuple[str, ...], model: type[BaseModel],
                  origins: dict[str, str], file: str) -> list[str]:
    """One line per mistake, for the errors pydantic reports on `data`; of many items of one
    list wrong the same way, the first few and a count of the rest."""
    lines: list[str] = []
    alike: dict[tuple[Any, ...], int] = {}
    for error in one_per_mistake(errors, data):
        loc = error["loc"]
        if loc and isinstance(loc[-1], int):
            group = (*loc[:-1], error["type"])
            alike[group] = alike.get(group, 0) + 1
            if alike[group] > _LIST_ITEMS_SHOWN:
                continue
        lines.append(format_error(error, data, prefix, model, origins, file))
    for group, count in alike.items():
        if count > _LIST_ITEMS_SHOWN:
            path = ".".join((*prefix, *_real_keys(data, group[:-1])))
            lines.append(f"{_origin(origins, path, file)}: {clip_key(path)}: {count - _LIST_ITEMS_SHOWN:,} more items are wrong in the same way")
    return lines


def format_error(error: Mapping[str, Any], data: Any, prefix: tuple[str, ...], model: type[BaseModel], origins: dict[str, str], file: str) -> str:
    """One line for one pydantic error: origin file, dotted key, value written, what was expected."""
    keys = _real_keys(data, error["loc"])
    path = ".".join((*prefix, *keys)) or "(top level)"
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, data, keys[:-1])
        hint = did_you_mean(keys[-1], allowed)
        message = f"unknown key{hint}; expected one of: {', '.join(allowed)}" if allowed else "unknown key"
    elif kind == "literal_error":  # pydantic writes the choices already quoted: 'all' or 'past_miss'
        message = f"must be {ctx['expected']}"
    elif kind == "union_type":  # made by one_per_mistake from the errors of every member
        expected = ctx["expected"]
        message = "must be " + (f"{', '.join(expected[:-1])} or {expected[-1]}" if len(expected) > 1 else expected[0])
    elif kind in ("too_short", "too_long"):
        n = ctx["min_length" if kind == "too_short" else "max_length"]
        message = f"must have {'at least' if kind == 'too_short' else 'at most'} {n} item{'' if n == 1 else 's'}"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind].format(**{k: _limit(v) for k, v in ctx.items()})
    else:
        message = clip_quoted(error["msg"].removeprefix("Value error, "))
    written = error.get("input", 0)
    if kind in ("int_type", "int_from_float") and isinstance(written, float) and written.is_integer() and abs(written) < 1e16:
        message += f" (write {int(written)})"
    if kind == "missing":  # blame whoever wrote the table the key is missing from
        return f"{_origin(origins, path, file)}: {clip_key(path)}: {message}"
    if written is None or (isinstance(written, dict) and "dist" not in written and kind == "value_error"):
        return f"{_origin(origins, path, file)}: {clip_key(path)}: {message}"  # nothing written there, or a whole table
    return problem(origins, file, path, error.get("input"), message)


def one_per_mistake(errors: Sequence[Mapping[str, Any]], data: Any) -> list[Mapping[str, Any]]:
    """The errors with those of a union type (``str | float | list[float]``) merged: pydantic
    reports one error per member the value failed, for what is one mistake.

    A value of a member's container type (a list for ``list[float]``) keeps that member's
    errors inside it (``.1 = "x": must be a number``); any other value gets one error that
    lists what the members accept.
    """
    groups: dict[tuple[Any, ...], dict[str, list[Mapping[str, Any]]]] = {}
    order: list[tuple[Any, ...] | int] = []
    for i, error in enumerate(errors):
        at = _member_at(data, error["loc"], error["type"])
        if at is None:
            order.append(i)
            continue
        where = tuple(error["loc"][:at])
        if where not in groups:
            groups[where] = {}
            order.append(where)
        groups[where].setdefault(error["loc"][at], []).append(error)
    out: list[Mapping[str, Any]] = []
    for item in order:
        if isinstance(item, int):
            out.append(errors[item])
            continue
        members = groups[item]
        if len(members) == 1:
            out += next(iter(members.values()))
            continue
        inside = [e for found in members.values() for e in found if len(e["loc"]) > len(item) + 1]
        if inside:
            first = next(found for found in members.values() if any(len(e["loc"]) > len(item) + 1 for e in found))
            out += [e for e in first if len(e["loc"]) > len(item) + 1]
            continue
        expected = [_MESSAGES.get(found[0]["type"], "valid").removeprefix("must be ") for found in members.values()]
        first_error = next(iter(members.values()))[0]
        out.append({"type": "union_type", "loc": item, "input": first_error.get("input"), "ctx": {"expected": expected}})
    return out


def _member_at(data: Any, loc: tuple[Any, ...], kind: str) -> int | None:
    """Where in `loc` pydantic names the member of a union type, if it does: a name that is
    not a key of the value it stands on: a name on a value that is not a table, or a type's
    name (``str``, ``list[float]``, a model's class name) on a table."""
    node = data
    for i, part in enumerate(loc):
        if kind == "missing" and i == len(loc) - 1:
            return None
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and part.startswith("function-"):
            continue
        elif isinstance(part, str) and (not isinstance(node, dict) or _TYPE_LABEL.match(part)):
            return i
        else:
            return None
    return None


def problem(origins: dict[str, str], file: str, path: str, value: Any, message: str) -> str:
    """``file: key.path = value: message``, naming the file that set the key."""
    return f"{_origin(origins, path, file)}: {clip_key(path)} = {show(value)}: {message}"


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
        found = _model_of(annotation, node)
        if found is None:
            return []
        model = found
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(node, dict) and node.get("dist") in DIST_NAMES:
        from loansim import distributions as d

        models: dict[str, type[BaseModel]] = {"fixed": d.Fixed, "uniform": d.Uniform, "normal": d.Normal, "lognormal": d.LogNormal, "beta": d.Beta}
        return models[node["dist"]]
    return None


def did_you_mean(word: str, choices: Any) -> str:
    """A ``(did you mean 'x'?)`` hint when a choice is close to `word`, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def show(value: Any) -> str:
    """A value as it would be written in TOML (strings quoted, tables inline), cut after
    ``ECHO_LIMIT`` characters: ``"aaaa…" (100,000 characters)``."""
    if isinstance(value, str) and len(value) > ECHO_LIMIT:
        return json.dumps(value[:ECHO_LIMIT])[:-1] + f'…" ({len(value):,} characters)'
    pieces, length = [], 0
    for piece in _pieces(value, 0):
        pieces.append(piece)
        length += len(piece)
        if length > ECHO_LIMIT:
            size = f"{len(value):,} items" if isinstance(value, list) else f"{len(value):,} keys" if isinstance(value, dict) else f"{length:,}+ characters"
            return "".join(pieces)[:ECHO_LIMIT] + f"… ({size})"
    return "".join(pieces)


def _pieces(value: Any, depth: int) -> Iterator[str]:
    """The text of `value` in pieces, so that a huge value is never written out whole."""
    if isinstance(value, (dict, list)) and depth >= _SHOW_DEPTH:
        yield "…"
    elif isinstance(value, dict):
        yield "{"
        for i, (k, v) in enumerate(value.items()):
            yield f"{', ' if i else ''}{k} = "
            yield from _pieces(v, depth + 1)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for i, v in enumerate(value):
            if i:
                yield ", "
            yield from _pieces(v, depth + 1)
        yield "]"
    elif isinstance(value, bool):
        yield "true" if value else "false"
    elif isinstance(value, float):
        yield repr(value)  # as written: 36.0 stays 36.0, 1e+300 stays short
    elif isinstance(value, str):
        yield json.dumps(value)
    elif isinstance(value, (datetime.date, datetime.time)):
        yield value.isoformat()
    else:
        yield str(value)


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as it is, or its first `limit` characters, ``…`` and its length."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def clip_key(path: str) -> str:
    """A dotted key path with each overlong key in it cut (the keys around it stay whole)."""
    return ".".join(clip(part, ECHO_LIMIT // 2) for part in path.split("."))


def clip_quoted(message: str) -> str:
    """`message` with each quoted name or value in it cut to ``ECHO_LIMIT`` characters."""
    return re.sub(r"'[^'\n]{%d,}'" % (ECHO_LIMIT + 1), lambda m: f"'{m.group()[1:ECHO_LIMIT + 1]}…' ({len(m.group()) - 2:,} characters)", message)


def _limit(value: Any) -> str:
    """A bound of a range as the README writes it: 1000000000, not 1000000000.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else f"{value:g}"
    return show(value)
