"""Spending: essentials, discretionary spending, over-spenders and budgeting.

Available cash is savings plus this month's income. Essentials (rent, food: a share of
base income drawn per borrower) are paid first and do not fall when income does.
Discretionary spending is the borrower's habitual share of this month's income, plus
month-to-month noise; an over-spender also spends a share of the cash already at hand.
A borrower with financial literacy ``L`` ring-fences ``L`` times the month's coming
instalment (what the next due date will ask for) before spending on discretionary items:
literacy 1 never lets discretionary spending cost a payment, literacy 0 protects nothing.
Savings absorb what is left and cannot go below zero.
"""

from __future__ import annotations

import numpy as np

from loansim.borrowers import Borrowers


def spend_and_save(people: Borrowers, noise: np.ndarray | np.float32, overspend_share: float,
                   coming_due: np.ndarray | None, essentials: bool = True) -> None:
    """Pay essentials and discretionary spending out of savings plus income.

    `coming_due` is each borrower's next amount due (currency), or None when nobody
    protects payments (all literacy zero); `essentials` False skips the essentials step
    when nobody has any.
    """
    available = people.savings + people.income
    if essentials:
        available -= np.minimum(people.essentials, np.maximum(available, 0.0))
    np.maximum(available, 0.0, out=available)  # essentials beyond all cash go unmet
    discretionary = np.maximum(people.spending_habit + noise, 0.0) * people.income
    if overspend_share > 0 and people.overspender.any():
        discretionary += np.where(people.overspender, overspend_share * np.maximum(people.savings, 0.0), 0.0)
    if coming_due is not None:
        protected = people.literacy * np.minimum(coming_due, available)
        np.minimum(discretionary, available - protected, out=discretionary)
    people.savings = np.maximum(available - discretionary, 0.0)
