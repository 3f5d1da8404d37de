"""The payment decision on a due date: how much each borrower pays, and why not more.

Reasons are checked in this order, and the first that applies is the one recorded:

1. **unwilling**: the borrower has chosen to stop paying (a strategic default). The
   monthly chance of that choice is the borrower's propensity, raised by how deep in
   arrears the loan is and by how large the loan is against the borrower's annual income
   (both at origination). Once made, it holds.
2. **forgot**: the borrower forgot the date (chance: own forgetfulness × (1 − literacy)).
3. **misunderstood**: the borrower misread the contract, thinking the date later (pays
   that many days late) or the instalment lower (pays only a share of it). The first late
   notice, sent when a due date is missed, corrects it.
4. otherwise the borrower pays everything due if savings allow, else may borrow the
   shortfall from an outside lender (``stacking``), else pays what cash allows (with
   partial payments on) or nothing: a shortfall here is *could not pay*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim.borrowers import MISREAD_AMOUNT, MISREAD_DATE, stacking
from loansim.loans import DAYS_PER_MONTH

if TYPE_CHECKING:
    from loansim.engine import Simulation

# Why a due date was missed (per loan, ``Loans.last_miss_cause``). 0: no miss recorded, e.g.
# a loan behind only because a payment went to fees first.
MISS_CAUSES = ("other", "unwilling", "forgot", "misunderstood", "cannot_pay")
OTHER, UNWILLING, FORGOT, MISUNDERSTOOD, CANNOT_PAY = range(len(MISS_CAUSES))


def decide(sim: Simulation, cohort: slice, due: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each borrower in `cohort` pays today (cents) and the reason code limiting it.

    A reason of 0 means nothing but cash limited the payment.
    """
    people, month = sim.borrowers, sim.population  # loan i belongs to borrower i
    reason = np.zeros(due.shape, dtype=np.int8)
    misread = people.misreads[cohort]
    if misread.any():
        reason[misread > 0] = MISUNDERSTOOD
    reason[month.forgets[cohort]] = FORGOT
    if month.strategic:
        reason[choose_not_to_pay(sim, cohort, due)] = UNWILLING
    cash = np.floor(people.savings[cohort] * 100 + 1e-6).astype(np.int64)  # tolerance: 1.14 * 100 = 113.99...
    if month.stacking:
        cash += borrow_outside(sim, cohort, due, cash, reason == 0)
    paid = np.minimum(due, cash) if sim.scenario.borrowers.partial_payments else np.where(cash >= due, due, 0)
    if misread.any():
        short = (reason == MISUNDERSTOOD) & (misread == MISREAD_AMOUNT)
        paid[short] = np.minimum(paid[short], (due[short] * people.misread_paid_share[cohort][short]).astype(np.int64))
    paid[(reason > 0) & ~((reason == MISUNDERSTOOD) & (misread == MISREAD_AMOUNT))] = 0
    return paid, reason


def borrow_outside(sim: Simulation, cohort: slice, due: np.ndarray, cash: np.ndarray, willing: np.ndarray) -> np.ndarray:
    """Cash (cents) that borrowers short of the amount due raise from outside lenders today."""
    people = sim.borrowers
    local = np.flatnonzero(willing & (cash < due) & sim.population.may_stack[cohort])
    raised = np.zeros(due.shape, dtype=np.int64)
    if local.size:
        amount = stacking.borrow(people, cohort.start + local, (due[local] - cash[local]) / 100, sim.scenario.borrowers.stacking)
        raised[local] = np.floor(amount * 100 + 1e-6).astype(np.int64)
        sim.recorder.add(int(sim.env.now), "outside_borrowed", int(raised.sum()))
    return raised


def choose_not_to_pay(sim: Simulation, cohort: slice, due: np.ndarray) -> np.ndarray:
    """Borrowers who have stopped paying, or stop today (a mask over the cohort)."""
    people, month, p = sim.borrowers, sim.population, sim.scenario.borrowers.strategic
    oldest = sim.loans.oldest_unpaid_day[cohort]
    behind = np.where(oldest >= 0, (sim.env.now - oldest) // DAYS_PER_MONTH, 0)
    hazard = month.strategic_base[cohort] * (1 + np.float32(p.arrears_multiplier) * behind)
    decided = (month.strategic_draws[cohort] < hazard) & (due > 0)
    people.unwilling[cohort] |= decided
    return people.unwilling[cohort] & (due > 0)


def read_late_notice(sim: Simulation, missed: np.ndarray) -> None:
    """A late notice goes to every loan that missed: misread terms are corrected."""
    sim.borrowers.misreads[missed] = 0  # loan i belongs to borrower i


def late_payers(sim: Simulation, cohort: slice, reason: np.ndarray) -> dict[int, np.ndarray]:
    """Loans whose borrower misread the date, grouped by how many days late they will pay."""
    people = sim.borrowers
    local = np.flatnonzero((reason == MISUNDERSTOOD) & (people.misreads[cohort] == MISREAD_DATE))
    ids = cohort.start + local
    days = people.misread_late_days[ids]
    return {int(d): ids[days == d] for d in np.unique(days)}
