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
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from loansim.errors import ScenarioError
from loansim.limits import budget_problems
from loansim.policies import REGISTRY, PolicyParams
from loansim.scenario.messages import did_you_mean, format_error, problem, show
from loansim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "load_scenario_and_files", "validate_scenario"]


Override = str | tuple[str, str]


def load_scenario(path: str | Path, overrides: list[Override] | tuple[Override, ...] = ()) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file.

    Each override is ``"key.path=value"`` (reported as coming from ``--set``) or a pair
    ``(source, "key.path=value")`` naming where it came from, e.g. ``("--seed", "run.seed=7")``.
    """
    return load_scenario_and_files(path, overrides)[0]


def load_scenario_and_files(path: str | Path, overrides: list[Override] | tuple[Override, ...] = ()) -> tuple[Scenario, list[str]]:
    """``load_scenario``, and the files the scenario was built from (the named file first,
    then each file it extends in turn)."""
    path = Path(path)
    raw, origins, files = _load_merged(path, stack=())
    for override in overrides:
        source, item = override if isinstance(override, tuple) else ("--set", override)
        key, value = _parse_override(item, source)
        for created in _set_path(raw, key, value, str(path), source):
            origins[created] = source
    raw.setdefault("name", path.stem)
    return validate_scenario(raw, origins, str(path)), files


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
        problems += [format_error(e, core, (), Scenario, origins, file) for e in exc.errors()]
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
        problems += [format_error(e, table, ("policies", name), params_cls, origins, file) for e in exc.errors()]
        return None


def _read_toml(path: Path, referrer: str | None, written: str | None = None) -> dict[str, Any]:
    where = f"{referrer}: extends = {show(written)}: " if referrer else f"{path}: "
    if path.is_dir():
        raise ScenarioError(f"{where}is a folder, not a scenario file")
    if not path.is_file():
        raise ScenarioError(f"{where}no such scenario file")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{where}cannot be read: {exc}") from None


def _load_merged(path: Path, stack: tuple[Path, ...], referrer: str | None = None,
                 written: str | None = None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The file's data merged over everything it extends, which file set each key, and the
    files in the chain (this one first)."""
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(str(p.name) for p in (*stack, resolved))
        raise ScenarioError(f"{referrer}: extends = {show(written)}: cycle of extends ({chain})")
    data = _read_toml(path, referrer, written)
    origins = {key: str(path) for key in _leaf_paths(data)}
    parent = data.pop("extends", None)
    if parent is None:
        return data, origins, [str(path)]
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends = {show(parent)}: must be a file name (a string)")
    base, base_origins, files = _load_merged(path.parent / parent, (*stack, resolved), str(path), parent)
    base.pop("name", None)  # the name is the extending file's own
    base_origins.update(origins)
    return _merge(base, data), base_origins, [str(path), *files]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and "dist" not in value:
            merged[key] = _merge(old, value)
        else:
            merged[key] = value
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
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"{source} {item!r}: expected KEY.PATH=VALUE, e.g. --set portfolio.borrowers=2000")
    try:
        return key, tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", text):
            return key, text  # a bare word is a string, e.g. --set economy.unemployment_path=adverse
        raise ScenarioError(f"{source} {item!r}: {text!r} is not a TOML value ({exc}); "
                            "quote text with spaces or symbols, e.g. name='\"my run\"'") from None


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
