"""Lifetime figures: after the run's months the loans are worked on to their end (the
run-off), so the lifetime rates do not depend on where ``run.months`` stops."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_scenario, run
from loansim.engine import Simulation
from loansim.loans import ACTIVE

LIFETIME = ("lifetime_default_rate", "lifetime_loss_rate", "lifetime_unresolved_rate")


def lifetime(months: int, **changes: object) -> dict[str, float]:
    scenario = make_scenario(run={"months": months, "lifetime": True}, portfolio={"borrowers": 1500}, **changes)
    return run(scenario)[1].metrics


def test_lifetime_figures_do_not_depend_on_where_the_run_stops() -> None:
    short, mid, long = lifetime(6), lifetime(14), lifetime(30)  # loans of 24 months
    for name in LIFETIME:
        assert short[name] == mid[name] == long[name], name
    assert short["lifetime_default_rate"] > short["default_rate"]  # six months see only the start
    assert 0 < long["lifetime_default_rate"] < 1


def test_the_run_off_ends_when_every_loan_is_resolved() -> None:
    scenario = make_scenario(run={"months": 10, "lifetime": True}, portfolio={"borrowers": 500})
    sim = Simulation(scenario)
    result = sim.run()
    assert not np.any(sim.loans.status == ACTIVE)
    assert result.metrics["lifetime_unresolved_rate"] == 0
    assert result.metrics["lifetime_run_off_months"] >= 24 - 10  # the term, at least
    assert len(result.monthly["month"]) == 10  # the series stop at the run's months
    assert result.ledger_problems == []


def test_everything_but_the_lifetime_figures_stops_at_the_horizon() -> None:
    with_run_off = run(make_scenario(run={"months": 12, "lifetime": True}))[1]
    without = run(make_scenario(run={"months": 12, "lifetime": False}))[1]
    assert {k: v for k, v in with_run_off.metrics.items() if not k.startswith("lifetime_")} == without.metrics
    assert with_run_off.ledger == without.ledger
    assert with_run_off.policies == without.policies
    for column, values in without.monthly.items():
        assert np.array_equal(with_run_off.monthly[column], values), column
    assert not any(k.startswith("lifetime_") for k in without.metrics)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_default_spike_at_maturity(seed: int) -> None:
    # Loans behind at the end of their term go on being worked: the months after maturity
    # see no more new defaults than the months before it did.
    scenario = make_scenario(run={"months": 30, "seed": seed}, portfolio={"borrowers": 4000})
    defaults = run(scenario)[1].monthly["new_defaults"]
    before, after = defaults[12:24].mean(), defaults[24:28].mean()  # term: 24 months
    assert after < 1.5 * before
