"""Early warning: proactive outreach when a borrower's score falls or a shock is seen.

*Who*: at each month start, borrowers with an active loan whose credit score has fallen
below ``score_threshold`` since the last check, or (with ``on_shock``) who lost a job,
took a pay cut or were hit by a shock this month, and who were not contacted in the last
``cooldown_months``. *What*: each is contacted (``cost_per_outreach``); with chance
``take_up_prob`` the borrower takes up the offer, a hardship deferral or a restructuring,
made through that policy (which must be enabled, and whose own eligibility rules apply,
except that a restructuring needs no arrears here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from loansim.limits import MAX_MONTHS, MAX_PRICE
from loansim.policies import OffersModification, Policy, PolicyParams, register
from loansim.policies._common import NEVER, active_loans_of, cooled_off, customers
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario




class EarlyWarningParams(PolicyParams):
    score_threshold: float = Field(default=600.0, ge=300, le=850, description="outreach when the credit score falls below this, points")
    on_shock: bool = Field(default=True, description="also reach out when a job loss, pay cut or shock is seen")
    offer: Literal["hardship_deferral", "restructuring"] = Field(default="hardship_deferral", description="what is offered (that policy must be enabled)")
    take_up_prob: float = Field(default=0.4, ge=0, le=1, description="chance a contacted borrower takes up the offer")
    cost_per_outreach: float = Field(default=3.0, ge=0, le=MAX_PRICE, description="cost of one contact, currency units")
    cooldown_months: int = Field(default=6, ge=0, le=MAX_MONTHS, description="months before the same borrower is contacted again")



class EarlyWarningBorrowers(StateArrays):
    """The policy's state of each borrower."""

    contacted_on: Array[np.int64] = field(NEVER, "day", "day of the latest outreach (``NEVER``: none yet)")
    was_above: Array[np.bool_] = field(False, "flag", "credit score at or above the threshold at the month start before")


@register
class EarlyWarning(Policy[EarlyWarningParams]):
    """Reach out before arrears build, offering deferral or restructuring."""

    name = "early_warning"
    spans_days = True  # it reaches out at the month's start only
    Params = EarlyWarningParams

    @classmethod
    def check(cls, params: EarlyWarningParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        if params.offer not in policies:
            return [("offer", params.offer, f"needs [policies.{params.offer}] enabled: it sets the terms of what is offered")]
        return []

    def setup(self, sim: Context) -> None:
        target = sim.policy(self.params.offer)
        assert isinstance(target, OffersModification), f"{target.name} offers no modification"  # checked with the scenario
        self.target: OffersModification = target
        self.per_borrower = EarlyWarningBorrowers(sim.borrowers.n)
        self.per_borrower.was_above = sim.borrowers.score >= self.params.score_threshold
        self.took_up = self.granted = self.by_score = self.by_shock = 0
        sim.hooks.add("month_start", self.reach_out)

    # who
    def eligible(self, sim: Context) -> np.ndarray:
        """Mask of borrowers to contact this month."""
        p, people, now = self.params, sim.borrowers, sim.today
        above = people.score >= p.score_threshold
        fell = self.per_borrower.was_above & ~above
        self.per_borrower.was_above = above
        shocked = sim.population.shocked if p.on_shock else np.zeros(people.n, dtype=np.bool_)
        customer = customers(sim.book)
        quiet = cooled_off(self.per_borrower.contacted_on, now, p.cooldown_months)
        who = (fell | shocked) & customer & quiet
        self.by_score += int(np.count_nonzero(who & fell))
        self.by_shock += int(np.count_nonzero(who & shocked & ~fell))
        return who

    # what
    def reach_out(self, sim: Context, month: int) -> None:
        """Contact the borrowers flagged this month; those who take up get the offer."""
        who = self.eligible(sim)
        contacted = np.flatnonzero(who)
        self.per_borrower.contacted_on[contacted] = sim.today
        self.actions += contacted.size
        self.book_priced(sim, contacted.size, self.params.cost_per_outreach)
        takes = sim.streams.keyed_uniform("policy.early_warning.take_up", month, contacted) < self.params.take_up_prob
        takes &= ~sim.borrowers.unwilling[contacted]
        self.took_up += int(np.count_nonzero(takes))
        mask = np.zeros(sim.borrowers.n, dtype=np.bool_)
        mask[contacted[takes]] = True
        self.granted += self.target.offer(sim, active_loans_of(sim.book, mask))

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "contacts": float(self.actions), "contacts_on_score": float(self.by_score),
                "contacts_on_shock": float(self.by_shock), "took_up": float(self.took_up),
                "loans_given_the_offer": float(self.granted),
                "take_up_rate": self.took_up / max(self.actions, 1)}
