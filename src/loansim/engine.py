"""The simulation: a SimPy environment in days driving vectorised rules over cohorts.

Time is a SimPy ``Environment`` whose unit is one day; months have 30 days (30/360).
Borrowers and loans are stored in due-day order (``loansim.portfolio``), so the loans due
on day ``d`` of the month and their borrowers are contiguous slices (a *cohort*) and every
rule below works on array views.

One clock process runs each day's steps, always in this order:

0. **late payers**: borrowers who forgot a due date and notice today, and those who
   misread it as a later one and think it is today, pay what they can (``servicing.pay_late``).
1. **month start** (day 0 of a month, whole population, ``borrowers.monthly``): hook
   ``before_month(sim, month)`` (policies that change borrowers: education); employment
   and pay → shocks → income (worked out during the month before) → spending → savings; then hook ``month_start(sim, month)``
   (policies reacting to the month's shocks: hardship deferral, early warning; origination,
   which runs hook ``lent(sim, day, ids)`` for the loans it lends).
   Income budgeted at the month's start is cash from each borrower's pay day on
   (``borrowers.cash_cents``).
1b. **pay day arrears** (every day): borrowers left short of cash at a due date whose pay
   day is today pay the arrears out of it, if they do so (``servicing.pay_arrears_on_pay_day``).
2. hook ``day_start(sim, day)`` — policies acting ahead of a due date (reminders).
3. hook ``before_due(sim, day, cohort)`` — for the loans due today (penalty interest);
   ``cohort`` is a ``portfolio.Cohort`` (``cohort.loans`` is their slice).
4. **billing** of today's cohort: one month's interest and the scheduled principal.
5. **payment** (``borrowers.payment``): each borrower pays in full from savings, or pays
   what savings allow, or misses: unwilling, forgot, misread the contract, or no cash.
   Those who misread the date pay later (step 0 of that day); those short of cash may pay
   the arrears on their next pay day (step 1).
6. **delinquency**: instalments covered by payments set the oldest unpaid due day
   (hence DPD); loans with nothing left to pay are repaid. Then the due date is
   *assessed*: hook ``missed(sim, day, ids)`` for loans whose scheduled instalment date
   saw interest or principal go unpaid; late notices correct misread contracts; credit
   scores move. **Deferred assessment**: a policy may defer the assessment
   (``servicing.Deferral``, ``sim.deferral``): its ``end`` runs here, after the day's due
   dates, and assesses the due dates whose time has come, after that day's payments.
7. **default**: loans whose DPD reaches ``lender.default_dpd`` today are flagged.
8. **charge-off**: loans whose DPD reaches ``lender.charge_off_dpd`` today are charged
   off, and a recovery process is started that books recoveries after the delay (in a
   span, the charge-offs of its later days wait in ``sim.recoveries`` to start theirs on
   their own day); then hook ``charged_off(sim, day, ids)`` for them.
9. hook ``day_end(sim, day)``.
10. **month end** (day 29): the month is recorded (the book by state, and the loans moving
    between states since the month end before); every pay day has passed, so none of the
    month's income is pending any more; then hook ``month_end(sim, month)`` (the status of
    modified loans 3, 6, 9 and 12 months after their modification, for re-default:
    ``policies._common.ReDefaults``).

After ``run.months`` (the horizon every output but the lifetime figures describes), with
``run.lifetime`` the clock goes on with the same steps, month after month, while any loan
is open (at most ``RUN_OFF_MONTHS``): the run-off that measures ``lifetime_*`` (``run``).

Actor processes are SimPy processes of their own: recoveries, the collections desk,
promised payments and legal cases. What the clock can batch by day it keeps in day
buckets instead (late payers, arrears paid on a pay day, and in a span the recoveries of
its later days), one
vectorised step each however many cohorts feed it.
An actor that wakes on day ``t`` runs before the clock's steps of day ``t``, because its
timeout was scheduled before the clock's (SimPy runs same-time events first in, first out).

Because a loan's DPD grows by one a day from a due day of its own cohort, the loans that
reach a threshold of ``X`` days on day ``t`` all belong to cohort ``(t - X) mod 30``: the
default and charge-off steps look at that cohort only.

Where nothing acts on the book day by day but these steps (no deferred assessment, no
policy with a day of its own), steps 3-8 of several consecutive days of a month run as one step on the
first of them, on a *span* of cohorts (``loansim.spans``): each borrower's own events keep
their order, so the results are the same bit for bit, and a small book, whose daily cohorts
are small, no longer pays each day's fixed cost. ``before_due(sim, day, cohort)`` and
``missed`` then see the span (``day`` its first day, ``cohort.today(day)`` each loan's).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, overload

import numpy as np
import simpy

from loansim import borrowers as bh
from loansim import servicing, spans
from loansim.borrowers.monthly import PopulationMonth
from loansim.borrowers.payment import MISS_CAUSES
from loansim.context import Context
from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, Ledger, Loans, ledger_errors
from loansim.portfolio import Book, Cohort
from loansim.metrics import FROM_STATES, STATES, VINTAGE_COLUMNS, Recorder, lifetime_metrics, run_metrics, vintage_curves
from loansim.policies import REGISTRY, BringsApplicants, Policy
from loansim.rng import Streams
from loansim.scenario import Scenario

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

HOOKS = ("before_month", "month_start", "lent", "day_start", "before_due", "missed", "charged_off", "day_end", "month_end")

MonthHook = Callable[[Context, int], None]
"""``before_month``, ``month_start``, ``month_end``: (sim, month)."""
DayHook = Callable[[Context, int], None]
"""``day_start``, ``day_end``: (sim, day)."""
CohortHook = Callable[[Context, int, Cohort], None]
"""``before_due``: (sim, day, the cohort due today, or a span of them: ``loansim.spans``)."""
LoansHook = Callable[[Context, int, np.ndarray], None]
"""``lent``, ``missed``, ``charged_off``: (sim, day, the loans' ids).

Every hook's `sim` is the simulation as a ``loansim.context.Context``: what a policy may see."""


class Hooks:
    """Callbacks that policies register, run by the clock at fixed points of the day; the
    type of each hook's callback is checked (``MonthHook``, ``DayHook``, ``CohortHook``,
    ``LoansHook``)."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[..., None]]] = defaultdict(list)

    @overload
    def add(self, hook: Literal["before_month", "month_start", "month_end"], callback: MonthHook) -> None: ...
    @overload
    def add(self, hook: Literal["day_start", "day_end"], callback: DayHook) -> None: ...
    @overload
    def add(self, hook: Literal["before_due"], callback: CohortHook) -> None: ...
    @overload
    def add(self, hook: Literal["lent", "missed", "charged_off"], callback: LoansHook) -> None: ...
    def add(self, hook: str, callback: Callable[..., None]) -> None:
        """Call `callback` at `hook` (one of ``HOOKS``) from now on."""
        if hook not in HOOKS:
            raise ValueError(f"unknown hook {hook!r}; hooks are {', '.join(HOOKS)}")
        self._callbacks[hook].append(callback)

    def registered(self, hook: str) -> bool:
        """Whether any callback is registered for `hook`."""
        return bool(self._callbacks.get(hook))

    def run(self, hook: str, *args: Any) -> None:
        """Call every callback registered for `hook`, in the order they were added."""
        for callback in self._callbacks.get(hook, ()):
            callback(*args)


@dataclass
class RunResult:
    """What one replication produced: monthly series, headline metrics, ledger totals, and the
    loans moving between month-end states (roll-rate counts)."""

    replication: int
    seed: int
    monthly: dict[str, np.ndarray]
    metrics: dict[str, float]
    ledger: dict[str, int]
    ledger_problems: list[str]
    policies: dict[str, dict[str, float]]
    wall_seconds: float
    monthly_cents: dict[str, np.ndarray] = field(default_factory=dict)  # the money columns of `monthly`, exact
    transitions: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FROM_STATES), len(STATES)), dtype=np.int64))
    """Loans by month, state at the month end before (``metrics.FROM_STATES``) and state at this
    month end (``metrics.STATES``): ``transitions[m, i, j]`` moved from state i to j in month m + 1."""
    extra: dict[str, Any] = field(default_factory=dict)
    vintages: np.ndarray = field(default_factory=lambda: np.zeros((0, len(VINTAGE_COLUMNS)), dtype=np.int64))
    """Vintage curves at the horizon (``metrics.vintage_curves``): one row per vintage and month on book."""


class Simulation:
    """One replication of a scenario. ``Simulation(scenario).run()`` returns a ``RunResult``."""

    def __init__(self, scenario: Scenario, replication: int = 0, day_by_day: bool = False) -> None:
        free_finished_runs(scenario.portfolio.borrowers)
        self.scenario = scenario
        self.replication = replication
        self.months = scenario.run.months  # the horizon: every output but the lifetime figures stops here
        self.end_month = scenario.run.simulated_months()  # the run-off (``run.lifetime``) may go on to here
        self.streams = Streams(scenario.run.seed, replication)
        self.env = simpy.Environment()
        self.hooks = Hooks()
        self.policies: list[Policy[Any]] = [REGISTRY[name](params) for name, params in scenario.policies.items()]
        applicants = [policy.application_months(scenario) for policy in self.policies if isinstance(policy, BringsApplicants)]
        self.borrowers = bh.generate_borrowers(scenario, self.streams, np.concatenate([np.zeros(0, dtype=np.int16), *applicants]))
        self.book = Book(scenario, self.streams, self.borrowers)
        self.loans = self.book.loans
        self.cohorts = self.book.cohorts
        self.ledger = Ledger(self.loans, self.end_month, lambda: self.today)
        self.ledger.book_disbursement(slice(None))  # loans applied for are lent later, if approved
        self.recorder = Recorder(self.months, self.borrowers.n, capacity=self.end_month)
        self.deferral: servicing.Deferral | None = None  # a policy deferring due dates' assessment, if any
        self.late_payments = servicing.DayBuckets()  # loans whose borrowers pay on a later day than due
        self.catch_ups = servicing.DayBuckets()  # loans whose arrears are paid on their holder's pay day
        self.recoveries = servicing.DayBuckets()  # charge-offs of a span whose recoveries start on a later day
        for policy in self.policies:
            policy.setup(self)
        # Several days' due dates in one step where nothing acts day by day (``loansim.spans``).
        self.spans = None if day_by_day or not spans.possible(self) else spans.Spans(self)
        self.stop_day = self.months * DAYS_PER_MONTH  # the day ``advance`` runs to: spans end there
        self._population = PopulationMonth(self)  # after the policies' setup: it reads what setup may change (pay days)
        self.recorder.declare(*[f"missed_{c}" for c in MISS_CAUSES[1:]], *[f"new_defaults_{c}" for c in MISS_CAUSES],
                              *self.population.series())
        self.recorder.declare(*self.population.money_series(), money=True)
        self.recorder.start(self.loans)
        self._clock: simpy.Process | None = None
        self._progress: Callable[[int], None] | None = None

    @property
    def today(self) -> int:
        """The day the clock is on (days since the run started)."""
        return int(self.env.now)

    @property
    def population(self) -> PopulationMonth:
        """The month's draws and the population's month start (``borrowers.monthly``)."""
        try:
            return self._population
        except AttributeError:
            raise RuntimeError("sim.population is made after every policy's setup (it reads the pay days a setup may "
                               "move), so a policy's setup cannot use it; use it from a hook, e.g. month_start") from None

    def policy(self, name: str) -> Policy[Any]:
        """The policy `name` of this run (``Context.policy``)."""
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(f"no policy {name!r} in this run; its policies are {[p.name for p in self.policies]}")

    # ------------------------------------------------------------------ running

    def advance(self, until_day: int) -> None:
        """Simulate up to the start of `until_day` (days before it are done); call repeatedly
        to step through a run, e.g. ``advance(30 * m + 1)`` to see month m's first due day.

        Between calls the state may be read and changed, except the population's income side
        (employment, base income, essentials, income, invested sums, shock spells): it is
        read-only, as next month's is being worked out from it (``borrowers.monthly``)."""
        if self._clock is None:
            self._clock = self.env.process(self._days())
        until_day = min(until_day, self.months * DAYS_PER_MONTH)
        self.stop_day = until_day
        if until_day > self.env.now:
            self.env.run(until=until_day)

    def run(self, progress: Callable[[int], None] | None = None) -> RunResult:
        """Simulate every (remaining) month of the run, and then, with ``run.lifetime``, the
        run-off; `progress(month)` is called after each month of the run.

        Everything in the result describes the run's horizon (``run.months``), except the
        ``lifetime_*`` metrics, taken after the run-off: the same rules and policies go on
        working the loans (no new applications) until every loan is repaid or charged off,
        or ``RUN_OFF_MONTHS`` have passed.
        """
        start = time.perf_counter()
        self._progress = progress
        self.advance(self.months * DAYS_PER_MONTH)
        monthly, monthly_cents = self.recorder.frame(self.ledger)
        result = RunResult(
            replication=self.replication,
            seed=self.scenario.run.seed,
            monthly=monthly,
            monthly_cents=monthly_cents,
            transitions=self.recorder.transitions.copy(),
            metrics=run_metrics(self),
            ledger=self.ledger.totals(),
            ledger_problems=_ledger_problems(self.loans),
            policies={p.name: p.report(self) for p in self.policies},
            wall_seconds=0.0,
            extra={"default_dpd": self.scenario.lender.default_dpd},
            vintages=vintage_curves(self.loans, self.months),
        )
        if self.scenario.run.lifetime:
            self.stop_day = self.end_month * DAYS_PER_MONTH
            self.env.run(until=self._clock)  # the run-off: the clock stops once every loan is resolved
            result.metrics.update(lifetime_metrics(self.loans, self.ledger, self.today // DAYS_PER_MONTH - self.months))
            result.ledger_problems += [f"after the run-off: {p}" for p in _ledger_problems(self.loans)]
        result.wall_seconds = time.perf_counter() - start
        return result

    def _days(self) -> ProcessGenerator:
        """The clock process: each day's steps, in the order of the module docstring; after
        the run's months, on through the run-off while a loan is open (``run``)."""
        for day in itertools.count():
            month, day_of_month = divmod(day, DAYS_PER_MONTH)
            if day_of_month == 0 and month >= self.months and not self._running_off(month):
                return
            servicing.pay_late(self, day)
            if day_of_month == 0:
                self.hooks.run("before_month", self, month)
                self.population.start(month)
                self.hooks.run("month_start", self, month)
            servicing.pay_arrears_on_pay_day(self, day)
            self.hooks.run("day_start", self, day)
            if self.spans is not None:  # steps 3-8 for several days at once (``loansim.spans``)
                self.spans.step(day)
            else:
                servicing.due_date(self, day, self.cohorts[day_of_month])
                if self.deferral is not None:
                    self.deferral.end(self, day)
                servicing.default_step(self, day)
                servicing.charge_off_step(self, day)
            self.hooks.run("day_end", self, day)
            if day_of_month == DAYS_PER_MONTH - 1:
                if month < self.months:
                    self.recorder.record_month(self, month, day)
                    bh.count_months_in_arrears(self.borrowers, self.book.holders(self.recorder.past_due))
                self.population.end(month)
                self.hooks.run("month_end", self, month)
                if self._progress is not None and month < self.months:
                    self._progress(month)
            yield self.env.timeout(1)

    def _running_off(self, month: int) -> bool:
        """Whether the run-off goes on into `month`: a loan is still open, within the cap."""
        return month < self.end_month and bool(np.any(self.loans.status == ACTIVE))


def free_finished_runs(borrowers: int) -> None:
    """Free the arrays of simulations nobody holds any more, before one of `borrowers`
    borrowers makes its own.

    A simulation is held in reference cycles (its population, policies and SimPy processes
    refer back to it), which reference counting alone never frees; without this, a process
    running replications one after another held the last one's book while building the
    next: 1.6 times the memory of one at a million borrowers. A full collection takes about
    50 ms, so small books, whose leftovers are small, skip it.
    """
    if borrowers >= 100_000:
        gc.collect()


def _ledger_problems(loans: Loans) -> list[str]:
    problems = ledger_errors(loans)
    if np.any((loans.status == CHARGED_OFF) & (loans.principal != 0)):
        problems.append("charged-off loans with principal outstanding")
    return problems
