"""The population's month start: economy, shocks, income, spending, and the month's draws.

``PopulationMonth`` is set up once per run (paths, which causes are on) and called on
day 0 of each month. Every random number it draws is a whole-population array from a
stream named after its purpose and keyed by the month, so a policy never shifts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim import macro
from loansim.borrowers import income, loan_use, score, shocks, spending, stacking
from loansim.loans import ACTIVE, DAYS_PER_MONTH

if TYPE_CHECKING:
    from loansim.engine import Simulation


class PopulationMonth:
    """Runs steps 1-4 of ``loansim.borrowers`` for the whole population each month."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        s, people = sim.scenario, sim.borrowers
        e = s.economy
        self.path = None if e.unemployment_path is None else macro.unemployment_path(e.unemployment_path, sim.months)
        self.uniform_sensitivity = bool(np.all(people.job_loss_sensitivity == 1))
        self.literate = False  # anyone literate (checked each month: policies may teach)
        self.strategic = s.borrowers.strategic.monthly_prob.support()[1] > 0
        if self.strategic:  # propensity raised by the loans' size against annual income, at origination
            size = np.minimum(sim.book.per_borrower(sim.loans.disbursed) / 100 / np.maximum(12 * people.base_income, 1.0), 10.0)
            self.strategic_base = (people.strategic_propensity * (1 + s.borrowers.strategic.size_multiplier * size)).astype(np.float32)
        self.misreading = bool(np.any(people.misreads))  # late notices only clear misreadings
        self.essentials = bool(np.any(people.essentials > 0))
        # Months left of income lost to each kind of shock that takes income.
        self.spells = {kind: np.zeros(people.n, dtype=np.int16)
                       for kind, shock in s.borrowers.shocks.items() if shock.income_loss_share > 0}
        self.overspenders = np.flatnonzero(people.overspender)
        self.stacking = s.borrowers.stacking.take_up_prob.support()[1] > 0  # the same in every replication
        self.may_stack = np.empty(0, dtype=np.bool_)
        use = s.borrowers.loan_use
        self.loan_use = use.productive_share + use.risky_share > 0
        if self.loan_use:
            loan_use.assign_uses(people, sim.book.per_borrower(sim.loans.disbursed) / 100, use, sim.streams)
        # Pay days (``cash_cents``); arrears paid on them (``servicing.pay_arrears_on_pay_day``).
        self.pay_days = bool(np.any(people.pay_day))
        self.catch_up = s.borrowers.pay_arrears_on_pay_day
        # What due dates need from this month's draws (filled at each month start).
        self.forgets = np.empty(0, dtype=np.bool_)
        self.forget_draws = np.empty(0, dtype=np.float32)
        self.strategic_draws = np.empty(0, dtype=np.float32)
        # Borrowers who lost a job, took a pay cut or were hit by a shock this month.
        self.shocked = np.zeros(people.n, dtype=np.bool_)

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
        sim, s, people, n = self.sim, self.sim.scenario, self.sim.borrowers, self.sim.borrowers.n
        e, day = s.economy, month * DAYS_PER_MONTH
        self.shocked[:] = False
        if month > 0:  # month 0 starts from the initial state
            employed = people.employed
            income.step_employment(people, sim.streams.uniform("employment.transition", month, n, recurring=True),
                                   self.job_loss_hazards(month), e.monthly_job_finding_prob)
            self.shocked |= employed & ~people.employed
            self.cut_pay(month)
            income.grow_incomes(people, (1 + e.annual_income_growth) ** (1 / 12))
        for kind, shock in s.borrowers.shocks.items():
            hit, expense = shocks.apply_shock(kind, shock, people, sim.streams, month, self.spells.get(kind))
            self.shocked[hit] = True
            sim.recorder.add(day, f"shock_{kind}_events", hit.size)
            sim.recorder.add(day, f"shock_{kind}_expense", round(expense * 100))
        income.receive_income(people, s.borrowers.unemployment_income_share,
                              [(self.spells[k], s.borrowers.shocks[k].income_loss_share) for k in self.spells])
        if self.loan_use:
            failures, lost = loan_use.fail_ventures(people, s.borrowers.loan_use, sim.streams, month)
            sim.recorder.add(day, "venture_failures", failures)
            sim.recorder.add(day, "venture_losses", round(lost * 100))
            before = people.income.sum()
            loan_use.investment_income(people, s.borrowers.loan_use.monthly_return)
            sim.recorder.add(day, "investment_income", round((people.income.sum() - before) * 100))
        sd = s.borrowers.spending_noise_sd
        noise = sim.streams.normal("spending.noise", month, n, recurring=True) * np.float32(sd) if sd > 0 else np.float32(0)
        self.literate = bool(np.any(people.literacy > 0))
        coming = self.coming_due() if self.literate else None
        spending.spend_and_save(people, noise, s.borrowers.overspend_share_of_savings, coming, self.essentials,
                                self.repay_outside if self.stacking else None, self.overspenders)
        if self.pay_days:  # income budgeted now arrives on the pay day (``cash_cents``)
            people.income_pending[:] = people.income
        self.draw_for_due_dates(month)

    def draw_for_due_dates(self, month: int) -> None:
        """This month's per-borrower draws for due dates, turned into what due dates need."""
        sim, people, n = self.sim, self.sim.borrowers, self.sim.borrowers.n
        self.forget_draws = sim.streams.uniform("payment.forget", month, n, recurring=True)
        self.forgets = self.forget_draws < self.forget_chance()
        if self.strategic:
            self.strategic_draws = sim.streams.uniform("payment.strategic", month, n, recurring=True)
        if self.stacking:
            self.may_stack = sim.streams.uniform("payment.stacking", month, n, recurring=True) < people.stacking_take_up

    def forget_chance(self, ids: slice | np.ndarray = slice(None)) -> np.ndarray:
        """This month's chance that borrowers `ids` forget a due date: forgetfulness × (1 − literacy)."""
        people = self.sim.borrowers
        return people.forget_prob[ids] * (1 - people.literacy[ids]) if self.literate else people.forget_prob[ids]

    def job_loss_hazards(self, month: int) -> np.ndarray | float:
        """This month's job-loss hazard per borrower: on the path, shared by sensitivity."""
        people, e = self.sim.borrowers, self.sim.scenario.economy
        if self.path is None:
            hazard = e.job_loss_prob()
        else:
            unemployed = 1.0 - np.count_nonzero(people.employed) / people.n
            hazard = macro.job_loss_hazard(unemployed, float(self.path[month]), e.monthly_job_finding_prob)
        if self.uniform_sensitivity:
            return hazard
        return macro.individual_hazards(hazard, people.job_loss_sensitivity, people.employed)

    def cut_pay(self, month: int) -> None:
        """Permanent pay cuts for some employed borrowers, more of them when unemployment is high."""
        sim, e, people = self.sim, self.sim.scenario.economy, self.sim.borrowers
        if e.monthly_pay_cut_prob == 0:
            return
        pressure = 1.0 if self.path is None else float(self.path[month] / self.path[0])  # path[0] > 0: validated
        prob = min(e.monthly_pay_cut_prob * pressure ** e.pay_cut_unemployment_elasticity, 1.0)
        hit = sim.streams.subset("income.pay_cut", month, np.flatnonzero(people.employed), prob)
        income.cut_pay(people, hit, e.pay_cut_share.sample(sim.streams.generator("income.pay_cut.size", month), hit.size))
        self.shocked[hit] = True
        sim.recorder.add(month * DAYS_PER_MONTH, "pay_cuts", hit.size)

    def repay_outside(self, available: np.ndarray) -> None:
        """Repay outside short-term debt out of `available` cash (``stacking``); an unmet
        repayment is reported to the credit score as a miss."""
        sim = self.sim
        paid, unmet = stacking.repay(sim.borrowers, available, sim.scenario.borrowers.stacking)
        sim.recorder.add(int(sim.env.now), "outside_repaid", round(paid * 100))
        sim.recorder.add(int(sim.env.now), "outside_unmet", unmet.size)
        people = sim.borrowers
        people.score[unmet] = score.missed(people.score[unmet], sim.scenario.borrowers.score.miss_points, np.ones(unmet.size))

    def coming_due(self) -> np.ndarray:
        """What each borrower's next due date will ask for (currency): instalment and arrears."""
        L = self.sim.loans
        scheduled = (L.n_billed < L.term_months) & (L.status == ACTIVE)
        return self.sim.book.per_borrower(np.where(scheduled, L.installment, 0) + L.amount_due(slice(None))) / 100
