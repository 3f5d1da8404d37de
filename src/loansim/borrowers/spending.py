"""Spending: essentials, then discretionary spending by a buffer-stock rule.

Cash on hand is savings plus this month's income. Essentials (rent, food: a share of base
income drawn per borrower) are paid first and do not fall when income does; then
repayments of outside short-term debt (``stacking``).

Discretionary spending follows a buffer-stock rule, the linear form of the consumption
function of buffer-stock saving models (Carroll 1997, "Buffer-stock saving and the life
cycle/permanent income hypothesis"; the consumption–saving agents of HARK): each borrower
aims to hold a target buffer of liquid savings ``B`` (``target_buffer`` months of base
income ``P``; ``target`` below is where month-end savings aim, see the pay day). In a usual
month the borrower spends what base income leaves after essentials and the loans'
scheduled instalments, and on top of that closes a share ``κ`` (``buffer_adjustment``)
of the gap between cash and where the usual month would leave it:

    discretionary = P − essentials − instalments + κ · (savings + income − P − target) + noise · P

so savings above the target are spent down, savings below it are rebuilt by spending
less, and a fall in income (a lost job, an illness) is met partly by spending less and
partly by drawing on the buffer. In a steady economy savings return to ``B`` at rate ``κ``
a month, so their cross-section is stationary. Spending is never below zero nor above the
cash left after essentials and what is budgeted.

Spending runs evenly through the month (``cash_cents``), and a due date that finds savings
short is paid out of the discretionary spending still to come (``pay_out``); essentials
cannot be cut. Income arrives on the pay day, so cash is lowest just before it. The target is the buffer at that low point:
at the month's end a borrower paid on day ``p`` still holds the ``p / 30`` of a month's
income that covers the days to the next pay day, so month-end savings aim at
``B + (p / 30) · P``.

Two traits act through the rule. **Literacy** ``L``: the borrower ring-fences ``L`` times
what the coming due date will ask for (instalment and arrears) before spending on anything
discretionary, so when cash runs short literacy 1 never lets discretionary spending cost a
payment and literacy 0 protects nothing. A borrower behind (late notices, the lender's
calls) ring-fences at least ``arrears_priority`` of the arrears, so one whose income has
come back catches up instead of staying behind. **Over-spenders** also spend a share of the savings they hold
each month, on top of the rule, so they hold less than their target.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from loansim.borrowers import Borrowers
from loansim.loans import DAYS_PER_MONTH


def spend_and_save(people: Borrowers, noise: np.ndarray | np.float32, adjustment: float, overspend_share: float,
                   instalments: np.ndarray | float, coming_due: np.ndarray | None, essentials: bool = True,
                   arrears_priority: float = 0.0, repay_outside: Callable[[np.ndarray, slice], None] | None = None,
                   overspenders: np.ndarray | None = None, ids: slice = slice(None),
                   target_months: np.ndarray | None = None) -> None:
    """Pay essentials, outside debt and discretionary spending out of savings plus income,
    for borrowers `ids` (a slice: everyone by default); savings keep the rest.

    `noise` is those borrowers' spending noise (a share of base income); `adjustment` the
    rule's ``κ``; `instalments` what their loans' scheduled instalments take in a usual
    month (currency); `coming_due` their next amount due, arrears included (currency),
    None when nobody ring-fences it (all literacy and `arrears_priority` zero);
    `arrears_priority` the share of arrears a borrower behind ring-fences (at least their
    literacy); `essentials` False skips the essentials step when nobody
    has any; `repay_outside(available, ids)` repays outside debt out of `available` in
    place; `overspenders` are the positions of over-spenders within `ids` (default: from
    the flag); `target_months` everyone's month-end target (``target_months``), if at hand.
    """
    income, base, savings = people.income[ids], people.base_income[ids], people.savings[ids]
    cash = savings + income
    gap = cash - base  # how far cash is from where a usual month would leave it (below)
    available = cash
    usual = base - instalments  # what a usual month leaves for discretionary spending
    if essentials:
        spent = people.essentials[ids]
        available -= spent  # what essentials cannot take is unmet, not owed
        usual -= spent
    np.maximum(available, 0.0, out=available)
    if repay_outside is not None:
        repay_outside(available, ids)
    if coming_due is not None:
        literacy = people.literacy[ids]
        budgeted = literacy * instalments + np.maximum(literacy, np.float32(arrears_priority)) * (coming_due - instalments)
        np.minimum(budgeted, available, out=budgeted)
        available -= budgeted
    gap -= (target_of_month_end(people) if target_months is None else target_months)[ids] * base
    gap *= adjustment
    discretionary = usual
    discretionary += gap
    discretionary += noise * base
    if overspend_share > 0:
        over = np.flatnonzero(people.overspender[ids]) if overspenders is None else overspenders
        discretionary[over] += overspend_share * np.maximum(savings[over], 0.0)
    np.maximum(discretionary, 0.0, out=discretionary)
    np.minimum(discretionary, available, out=discretionary)
    available -= discretionary
    if coming_due is not None:
        available += budgeted  # budgeted, not spent: it stays in savings for the due date
    people.savings[ids] = available
    people.month_spending[ids] = discretionary


def target_of_month_end(people: Borrowers) -> np.ndarray:
    """Where each borrower's month-end savings aim, in months of base income: the target
    buffer plus the days of income that carry them to the next pay day (module docstring)."""
    return people.target_buffer + people.pay_day * np.float32(1 / DAYS_PER_MONTH)
