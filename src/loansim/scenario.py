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

import difflib
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from loansim.distributions import DIST_NAMES, STRICT, Dist, dist_in
from loansim.errors import ScenarioError
from loansim.policies import REGISTRY, PolicyParams

Probability = Field(ge=0, le=1)


MAX_MONEY = 1e9  # a sanity bound on mean amounts per loan or per month, currency units


class _Table(BaseModel):
    model_config = STRICT


class RunSettings(_Table):
    """How long, how often and with which seed to run."""

    seed: int = Field(default=1, ge=0, description="root seed of every random stream")
    months: int = Field(default=36, ge=1, le=1200, description="simulated months (30 days each)")
    replications: int = Field(default=1, ge=1, le=10_000, description="independent replications")


class Portfolio(_Table):
    """The loan book at the start: one amortising loan per borrower."""

    borrowers: int = Field(ge=1, le=50_000_000, description="number of borrowers (= loans)")
    principal: dist_in(0.0, above_low=True, max_mean=MAX_MONEY) = Field(description="amount lent per loan, currency units")  # type: ignore[valid-type]
    apr: float = Field(ge=0, le=10, description="annual percentage rate as a share (0.18 = 18%)")
    term_months: int = Field(ge=1, le=600, description="number of monthly instalments")


class BorrowerBehaviour(_Table):
    """How borrowers earn, spend, save and forget."""

    income_monthly: dist_in(0.0, max_mean=MAX_MONEY) = Field(description="base monthly income when employed, currency units")  # type: ignore[valid-type]
    unemployment_income_share: float = Field(default=0.3, ge=0, le=1, description="income while unemployed, as a share of base income")
    initial_unemployment_share: float | None = Field(default=None, ge=0, le=1, description="share unemployed at month 0; default: the employment chain's steady state")
    spending_share: dist_in(0.0, max_mean=100) = Field(default=0.8, description="habitual share of monthly income consumed")  # type: ignore[valid-type]
    spending_noise_sd: float = Field(default=0.0, ge=0, le=10, description="month-to-month noise on the spending share (standard deviation)")
    initial_savings_months: dist_in(0.0, max_mean=1200) = Field(default=1.0, description="savings at month 0, in months of base income")  # type: ignore[valid-type]
    monthly_forget_prob: dist_in(0.0, 1.0) = Field(default=0.0, description="chance of forgetting a due date, per borrower per month")  # type: ignore[valid-type]
    partial_payments: bool = Field(default=True, description="a borrower who cannot pay in full pays what savings allow")


class Economy(_Table):
    """Employment hazards (constant over the run in this version)."""

    monthly_job_loss_prob: float = Field(default=0.0, ge=0, le=1, description="chance an employed borrower loses the job in a month")
    monthly_job_finding_prob: float = Field(default=0.25, ge=0, le=1, description="chance an unemployed borrower finds a job in a month")


class Lender(_Table):
    """Delinquency, default, charge-off and recovery rules."""

    default_dpd: int = Field(default=90, ge=1, le=3650, description="days past due at which a loan counts as defaulted")
    charge_off_dpd: int = Field(default=120, ge=1, le=3650, description="days past due at which the loan is charged off")
    recovery_rate: dist_in(0.0, 1.0) = Field(default=0.0, description="share of charged-off principal recovered later, per loan")  # type: ignore[valid-type]
    recovery_delay_months: int = Field(default=6, ge=0, le=600, description="months from charge-off to recovery")

    @field_validator("charge_off_dpd")
    @classmethod
    def _charge_off_after_default(cls, value: int, info: ValidationInfo) -> int:
        default_dpd = info.data.get("default_dpd")
        if default_dpd is not None and value < default_dpd:
            raise ValueError(f"must be >= default_dpd ({default_dpd})")
        return value


class Scenario(_Table):
    """A fully resolved, validated scenario."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$",
                      description="names the results folder: letters, digits, spaces, '_', '-', '.'")
    description: str = ""
    run: RunSettings = RunSettings()
    portfolio: Portfolio
    borrowers: BorrowerBehaviour
    economy: Economy = Economy()
    lender: Lender = Lender()
    policies: dict[str, PolicyParams] = {}

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for manifests and for other processes)."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"policies"})
        data["policies"] = {name: p.model_dump(mode="json") for name, p in self.policies.items()}
        return data


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file."""
    path = Path(path)
    raw, origins = _load_merged(path, stack=())
    for item in overrides:
        key, value = _parse_override(item)
        for created in _set_path(raw, key, value, str(path)):
            origins[created] = "--set"
    raw.setdefault("name", path.stem)
    return validate_scenario(raw, origins, str(path))


def validate_scenario(raw: dict[str, Any], origins: dict[str, str] | None = None, file: str = "<scenario>") -> Scenario:
    """Validate plain scenario data; raise ``ScenarioError`` listing every problem."""
    origins = origins or {}
    core = {k: v for k, v in raw.items() if k != "policies"}
    policies_raw = raw.get("policies", {})
    problems: list[str] = []
    if not isinstance(policies_raw, dict):
        problems.append(_problem(origins, file, "policies", policies_raw, "must be a table of [policies.<name>] tables"))
        policies_raw = {}
    try:
        scenario = Scenario.model_validate(core)
    except ValidationError as exc:
        scenario = None
        problems += [_format_error(e, core, (), Scenario, origins, file) for e in exc.errors()]
    policies: dict[str, PolicyParams] = {}
    for name, table in policies_raw.items():
        params = _validate_policy(name, table, origins, file, problems)
        if params is not None:
            policies[name] = params
    if problems:
        raise ScenarioError("\n".join(problems))
    assert scenario is not None
    return scenario.model_copy(update={"policies": policies})


def _validate_policy(name: str, table: Any, origins: dict[str, str], file: str, problems: list[str]) -> PolicyParams | None:
    if name not in REGISTRY:
        expected = ", ".join(sorted(REGISTRY)) or "none"
        hint = _did_you_mean(name, REGISTRY)
        problems.append(_problem(origins, file, f"policies.{name}", table, f"unknown policy{hint}; known policies: {expected}"))
        return None
    if not isinstance(table, dict):
        problems.append(_problem(origins, file, f"policies.{name}", table, "must be a table of the policy's parameters"))
        return None
    params_cls = REGISTRY[name].Params
    try:
        return params_cls.model_validate(table)
    except ValidationError as exc:
        problems += [_format_error(e, table, ("policies", name), params_cls, origins, file) for e in exc.errors()]
        return None


def _read_toml(path: Path, referrer: str | None, written: str | None = None) -> dict[str, Any]:
    where = f"{referrer}: extends = {_show(written)}: " if referrer else f"{path}: "
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
                 written: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The file's data merged over everything it extends, and which file set each key."""
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(str(p.name) for p in (*stack, resolved))
        raise ScenarioError(f"{referrer}: extends = {_show(written)}: cycle of extends ({chain})")
    data = _read_toml(path, referrer, written)
    origins = {key: str(path) for key in _leaf_paths(data)}
    parent = data.pop("extends", None)
    if parent is None:
        return data, origins
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends = {_show(parent)}: must be a file name (a string)")
    base, base_origins = _load_merged(path.parent / parent, (*stack, resolved), str(path), parent)
    base.pop("name", None)  # the name is the extending file's own
    base_origins.update(origins)
    return _merge(base, data), base_origins


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


def _parse_override(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set portfolio.borrowers=2000")
    try:
        return key, tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key, text.strip()  # a bare word is a string, e.g. --set name=test


def _set_path(raw: dict[str, Any], key: str, value: Any, file: str) -> list[str]:
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
            raise ScenarioError(f"--set {key}: {where} = {_show(child)} in {file} is a value, not a table")
        node = child
    node[leaf] = value
    return [*written, key] + _leaf_paths(value, key + ".") if isinstance(value, dict) else [*written, key]


# --------------------------------------------------------------------------- errors

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
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "missing": "is required but missing",
    "union_tag_invalid": "dist must be one of: " + ", ".join(DIST_NAMES),
    "union_tag_not_found": "a distribution needs a number or a table with a dist key (one of: " + ", ".join(DIST_NAMES) + ")",
}


def _format_error(error: dict[str, Any], data: Any, prefix: tuple[str, ...], model: type[BaseModel], origins: dict[str, str], file: str) -> str:
    keys = _real_keys(data, error["loc"])
    path = ".".join((*prefix, *keys)) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, data, keys[:-1])
        hint = _did_you_mean(keys[-1], allowed)
        message = f"unknown key{hint}; expected one of: {', '.join(allowed)}" if allowed else "unknown key"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind].format(**{k: _show(v) for k, v in error.get("ctx", {}).items()})
    else:
        message = error["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return f"{file}: {path}: {message}"
    return _problem(origins, file, path, error.get("input"), message)


def _problem(origins: dict[str, str], file: str, path: str, value: Any, message: str) -> str:
    return f"{_origin(origins, path, file)}: {path} = {_show(value)}: {message}"


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
    node = data
    for key in keys:
        field = model.model_fields.get(key)
        node = node.get(key) if isinstance(node, dict) else None
        if field is None:
            return []
        model = _model_of(field.annotation, node)
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


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else f"{value:g}"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


__all__ = ["Scenario", "load_scenario", "validate_scenario", "Dist"]
