"""Full-size checks, deselected by default (run with ``python -m pytest -m slow``)."""

from __future__ import annotations

import pytest

from loansim.experiment import run_experiment
from loansim.scenario import load_scenario

from conftest import SCENARIOS

FULL_SIZE = sorted(p for p in SCENARIOS.glob("*.toml") if not p.stem.startswith("bench"))


@pytest.mark.slow
@pytest.mark.parametrize("path", FULL_SIZE, ids=[p.stem for p in FULL_SIZE])
def test_bundled_scenario_at_full_size_balances_and_does_not_depend_on_workers(path) -> None:
    scenario = load_scenario(path, ["run.replications=4"])
    serial = run_experiment(scenario, workers=1, progress=False)
    parallel = run_experiment(scenario, workers=2, progress=False)
    assert serial.summary()["ledger"]["balanced"]
    assert serial.summary()["metrics"] == parallel.summary()["metrics"]


@pytest.mark.slow
def test_every_cause_on_at_a_quarter_million_borrowers_balances() -> None:
    scenario = load_scenario(SCENARIOS / "bench-full.toml", ["portfolio.borrowers=250000"])
    run = run_experiment(scenario, workers=1, progress=False).runs[0]
    assert run.ledger_problems == []
    assert 0 < run.metrics["default_rate"] < 1
