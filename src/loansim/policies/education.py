"""Borrower education: a financial-literacy campaign.

*Who*: in each campaign month, ``reach_share`` of the borrowers with an active loan (drawn
afresh per campaign), optionally only those who have missed a due date. *What*: each
participant's literacy rises by a drawn gain (capped at 1), which then decays by half every
``half_life_months``; a later campaign adds to what is left. Literacy cuts forgetting and
protects the coming instalment from discretionary spending (``loansim.borrowers``), from
the campaign month on. Each participant costs ``cost_per_participant``.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from loansim import rng
from loansim.distributions import dist_in
from loansim.limits import MAX_MONTHS, MAX_PRICE
from loansim.policies import Policy, PolicyParams, register
from loansim.policies._common import customers, month_in_run
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario


class EducationParams(PolicyParams):
    first_month: int = Field(default=1, ge=1, le=MAX_MONTHS, description="month of the run (1 = the first) of the first campaign")
    repeat_every_months: int | None = Field(default=None, ge=1, le=MAX_MONTHS, description="months between campaigns; none = one campaign")
    reach_share: float = Field(default=0.3, ge=0, le=1, description="share of eligible borrowers who take part in a campaign")
    target: Literal["all", "past_miss"] = Field(default="all", description="who is invited: every borrower with an active loan, or only those who have missed a due date")
    literacy_gain: dist_in(0.0, 1.0) = Field(default={"dist": "beta", "a": 2, "b": 8}, description="rise in literacy (0-1 scale) per participant")  # type: ignore[valid-type]
    half_life_months: float = Field(default=12.0, gt=0, le=1200, description="months for the gain to decay by half")
    cost_per_participant: float = Field(default=30.0, ge=0, le=MAX_PRICE, description="cost per participant, currency units")



class EducationBorrowers(StateArrays):
    """The policy's state of each borrower."""

    base: Array[np.float32] = field(0.0, "0-1", "financial literacy before any campaign")
    gain: Array[np.float32] = field(0.0, "0-1", "what is left of campaign gains in literacy (decaying)")


@register
class Education(Policy[EducationParams]):
    """Campaigns that raise literacy for a while."""

    name = "education"
    spans_days = True  # it acts at the month's start only
    Params = EducationParams

    @classmethod
    def check(cls, params: EducationParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        return month_in_run("first_month", params.first_month, scenario)

    def setup(self, sim: Context) -> None:
        self.per_borrower = EducationBorrowers(sim.borrowers.n)
        self.per_borrower.base = sim.borrowers.literacy.copy()
        self.decay = np.float32(0.5 ** (1 / self.params.half_life_months))
        self.gains_given = 0.0
        self.campaigns = self.campaign_months(sim.months)
        self._ahead: dict[int, Future[tuple[np.ndarray, np.ndarray]]] = {}  # a campaign's draws, made ahead on the background thread
        if self.params.reach_share > 0:
            sim.hooks.add("before_month", self.before_month)
            self._draw_ahead(sim, 0)

    def campaign_months(self, months: int) -> list[int]:
        """Months (0-based) in which a campaign runs."""
        first, every = self.params.first_month - 1, self.params.repeat_every_months
        return [first] if every is None else list(range(first, months, every))

    # who
    def eligible(self, sim: Context) -> np.ndarray:
        """Mask of borrowers who can be invited: an active loan (and a past miss, if targeted)."""
        return customers(sim.book, sim.loans.n_missed > 0 if self.params.target == "past_miss" else None)

    def draws(self, sim: Context, month: int) -> tuple[np.ndarray, np.ndarray]:
        """The draws of the campaign in `month`, for every borrower: a uniform that decides who
        takes part, and the gain each would get. Keyed by the month, so they can be made ahead."""
        n = sim.borrowers.n
        return (sim.streams.uniform("policy.education.reach", month, n),
                sim.streams.sample(self.params.literacy_gain, "policy.education.gain", n, month))

    def _draw_ahead(self, sim: Context, after: int) -> None:
        """Start the draws of the first campaign from month `after` on, on the background thread."""
        month = next((m for m in self.campaigns if m >= after), None)
        if month is not None:
            self._ahead[month] = rng.ahead().submit(self.draws, sim, month)

    # what
    def teach(self, sim: Context, ids: np.ndarray, gain: np.ndarray) -> None:
        """Raise the literacy of participants `ids` by their `gain` (drawn for everyone); book the cost."""
        self.per_borrower.gain[ids] += gain[ids].astype(np.float32)
        self.gains_given += float(gain[ids].sum())
        self.actions += ids.size
        self.book_priced(sim, ids.size, self.params.cost_per_participant)

    def before_month(self, sim: Context, month: int) -> None:
        """Decay earlier gains, run a campaign if one is due, and set literacy."""
        self.per_borrower.gain *= self.decay
        if month in self.campaigns:
            ready = self._ahead.pop(month, None)
            u, gain = ready.result() if ready is not None else self.draws(sim, month)
            self._draw_ahead(sim, month + 1)
            self.teach(sim, np.flatnonzero(self.eligible(sim) & (u < self.params.reach_share)), gain)
        if self.gains_given:
            np.minimum(self.per_borrower.base + self.per_borrower.gain, 1, out=sim.borrowers.literacy)

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "participants": float(self.actions),
                "mean_literacy_gain": self.gains_given / max(self.actions, 1),
                "mean_literacy_at_end": float(sim.borrowers.literacy.mean(dtype=np.float64))}
