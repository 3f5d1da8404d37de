"""Scenario files: schema, loading, ``extends``, ``--set`` overrides and clear errors.

A scenario is one TOML file with these tables (the README's scenario reference lists
every key with its unit and default)::

    name, description, extends
    [run]        seed, months, replications
    [portfolio]  borrowers, principal, apr, term_months
    [borrowers]  income, employment, spending, savings, forgetting
    [economy]    job-loss and job-finding hazards
    [lender]     default and charge-off thresholds, recoveries
    [policies.<name>]  one table per enabled lender policy

``extends = "baseline.toml"`` (relative to the file) inherits another scenario; tables
merge key by key, except that a distribution table (one with a ``dist`` key) replaces the
inherited one whole. A bad file never starts a run: ``ScenarioError`` names the file that
set the value, the dotted key path, the value and what was expected.

A scenario file is UTF-8 text (a leading byte-order mark is allowed) whose tables and
lists nest at most ``MAX_NESTING`` levels deep.
"""

from __future__ import annotations

import errno
import re
import stat
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from loansim.errors import ScenarioError
from loansim.limits import budget_problems
from loansim.policies import REGISTRY, PolicyParams
from loansim.scenario.messages import clip, did_you_mean, format_errors, problem, show
from loansim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "load_scenario_and_files", "load_scenario_variants", "validate_scenario"]


Override = str | tuple[str, str]

MAX_NESTING = 20
"""Most tables and lists a scenario may nest inside each other (the deepest key a scenario
has, ``policies.collections.stages.<name>.entry_dpd``, sits in 4 tables)."""
BOM = b"\xef\xbb\xbf"


def load_scenario(path: str | Path, overrides: Sequence[Override] = ()) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file.

    Each override is ``"key.path=value"`` (reported as coming from ``--set``) or a pair
    ``(source, "key.path=value")`` naming where it came from, e.g. ``("--seed", "run.seed=7")``.
    """
    return load_scenario_and_files(path, overrides)[0]


def load_scenario_and_files(path: str | Path, overrides: Sequence[Override] = ()) -> tuple[Scenario, list[str]]:
    """``load_scenario``, and the files the scenario was built from (the named file first,
    then each file it extends in turn)."""
    path = Path(path)
    raw, origins, files = _load_merged(path)
    return _overridden(path, raw, origins, overrides), files


def load_scenario_variants(path: str | Path, overrides: Sequence[Override],
                           variants: Sequence[Sequence[Override]]) -> tuple[list[Scenario], list[str]]:
    """The scenario in `path` with `overrides`, once for each list of further overrides in
    `variants` (a sweep's points), reading its files once; and the files it was built from."""
    import copy

    path = Path(path)
    raw, origins, files = _load_merged(path)
    return [_overridden(path, copy.deepcopy(raw), dict(origins), [*overrides, *extra]) for extra in variants], files


def _overridden(path: Path, raw: dict[str, Any], origins: dict[str, str], overrides: Sequence[Override]) -> Scenario:
    """The merged data `raw` of the file `path` with `overrides` applied, validated."""
    for override in overrides:
        source, item = override if isinstance(override, tuple) else ("--set", override)
        key, value = _parse_override(item, source)
        for created in _set_path(raw, key, value, str(path), source):
            origins[created] = source
    raw.setdefault("name", path.stem)
    return validate_scenario(raw, origins, str(path))


def validate_scenario(raw: dict[str, Any], origins: dict[str, str] | None = None, file: str = "<scenario>") -> Scenario:
    """Validate plain scenario data; raise ``ScenarioError`` listing every problem."""
    origins = origins or {}
    core = {k: v for k, v in raw.items() if k != "policies"}
    policies_raw = raw.get("policies", {})
    problems: list[str] = []
    if not isinstance(policies_raw, dict):
        problems.append(problem(origins, file, "policies", policies_raw, "must be a table of [policies.<name>] tables"))
        policies_raw = {}
    try:
        scenario = Scenario.model_validate(core)
    except ValidationError as exc:
        scenario = None
        problems += format_errors(list(exc.errors()), core, (), Scenario, origins, file)
    policies: dict[str, PolicyParams] = {}
    for name, table in policies_raw.items():
        params = _validate_policy(name, table, origins, file, problems)
        if params is not None and params.enabled:
            policies[name] = params
    if scenario is not None and not problems:
        for name, params in policies.items():
            for key, value, message in REGISTRY[name].check(params, scenario, policies):
                problems.append(problem(origins, file, f"policies.{name}.{key}", value, message))
    if scenario is not None and not problems:  # the amounts the keys allow together must fit int64 cents
        for key, value, message in budget_problems(scenario, policies):
            problems.append(problem(origins, file, key, value, message))
    if problems:
        raise ScenarioError("\n".join(problems))
    assert scenario is not None
    return scenario.model_copy(update={"policies": policies})


def _validate_policy(name: str, table: Any, origins: dict[str, str], file: str, problems: list[str]) -> PolicyParams | None:
    if name not in REGISTRY:
        expected = ", ".join(sorted(REGISTRY)) or "none"
        hint = did_you_mean(name, REGISTRY)
        problems.append(problem(origins, file, f"policies.{name}", table, f"unknown policy{hint}; known policies: {expected}"))
        return None
    if not isinstance(table, dict):
        problems.append(problem(origins, file, f"policies.{name}", table, "must be a table of the policy's parameters"))
        return None
    params_cls = REGISTRY[name].Params
    try:
        return params_cls.model_validate(table)
    except ValidationError as exc:
        problems += format_errors(list(exc.errors()), table, ("policies", name), params_cls, origins, file)
        return None


def _read_toml(path: Path, referrer: str | None, written: str | None = None) -> dict[str, Any]:
    where = f"{referrer}: extends = {show(written)}: " if referrer else f"{path}: "
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ScenarioError(f"{where}is a folder, not a scenario file")
        if not stat.S_ISREG(mode):
            raise ScenarioError(f"{where}is {_kind_of_file(mode)}, not a regular file")
        content = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise ScenarioError(f"{where}no such scenario file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ScenarioError(f"{where}is a loop of symbolic links that never reaches a file") from None
        raise ScenarioError(f"{where}cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a file name with a NUL character in it
        raise ScenarioError(f"{where}not a usable file name ({exc})") from None
    try:
        text = content.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{where}not UTF-8 text (byte 0x{content[exc.start]:02x} at position {exc.start}); "
                            "save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested lists and inline tables recursively
        raise ScenarioError(f"{path}: not a usable scenario: {_too_deep()}") from None
    if (deep := _too_deep_key(data)) is not None:
        raise ScenarioError(f"{path}: {clip(deep)}: {_too_deep()}")
    return data


def _kind_of_file(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_deep() -> str:
    return f"tables and lists nested more than {MAX_NESTING} levels deep; a scenario needs at most 4"


def _too_deep_key(data: Any, prefix: tuple[str, ...] = ()) -> str | None:
    """The dotted key of the first table or list nested more than ``MAX_NESTING`` levels
    deep in `data` (below `prefix`), or None. Walks without recursion."""
    stack = [(data, list(prefix))]
    while stack:
        node, keys = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, (dict, list)):
                if len(keys) >= MAX_NESTING:
                    return ".".join(map(str, (*keys, key)))
                stack.append((value, [*keys, str(key)]))
    return None


def _load_merged(path: Path) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The file's data merged over everything it extends, which file set each key, and the
    files in the chain (this one first)."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    referrer: str | None = None
    written: str | None = None
    while True:
        data = _read_toml(path, referrer, written)
        resolved = path.resolve()
        if resolved in seen:
            raise ScenarioError(f"{referrer}: extends = {show(written)}: cycle of extends ({_chain([*seen, resolved])})")
        seen.append(resolved)
        parent = data.pop("extends", None)
        chain.append((path, data))
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(f"{path}: extends = {show(parent)}: must be a file name (a string)")
        referrer, written, path = str(path), parent, path.parent / parent
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for path, data in reversed(chain):
        merged.pop("name", None)  # the name is the extending file's own
        origins.pop("name", None)
        merged = _merge(merged, data, origins, str(path))
    return merged, origins, [str(p) for p, _ in chain]


def _chain(files: list[Path]) -> str:
    names = [p.name for p in files]
    if len(names) > 7:
        names = [*names[:3], f"… {len(names) - 6} more …", *names[-3:]]
    return " -> ".join(names)


def _merge(base: dict[str, Any], override: dict[str, Any], origins: dict[str, str], file: str,
           prefix: str = "") -> dict[str, Any]:
    """`override` merged over `base`, table by table; `origins` (which file set each dotted
    key) learns that `file` set what `override` holds, and forgets what a whole value of
    `override` replaced."""
    merged = dict(base)
    for key, value in override.items():
        path = f"{prefix}{key}"
        old = merged.get(key)
        origins[path] = file
        if isinstance(value, dict) and isinstance(old, dict) and "dist" not in value:
            merged[key] = _merge(old, value, origins, file, path + ".")
        else:
            if isinstance(old, dict):
                for replaced in [k for k in origins if k.startswith(path + ".")]:
                    del origins[replaced]
            merged[key] = value
            origins.update(dict.fromkeys(_leaf_paths(value, path + "."), file) if isinstance(value, dict) else {})
    return merged


def _leaf_paths(data: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(value, dict):
            paths += _leaf_paths(value, path + ".")
    return paths


def _parse_override(item: str, source: str = "--set") -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    key, text = key.strip(), text.strip()
    shown = repr(clip(item))
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"{source} {shown}: expected KEY.PATH=VALUE, e.g. --set portfolio.borrowers=2000")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text):
            return key, text  # a bare word is a string, e.g. --set economy.unemployment_path=adverse
        raise ScenarioError(f"{source} {shown}: {clip(text)!r} is not a TOML value ({exc}); "
                            "quote text with spaces or symbols, e.g. name='\"my run\"'") from None
    except RecursionError:
        raise ScenarioError(f"{source} {shown}: {_too_deep()}") from None
    parts = key.split(".")
    if len(parts) > MAX_NESTING or _too_deep_key({parts[-1]: value}, tuple(parts[:-1])) is not None:
        raise ScenarioError(f"{source} {shown}: {_too_deep()}")
    return key, value


def _set_path(raw: dict[str, Any], key: str, value: Any, file: str, source: str = "--set") -> list[str]:
    """Set dotted `key` to `value`, creating tables; returns the paths --set wrote or created."""
    *parents, leaf = key.split(".")
    node, written = raw, []
    for i, part in enumerate(parents):
        where = ".".join(parents[: i + 1])
        if part not in node:
            node[part] = {}
            written.append(where)
        child = node[part]
        if not isinstance(child, dict):
            raise ScenarioError(f"{source} {key}: {where} = {show(child)} in {file} is a value, not a table")
        node = child
    node[leaf] = value
    return [*written, key] + _leaf_paths(value, key + ".") if isinstance(value, dict) else [*written, key]
