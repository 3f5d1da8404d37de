"""Spending: essentials, discretionary spending, over-spenders and budgeting.

Available cash is savings plus this month's income. Essentials (rent, food: a share of
base income drawn per borrower) are paid first and do not fall when income does; then
repayments of outside short-term debt (``stacking``).
Discretionary spending is the borrower's habitual share of this month's income, plus
month-to-month noise; an over-spender also spends a share of the cash already at hand.
A borrower with financial literacy ``L`` ring-fences ``L`` times the month's coming
instalment (what the next due date will ask for) before spending on discretionary items:
literacy 1 never lets discretionary spending cost a payment, literacy 0 protects nothing.
Savings absorb what is left and cannot go below zero.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from loansim.borrowers import Borrowers


def spend_and_save(people: Borrowers, noise: np.ndarray | np.float32, overspend_share: float,
                   coming_due: np.ndarray | None, essentials: bool = True,
                   repay_outside: Callable[[np.ndarray, slice], None] | None = None,
                   overspenders: np.ndarray | None = None, ids: slice = slice(None)) -> None:
    """Pay essentials, outside debt and discretionary spending out of savings plus income,
    for borrowers `ids` (a slice: everyone by default).

    `noise` and `coming_due` are those borrowers' spending noise and next amount due
    (currency), `coming_due` None when nobody protects payments (all literacy zero);
    `essentials` False skips the essentials step when nobody has any;
    `repay_outside(available, ids)` repays outside debt out of `available` in place;
    `overspenders` are the positions of over-spenders within `ids` (default: from the flag).
    """
    income = people.income[ids]
    available = people.savings[ids] + income
    if essentials:
        available -= people.essentials[ids]  # what essentials cannot take is unmet, not owed
    np.maximum(available, 0.0, out=available)
    if repay_outside is not None:
        repay_outside(available, ids)
    discretionary = people.spending_habit[ids] + noise
    np.maximum(discretionary, 0.0, out=discretionary)
    discretionary *= income
    if overspend_share > 0:
        savings = people.savings[ids]
        over = np.flatnonzero(people.overspender[ids]) if overspenders is None else overspenders
        discretionary[over] += overspend_share * np.maximum(savings[over], 0.0)
    if coming_due is not None:
        protected = np.minimum(coming_due, available)
        protected *= people.literacy[ids]
        np.minimum(discretionary, available - protected, out=discretionary)
    available -= discretionary
    np.maximum(available, 0.0, out=available)
    people.savings[ids] = available
