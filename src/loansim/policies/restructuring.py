"""Restructuring: a longer term and a lower instalment for delinquent borrowers who accept.

*Who*: at each month start, active loans at least ``entry_dpd`` days past due (and below
``max_dpd``, if set) that have been modified fewer than ``max_modifications`` times and
not in the last ``cooldown_months``; each is offered once per cooldown, and accepted with
chance ``accept_prob`` (``out_of_work_accept_prob`` for a borrower out of work that month,
if set: a lender underwrites a modification on the income the borrower has now). Borrowers
who have chosen not to pay never accept. (Early-warning
outreach can offer it before any arrears: ``offer``.)

*What*: the loan is modified (``Ledger.modify``): arrears are re-aged into the balance,
and the balance is re-amortised over the instalments left plus ``extension_months``, at
the contract rate cut by ``rate_cut_share``, starting at the next due date. The loan is
current again. Each offer and each modification has a handling cost. Re-default is
measured 3, 6, 9 and 12 months after the modification's day, at 60 and 90 days past due
(``ReDefaults``); modifications made through early warning's outreach count here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from loansim.limits import MAX_MONTHS, MAX_PRICE
from loansim.loans import ACTIVE, DAYS_PER_MONTH, days_past_due
from loansim.policies import Policy, PolicyParams, register
from loansim.policies._common import NEVER, ReDefaults, cooled_off, next_due_day
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario


class RestructuringParams(PolicyParams):
    entry_dpd: int = Field(default=30, ge=1, le=3650, description="days past due from which a loan is offered a restructuring")
    max_dpd: int | None = Field(default=None, ge=1, le=3650, description="no offer at or beyond this many days past due; none = until charge-off")
    accept_prob: float = Field(default=0.5, ge=0, le=1, description="chance a borrower accepts an offer")
    # A modification is underwritten on the borrower's current income: the 2009 HAMP rules
    # asked for documented income (U.S. Treasury, Supplemental Directive 09-01, April 2009)
    # and left the unemployed out until the 2010 Home Affordable Unemployment Program, while
    # servicers in 2008 also modified on stated income. None keeps one chance for everyone.
    out_of_work_accept_prob: float | None = Field(default=None, ge=0, le=1, description="chance an offer to a borrower out of work that month is accepted (and approved), probability; none = accept_prob")
    extension_months: int = Field(default=12, ge=0, le=360, description="months added to the instalments left")
    rate_cut_share: float = Field(default=0.0, ge=0, le=1, description="share by which the contract rate is cut")
    max_modifications: int = Field(default=1, ge=1, le=MAX_MONTHS, description="modifications per loan over its life (1 = one-time)")
    cooldown_months: int = Field(default=6, ge=0, le=MAX_MONTHS, description="months after an offer before the loan is offered again")
    cost_per_offer: float = Field(default=5.0, ge=0, le=MAX_PRICE, description="cost of making one offer, currency units")
    cost_per_modification: float = Field(default=50.0, ge=0, le=MAX_PRICE, description="cost of booking one modification, currency units")



class RestructuringLoans(StateArrays):
    """The policy's state of each loan."""

    offered_on: Array[np.int64] = field(NEVER, "day", "day of the latest offer (``NEVER``: none yet)")
    modified: Array[np.int16] = field(0, "count", "restructurings made")


@register
class Restructuring(Policy[RestructuringParams]):
    """Re-age and re-amortise delinquent loans over a longer term."""

    name = "restructuring"
    Params = RestructuringParams
    spans_days = True  # it offers at a month's start only

    @classmethod
    def capitalised_months(cls, params: RestructuringParams, scenario: Scenario) -> int:
        """Each modification capitalises the interest past due, at most up to charge-off (or
        ``max_dpd``); at most ``max_modifications``, one per cooldown."""
        behind = params.max_dpd or scenario.lender.charge_off_dpd
        modifications = min(params.max_modifications, -(-scenario.run.simulated_months() // max(params.cooldown_months, 1)))
        return modifications * (-(-behind // DAYS_PER_MONTH) + 1)

    @classmethod
    def check(cls, params: RestructuringParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        """The arrears window [entry_dpd, max_dpd) must hold at least one day."""
        if params.max_dpd is not None and params.entry_dpd >= params.max_dpd:
            return [("entry_dpd", params.entry_dpd, f"must be below policies.restructuring.max_dpd ({params.max_dpd}): "
                     "monthly offers go to loans at least entry_dpd and less than max_dpd days past due, so none would be made")]
        return []

    def setup(self, sim: Context) -> None:
        self.per_loan = RestructuringLoans(sim.loans.n)
        self.redefaults = ReDefaults(sim)
        self.offers = 0
        self.instalment_before = self.instalment_after = 0
        sim.hooks.add("month_start", self.make_offers)

    # who
    def eligible(self, sim: Context, ids: np.ndarray) -> np.ndarray:
        """Those of loans `ids` that can be offered a restructuring now: active, modified
        fewer than ``max_modifications`` times, not offered within the cooldown. (The monthly
        offers pick them in the arrears window first; early warning's outreach, at any DPD.)"""
        L, p = sim.loans, self.params
        ids = ids[L.status[ids] == ACTIVE]
        return ids[(self.per_loan.modified[ids] < p.max_modifications) & cooled_off(self.per_loan.offered_on[ids], sim.today, p.cooldown_months)]

    def in_window(self, days: np.ndarray) -> np.ndarray:
        """Mask of days past due inside the arrears window ``[entry_dpd, max_dpd)``."""
        p = self.params
        inside = days >= p.entry_dpd
        if p.max_dpd is not None:
            inside &= days < p.max_dpd
        return inside

    # what
    def restructure(self, sim: Context, ids: np.ndarray) -> None:
        """Modify loans `ids`: re-age, extend the term, cut the rate; book the cost."""
        L, p = sim.loans, self.params
        if ids.size == 0:
            return
        remaining = np.maximum(L.term_months[ids] - L.n_billed[ids], 0) + p.extension_months
        remaining = np.maximum(remaining, 1)
        self.instalment_before += int(L.installment[ids].sum())
        rate = L.monthly_rate[ids] * (1 - p.rate_cut_share) if p.rate_cut_share else None
        sim.ledger.modify(ids, next_due_day(sim.loans, ids, sim.today), remaining, monthly_rate=rate)
        self.instalment_after += int(L.installment[ids].sum())
        self.per_loan.modified[ids] += 1
        self.redefaults.watch(ids, sim.today)
        self.actions += ids.size
        self.book_priced(sim, ids.size, p.cost_per_modification)

    def offer(self, sim: Context, ids: np.ndarray) -> int:
        """Offer loans `ids` a restructuring (all accept: they answered outreach); returns how
        many were restructured."""
        return self._offer(sim, self.eligible(sim, ids))

    def make_offers(self, sim: Context, month: int) -> None:
        """This month's offers to delinquent loans; those who accept are restructured."""
        oldest = sim.loans.oldest_unpaid_day  # the whole book: find the window first, then the rest
        late = np.flatnonzero((oldest >= 0) & self.in_window(days_past_due(oldest, sim.today)))
        ids = self.eligible(sim, late)
        self._offer(sim, ids, sim.streams.keyed_uniform("policy.restructuring.accept", month, ids) < self.accept_probs(sim, ids))

    def accept_probs(self, sim: Context, ids: np.ndarray) -> np.ndarray | float:
        """Chance that the borrower of each of loans `ids` accepts an offer this month:
        ``accept_prob``, or ``out_of_work_accept_prob`` for those out of work (if set)."""
        p = self.params
        if p.out_of_work_accept_prob is None:
            return p.accept_prob
        return np.where(sim.borrowers.employed[sim.book.holders(ids)], p.accept_prob, p.out_of_work_accept_prob)

    def _offer(self, sim: Context, ids: np.ndarray, accept: np.ndarray | None = None) -> int:
        """Book offers to loans `ids`; those who `accept` (all if None) and have not chosen to
        stop paying are restructured. Returns how many were."""
        self.per_loan.offered_on[ids] = sim.today
        self.offers += ids.size
        self.book_priced(sim, ids.size, self.params.cost_per_offer)
        takes = ~sim.borrowers.unwilling[sim.book.holders(ids)]
        if accept is not None:
            takes &= accept
        ids = ids[takes]
        self.restructure(sim, ids)
        return ids.size

    def report(self, sim: Context) -> dict[str, float]:
        n = max(self.actions, 1)
        return {**super().report(sim), "offers": float(self.offers), "modifications": float(self.actions),
                "mean_instalment_before": self.instalment_before / 100 / n,
                "mean_instalment_after": self.instalment_after / 100 / n,
                **self.redefaults.report(sim.loans, sim.scenario.lender.default_dpd)}
