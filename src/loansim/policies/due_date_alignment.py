"""Due-date alignment: each borrower's due date moves to just after their pay day.

*Who*: ``share_of_borrowers`` of borrowers (drawn once) whose income does not already
arrive within ``days_after_pay_day`` days before their due date. *What*: the due date is
moved to ``days_after_pay_day`` days after the pay day, at the start of the run, for a
one-off ``cost_per_borrower``. loansim keeps loans in due-day order for speed, so the move
is represented by its equivalent: the gap between the income arriving and the instalment
falling due. The borrower's pay day is set to ``days_after_pay_day`` days before the due
day (the month's start when the due day is earlier than that), and everything a
borrower's cash depends on follows from that gap. The first due date is therefore not
postponed by the move, which matters only to timing within the first month.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from loansim.limits import MAX_PRICE
from loansim.loans import DAYS_PER_MONTH
from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.context import Context


class DueDateAlignmentParams(PolicyParams):
    days_after_pay_day: int = Field(default=1, ge=0, le=DAYS_PER_MONTH - 1, description="days from pay day to the new due date")
    share_of_borrowers: float = Field(default=1.0, ge=0, le=1, description="share of borrowers offered the move (all of them accept)")
    cost_per_borrower: float = Field(default=1.0, ge=0, le=MAX_PRICE, description="one-off cost per borrower moved, currency units")


@register
class DueDateAlignment(Policy[DueDateAlignmentParams]):
    """Due dates just after pay day."""

    name = "due_date_alignment"
    spans_days = True  # it acts before the run only
    Params = DueDateAlignmentParams

    def setup(self, sim: Context) -> None:
        people, p = sim.borrowers, self.params
        gap = self.gap(people.due_day, people.pay_day)
        self.gap_before = float(gap.mean()) if people.n else 0.0
        offered = sim.streams.uniform("policy.due_date_alignment.reach", 0, people.n) < p.share_of_borrowers
        moved = np.flatnonzero(offered & (gap > p.days_after_pay_day))
        people.pay_day[moved] = np.maximum(people.due_day[moved] - p.days_after_pay_day, 0)
        self.gap_after = float(self.gap(people.due_day, people.pay_day).mean()) if people.n else 0.0
        self.actions = int(moved.size)
        self.book_priced(sim, moved.size, p.cost_per_borrower)

    @staticmethod
    def gap(due_day: np.ndarray, pay_day: np.ndarray) -> np.ndarray:
        """Days from the last pay day to the due date (0-29)."""
        return (due_day.astype(np.int64) - pay_day) % DAYS_PER_MONTH

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "borrowers_moved": float(self.actions),
                "mean_days_pay_to_due_before": self.gap_before, "mean_days_pay_to_due_after": self.gap_after}
