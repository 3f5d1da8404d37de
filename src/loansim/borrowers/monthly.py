"""The population's month start: economy, shocks, income, spending, and the month's draws.

``PopulationMonth`` is set up once per run (paths, which causes are on) and called on
day 0 of each month. Every random number it draws is a whole-population array from a
stream named after its purpose and keyed by the month, so a policy never shifts them.

The month start has two sides. The *income side* (employment, pay cuts, income growth,
who the shocks hit and what they cost, income-loss spells, income, investment returns)
depends on nothing the days change: not savings, not payments, not policies. So next
month's is worked out on a background thread (``rng.ahead``) while this month's days run,
into new arrays (``IncomeSide``) that are swapped in at the month's start. Policies may
read those arrays but must not change them. The *spending side* (shock expenses out of
savings, outside debt, spending, saving) depends on the savings the days left; it runs at
the month's start, block by block (``Book.blocks``).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from loansim import macro, rng
from loansim.borrowers import Borrowers, income, loan_use, score, shocks, spending, stacking
from loansim.loans import ACTIVE, DAYS_PER_MONTH

if TYPE_CHECKING:
    from loansim.engine import Simulation


class IncomeSide:
    """A month's income side: employment, pay, income-loss spells, income, invested sums.

    Made from the month before's income side (which nothing changes during that month), by
    copying the arrays the month's steps change; the steps in ``income``, ``shocks`` and
    ``loan_use`` then work on it as on ``Borrowers``, and ``PopulationMonth.start`` swaps it
    in, read-only (``freeze``). Also holds whom the month's shocks hit with what expense
    (charged to savings at the swap), who was `shocked`, and the month's counts for the
    recorder.
    """

    # The month's values of the ``Borrowers`` fields of the same names, and of
    # ``PopulationMonth.spells`` and ``shocked`` (their dtype, unit and meaning are declared
    # there), swapped in at the month's start.
    employed: npt.NDArray[np.bool_]
    base_income: npt.NDArray[np.float64]
    essentials: npt.NDArray[np.float64]
    income: npt.NDArray[np.float64]
    invested: npt.NDArray[np.float64]
    spells: dict[str, npt.NDArray[np.int16]]
    shocked: npt.NDArray[np.bool_]

    def __init__(self, people: Borrowers, spells: dict[str, np.ndarray], loan_use: bool) -> None:
        self.n, self.region, self.job_loss_sensitivity = people.n, people.region, people.job_loss_sensitivity
        self.employed = people.employed  # replaced, not changed, by the employment step
        self.base_income, self.essentials = people.base_income.copy(), people.essentials.copy()
        self.income = np.empty_like(people.income)
        self.loan_use = people.loan_use
        self.invested = people.invested.copy() if loan_use else people.invested
        self.spells = {kind: months_left.copy() for kind, months_left in spells.items()}
        self.shocked = np.zeros(people.n, dtype=np.bool_)
        self.hits: list[tuple[np.ndarray, np.ndarray]] = []  # per shock kind: (ids hit, expense)
        self.counts: list[tuple[str, int]] = []  # (recorder series, value)

    def freeze(self) -> None:
        """Make the arrays read-only: a write to them during the month (by a policy, say)
        fails loudly instead of being lost or racing next month's side, worked out meanwhile."""
        for array in (self.employed, self.base_income, self.essentials, self.income, self.invested, self.shocked,
                      *self.spells.values()):
            array.flags.writeable = False


class PopulationMonth:
    """Runs steps 1-4 of ``loansim.borrowers`` for the whole population each month, and owns
    the month's draws: per-borrower arrays made at each month's start (``draw_for_due_dates``)
    that due dates read and that others change only through methods (``remind``). Before the
    first month they are empty; ``strategic_draws`` and ``may_stack`` are drawn only when
    strategic default and loan stacking are on."""

    forget_draws: npt.NDArray[np.float32]
    """Per borrower, a uniform draw on [0, 1): forgets this month's due date if below the chance."""
    forgets: npt.NDArray[np.bool_]
    """Per borrower: forgets this month's due date (the draw, less any reminder's effect)."""
    strategic_draws: npt.NDArray[np.float32]
    """Per borrower, a uniform draw on [0, 1): chooses to stop paying if below the hazard."""
    may_stack: npt.NDArray[np.bool_]
    """Per borrower: would borrow outside this month if short at a due date."""
    shocked: npt.NDArray[np.bool_]
    """Per borrower: lost a job, took a pay cut or was hit by a shock this month (read-only)."""
    spells: dict[str, npt.NDArray[np.int16]]
    """Per shock kind that takes income (``income_loss_share`` > 0), per borrower: months of
    the income loss left (months, 0 = none): the borrowers' state that outlives a month,
    carried from one month's ``IncomeSide`` to the next; read-only during a month."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        s, people = sim.scenario, sim.borrowers
        e = s.economy
        # This replication's unemployment path (months 0..end_month: the run and any run-off), and each month's job-finding chance.
        self.path = macro.economy_path(e, sim.end_month, sim.streams)
        self.job_finding = (np.full(sim.end_month + 1, e.monthly_job_finding_prob) if self.path is None else
                            macro.job_finding_prob(e.monthly_job_finding_prob, self.path, self.path[0], e.job_finding_unemployment_elasticity))
        if self.path is not None:  # rates, not counts: kept beside the recorder's series so that they reach monthly.csv
            sim.recorder.counts["unemployment_rate_path"] = self.path[: sim.months].copy()
            sim.recorder.counts["job_finding_prob"] = self.job_finding[: sim.months].copy()
        self.uniform_sensitivity = bool(np.all(people.job_loss_sensitivity == 1))
        self.literate = False  # anyone literate (checked each month: policies may teach)
        lent = sim.book.per_borrower(sim.loans.disbursed) / 100  # each borrower's borrowing at the start
        self.strategic = s.borrowers.strategic.monthly_prob.support()[1] > 0
        if self.strategic:  # propensity raised by the loans' size against annual income, at origination
            size = np.minimum(lent / np.maximum(12 * people.base_income, 1.0), 10.0)
            self.strategic_base = (people.strategic_propensity * (1 + s.borrowers.strategic.size_multiplier * size)).astype(np.float32)
        self.misreading = bool(np.any(people.misreads))  # late notices only clear misreadings
        self.forgetting = bool(np.any(people.forget_prob > 0))  # those who forget pay late (``payment.late_payers``)
        self.has_essentials = bool(np.any(people.essentials > 0))
        # Months left of income lost to each kind of shock that takes income.
        self.spells = {kind: np.zeros(people.n, dtype=np.int16)
                       for kind, shock in s.borrowers.shocks.items() if shock.income_loss_share > 0}
        overspenders = np.flatnonzero(people.overspender)  # by block, as positions within it
        self.overspenders = [overspenders[(overspenders >= b.start) & (overspenders < b.stop)] - b.start for b, _ in sim.book.blocks]
        self.stacking = s.borrowers.stacking.take_up_prob.support()[1] > 0  # the same in every replication
        self.may_stack = np.empty(0, dtype=np.bool_)
        self._repaid: list[np.ndarray] = []  # this month start's outside repayments (currency), by block
        self._unmet = 0  # and how many were not met
        use = s.borrowers.loan_use
        self.loan_use = use.productive_share + use.risky_share > 0
        if self.loan_use:
            loan_use.assign_uses(people, lent, use, sim.streams)
        # Pay days (``cash_cents``); arrears paid on them (``servicing.pay_arrears_on_pay_day``).
        self.pay_days = bool(np.any(people.pay_day))
        self.target_months = spending.target_of_month_end(people)  # pay days are set by now (policies' setup)
        self.catch_up = s.borrowers.pay_arrears_on_pay_day
        # What due dates need from this month's draws (filled at each month start). They are
        # read-only to others: a policy changes them through a method (``remind``).
        self.forgets = np.empty(0, dtype=np.bool_)
        self.forget_draws = np.empty(0, dtype=np.float32)
        self._reminders: dict[int, list[tuple[str, np.ndarray, float]]] = {}  # month -> reminders for its due dates
        self.forgets_avoided: dict[str, int] = {}  # due dates not forgotten thanks to each source of reminders
        self.strategic_draws = np.empty(0, dtype=np.float32)
        # Borrowers who lost a job, took a pay cut or were hit by a shock this month.
        self.shocked = np.zeros(people.n, dtype=np.bool_)
        # Next month's income side, worked out ahead on a background thread; False: at the month's start.
        self.work_ahead = True
        self._next: Future[IncomeSide] | None = None
        self._next_month = -1

    def series(self) -> list[str]:
        """Monthly series this population records (declared up front for every replication)."""
        s = self.sim.scenario
        names = [f"shock_{kind}_events" for kind in s.borrowers.shocks]
        if s.economy.monthly_pay_cut_prob > 0:
            names.append("pay_cuts")
        if self.loan_use:
            names.append("venture_failures")
        if self.stacking:
            names.append("outside_unmet")
        return names

    def money_series(self) -> list[str]:
        """Monthly money series (cents) this population records."""
        s = self.sim.scenario
        names = [f"shock_{kind}_expense" for kind in s.borrowers.shocks]
        if self.stacking:
            names += ["outside_borrowed", "outside_repaid", "outside_balance"]
        if self.catch_up:
            names.append("paid_on_pay_day")
        if self.loan_use:
            names += ["investment_income", "venture_losses"]
        return names

    def start(self, month: int) -> None:
        """Economy, shocks, income and spending for everyone, then the month's payment draws."""
        sim, s, people = self.sim, self.sim.scenario, self.sim.borrowers
        day = month * DAYS_PER_MONTH
        side = self._next.result() if self._next is not None and self._next_month == month else self.income_side(month)
        self._next = None
        side.freeze()
        people.employed, people.base_income, people.essentials, people.income = side.employed, side.base_income, side.essentials, side.income
        if self.loan_use:
            people.invested = side.invested
        self.spells, self.shocked = side.spells, side.shocked
        for hit, expense in side.hits:
            shocks.charge(people, hit, expense)
        for name, value in side.counts:
            sim.recorder.add(day, name, value)
        if self.work_ahead and self.more_to_come(month):  # next month's, on the spare core while this month's days run
            self._next, self._next_month = rng.ahead().submit(self.income_side, month + 1), month + 1
        sd = s.borrowers.spending_noise_sd
        noise = sim.streams.normal("spending.noise", month, people.n, recurring=self.more_to_come(month)) if sd > 0 else None
        self.literate = bool(np.any(people.literacy > 0))
        priority = s.borrowers.arrears_priority
        self._repaid, self._unmet = [], 0
        for block, overspenders in zip(sim.book.blocks, self.overspenders):  # block by block: ``Book``
            borrowers = block[0]
            spending.spend_and_save(people, np.float32(0) if noise is None else noise[borrowers] * np.float32(sd),
                                    s.borrowers.buffer_adjustment, s.borrowers.overspend_share_of_savings,
                                    *self.coming_due(block, self.literate or priority > 0),
                                    self.has_essentials, priority, self.repay_outside if self.stacking else None,
                                    overspenders, borrowers, self.target_months)
        if self.stacking:  # summed as one array, as without blocks
            sim.recorder.add(day, "outside_repaid", round(float(np.concatenate(self._repaid).sum()) * 100))
            sim.recorder.add(day, "outside_unmet", self._unmet)
        if self.pay_days:  # income budgeted now arrives on the pay day (``cash_cents``)
            people.income_pending[:] = people.income
        self.draw_for_due_dates(month)

    def more_to_come(self, month: int) -> bool:
        """Whether the run (or its run-off) may have a month after `month` (to work out or
        draw ahead for)."""
        return month + 1 < self.sim.end_month

    def end(self, month: int) -> None:
        """The month's last day: every pay day (0-29) has passed, so no income is pending, and
        the month's spending is done. Day 0 of the next month (late payers, promised
        payments) comes before its month start."""
        if self.pay_days:
            self.sim.borrowers.income_pending[:] = 0.0
        self.sim.borrowers.month_spending[:] = 0.0  # the month's spending is done

    def income_side(self, month: int) -> IncomeSide:
        """Month `month`'s employment, pay, shocks and income, worked out from the month before's.

        Nothing here depends on savings, payments or policies, so it can run ahead of the
        month (``start``). Returns a new ``IncomeSide``; the population is left as it is.
        """
        sim, s, e = self.sim, self.sim.scenario, self.sim.scenario.economy
        side = IncomeSide(sim.borrowers, self.spells, self.loan_use)
        if month > 0:  # month 0 starts from the initial state
            employed = side.employed
            u = sim.streams.uniform("employment.transition", month, side.n)
            income.step_employment(side, u, self.job_loss_hazards(month, side.employed), float(self.job_finding[month]))
            side.shocked |= employed & ~side.employed
            self.cut_pay(month, side)
            income.grow_incomes(side, (1 + e.annual_income_growth) ** (1 / 12))
        for kind, shock in s.borrowers.shocks.items():
            hit, expense = shocks.strike(kind, shock, side, sim.streams, month, side.spells.get(kind))
            side.shocked[hit] = True
            side.hits.append((hit, expense))
            side.counts += [(f"shock_{kind}_events", hit.size), (f"shock_{kind}_expense", round(float(expense.sum()) * 100))]
        income.receive_income(side, s.borrowers.unemployment_income_share,
                              [(side.spells[k], s.borrowers.shocks[k].income_loss_share) for k in side.spells])
        if self.loan_use:
            failures, lost = loan_use.fail_ventures(side, s.borrowers.loan_use, sim.streams, month)
            before = side.income.sum()
            loan_use.investment_income(side, s.borrowers.loan_use.monthly_return)
            side.counts += [("venture_failures", failures), ("venture_losses", round(lost * 100)),
                            ("investment_income", round((side.income.sum() - before) * 100))]
        return side

    def draw_for_due_dates(self, month: int) -> None:
        """This month's per-borrower draws for due dates, turned into what due dates need."""
        sim, people, n = self.sim, self.sim.borrowers, self.sim.borrowers.n
        ahead = self.more_to_come(month)  # draw next month's ahead, if there is one
        self.forget_draws = sim.streams.uniform("payment.forget", month, n, recurring=ahead)
        self.forgets = self.forget_draws < self.forget_chance()
        for source, ids, keeps in self._reminders.pop(month, ()):  # sent last month for this month's due dates
            self._cut_forgetting(source, ids, keeps)
        if self.strategic:
            self.strategic_draws = sim.streams.uniform("payment.strategic", month, n, recurring=ahead)
        if self.stacking:
            self.may_stack = sim.streams.uniform("payment.stacking", month, n, recurring=ahead) < people.stacking_take_up

    def remind(self, source: str, ids: np.ndarray, month: int, keeps_forgetting: float) -> None:
        """A reminder from `source` to borrowers `ids` of their due date in `month`: their
        chance of forgetting it is multiplied by `keeps_forgetting`. For this month it takes
        effect now; for a later one, when that month's draws are made. ``forgets_avoided``
        counts, per source, the due dates it turned from forgotten to remembered."""
        if month == self.sim.today // DAYS_PER_MONTH:
            self._cut_forgetting(source, ids, keeps_forgetting)
        else:
            self._reminders.setdefault(month, []).append((source, ids, keeps_forgetting))

    def _cut_forgetting(self, source: str, ids: np.ndarray, keeps_forgetting: float) -> None:
        ids = ids.compress(self.forgets[ids])  # a reminder changes nothing for those who remember anyway
        keep = self.forget_draws[ids] < self.forget_chance(ids) * keeps_forgetting
        self.forgets_avoided[source] = self.forgets_avoided.get(source, 0) + int(np.count_nonzero(~keep))
        self.forgets[ids] = keep

    def forget_chance(self, ids: slice | np.ndarray = slice(None)) -> np.ndarray:
        """This month's chance that borrowers `ids` forget a due date: forgetfulness × (1 − literacy)."""
        people = self.sim.borrowers
        return people.forget_prob[ids] * (1 - people.literacy[ids]) if self.literate else people.forget_prob[ids]

    def job_loss_hazards(self, month: int, employed: np.ndarray) -> np.ndarray | float:
        """This month's job-loss hazard per borrower, given who is `employed` at its start:
        on the path, shared by sensitivity."""
        people, e = self.sim.borrowers, self.sim.scenario.economy
        book = slice(None) if self.sim.streams.borrowers is None else self.sim.streams.borrowers.book  # applicants follow the book
        if self.path is None:
            hazard = e.job_loss_prob()
        else:
            unemployed = 1.0 - np.count_nonzero(employed[book]) / max(employed[book].size, 1)
            hazard = macro.job_loss_hazard(unemployed, float(self.path[month]), float(self.job_finding[month]))
        if self.uniform_sensitivity:
            return hazard
        return macro.individual_hazards(hazard, people.job_loss_sensitivity, employed, book)

    def cut_pay(self, month: int, side: IncomeSide) -> None:
        """Permanent pay cuts for some employed borrowers, more of them when unemployment is high."""
        sim, e = self.sim, self.sim.scenario.economy
        if e.monthly_pay_cut_prob == 0:
            return
        pressure = 1.0 if self.path is None else float(self.path[month] / self.path[0])  # path[0] > 0: validated
        prob = min(e.monthly_pay_cut_prob * pressure ** e.pay_cut_unemployment_elasticity, 1.0)
        hit = sim.streams.subset("income.pay_cut", month, np.flatnonzero(side.employed), prob)
        income.cut_pay(side, hit, sim.streams.sample(e.pay_cut_share, "income.pay_cut.size", hit, month))
        side.shocked[hit] = True
        side.counts.append(("pay_cuts", hit.size))

    def repay_outside(self, available: np.ndarray, ids: slice) -> None:
        """Borrowers `ids` repay outside short-term debt out of their `available` cash
        (``stacking``); an unmet repayment is reported to the credit score as a miss."""
        sim, people = self.sim, self.sim.borrowers
        paid, unmet = stacking.repay(people, available, sim.scenario.borrowers.stacking, ids)
        self._repaid.append(paid)
        self._unmet += unmet.size
        people.score[unmet] = score.missed(people.score[unmet], sim.scenario.borrowers.score.miss_points, np.ones(unmet.size))

    def coming_due(self, block: tuple[slice, slice], arrears: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """What the borrowers in `block` (one of ``Book.blocks``) pay in a usual month, their
        scheduled instalments (currency); and, if `arrears`, what their next due date will
        ask for: instalment and arrears (else None)."""
        L, loans, book = self.sim.loans, block[1], self.sim.book
        scheduled = np.where((L.n_billed[loans] < L.term_months[loans]) & (L.status[loans] == ACTIVE), L.installment[loans], 0)
        usual = book.per_borrower(scheduled, block) / 100
        return usual, book.per_borrower(scheduled + L.amount_due(loans), block) / 100 if arrears else None
