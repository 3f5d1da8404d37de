"""The payment decision on a due date: how much each borrower pays, and why not more.

Reasons are checked in this order, and the first that applies is the one recorded:

1. **unwilling**: the borrower has chosen to stop paying (a strategic default). The
   monthly chance of that choice is the borrower's propensity, raised by how deep in
   arrears the loan is and by how large the loan is against the borrower's annual income
   (both at origination). Once made, it holds.
2. **forgot**: the borrower forgot the date (chance: own forgetfulness × (1 − literacy)),
   and notices ``forget_notice_days`` later (a statement, a late notice): then pays what
   cash allows, as on a due date (``late_payers``; a reminder after the miss may make it
   sooner).
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

from loansim.borrowers import MISREAD_AMOUNT, MISREAD_DATE, cash_cents, stacking
from loansim.loans import DAYS_PER_MONTH, days_past_due, floor_cents

if TYPE_CHECKING:
    from loansim.borrowers import Borrowers
    from loansim.engine import Simulation
    from loansim.portfolio import Cohort

# Why a due date was missed (per loan, ``Loans.last_miss_cause``). 0: no miss recorded, e.g.
# a loan behind only because a payment went to fees first.
MISS_CAUSES = ("other", "unwilling", "forgot", "misunderstood", "cannot_pay")
OTHER, UNWILLING, FORGOT, MISUNDERSTOOD, CANNOT_PAY = range(len(MISS_CAUSES))


def decide(sim: Simulation, cohort: Cohort, due: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What is paid today on each loan of `cohort` (cents) and the reason code limiting it.

    Reasons are the borrower's (they apply to all of the borrower's loans due today); a
    reason of 0 means nothing but cash limited the payment. Cash is split across a
    borrower's loans in the portfolio's payment order (``allocate``).
    """
    people, month, B = sim.borrowers, sim.population, cohort.borrowers
    reason = np.zeros(B.stop - B.start, dtype=np.int8)
    misread = people.misreads[B]
    misreading = bool(misread.any())
    if misreading:
        reason[misread > 0] = MISUNDERSTOOD
    reason[month.forgets[B]] = FORGOT
    if month.strategic:
        reason[choose_not_to_pay(sim, cohort, cohort.per_borrower(due))] = UNWILLING
    # What each loan's borrower means to pay: everything due, a share of it for those who
    # think the instalment lower, nothing for those who will not, forgot, or think it later.
    reason_loans = cohort.to_loans(reason)
    meant = np.where(reason_loans > 0, 0, due)
    if misreading:
        low = cohort.to_loans((reason == MISUNDERSTOOD) & (misread == MISREAD_AMOUNT))
        meant[low] = (due[low] * cohort.to_loans(people.misread_paid_share[B])[low]).astype(np.int64)
    cash = cash_cents(people, B, cohort.day)
    partial = sim.scenario.borrowers.partial_payments
    if month.stacking:
        cash += borrow_outside(sim, cohort, cohort.per_borrower(meant), cash, reason == 0, whole_only=not partial)
    return allocate(cash, meant, cohort.first, partial), reason_loans


def allocate(cash: np.ndarray, due: np.ndarray, first: np.ndarray | None, partial: bool) -> np.ndarray:
    """Split each borrower's `cash` over their loans in order (loans grouped by borrower,
    `first` the position of each borrower's first loan, None when each has one): each loan
    gets what is left after the loans before it. Without partial payments a loan is paid in
    full or not at all: one the cash left cannot cover is skipped, and the next ones may
    still be paid."""
    if first is None or first.size == due.size:  # one loan each
        return np.minimum(np.maximum(cash, 0), due) if partial else np.where(cash >= due, due, 0)  # np.clip costs more
    counts = np.diff(np.append(first, due.size))
    if partial:
        before = np.cumsum(due) - due
        before -= np.repeat(before[first], counts)  # due on the borrower's earlier loans
        return np.clip(np.repeat(cash, counts) - before, 0, due)
    holder = np.repeat(np.arange(cash.size), counts)
    rank = np.arange(due.size) - np.repeat(first, counts)  # 0 for each borrower's first loan, ...
    left, paid = cash.copy(), np.zeros_like(due)
    for k in range(int(counts.max(initial=0))):  # a few products: loop over rank, not borrowers
        at = np.flatnonzero(rank == k)
        covered = at[left[holder[at]] >= due[at]]
        paid[covered] = due[covered]
        left[holder[covered]] -= due[covered]
    return paid


def choose_not_to_pay(sim: Simulation, cohort: Cohort, due: np.ndarray) -> np.ndarray:
    """Borrowers of `cohort` who have stopped paying, or stop today (a mask over them).

    `due` is each borrower's amount due today; arrears are the deepest among their loans.
    """
    people, month, p, B = sim.borrowers, sim.population, sim.scenario.borrowers.strategic, cohort.borrowers
    oldest = sim.loans.oldest_unpaid_day[cohort.loans]
    behind = cohort.most_per_borrower(days_past_due(oldest, cohort.today(sim.today)) // DAYS_PER_MONTH)
    hazard = month.strategic_base[B] * (1 + np.float32(p.arrears_multiplier) * behind)
    decided = (month.strategic_draws[B] < hazard) & (due > 0)
    people.unwilling[B] |= decided
    return people.unwilling[B] & (due > 0)


def borrow_outside(sim: Simulation, cohort: Cohort, due: np.ndarray, cash: np.ndarray, willing: np.ndarray,
                   whole_only: bool = False) -> np.ndarray:
    """Cash (cents) that borrowers short of what they mean to pay raise from outside lenders
    today; with `whole_only`, only when the loan would cover the whole shortfall."""
    people, B = sim.borrowers, cohort.borrowers
    local = (willing & (cash < due) & sim.population.may_stack[B]).nonzero()[0]
    raised = np.zeros(due.shape, dtype=np.int64)
    if local.size:
        amount = stacking.borrow(people, B.start + local, (due[local] - cash[local]) / 100,
                                 sim.scenario.borrowers.stacking, whole_only)
        raised[local] = floor_cents(amount)
        sim.recorder.add(sim.today, "outside_borrowed", int(raised.sum()))
    return raised


def read_late_notice(people: Borrowers, holders: np.ndarray) -> None:
    """A late notice goes to `holders`, the holders of loans that missed: misread terms are corrected."""
    people.misreads[holders] = 0


def late_payers(sim: Simulation, cohort: Cohort, reason: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loans whose borrower forgot the date (and pays on noticing, ``forget_notice_days``
    later) or misread it as later (and pays that many days late), and how many days late
    each will pay."""
    people = sim.borrowers
    late = reason == FORGOT
    if sim.population.misreading:
        late |= reason == MISUNDERSTOOD
    local = late.nonzero()[0]
    ids = cohort.loan_ids(local)
    holders = sim.book.holders(ids)
    if not sim.population.misreading:  # nobody misreads (nor ever will): all of them forgot
        return ids, people.forget_notice_days[holders].astype(np.int64)
    forgot = reason[local] == FORGOT
    by_date = forgot | (people.misreads[holders] == MISREAD_DATE)
    days = np.where(forgot, people.forget_notice_days[holders], people.misread_late_days[holders])
    return ids[by_date], days[by_date].astype(np.int64)
