"""Loan stacking and rollover: outside short-term credit taken to make a payment.

A borrower short of cash at a due date may borrow the shortfall (up to a limit) from an
outside lender at a high rate and a short term: a chance per borrower, drawn once a
month (``take_up_prob``). Each month start, after essentials and before discretionary
spending, the outside lender collects the balance amortised over its term, so it competes
with the next instalment. A repayment that cannot be met rolls over: the unpaid part stays
owed, a rollover fee is added, the borrower's credit score takes a miss, and after
``max_rollovers`` of them outside lenders stop lending and sell the debt to collectors:
it stops growing but goes on taking cash. That is the cycle practitioners describe: one
loan paying another until the borrower runs out of lenders.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loansim.borrowers import Borrowers
from loansim.loans import annuity_payment


def borrow(people: Borrowers, ids: np.ndarray, shortfall: np.ndarray, params: Any, whole_only: bool = False) -> np.ndarray:
    """Borrowers `ids` borrow their `shortfall` (currency) outside, up to the limit; returns the amounts.

    Borrowers cut off by outside lenders (after too many unmet repayments) get nothing;
    with `whole_only` a borrower borrows only if the limit covers the whole shortfall.
    """
    room = np.maximum(params.max_balance - people.outside_balance[ids], 0.0)
    room[people.outside_rollovers[ids] >= params.max_rollovers] = 0.0
    amount = np.where(room >= shortfall, shortfall, 0.0) if whole_only else np.minimum(shortfall, room)
    people.outside_balance[ids] += amount
    people.outside_taken[ids] += amount
    people.savings[ids] += amount
    return amount


def required_payment(balance: np.ndarray, params: Any) -> np.ndarray:
    """This month's repayment: the balance amortised over the outside term (re-set each month,
    so a rollover starts the term again)."""
    return annuity_payment(balance, params.apr, params.term_months)


def repay(people: Borrowers, available: np.ndarray, params: Any, ids: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Month-start repayment of outside debt by borrowers `ids` (a slice: everyone by
    default), taken out of their `available` cash in place.

    Interest accrues first; a shortfall rolls over with a fee on the unpaid part and counts
    against the borrower (after ``max_rollovers`` of them, no more outside credit).
    Returns what each borrower who owed repaid (in id order) and the ids of those who could
    not meet the repayment.
    """
    local = np.flatnonzero(people.outside_balance[ids] > 0)
    if local.size == 0:
        return np.zeros(0), local
    owing = local + (ids.start or 0)
    owed = people.outside_balance[owing]
    # Debt of borrowers cut off has been charged off by the outside lender and sold to
    # collectors: it no longer grows, but is still collected.
    live = people.outside_rollovers[owing] < params.max_rollovers
    balance = owed * np.where(live, 1 + params.apr / 12, 1.0)
    required = np.minimum(required_payment(owed, params), balance)
    pay = np.minimum(required, np.maximum(available[local], 0.0))
    unpaid = required - pay
    balance += -pay + np.where(live, params.rollover_fee_share * unpaid, 0.0)
    rolled = unpaid > 0.005
    people.outside_rollovers[owing] += rolled
    people.outside_balance[owing] = np.where(balance < 0.005, 0.0, balance)
    available[local] -= pay
    return pay, owing[rolled]
