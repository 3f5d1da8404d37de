"""Spans of due days (``loansim.spans``) give the results of stepping day by day, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SCENARIOS, make_scenario
from loansim.engine import RunResult, Simulation
from loansim.loans import DAYS_PER_MONTH, Loans
from loansim.scenario import load_scenario
from loansim.spans import _one_day_each


def both(scenario, replication: int = 0) -> tuple[tuple[Simulation, RunResult], tuple[Simulation, RunResult]]:
    """The scenario run with spans and day by day."""
    out = []
    for day_by_day in (False, True):
        sim = Simulation(scenario, replication, day_by_day=day_by_day)
        out.append((sim, sim.run()))
    return out[0], out[1]


def assert_same(a: tuple[Simulation, RunResult], b: tuple[Simulation, RunResult]) -> None:
    """Every output and every per-loan and per-borrower array equal, exactly."""
    (sim_a, ra), (sim_b, rb) = a, b
    assert ra.metrics == rb.metrics
    assert ra.ledger == rb.ledger
    assert ra.policies == rb.policies
    assert ra.monthly.keys() == rb.monthly.keys()
    for key in ra.monthly:
        np.testing.assert_array_equal(ra.monthly[key], rb.monthly[key], err_msg=key)
    np.testing.assert_array_equal(ra.transitions, rb.transitions)
    np.testing.assert_array_equal(ra.vintages, rb.vintages)
    for name in Loans.FIELDS:
        np.testing.assert_array_equal(getattr(sim_a.loans, name), getattr(sim_b.loans, name), err_msg=name)
    for name in ("savings", "score", "unwilling", "month_spending"):
        np.testing.assert_array_equal(getattr(sim_a.borrowers, name), getattr(sim_b.borrowers, name), err_msg=name)


@pytest.mark.parametrize("name, overrides", [
    ("baseline", []),  # pay days spread, arrears paid on pay days, forgetting; and the run-off
    ("products", []),  # several loans per borrower
    ("bench-full", ["run.months=24"]),  # every borrower-behaviour cause: misreading, strategic default, stacking
    ("baseline", ["lender.default_dpd=60", "lender.charge_off_dpd=120", "lender.recovery_delay_months=2"]),
    ("underwriting", ["policies.underwriting.applications_per_month=300"]),  # lending month by month
    ("education", []),
    ("due-date-alignment", []),
    ("hardship-deferral", []),  # deferred due dates skipped loan by loan; re-default at month ends
    ("restructuring", []),
    ("early-warning", []),  # offers hardship deferral to those it reaches
    ("hardship-deferral", ["policies.hardship_deferral.interest=capitalised"]),
    ("early-warning", ["policies.early_warning.offer=restructuring", "policies.restructuring.enabled=true"]),
    ("products", ["policies.hardship_deferral.application_prob=0.5", "policies.restructuring.enabled=true",
                  "policies.late_fee.penalty_monthly_rate=0.01"]),  # several loans each, with deferrals and modifications
    ("clearer-terms", ["policies.underwriting.applications_per_month=300"]),  # contracts for the loans lent too
])
def test_spans_give_the_results_of_stepping_day_by_day(name: str, overrides: list[str]) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml", ["portfolio.borrowers=3000", *overrides])
    spans, day_by_day = both(scenario, replication=1)
    assert spans[0].spans is not None and day_by_day[0].spans is None
    assert spans[1].metrics["default_rate"] > 0
    assert_same(spans, day_by_day)


def test_a_step_through_the_run_stops_at_the_same_book() -> None:
    """``advance`` ends a span where it stops: the book is the day-by-day one at every stop."""
    scenario = load_scenario(SCENARIOS / "baseline.toml", ["portfolio.borrowers=2000", "run.months=6"])
    a, b = Simulation(scenario), Simulation(scenario, day_by_day=True)
    for until in (7, 30, 31, 45, 59, 95, 140, 180):
        a.advance(until)
        b.advance(until)
        for name in ("principal", "interest_paid", "oldest_unpaid_day", "status"):
            np.testing.assert_array_equal(getattr(a.loans, name), getattr(b.loans, name), err_msg=f"{name} on day {until}")
        np.testing.assert_array_equal(a.borrowers.savings, b.borrowers.savings, err_msg=f"savings on day {until}")


def test_payments_of_one_borrower_on_different_days_of_a_span_keep_their_order() -> None:
    """A borrower with a late payment and pay-day arrears on different days of one span pays
    them day by day (the span's fallback), as the clock would."""
    scenario = load_scenario(SCENARIOS / "baseline.toml", ["portfolio.borrowers=2000", "run.months=4"])
    runs = []
    for day_by_day in (False, True):
        sim = Simulation(scenario, day_by_day=day_by_day)
        sim.advance(DAYS_PER_MONTH)
        behind = np.flatnonzero((sim.loans.oldest_unpaid_day >= 0) & (sim.loans.due_day >= 15))[:20]  # due after both
        sim.late_payments.add(np.full(behind.size, 35), behind)
        sim.catch_ups.add(np.full(behind.size, 41), behind)
        runs.append((sim, sim.run()))
    assert behind.size > 0
    assert_same(*runs)


def test_a_scenario_with_a_day_level_policy_steps_day_by_day() -> None:
    for policies in ({"grace": {"days": 5}}, {"reminders": {}}, {"collections": {}}):
        assert Simulation(make_scenario(policies=policies)).spans is None, policies
    assert Simulation(make_scenario(policies={"late_fee": {}})).spans is not None
    assert Simulation(make_scenario(lender={"default_dpd": 45, "charge_off_dpd": 120})).spans is None


def test_one_day_each() -> None:
    class Book:
        @staticmethod
        def holders(ids: np.ndarray) -> np.ndarray:
            return ids // 2  # two loans each

    ids = np.array([0, 1, 4])
    assert _one_day_each(Book(), (ids, np.array([3, 3, 5])), (np.array([8]), np.array([5])))
    assert not _one_day_each(Book(), (ids, np.array([3, 4, 5])))  # borrower 0 on days 3 and 4
    assert not _one_day_each(Book(), (ids, np.array([3, 3, 5])), (np.array([5]), np.array([5])))  # borrower 2 twice
