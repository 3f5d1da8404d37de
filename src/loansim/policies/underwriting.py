"""Underwriting and origination: a stream of applicants, decided by rules.

*Applicants*: ``applications_per_month`` applicants apply in each month from
``first_month`` to ``last_month``, drawn from the same population model as the book
(income, spending, savings, literacy, score, ...). Each applies for one loan of each
product their segment holds. A share ``applicant_overstating_share`` of applicants state
an income higher than their true income by a drawn ``applicant_overstatement``.

*Who* is approved (at the start of the application month), in this order of rules:
the credit score is at least ``score_cutoff``; the instalments applied for take at most
``max_dti`` of the stated monthly income (``verification_share`` of applicants have their
income verified, which replaces a stated income by the true one). *What*: approved loans
are lent that day (``Ledger.lend``) and their first instalment falls due on the
borrower's due day of the next month. Each application costs ``cost_per_application``
and each verification ``cost_per_verification``.

The policy reports approvals and declines by rule, the volume lent, and the new loans'
own outcome (default rate, interest and fee income, net loss), so that stricter rules show
both the losses avoided and the business lost. The portfolio's ``approval_rate`` is
approvals / applications decided.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from loansim.distributions import dist_in
from loansim.limits import MAX_MONTHS, MAX_PRICE
from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH
from loansim.policies import Policy, PolicyParams, register
from loansim.policies._common import month_in_run
from loansim.portfolio import borrower_starts
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario


class UnderwritingParams(PolicyParams):
    applications_per_month: int = Field(default=1000, ge=0, le=10_000_000, description="applicants per month")
    first_month: int = Field(default=1, ge=1, le=MAX_MONTHS, description="first month of the run (1 = the first) with applicants")
    last_month: int | None = Field(default=None, ge=1, le=MAX_MONTHS, description="last month with applicants; none = the run's last month")
    score_cutoff: float = Field(default=300.0, ge=300, le=850, description="lowest credit score approved, points")
    max_dti: float = Field(default=1.0, gt=0, le=10, description="highest share of stated monthly income the instalments applied for may take")
    verification_share: float = Field(default=0.0, ge=0, le=1, description="share of applicants whose income is verified")
    applicant_overstating_share: float = Field(default=0.2, ge=0, le=1, description="share of applicants who state more income than they earn")
    applicant_overstatement: dist_in(0.0, 10.0) = Field(default={"dist": "uniform", "low": 0.1, "high": 0.5}, description="how much more, as a share of true income")  # type: ignore[valid-type]
    cost_per_application: float = Field(default=20.0, ge=0, le=MAX_PRICE, description="cost of deciding one application, currency units")
    cost_per_verification: float = Field(default=15.0, ge=0, le=MAX_PRICE, description="cost of verifying one applicant's income, currency units")

    def months(self, run_months: int) -> range:
        """The run's months (0-based) with applicants."""
        last = run_months if self.last_month is None else min(self.last_month, run_months)
        return range(self.first_month - 1, last)



class UnderwritingBorrowers(StateArrays):
    """The policy's state of each borrower (applicants' only matter)."""

    stated_income: Array[np.float64] = field(0.0, "currency/month", "income stated on the application (overstated by some)")
    verified: Array[np.bool_] = field(False, "flag", "the application's income is verified (the true income is used)")


class UnderwritingLoans(StateArrays):
    """The policy's state of each loan."""

    new: Array[np.bool_] = field(False, "flag", "lent by this policy during the run")


@register
class Underwriting(Policy[UnderwritingParams]):
    """Applicants over time, approved by score, debt-to-income and verified income."""

    name = "underwriting"
    spans_days = True  # it lends at the month's start only
    Params = UnderwritingParams

    @classmethod
    def n_applicants(cls, params: UnderwritingParams, scenario: Scenario) -> int:
        return params.applications_per_month * len(params.months(scenario.run.months))

    @classmethod
    def check(cls, params: UnderwritingParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        problems = month_in_run("first_month", params.first_month, scenario)
        if params.last_month is not None:
            problems += month_in_run("last_month", params.last_month, scenario)
        if not problems and params.last_month is not None and params.last_month < params.first_month:
            return [("last_month", params.last_month, f"must be >= first_month ({params.first_month})")]
        return problems

    def application_months(self, scenario: Scenario) -> np.ndarray:
        return np.repeat(np.array(self.params.months(scenario.run.months), dtype=np.int16), self.params.applications_per_month)

    def setup(self, sim: Context) -> None:
        people, p = sim.borrowers, self.params
        applicants = people.applies_in_month >= 0
        overstates = sim.streams.uniform("policy.underwriting.overstates", 0, people.n) < p.applicant_overstating_share
        extra = sim.streams.sample(p.applicant_overstatement, "policy.underwriting.overstatement", people.n)
        self.per_borrower, self.per_loan = UnderwritingBorrowers(people.n), UnderwritingLoans(sim.loans.n)
        self.per_borrower.stated_income = people.base_income * np.where(overstates & applicants, 1 + extra, 1.0)
        self.per_borrower.verified = applicants & (sim.streams.uniform("policy.underwriting.verified", 0, people.n) < p.verification_share)
        self.counts = dict.fromkeys(("applications", "approved", "declined_score", "declined_dti", "verified",
                                     "overstatements_caught"), 0)
        sim.hooks.add("month_start", self.decide)

    # who
    def approve(self, sim: Context, ids: np.ndarray, loans: np.ndarray) -> np.ndarray:
        """Mask over applicants `ids`: approved by the score cut-off, then the DTI limit;
        `loans` are the loans they apply for (each applies for at least one)."""
        people, p, L = sim.borrowers, self.params, sim.loans
        scored = people.score[ids] >= p.score_cutoff
        income = np.where(self.per_borrower.verified[ids], people.base_income[ids], self.per_borrower.stated_income[ids])
        instalments = np.add.reduceat(L.installment[loans], borrower_starts(L.borrower[loans])) / 100
        affordable = instalments <= p.max_dti * income
        self.counts["declined_score"] += int(np.count_nonzero(~scored))
        self.counts["declined_dti"] += int(np.count_nonzero(scored & ~affordable))
        self.counts["overstatements_caught"] += int(np.count_nonzero(self.per_borrower.verified[ids] & (self.per_borrower.stated_income[ids] > people.base_income[ids])))
        return scored & affordable

    # what
    def decide(self, sim: Context, month: int) -> None:
        """Decide this month's applications; lend to those approved."""
        ids = np.flatnonzero(sim.borrowers.applies_in_month == month)
        if ids.size == 0:
            return
        L = sim.loans
        applied = np.flatnonzero(sim.borrowers.applies_in_month[L.borrower] == month)
        approved = ids[self.approve(sim, ids, applied)]
        loans = applied[np.isin(L.borrower[applied], approved)]
        first_due = (month + 1) * DAYS_PER_MONTH + L.due_day[loans].astype(np.int64)
        sim.ledger.lend(loans, first_due)
        sim.hooks.run("lent", sim, sim.today, loans)
        self.per_loan.new[loans] = True
        verified = int(np.count_nonzero(self.per_borrower.verified[ids]))
        self.counts["applications"] += ids.size
        self.counts["approved"] += approved.size
        self.counts["verified"] += verified
        self.actions += ids.size
        self.book_priced(sim, ids.size, self.params.cost_per_application)
        self.book_priced(sim, verified, self.params.cost_per_verification)

    def portfolio_metrics(self, sim: Context) -> dict[str, float]:
        return {"approval_rate": self.counts["approved"] / max(self.counts["applications"], 1)}

    def report(self, sim: Context) -> dict[str, float]:
        L, new = sim.loans, self.per_loan.new
        n = max(int(np.count_nonzero(new)), 1)
        net_loss = int(L.principal_charged_off[new].sum()) - int(L.recoveries[new].sum())
        return {**super().report(sim), **{k: float(v) for k, v in self.counts.items()},
                **self.portfolio_metrics(sim),
                "new_loans": float(np.count_nonzero(new)), "new_volume": int(L.disbursed[new].sum()) / 100,
                "new_default_rate": float(np.count_nonzero(L.defaulted_day[new] >= 0) / n),
                "new_charge_off_rate": float(np.count_nonzero(L.status[new] == CHARGED_OFF) / n),
                "new_active_at_end_rate": float(np.count_nonzero(L.status[new] == ACTIVE) / n),
                "new_interest_income": int(L.interest_paid[new].sum()) / 100,
                "new_fee_income": int(L.fees_paid[new].sum()) / 100,
                "new_net_loss": net_loss / 100}
