"""Every bundled scenario runs, and the README documents every scenario key."""

from __future__ import annotations

import re
from types import UnionType
from typing import get_args, get_origin

import pytest
from pydantic import BaseModel

from loansim.policies import REGISTRY
from loansim.scenario import Scenario, load_scenario

from conftest import ROOT, SCENARIOS, run, shortened

BUNDLED = sorted(SCENARIOS.glob("*.toml"))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_scenario_runs_at_a_small_size(path) -> None:
    scenario = load_scenario(path, shortened(path, 14, ["portfolio.borrowers=300"]))
    sim, result = run(scenario)
    assert result.ledger_problems == []
    assert 0 <= result.metrics["default_rate"] <= 1
    assert result.monthly["month"][-1] == 14


def schema_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if name == "policies":
            continue
        path = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        optional = [a for a in get_args(annotation) if a is not type(None)] if get_origin(annotation) is UnionType else []
        if len(optional) == 1 and isinstance(optional[0], type) and issubclass(optional[0], BaseModel):
            annotation = optional[0]  # an optional table, e.g. [economy.stochastic]
        if get_origin(annotation) is dict:  # a table of named tables, documented as <name>
            keys += schema_keys(get_args(annotation)[1], path + ".<name>.")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += schema_keys(annotation, path + ".")
        else:
            keys.append(path)
    return keys


def test_readme_documents_every_scenario_and_policy_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.<>]+)` \|", readme, flags=re.MULTILINE))
    expected = set(schema_keys(Scenario))
    for name, policy in REGISTRY.items():
        expected |= {k for k in schema_keys(policy.Params, f"policies.{name}.") if k != f"policies.{name}.enabled"}
    expected.add("policies.<name>.enabled")
    assert expected - documented == set(), "keys missing from the README"
    assert documented - expected == set(), "README documents keys that do not exist"
