"""Shared fixtures: small scenarios built from plain data, and a repository path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from loansim.engine import RunResult, Simulation
from loansim.scenario import Scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

TINY: dict[str, Any] = {
    "name": "tiny",
    "run": {"seed": 11, "months": 24, "replications": 1, "lifetime": False},  # the run-off has tests of its own
    "portfolio": {
        "borrowers": 600,
        "principal": {"dist": "lognormal", "median": 8000, "sigma": 0.5},
        "apr": 0.18,
        "term_months": 24,
    },
    "borrowers": {
        "income_monthly": {"dist": "lognormal", "median": 3500, "sigma": 0.4},
        "target_buffer_months": {"dist": "lognormal", "median": 0.3, "sigma": 0.8},
        "spending_noise_sd": 0.08,
        "initial_savings_months": 0.5,
        "monthly_forget_prob": 0.03,
        "unemployment_income_share": 0.3,
    },
    "economy": {"monthly_job_loss_prob": 0.03, "monthly_job_finding_prob": 0.25},
    "lender": {"recovery_rate": 0.2, "recovery_delay_months": 2},
}


def shortened(path: Path, months: int, overrides: list[str]) -> list[str]:
    """`overrides` and ``run.months=<months>``; a file that ends underwriting's applications
    at a later month (``last_month``, which must lie within the run) ends them then too."""
    end = [f"policies.underwriting.last_month={months}"] if "\nlast_month = " in path.read_text(encoding="utf-8") else []
    return [*overrides, f"run.months={months}", *end]


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `changes` merged in, table by table."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_scenario(**changes: Any) -> Scenario:
    """The tiny scenario with `changes` (nested dicts) merged in, validated."""
    return validate_scenario(deep_update(TINY, changes))


def run(scenario: Scenario, replication: int = 0) -> tuple[Simulation, RunResult]:
    """Run one replication; return the simulation (for its arrays) and its result."""
    sim = Simulation(scenario, replication)
    return sim, sim.run()


@pytest.fixture
def tiny_scenario() -> Scenario:
    return make_scenario()


@pytest.fixture
def small_book() -> tuple[Simulation, RunResult]:
    return run(make_scenario(policies={"late_fee": {"flat_fee": 20, "penalty_monthly_rate": 0.02}}))


def one_loan(months: int, principal: float = 1000.0, apr: float = 0.12, term: int = 3, **changes: Any) -> Scenario:
    """A book of one loan, due on day 0, whose borrower has no income of their own."""
    base = {
        "name": "one-loan",
        "run": {"seed": 1, "months": months, "replications": 1, "lifetime": False},
        "portfolio": {"borrowers": 1, "principal": principal, "apr": apr, "term_months": term},
        "borrowers": {"income_monthly": 0, "initial_savings_months": 0},
        "economy": {"monthly_job_loss_prob": 0.0},
    }
    return validate_scenario(deep_update(base, changes))


def run_with_cash(scenario: Scenario, cash_by_month) -> tuple[Simulation, RunResult]:
    """Run with every borrower's cash set to `cash_by_month(month)` at each month start (as
    savings, with no spending to come)."""
    sim = Simulation(scenario)

    def set_cash(sim: Simulation, month: int) -> None:
        sim.borrowers.savings[:] = cash_by_month(month)
        sim.borrowers.month_spending[:] = 0.0

    sim.hooks.add("month_start", set_cash)
    return sim, sim.run()


@pytest.fixture
def broken_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local process pools whose workers are lost at once (as when the system kills them)."""
    from concurrent.futures.process import BrokenProcessPool

    from loansim.experiment import local

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def submit(self, *args: object) -> object:
            raise BrokenProcessPool("a child process terminated abruptly")

        def shutdown(self, *args: object, **kwargs: object) -> None:
            pass

    monkeypatch.setattr(local, "ProcessPoolExecutor", Broken)
