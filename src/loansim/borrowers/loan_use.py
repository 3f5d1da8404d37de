"""What borrowers do with the money: consumption, productive use, or a risky venture.

A productive use (stock for a small business, a car to reach work) earns a monthly return
on the sum borrowed that adds to income for the rest of the run. A risky use earns the same
return but can fail: each month, with ``risky_monthly_loss_prob``, a drawn share of what is
still invested is lost, and its return with it. Consumption earns nothing. Loans are
disbursed before the run, so the sum is invested from month 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from loansim.borrowers import Borrowers
from loansim.rng import Streams

if TYPE_CHECKING:
    from loansim.borrowers.monthly import IncomeSide  # the month's income side, worked on as on Borrowers

CONSUMPTION, PRODUCTIVE, RISKY = 0, 1, 2


def assign_uses(people: Borrowers, principal: np.ndarray, params: Any, streams: Streams) -> None:
    """Draw what each borrower uses their borrowing for; productive and risky uses put the
    borrower's principal (all their loans) to work."""
    u = streams.uniform("population.loan_use", 0, people.n)
    use = np.where(u < params.productive_share, PRODUCTIVE,
                   np.where(u < params.productive_share + params.risky_share, RISKY, CONSUMPTION))
    people.loan_use = use
    people.invested = np.where(use == CONSUMPTION, 0.0, principal)


def fail_ventures(people: Borrowers | IncomeSide, params: Any, streams: Streams, month: int) -> tuple[int, float]:
    """Risky ventures that fail this month lose a drawn share; returns (failures, amount lost)."""
    at_risk = np.flatnonzero((people.loan_use == RISKY) & (people.invested > 0))
    failed = streams.subset("loan_use.failure", month, at_risk, params.risky_monthly_loss_prob)
    share = streams.sample(params.risky_loss_share, "loan_use.failure.size", failed, month)
    lost = people.invested[failed] * share
    people.invested[failed] -= lost
    return int(failed.size), float(lost.sum())


def investment_income(people: Borrowers | IncomeSide, monthly_return: float) -> None:
    """Add the month's return on what is still invested to income."""
    people.income += people.invested * monthly_return
