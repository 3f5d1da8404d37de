"""Hardship deferral: borrowers hit by a hardship skip a few instalments.

*Who*: borrowers who lost a job, took a pay cut or were hit by a shock this month apply
with chance ``application_prob``; ``documented_share`` of applicants can document the
hardship. A documented applicant's active loans are approved if each is current or less
than ``max_dpd`` days past due, has instalments left, and was not deferred in the last
``cooldown_months``. (Early-warning outreach can offer the same deferral without the
application step: ``offer``.)

*What*: the next ``months`` instalments are skipped and the schedule resumes after them, so
the term extends by that many months. Arrears at approval are re-aged into the balance
(``Ledger.modify``). Interest for the deferred months is either waived (the lender's cost,
booked as the interest forgone: ``waived``) or capitalised (added to the balance, and the
instalment after the deferral is set to repay it: ``capitalised``). Re-default is measured
3, 6, 9 and 12 months after the day the deferral is granted (the loan's modification),
at 60 and 90 days past due (``ReDefaults``); the deferred months are part of that time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from loansim.limits import MAX_MONTHS, MAX_PRICE
from loansim.loans import ACTIVE, DAYS_PER_MONTH, days_past_due
from loansim.policies import Policy, PolicyParams, register
from loansim.policies._common import NEVER, ReDefaults, active_loans_of, cooled_off, next_due_day, with_instalments_left
from loansim.portfolio import borrower_starts
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario
    from loansim.portfolio import Cohort


class HardshipDeferralParams(PolicyParams):
    application_prob: float = Field(default=0.3, ge=0, le=1, description="chance a borrower hit by a hardship this month applies")
    documented_share: float = Field(default=0.7, ge=0, le=1, description="share of applicants who can document the hardship")
    max_dpd: int = Field(default=30, ge=1, le=3650, description="a loan must be less than this many days past due to qualify")
    cooldown_months: int = Field(default=12, ge=0, le=MAX_MONTHS, description="months after a deferral starts before the loan can be deferred again")
    months: int = Field(default=3, ge=1, le=24, description="instalments skipped (the term extends by as many months)")
    interest: Literal["waived", "capitalised"] = Field(default="waived", description="interest of the deferred months: waived (the lender's cost) or capitalised (added to the balance)")
    cost_per_application: float = Field(default=10.0, ge=0, le=MAX_PRICE, description="cost of handling one application, currency units")



class HardshipLoans(StateArrays):
    """The policy's state of each loan."""

    deferred_from: Array[np.int64] = field(NEVER, "day", "day the latest deferral was granted (``NEVER``: none yet)")
    in_deferral: Array[np.bool_] = field(False, "flag", "within a deferral now")


@register
class HardshipDeferral(Policy[HardshipDeferralParams]):
    """Skip instalments after a documented hardship."""

    name = "hardship_deferral"
    Params = HardshipDeferralParams
    spans_days = True  # it defers at a month's start; a deferred due date is skipped loan by loan

    @classmethod
    def capitalised_months(cls, params: HardshipDeferralParams, scenario: Scenario) -> int:
        """Each deferral capitalises the interest past due (below ``max_dpd``) and, if so
        chosen, that of the months deferred; one deferral per cooldown (or per deferral)."""
        deferrals = -(-scenario.run.simulated_months() // max(params.cooldown_months, params.months))
        per_deferral = -(-params.max_dpd // DAYS_PER_MONTH) + (params.months if params.interest == "capitalised" else 0)
        return deferrals * per_deferral

    @classmethod
    def most_per_loan(cls, params: HardshipDeferralParams, scenario: Scenario, owed: float) -> tuple[float, float]:
        """An application a month, and interest waived (a cost) up to all the loan owes."""
        return 0.0, params.cost_per_application * scenario.run.simulated_months() + owed

    def setup(self, sim: Context) -> None:
        self.per_loan = HardshipLoans(sim.loans.n)
        self.redefaults = ReDefaults(sim)
        self.applications = self.approved = 0
        self.interest_forgone = self.interest_capitalised = 0
        sim.hooks.add("month_start", self.take_applications)
        sim.hooks.add("before_due", self.skip_instalments)

    # who
    def eligible(self, sim: Context, ids: np.ndarray) -> np.ndarray:
        """Those of loans `ids` that qualify: active, below ``max_dpd``, instalments left,
        not in or recently out of a deferral."""
        L, p = sim.loans, self.params
        ids = with_instalments_left(L, ids[L.status[ids] == ACTIVE])
        cooled = cooled_off(self.per_loan.deferred_from[ids], sim.today, p.cooldown_months)
        return ids[(days_past_due(L.oldest_unpaid_day[ids], sim.today) < p.max_dpd) & cooled & ~self.per_loan.in_deferral[ids]]

    def applicants(self, sim: Context, month: int) -> np.ndarray:
        """Active loans of the borrowers who apply this month (customers hit by a hardship)
        and can document it."""
        n, p = sim.borrowers.n, self.params
        applies = sim.population.shocked & (sim.streams.uniform("policy.hardship_deferral.apply", month, n, recurring=True) < p.application_prob)
        applies &= ~sim.borrowers.unwilling
        loans = active_loans_of(sim.book, applies)
        holders = sim.book.holders(loans)
        n_applications = borrower_starts(holders).size
        self.applications += n_applications
        self.book_priced(sim, n_applications, p.cost_per_application)
        documented = sim.streams.uniform("policy.hardship_deferral.documents", month, n, recurring=True) < p.documented_share
        return loans[documented[holders]]

    # what
    def defer(self, sim: Context, ids: np.ndarray) -> None:
        """Skip the next ``months`` instalments of loans `ids`; the schedule resumes after them."""
        L, p = sim.loans, self.params
        if ids.size == 0:
            return
        resume = next_due_day(sim.loans, ids, sim.today) + p.months * DAYS_PER_MONTH
        remaining = np.maximum(L.term_months[ids] - L.n_billed[ids], 1)
        balance = None
        if p.interest == "capitalised":  # the instalment after the deferral repays the grown balance
            principal = L.principal[ids] + L.interest_due[ids]
            balance = principal * (1 + L.monthly_rate[ids]) ** p.months
        sim.ledger.modify(ids, resume, remaining, balance_at_start=balance)
        self.per_loan.deferred_from[ids] = sim.today
        self.per_loan.in_deferral[ids] = True
        self.redefaults.watch(ids, sim.today)
        self.approved += ids.size
        self.actions += ids.size

    def take_applications(self, sim: Context, month: int) -> None:
        """Hardship applications this month: documented applicants' qualifying loans are deferred."""
        self.defer(sim, self.eligible(sim, self.applicants(sim, month)))

    def offer(self, sim: Context, ids: np.ndarray) -> int:
        """A deferral offered proactively (early warning) on loans `ids`; returns how many qualified."""
        ids = self.eligible(sim, ids)
        self.defer(sim, ids)
        return ids.size

    def skip_instalments(self, sim: Context, day: int, cohort: Cohort) -> None:
        """A deferred due date: its interest is waived (a cost) or capitalised. (In a span of
        due days, each loan's due day is its own: ``Cohort.today``.)"""
        L, loans = sim.loans, cohort.loans
        local = np.flatnonzero(self.per_loan.in_deferral[loans])
        if local.size == 0:
            return
        ids = cohort.loan_ids(local)
        today = cohort.today(day)
        ended = L.sched_start_day[ids] <= (today if isinstance(today, int) else today[local])
        self.per_loan.in_deferral[ids[ended]] = False
        ids = ids[~ended & (L.status[ids] == ACTIVE)]
        interest = L.monthly_interest(ids)  # as billing would have charged
        if self.params.interest == "waived":
            forgone = int(interest.sum())
            self.interest_forgone += forgone
            self.book_cost(sim, forgone)
        else:
            self.interest_capitalised += int(interest.sum())
            sim.ledger.capitalise_interest(ids, interest)

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "applications": float(self.applications), "deferrals": float(self.approved),
                "interest_forgone": self.interest_forgone / 100, "interest_capitalised": self.interest_capitalised / 100,
                "in_deferral_at_end": float(np.count_nonzero(self.per_loan.in_deferral & (sim.loans.status == ACTIVE))),
                **self.redefaults.report(sim.loans, sim.scenario.lender.default_dpd)}
