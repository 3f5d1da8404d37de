"""The simulation: a SimPy environment in days driving vectorised rules over cohorts.

Time is a SimPy ``Environment`` whose unit is one day; months have 30 days (30/360).
Loans are stored in due-day order, so the loans due on day ``d`` of the month are one
contiguous slice (a *cohort*) and every rule below works on array views without copying.

One clock process runs each day's steps, always in this order:

1. **month start** (day 0 of a month, whole population): employment transition →
   income → spending → savings; then hook ``month_start(sim, month)``.
2. hook ``day_start(sim, day)`` — policies acting ahead of a due date (reminders).
3. hook ``before_due(sim, day, cohort)`` — for the loans due today (penalty interest).
4. **billing** of today's cohort: one month's interest and the scheduled principal.
5. **payment**: each borrower pays in full from savings, or pays what savings allow
   (if partial payments are on), or misses (no cash, or forgot the date).
6. **delinquency**: instalments covered by payments set the oldest unpaid due day
   (hence DPD); loans with nothing left to pay are repaid; hook ``missed(sim, day, ids)``
   for loans whose scheduled instalment date saw interest or principal go unpaid.
7. **default**: loans whose DPD reaches ``lender.default_dpd`` today are flagged.
8. **charge-off**: loans whose DPD reaches ``lender.charge_off_dpd`` today are charged
   off, and a recovery process is started that books recoveries after the delay.
9. hook ``day_end(sim, day)``.
10. **month end** (day 29): the month is recorded; then hook ``month_end(sim, month)``.

Actor processes (recoveries now; collections later) are SimPy processes of their own.
An actor that wakes on day ``t`` runs before the clock's steps of day ``t``, because its
timeout was scheduled before the clock's (SimPy runs same-time events first in, first out).

Because a loan's DPD grows by one a day from a due day of its own cohort, the loans that
reach a threshold of ``X`` days on day ``t`` all belong to cohort ``(t - X) mod 30``: the
default and charge-off steps look at that cohort only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import simpy

from loansim import borrowers as bh
from loansim import macro
from loansim.borrowers import income, shocks, spending
from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, REPAID, Ledger, Loans, ledger_errors, originate, round_cents
from loansim.metrics import Recorder, run_metrics
from loansim.policies import REGISTRY, Policy
from loansim.rng import Streams
from loansim.scenario import Scenario

# Why a due date was missed, as recorded per loan (0: no miss recorded, e.g. behind only
# because a payment went to fees first). Checked in this order: forgot, could not pay.
MISS_CAUSES = ("other", "forgot", "cannot_pay")
OTHER, FORGOT, CANNOT_PAY = range(len(MISS_CAUSES))

HOOKS = ("month_start", "day_start", "before_due", "missed", "day_end", "month_end")


class Hooks:
    """Callbacks that policies register, run by the clock at fixed points of the day."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[..., None]]] = defaultdict(list)

    def add(self, hook: str, callback: Callable[..., None]) -> None:
        """Call `callback(sim, ...)` at `hook` (one of ``HOOKS``) from now on."""
        if hook not in HOOKS:
            raise ValueError(f"unknown hook {hook!r}; hooks are {', '.join(HOOKS)}")
        self._callbacks[hook].append(callback)

    def run(self, hook: str, *args: Any) -> None:
        for callback in self._callbacks.get(hook, ()):
            callback(*args)


@dataclass
class RunResult:
    """What one replication produced: monthly series, headline metrics, ledger totals."""

    replication: int
    seed: int
    monthly: dict[str, np.ndarray]
    metrics: dict[str, float]
    ledger: dict[str, int]
    ledger_problems: list[str]
    policies: dict[str, dict[str, float]]
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class Simulation:
    """One replication of a scenario. ``Simulation(scenario).run()`` returns a ``RunResult``."""

    def __init__(self, scenario: Scenario, replication: int = 0) -> None:
        self.scenario = scenario
        self.replication = replication
        self.months = scenario.run.months
        self.streams = Streams(scenario.run.seed, replication)
        self.env = simpy.Environment()
        self.hooks = Hooks()
        self.borrowers = bh.generate_borrowers(scenario, self.streams)
        self.loans = self._originate_book()
        self.cohorts = _cohort_slices(self.loans.due_day)
        self.ledger = Ledger(self.loans, self.months, lambda: self.env.now)
        self.ledger.book_disbursement(slice(None))
        self.recorder = Recorder(self.months)
        self.policies: list[Policy] = [REGISTRY[name](params) for name, params in scenario.policies.items()]
        for policy in self.policies:
            policy.setup(self)
        e = scenario.economy
        self._path = None if e.unemployment_path is None else macro.unemployment_path(e.unemployment_path, self.months)
        self._uniform_sensitivity = bool(np.all(self.borrowers.job_loss_sensitivity == 1))
        self._literate = bool(np.any(self.borrowers.literacy > 0))
        self._declare_series()
        self._forget_draws: np.ndarray = np.empty(0)
        self._clock: simpy.Process | None = None
        self._progress: Callable[[int], None] | None = None

    # ------------------------------------------------------------------ set-up

    def _originate_book(self) -> Loans:
        """One loan per borrower (loan i belongs to borrower i), due days spread evenly.

        Borrowers are drawn independently, so giving due days in blocks of ids is the
        same in distribution as drawing them at random, and keeps each cohort contiguous.
        The book is lent over the 30 days before the run: each loan is disbursed 30 days
        before its first due date (day 0-29 of month 0), so its first instalment carries
        exactly one month's interest.
        """
        s, n = self.scenario, self.scenario.portfolio.borrowers
        loans = Loans(n)
        loans.borrower = np.arange(n)
        loans.due_day = (np.arange(n, dtype=np.int64) * DAYS_PER_MONTH) // n
        loans.first_due_day = loans.due_day  # disbursed 30 days earlier, before the run starts
        principal = s.portfolio.principal.sample(self.streams.generator("portfolio.principal"), n)
        originate(loans, principal, s.portfolio.apr, s.portfolio.term_months)
        loans.recovery_share = s.lender.recovery_rate.sample(self.streams.generator("lender.recovery_share"), n)
        return loans

    # ------------------------------------------------------------------ running

    def advance(self, until_day: int) -> None:
        """Simulate up to the start of `until_day` (days before it are done); call repeatedly
        to step through a run, e.g. ``advance(30 * m + 1)`` to see month m's first due day."""
        if self._clock is None:
            self._clock = self.env.process(self._days())
        until_day = min(until_day, self.months * DAYS_PER_MONTH)
        if until_day > self.env.now:
            self.env.run(until=until_day)

    def run(self, progress: Callable[[int], None] | None = None) -> RunResult:
        """Simulate every (remaining) month; `progress(month)` is called after each month."""
        start = time.perf_counter()
        self._progress = progress
        self.advance(self.months * DAYS_PER_MONTH)
        wall = time.perf_counter() - start
        return RunResult(
            replication=self.replication,
            seed=self.scenario.run.seed,
            monthly=self.recorder.frame(self.ledger),
            metrics=run_metrics(self),
            ledger=self.ledger.totals(),
            ledger_problems=_ledger_problems(self.loans),
            policies={p.name: p.report(self) for p in self.policies},
            wall_seconds=wall,
            extra={"n_loans": self.loans.n, "n_borrowers": self.borrowers.n,
                   "default_dpd": self.scenario.lender.default_dpd},
        )

    def _days(self):
        """The clock process: each day's steps, in the order of the module docstring."""
        for day in range(self.months * DAYS_PER_MONTH):
            month, day_of_month = divmod(day, DAYS_PER_MONTH)
            if day_of_month == 0:
                self._month_start(month)
            self.hooks.run("day_start", self, day)
            self._due(day, self.cohorts[day_of_month])
            self._default(day)
            self._charge_off(day)
            self.hooks.run("day_end", self, day)
            if day_of_month == DAYS_PER_MONTH - 1:
                self.recorder.record_month(self, month, day)
                self.hooks.run("month_end", self, month)
                if self._progress is not None:
                    self._progress(month)
            yield self.env.timeout(1)

    def _month_start(self, month: int) -> None:
        """Economy, shocks, income and spending for the whole population (module docstring, step 1)."""
        s, people, n = self.scenario, self.borrowers, self.borrowers.n
        e = s.economy
        if month > 0:  # month 0 starts from the initial state
            income.step_employment(people, self.streams.uniform("employment.transition", month, n),
                                   self._job_loss_hazards(month), e.monthly_job_finding_prob)
            self._cut_pay(month)
            income.grow_incomes(people, (1 + e.annual_income_growth) ** (1 / 12))
        for kind, shock in s.borrowers.shocks.items():
            hits, expense = shocks.apply_shock(kind, shock, people, self.streams, month)
            self.recorder.add(month * DAYS_PER_MONTH, f"shock_{kind}_events", hits)
            self.recorder.add(month * DAYS_PER_MONTH, f"shock_{kind}_expense", round(expense * 100))
        income.receive_income(people, s.borrowers.unemployment_income_share)
        sd = s.borrowers.spending_noise_sd
        noise = self.streams.normal("spending.noise", month, n) * np.float32(sd) if sd > 0 else np.float32(0)
        coming = self._coming_due() if self._literate else None
        spending.spend_and_save(people, noise, s.borrowers.overspend_share_of_savings, coming)
        self._forget_draws = self.streams.uniform("payment.forget", month, n)
        self.hooks.run("month_start", self, month)

    def _job_loss_hazards(self, month: int) -> np.ndarray | float:
        """This month's job-loss hazard per borrower: on the path, shared by sensitivity."""
        people, e = self.borrowers, self.scenario.economy
        if self._path is None:
            hazard = e.job_loss_prob()
        else:
            unemployed = 1.0 - np.count_nonzero(people.employed) / people.n
            hazard = macro.job_loss_hazard(unemployed, float(self._path[month]), e.monthly_job_finding_prob)
        if self._uniform_sensitivity:
            return hazard
        return macro.individual_hazards(hazard, people.job_loss_sensitivity, people.employed)

    def _cut_pay(self, month: int) -> None:
        """Permanent pay cuts for some employed borrowers, more of them when unemployment is high."""
        e, people = self.scenario.economy, self.borrowers
        if e.monthly_pay_cut_prob == 0:
            return
        pressure = 1.0 if self._path is None else float(self._path[month] / max(self._path[0], 1e-9))
        prob = min(e.monthly_pay_cut_prob * pressure ** e.pay_cut_unemployment_elasticity, 1.0)
        u = self.streams.uniform("income.pay_cut", month, people.n)
        hit = np.flatnonzero((u < prob) & people.employed)
        income.cut_pay(people, hit, e.pay_cut_share.sample(self.streams.generator("income.pay_cut.size", month), hit.size))
        self.recorder.add(month * DAYS_PER_MONTH, "pay_cuts", hit.size)

    def _coming_due(self) -> np.ndarray:
        """What each borrower's next due date will ask for (currency): instalment and arrears."""
        L = self.loans
        scheduled = (L.n_billed < L.term_months) & (L.status == ACTIVE)
        return (np.where(scheduled, L.installment, 0) + L.amount_due(slice(None))) / 100

    def _due(self, day: int, cohort: slice) -> None:
        """Bill today's cohort, collect what borrowers pay, update delinquency."""
        if cohort.stop == cohort.start:
            return
        L = self.loans
        self.hooks.run("before_due", self, day, cohort)
        scheduled = self.ledger.bill_instalment(cohort)
        due = L.principal_due[cohort] + L.interest_due[cohort] + L.fees_due[cohort]
        paid, forgot = self._payments(cohort, due)
        self.ledger.pay(cohort, paid)
        self.borrowers.savings[cohort] -= paid / 100  # loan i belongs to borrower i
        self._update_delinquency(day, cohort)
        self._close_repaid(cohort, due, paid)
        # A due date is missed when interest and principal are left unpaid for a reason other
        # than payments having gone to fees first: no late fee on a late fee (the FTC Credit
        # Practices Rule's ban on pyramiding).
        short = L.principal_due[cohort] + L.interest_due[cohort] - L.fee_displaced[cohort]
        missed = np.flatnonzero(scheduled & (short > 0))
        L.n_due[cohort] += scheduled
        L.n_missed[cohort.start + missed] += 1
        cause = np.where(forgot[missed], FORGOT, CANNOT_PAY).astype(np.int8)
        L.last_miss_cause[cohort.start + missed] = cause
        self.recorder.add(day, "due_dates", int(np.count_nonzero(scheduled)))
        self.recorder.add(day, "missed_payments", len(missed))
        for code, count in enumerate(np.bincount(cause, minlength=len(MISS_CAUSES))):
            if code:
                self.recorder.add(day, f"missed_{MISS_CAUSES[code]}", int(count))
        self.hooks.run("missed", self, day, cohort.start + missed)

    def _payments(self, cohort: slice, due: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What each borrower in the cohort pays today (cents), and who forgot the date.

        Literacy ``L`` cuts the chance of forgetting to ``(1 - L)`` times the borrower's own.
        """
        people = self.borrowers
        # Whole cents held; the tiny tolerance absorbs float representation (1.14 * 100 = 113.99...).
        cash = np.floor(people.savings[cohort] * 100 + 1e-6).astype(np.int64)
        forget = people.forget_prob[cohort]
        if self._literate:
            forget = forget * (1 - people.literacy[cohort])
        forgot = self._forget_draws[cohort] < forget
        paid = np.minimum(due, cash) if self.scenario.borrowers.partial_payments else np.where(cash >= due, due, 0)
        paid[forgot] = 0
        return paid, forgot

    def _update_delinquency(self, day: int, cohort: slice) -> None:
        """Set each loan's oldest unpaid due day by the payment-count method.

        Instalments covered = (interest + principal paid so far) // instalment; the oldest
        unpaid instalment is the next one, and at the latest the one billed most recently.
        So the oldest unpaid day moves only when money arrives, during the term or after
        it (when no instalments fall due but arrears keep ageing). Only loans with
        interest or principal past due are behind; most pay in full.
        """
        L = self.loans
        oldest = L.oldest_unpaid_day[cohort]  # a view: writes go to the book
        behind = np.flatnonzero(L.principal_due[cohort] + L.interest_due[cohort])
        ids = cohort.start + behind
        covered = (L.interest_paid[ids] + L.principal_repaid[ids]) // np.maximum(L.installment[ids], 1)
        unpaid = np.minimum(covered, L.n_billed[ids] - 1)
        oldest[:] = -1
        oldest[behind] = L.first_due_day[ids] + DAYS_PER_MONTH * unpaid

    def _close_repaid(self, cohort: slice, due: np.ndarray, paid: np.ndarray) -> None:
        """Loans that paid everything due and have no principal left are repaid."""
        L = self.loans
        done = np.flatnonzero((L.principal[cohort] == 0) & (due > 0))
        done = done[(L.status[cohort][done] == ACTIVE) & (due[done] == paid[done])]
        L.status[cohort.start + done] = REPAID

    def _declare_series(self) -> None:
        """Monthly series that exist only with some causes switched on (same in every replication)."""
        names = [f"missed_{c}" for c in MISS_CAUSES[1:]] + [f"new_defaults_{c}" for c in MISS_CAUSES]
        for kind in self.scenario.borrowers.shocks:
            names += [f"shock_{kind}_events", f"shock_{kind}_expense"]
        if self.scenario.economy.monthly_pay_cut_prob > 0:
            names.append("pay_cuts")
        self.recorder.declare(*names)

    def _reaching(self, day: int, dpd: int) -> tuple[slice, np.ndarray]:
        """The cohort whose DPD can reach `dpd` today, and a mask of its loans at or past it."""
        cohort = self.cohorts[(day - dpd) % DAYS_PER_MONTH]
        oldest = self.loans.oldest_unpaid_day[cohort]
        active = self.loans.status[cohort] == ACTIVE
        return cohort, active & (oldest >= 0) & (day - oldest >= dpd)

    def _default(self, day: int) -> None:
        cohort, reached = self._reaching(day, self.scenario.lender.default_dpd)
        new = cohort.start + np.flatnonzero(reached & (self.loans.defaulted_day[cohort] < 0))
        self.loans.defaulted_day[new] = day
        self.recorder.add(day, "new_defaults", len(new))
        for code, count in enumerate(np.bincount(self.loans.last_miss_cause[new], minlength=len(MISS_CAUSES))):
            self.recorder.add(day, f"new_defaults_{MISS_CAUSES[code]}", int(count))

    def _charge_off(self, day: int) -> None:
        cohort, reached = self._reaching(day, self.scenario.lender.charge_off_dpd)
        if not reached.any():
            return
        ids = cohort.start + np.flatnonzero(reached)
        principal = self.ledger.charge_off(ids)
        self.loans.charged_off_day[ids] = day
        self.loans.oldest_unpaid_day[ids] = -1  # closed loans are in no delinquency bucket
        self.recorder.add(day, "new_charge_offs", len(ids))
        expected = round_cents(principal * self.loans.recovery_share[ids])
        if expected.any():
            ids = ids[expected > 0]
            self.ledger.expect_recovery(ids, expected[expected > 0])
            self.env.process(self._recover(ids))

    def _recover(self, ids: np.ndarray):
        """Recoveries on loans charged off today arrive after the recovery delay.

        Those that would arrive after the horizon stay pending in the ledger.
        """
        yield self.env.timeout(self.scenario.lender.recovery_delay_months * DAYS_PER_MONTH)
        self.ledger.recover(ids)


def _cohort_slices(due_day: np.ndarray) -> list[slice]:
    """Contiguous slice of loans due on each day of the month (loans sorted by due day)."""
    if np.any(np.diff(due_day) < 0):
        raise ValueError("loans must be stored in due-day order")
    bounds = np.searchsorted(due_day, np.arange(DAYS_PER_MONTH + 1), side="left")
    return [slice(int(bounds[d]), int(bounds[d + 1])) for d in range(DAYS_PER_MONTH)]


def _ledger_problems(loans: Loans) -> list[str]:
    problems = ledger_errors(loans)
    if np.any((loans.status == CHARGED_OFF) & (loans.principal != 0)):
        problems.append("charged-off loans with principal outstanding")
    return problems
