"""The payment decision on a due date: how much each borrower pays, and why not more.

Reasons are checked in this order, and the first that applies is the one recorded:

1. **unwilling**: the borrower has chosen to stop paying (a strategic default). The
   monthly chance of that choice is the borrower's propensity, raised by how deep in
   arrears the loan is and how large its balance is against income. Once made, it holds.
2. **forgot**: the borrower forgot the date (chance: own forgetfulness × (1 − literacy)).
3. **misunderstood**: the borrower misread the contract, thinking the date later (pays
   that many days late) or the instalment lower (pays only a share of it). The first late
   notice, sent when a due date is missed, corrects it.
4. otherwise the borrower pays everything due if savings allow, else what savings allow
   (with partial payments on) or nothing: a shortfall here is *could not pay*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim.borrowers import MISREAD_AMOUNT, MISREAD_DATE
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
    cash = np.floor(people.savings[cohort] * 100 + 1e-6).astype(np.int64)  # tolerance: 1.14 * 100 = 113.99...
    paid = np.minimum(due, cash) if sim.scenario.borrowers.partial_payments else np.where(cash >= due, due, 0)
    reason = np.zeros(due.shape, dtype=np.int8)
    misread = people.misreads[cohort]
    if misread.any():
        short = misread == MISREAD_AMOUNT
        paid[short] = np.minimum(paid[short], (due[short] * people.misread_paid_share[cohort][short]).astype(np.int64))
        paid[misread == MISREAD_DATE] = 0
        reason[misread > 0] = MISUNDERSTOOD
    forget = people.forget_prob[cohort]
    if month.literate:
        forget = forget * (1 - people.literacy[cohort])
    forgot = month.forget_draws[cohort] < forget
    paid[forgot] = 0
    reason[forgot] = FORGOT
    if month.strategic:
        unwilling = choose_not_to_pay(sim, cohort, due)
        paid[unwilling] = 0
        reason[unwilling] = UNWILLING
    return paid, reason


def choose_not_to_pay(sim: Simulation, cohort: slice, due: np.ndarray) -> np.ndarray:
    """Borrowers who have stopped paying, or stop today (a mask over the cohort)."""
    people, L, p = sim.borrowers, sim.loans, sim.scenario.borrowers.strategic
    behind = np.where(L.oldest_unpaid_day[cohort] >= 0, sim.env.now - L.oldest_unpaid_day[cohort], 0) // DAYS_PER_MONTH
    balance_to_income = L.principal[cohort] / 100 / np.maximum(12 * people.base_income[cohort], 1.0)
    hazard = people.strategic_propensity[cohort] * (1 + p.arrears_multiplier * behind) * (1 + p.size_multiplier * balance_to_income)
    decided = (sim.population.strategic_draws[cohort] < hazard) & (due > 0)
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
