"""Loan stacking and rollover: outside short-term credit taken to make a payment.

A borrower short of cash at a due date may borrow the shortfall (up to a limit) from an
outside lender at a high rate and a short term: a chance per borrower, drawn once a
month (``take_up_prob``). The outside debt is re-amortised over its term whenever it grows
and is repaid at each month start, after essentials and before discretionary spending, so
it competes with the next instalment. A repayment that cannot be met rolls over: the
unpaid part stays owed and a rollover fee is added. That is the cycle practitioners
describe: one loan paying another.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from loansim.borrowers import Borrowers


def borrow(people: Borrowers, ids: np.ndarray, shortfall: np.ndarray, params: Any) -> np.ndarray:
    """Borrowers `ids` borrow their `shortfall` (currency) outside, up to the limit; returns the amounts."""
    room = np.maximum(params.max_balance - people.outside_balance[ids], 0.0)
    amount = np.minimum(shortfall, room)
    people.outside_balance[ids] += amount
    people.outside_taken[ids] += amount
    people.savings[ids] += amount
    r = params.apr / 12
    balance, n = people.outside_balance[ids], params.term_months
    people.outside_payment[ids] = balance / n if r == 0 else balance * r / -np.expm1(-n * np.log1p(r))
    return amount


def repay(people: Borrowers, available: np.ndarray, params: Any) -> float:
    """Month-start repayment of outside debt, taken out of `available` cash in place;
    returns the total repaid. Interest accrues first; a shortfall rolls over with a fee
    on the unpaid part."""
    owing = np.flatnonzero(people.outside_balance > 0)
    if owing.size == 0:
        return 0.0
    balance = people.outside_balance[owing] * (1 + params.apr / 12)
    required = np.minimum(people.outside_payment[owing], balance)
    pay = np.minimum(required, np.maximum(available[owing], 0.0))
    unpaid = required - pay
    balance += -pay + params.rollover_fee_share * unpaid
    people.outside_rollovers[owing] += unpaid > 0.005
    settled = balance < 0.005
    people.outside_balance[owing] = np.where(settled, 0.0, balance)
    people.outside_payment[owing] = np.where(settled, 0.0, people.outside_payment[owing])
    people.outside_repaid[owing] += pay
    available[owing] -= pay
    return float(pay.sum())
