"""Reminders: an SMS and/or app message some days before each due date, and optionally the
day after a missed one.

*Who*: borrowers with a scheduled instalment on the coming due date whom the lender can
reach (``reach_share`` of borrowers, drawn once), optionally only those who have missed a
due date before. *What*: a reminder before the due date cuts that month's chance of
forgetting it by the channel's ``forget_reduction`` (two channels combine as
``1 - (1 - a)(1 - b)``). The cut is a share of the borrower's own chance, so it is largest
for those who forget most, and it uses the same monthly draw as without reminders: a
reminded borrower who remembers would have remembered anyway (never more forgotten
payments). A reminder the day after a due date goes to every borrower whose loan is then
past due; those who forgot it or misread the contract pay what their cash allows that day
with chance ``after_miss_pay_prob`` (it also corrects a misread contract). Each message
costs its channel's price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from loansim import servicing
from loansim.borrowers.payment import FORGOT, MISUNDERSTOOD
from loansim.limits import MAX_PRICE
from loansim.loans import ACTIVE, DAYS_PER_MONTH
from loansim.policies import Policy, PolicyParams, register
from loansim.portfolio import borrower_starts
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario
    from loansim.portfolio import Cohort


class RemindersParams(PolicyParams):
    days_before_due: int = Field(default=3, ge=0, le=29, description="days before the due date the reminder is sent (0 = on the morning of the due date)")
    sms: bool = Field(default=True, description="send an SMS")
    app: bool = Field(default=False, description="send an app notification")
    cost_per_sms: float = Field(default=0.05, ge=0, le=MAX_PRICE, description="cost of one SMS, currency units")
    cost_per_app_message: float = Field(default=0.005, ge=0, le=MAX_PRICE, description="cost of one app notification, currency units")
    sms_forget_reduction: float = Field(default=0.5, ge=0, le=1, description="share by which an SMS cuts the chance of forgetting the due date")
    app_forget_reduction: float = Field(default=0.3, ge=0, le=1, description="share by which an app notification cuts the chance of forgetting the due date")
    reach_share: float = Field(default=1.0, ge=0, le=1, description="share of borrowers the lender can reach (a mobile number, the app installed)")
    target: Literal["all", "past_miss"] = Field(default="all", description="who is reminded: every borrower, or only those who have missed a due date before")
    after_miss: bool = Field(default=False, description="also remind borrowers the day after a due date they did not pay in full")
    after_miss_pay_prob: float = Field(default=0.6, ge=0, le=1, description="chance a borrower who forgot or misread the contract pays on the day of an after-miss reminder")



class RemindersBorrowers(StateArrays):
    """The policy's state of each borrower."""

    reached: Array[np.bool_] = field(False, "flag", "within the reminders' reach (``reach_share``)")


@register
class Reminders(Policy[RemindersParams]):
    """Messages before the due date (fewer forgotten payments) and after a miss."""

    name = "reminders"
    Params = RemindersParams

    @classmethod
    def most_per_loan(cls, params: RemindersParams, scenario: Scenario, owed: float) -> tuple[float, float]:
        """Two reminders a month at most (before the due date, after a miss), on each channel."""
        return 0.0, 2 * (params.cost_per_sms + params.cost_per_app_message) * scenario.run.simulated_months()

    def setup(self, sim: Context) -> None:
        p = self.params
        self.channels = [(cost, cut) for on, cost, cut in ((p.sms, p.cost_per_sms, p.sms_forget_reduction),
                                                           (p.app, p.cost_per_app_message, p.app_forget_reduction)) if on]
        self.price = sum(cost for cost, _ in self.channels)  # per reminder, all channels
        self.keeps_forgetting = float(np.prod([1 - cut for _, cut in self.channels]))
        self.per_borrower = RemindersBorrowers(sim.borrowers.n)
        self.per_borrower.reached = sim.streams.uniform("policy.reminders.reach", 0, sim.borrowers.n) < p.reach_share
        self.sent_before = self.sent_after = self.paid_after = 0
        if not self.channels or p.reach_share == 0:
            return
        sim.hooks.add("day_start", self.remind_before_due)
        if p.after_miss:
            sim.hooks.add("day_start", self.remind_after_miss)

    # who
    def eligible(self, sim: Context, cohort: Cohort) -> np.ndarray:
        """Ids of the borrowers of `cohort` to remind of their coming due date: reached, with
        an instalment scheduled, and (if targeted) with a miss before."""
        L, loans = sim.loans, cohort.loans
        scheduled = (L.status[loans] == ACTIVE) & (L.n_billed[loans] < L.term_months[loans])
        mask = self.per_borrower.reached[cohort.borrowers] & (cohort.most_per_borrower(scheduled.astype(np.int8)) > 0)
        if self.params.target == "past_miss":
            mask &= cohort.most_per_borrower(L.n_missed[loans]) > 0
        return cohort.borrowers.start + np.flatnonzero(mask)

    # what
    def remind_before_due(self, sim: Context, day: int) -> None:
        """Remind the borrowers whose due date is `days_before_due` days away (on the first
        day, also those whose due date is sooner)."""
        first = day + self.params.days_before_due
        for target in range(0 if day == 0 else first, first + 1):
            if target < sim.end_month * DAYS_PER_MONTH:
                self._remind_for(sim, day, target)

    def _remind_for(self, sim: Context, day: int, target: int) -> None:
        ids = self.eligible(sim, sim.book.cohorts[target % DAYS_PER_MONTH])
        self._send(sim, ids.size)
        self.sent_before += ids.size
        sim.population.remind(self.name, ids, target // DAYS_PER_MONTH, self.keeps_forgetting)  # its chance of forgetting falls

    def remind_after_miss(self, sim: Context, day: int) -> None:
        """The day after a due date, remind every borrower whose loan is past due; those who
        forgot or misread pay what they can, with chance ``after_miss_pay_prob``."""
        if day == 0:
            return
        cohort = sim.book.cohorts[(day - 1) % DAYS_PER_MONTH]
        L, loans = sim.loans, cohort.loans
        late = cohort.loan_ids(np.flatnonzero(L.late(loans)))
        of_late = sim.book.holders(late)
        reached = self.per_borrower.reached[of_late]
        late, of_late = late[reached], of_late[reached]
        if late.size == 0:
            return
        first = borrower_starts(of_late)
        holders = of_late[first]
        self._send(sim, holders.size)
        self.sent_after += holders.size
        people = sim.borrowers
        why = L.pay_reason[late]  # the reason recorded at the due date
        forgot_or_misread = (why == FORGOT) | (why == MISUNDERSTOOD)
        could = holders.compress(np.logical_or.reduceat(forgot_or_misread, first) & ~people.unwilling[holders])
        people.misreads[holders] = 0
        payers = could.compress(sim.streams.keyed_uniform("policy.reminders.after_miss", day, could) < self.params.after_miss_pay_prob)
        if payers.size:
            at = np.minimum(np.searchsorted(payers, of_late), payers.size - 1)
            loans_of = late[payers[at] == of_late]
            self.paid_after += int(servicing.pay_what_cash_allows(sim, loans_of, sim.today).sum())

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "reminders_before_due": float(self.sent_before),
                "reminders_after_miss": float(self.sent_after),
                "forgotten_due_dates_avoided": float(sim.population.forgets_avoided.get(self.name, 0)),
                "paid_after_reminder": self.paid_after / 100}

    def _send(self, sim: Context, n: int) -> None:
        self.actions += n
        self.book_priced(sim, n, self.price)
