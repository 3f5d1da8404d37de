"""Grace period: a payment within G days after the due date is not late.

*Who*: every loan. *What*: the due date is assessed G days after it rather than on the day
(``GraceWindow``, through the extension point ``servicing.Deferral``): what has been paid by then counts as paid on
time, so it draws no late fee, no missed payment, no score damage and no delinquency flag
(a loan inside its grace window is reported as current). Days past due still count from
the due date itself, so default and charge-off come no later. Money arrives inside the
window from borrowers paid after their due date, late payers who misread the date, and
reminded ones. The policy costs nothing to run; its price is the fees not charged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from loansim import servicing
from loansim.loans import CHARGED_OFF, DAYS_PER_MONTH
from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.portfolio import Cohort
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

    @classmethod
    def on_time_days(cls, params: GraceParams) -> int:
        """A payment at most this many days after the due date counts as on time."""
        return params.days

    def setup(self, sim: Context) -> None:
        """Defer every due date's assessment to the end of its window."""
        self.windows: dict[int, list[GraceWindow]] = {}  # day -> due dates whose window ends then
        sim.recorder.declare("cured_in_grace")
        sim.recorder.declare("paid_in_grace", money=True)
        sim.deferral = self

    def defer(self, sim: Context, day: int, cohort: Cohort, scheduled: np.ndarray, reason: np.ndarray,
              principal_before: np.ndarray) -> None:
        """The due date `day` of `cohort` is assessed when its window ends."""
        self.windows.setdefault(day + self.params.days, []).append(GraceWindow(sim, day, cohort, scheduled, reason, principal_before))

    def end(self, sim: Context, day: int) -> None:
        """Assess the due dates whose window ends today."""
        for window in self.windows.pop(day, ()):
            window.end()

    def report(self, sim: Context) -> dict[str, float]:
        """Due dates cured inside the window (``actions``) and the interest and principal paid there."""
        counts = sim.recorder.counts
        self.actions = int(counts["cured_in_grace"].sum())
        return {**super().report(sim), "paid_in_grace": int(counts["paid_in_grace"].sum()) / 100,
                "cured_in_grace": float(self.actions)}


class GraceWindow:
    """A due date inside its grace window: what was short on it, to be assessed when it ends.

    ``end()`` runs on the window's last day, after that day's payments (pay day, reminders,
    collections, due dates: ``servicing.Deferral``), so a payment on the last day counts.
    """

    def __init__(self, sim: Context, day: int, cohort: Cohort, scheduled: np.ndarray, reason: np.ndarray,
                 principal_before: np.ndarray) -> None:
        L, loans = sim.loans, cohort.loans
        self.sim, self.day, self.cohort = sim, day, cohort
        self.scheduled, self.reason, self.principal_before = scheduled, reason, principal_before
        short = scheduled & (L.unpaid_scheduled(loans) > 0)
        self.ids = cohort.loan_ids(short.nonzero()[0])
        self.paid_before = L.interest_paid[self.ids] + L.principal_repaid[self.ids]

    def end(self) -> None:
        """Record what was paid inside the window on loans short at the due date, and how many
        it cured; then assess the due date."""
        sim, L, ids = self.sim, self.sim.loans, self.ids
        now = sim.today
        sim.recorder.add(now, "paid_in_grace", int((L.interest_paid[ids] + L.principal_repaid[ids] - self.paid_before).sum()))
        cured = (L.unpaid_scheduled(ids) <= 0) & (L.status[ids] != CHARGED_OFF)
        sim.recorder.add(now, "cured_in_grace", int(np.count_nonzero(cured)))
        servicing.assess(sim, self.day, self.cohort, self.scheduled, self.reason, self.principal_before)
