"""The safety nets themselves: the ledger checker catches a corrupted book, the clock runs its
built-in steps and the actors in the documented order, and keyed draws are uniform."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from scipy import stats

from conftest import make_scenario
from loansim import servicing
from loansim.borrowers.monthly import PopulationMonth
from loansim.engine import HOOKS, Simulation
from loansim.loans import Ledger, ledger_errors, totals_problems
from loansim.metrics import Recorder
from loansim.policies import REGISTRY, Policy, PolicyParams
from loansim.policies.collections.desk import Desk
from loansim.policies.grace import Grace
from loansim.rng import Streams


@pytest.fixture(scope="module")
def book() -> Simulation:
    """A run whose loans were repaid, charged off with recoveries, and charged fees."""
    sim = Simulation(make_scenario(run={"months": 12}, policies={"late_fee": {"flat_fee": 20}}))
    result = sim.run()
    assert result.ledger_problems == [] and result.ledger["recoveries"] > 0 and result.ledger["fees_paid"] > 0
    return sim


@pytest.mark.parametrize("field, cents, expected", [
    ("principal_repaid", 1, "principal: 1 loans off by up to 1 cents"),
    ("principal", -100, "principal: 1 loans off by up to 100 cents"),
    ("interest_paid", 7, "interest: 1 loans off by up to 7 cents"),
    ("capitalised", 5, "interest: 1 loans off by up to 5 cents"),
    ("fees_written_off", 3, "fees: 1 loans off by up to 3 cents"),
    ("fees_due", -1, "fees: 1 loans off by up to 1 cents"),
])
def test_the_ledger_checker_catches_a_broken_identity(book: Simulation, field: str, cents: int, expected: str) -> None:
    loans = book.loans
    i = int(np.flatnonzero(loans.disbursed > 0)[0])
    array = getattr(loans, field)
    array[i] += cents
    try:
        problems = ledger_errors(loans)
        totals = book.ledger.totals()
    finally:
        array[i] -= cents
    assert expected in problems
    assert any(p.startswith(expected.split(":")[0] + ": off by") for p in totals_problems(totals))
    assert ledger_errors(loans) == []


@pytest.mark.parametrize("corrupt, expected", [
    (lambda L, i: L.recoveries.__setitem__(i, L.principal_charged_off[i] + 1), "recoveries (received and pending) exceed principal charged off"),
    (lambda L, i: L.interest_due.__setitem__(i, -1), "negative interest_due"),
    (lambda L, i: L.principal_due.__setitem__(i, L.principal[i] + 1), "principal_due exceeds principal outstanding"),
    (lambda L, i: L.fee_displaced.__setitem__(i, -1), "fee_displaced outside [0, interest and principal past due]"),
])
def test_the_ledger_checker_catches_an_impossible_balance(book: Simulation, corrupt: Callable[[Any, int], None],
                                                          expected: str) -> None:
    loans = book.loans
    charged_off = int(np.flatnonzero(loans.principal_charged_off > 0)[0])
    saved = {name: getattr(loans, name).copy() for name in type(loans).FIELDS}
    try:
        corrupt(loans, charged_off)
        assert expected in ledger_errors(loans)
    finally:
        for name, array in saved.items():
            getattr(loans, name)[:] = array
    assert ledger_errors(loans) == []


def test_built_in_steps_and_actors_run_in_the_documented_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's docstring, steps 0-10, with the hooks between them; actors (the
    collections desk, recoveries) run before the clock's steps of the day they wake on."""
    calls: list[tuple[int, str]] = []

    def trace(owner: Any, name: str, now: Callable[..., int], label: str | None = None) -> None:
        real = getattr(owner, name)

        def traced(*args: Any, **kwargs: Any) -> Any:
            calls.append((now(*args), label or name))
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, traced)

    for step in ("pay_late", "pay_arrears_on_pay_day", "due_date", "default_step", "charge_off_step"):
        trace(servicing, step, lambda sim, *_: int(sim.env.now))
    trace(PopulationMonth, "start", lambda self, *_: int(self.sim.env.now))
    trace(PopulationMonth, "end", lambda self, *_: int(self.sim.env.now))
    trace(Recorder, "record_month", lambda self, sim, *_: int(sim.env.now))
    trace(Desk, "work_day", lambda self, sim, day: day)
    trace(Ledger, "recover", lambda self, *_: int(self.now()))
    trace(Grace, "end", lambda self, sim, day: day, "grace_end")

    class Tracer(Policy[PolicyParams]):
        name = "tracer"

        def setup(self, sim: Simulation) -> None:
            for hook in HOOKS:
                sim.hooks.add(hook, lambda sim, *args, hook=hook: calls.append((int(sim.env.now), hook)))

    monkeypatch.setitem(REGISTRY, "tracer", Tracer)
    scenario = make_scenario(run={"months": 8}, borrowers={"income_monthly": 0, "initial_savings_months": 0},
                             lender={"recovery_delay_months": 1},
                             policies={"tracer": {}, "collections": {}, "grace": {"days": 3}})
    Simulation(scenario, day_by_day=True).run()

    def day(d: int) -> list[str]:
        return [name for when, name in calls if when == d]

    assert day(0) == ["work_day", "pay_late", "before_month", "start", "month_start", "pay_arrears_on_pay_day", "day_start",
                      "due_date", "before_due", "grace_end", "default_step", "charge_off_step", "day_end"]
    # the due dates of day 26 are assessed when their 3-day window ends, after day 29's payments
    assert day(29) == ["work_day", "pay_late", "pay_arrears_on_pay_day", "day_start", "due_date", "before_due", "grace_end",
                       "missed", "default_step", "charge_off_step", "day_end", "record_month", "end", "month_end"]
    charge_offs = [when for when, name in calls if name == "charged_off"]
    recoveries = [when for when, name in calls if name == "recover"]
    assert charge_offs and recoveries and recoveries[0] == charge_offs[0] + 30
    first = day(recoveries[0])
    # Actors first, in the order their wake-ups were scheduled (SimPy: same-time events first in,
    # first out): the recovery, set a month ago, then the desk, set yesterday; then the clock.
    assert first[:3] == ["recover", "work_day", "pay_late"]


@pytest.mark.parametrize("name, period", [("policy.collections.contact", 0), ("policy.collections.contact", 417),
                                          ("policy.early_warning.take_up", 3)])
def test_keyed_draws_are_uniform_and_independent(name: str, period: int) -> None:
    streams = Streams(seed=2026, replication=1)
    ids = np.arange(200_000)
    u = streams.keyed_uniform(name, period, ids).astype(np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    counts = np.bincount((u * 100).astype(int), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-3
    # neighbouring ids, the next period and another replication are uncorrelated with these draws
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    assert abs(np.corrcoef(u, streams.keyed_uniform(name, period + 1, ids))[0, 1]) < 0.01
    assert abs(np.corrcoef(u, Streams(seed=2026, replication=2).keyed_uniform(name, period, ids))[0, 1]) < 0.01
    # a draw depends on its id alone, not on which others are drawn with it
    some = np.array([5, 99_999, 123_456])
    assert np.array_equal(streams.keyed_uniform(name, period, some), u[some].astype(np.float32))
