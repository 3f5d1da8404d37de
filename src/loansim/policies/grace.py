"""Grace period: a payment within G days after the due date is not late.

*Who*: every loan. *What*: the due date is assessed G days after it rather than on the day
(``loansim.servicing.GraceWindow``): what has been paid by then counts as paid on
time, so it draws no late fee, no missed payment, no score damage and no delinquency flag
(a loan inside its grace window is reported as current). Days past due still count from
the due date itself, so default and charge-off come no later. Money arrives inside the
window from borrowers paid after their due date, late payers who misread the date, and
reminded ones. The policy costs nothing to run; its price is the fees not charged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from loansim.loans import DAYS_PER_MONTH
from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.engine import Simulation
    from loansim.scenario import Scenario


class GraceParams(PolicyParams):
    days: int = Field(default=10, ge=1, le=DAYS_PER_MONTH - 1, description="days after the due date within which a payment counts as on time")


@register
class Grace(Policy[GraceParams]):
    """Payments within ``days`` of the due date are on time."""

    name = "grace"
    Params = GraceParams

    @classmethod
    def check(cls, params: GraceParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        if params.days >= scenario.lender.default_dpd:
            return [("days", params.days, f"must be below lender.default_dpd ({scenario.lender.default_dpd})")]
        return []

    def setup(self, sim: Simulation) -> None:
        sim.grace_days = self.params.days

    def report(self, sim: Simulation) -> dict[str, float]:
        """Due dates cured inside the window (``actions``) and the interest and principal paid there."""
        counts = sim.recorder.counts
        self.actions = int(counts["cured_in_grace"].sum())
        return {**super().report(sim), "paid_in_grace": int(counts["paid_in_grace"].sum()) / 100,
                "cured_in_grace": float(self.actions)}
