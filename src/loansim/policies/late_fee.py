"""Late fees and penalty interest: what a missed payment costs the borrower.

*Who*: loans that did not pay a due date in full (the flat fee), and loans that carry
arrears into a due date (penalty interest). *What*: bill the charge as a fee, up to a
lifetime cap per loan. Fees are income to the lender when paid and a cost to the borrower.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from loansim.limits import MAX_AMOUNT, MAX_PRICE
from loansim.loans import ACTIVE, Loans, round_cents, to_cents
from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario
    from loansim.portfolio import Cohort


class LateFeeParams(PolicyParams):
    flat_fee: float = Field(default=25.0, ge=0, le=MAX_PRICE, description="fee per due date not paid in full, currency units")
    penalty_monthly_rate: float = Field(default=0.0, ge=0, le=1, description="penalty charge per month on overdue principal and interest, as a share")
    max_fees_per_loan: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, description="cap on fees and penalties billed over a loan's life, currency units; none = no cap")


@register
class LateFee(Policy[LateFeeParams]):
    """Flat late fee per missed due date and penalty interest on arrears."""

    name = "late_fee"
    Params = LateFeeParams
    spans_days = True  # both charges are per loan, whatever the day

    @classmethod
    def most_per_loan(cls, params: LateFeeParams, scenario: Scenario, owed: float) -> tuple[float, float]:
        """A flat fee and penalty on everything `owed`, every month, up to the cap."""
        fees = (params.flat_fee + params.penalty_monthly_rate * owed) * scenario.run.simulated_months()
        return (fees if params.max_fees_per_loan is None else min(fees, params.max_fees_per_loan)), 0.0

    def setup(self, sim: Context) -> None:
        """Charge penalty interest before each due date, and the flat fee after a miss."""
        if self.params.penalty_monthly_rate > 0:
            sim.hooks.add("before_due", self.penalise_arrears)
        if self.params.flat_fee > 0:
            sim.hooks.add("missed", self.charge_late_fee)

    def penalise_arrears(self, sim: Context, day: int, cohort: Cohort) -> None:
        """Loans carrying arrears into today's due date pay penalty interest on them."""
        ids = in_arrears(sim.loans, cohort)
        if ids.size == 0:
            return
        overdue = sim.loans.principal_due[ids] + sim.loans.interest_due[ids]  # not fees: no charge on charges
        self._charge(sim, ids, round_cents(overdue * self.params.penalty_monthly_rate))

    def charge_late_fee(self, sim: Context, day: int, missed: np.ndarray) -> None:
        """Loans that missed today's due date pay the flat fee (not those charged off since)."""
        self._charge(sim, missed[sim.loans.status[missed] == ACTIVE], to_cents(self.params.flat_fee))

    def _charge(self, sim: Context, ids: np.ndarray, charge: np.ndarray | int) -> None:
        if ids.size == 0:
            return
        cents: np.ndarray = np.asarray(charge, dtype=np.int64)
        if cents.shape != ids.shape:
            cents = np.broadcast_to(cents, ids.shape)
        if self.params.max_fees_per_loan is not None:
            room = to_cents(self.params.max_fees_per_loan) - sim.loans.fees_billed[ids]
            cents = np.clip(cents, 0, np.maximum(room, 0))
        charged: np.ndarray = cents > 0
        if not charged.all():
            ids, cents = ids[charged], cents[charged]
        sim.ledger.charge_fee(ids, cents)
        self.actions += ids.size


def in_arrears(loans: Loans, cohort: Cohort) -> np.ndarray:
    """Ids of loans in `cohort` with an unpaid instalment from an earlier due date."""
    return cohort.loan_ids((loans.oldest_unpaid_day[cohort.loans] >= 0).nonzero()[0])
