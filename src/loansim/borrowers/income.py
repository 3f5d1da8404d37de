"""Employment, pay cuts, income growth and the income a borrower receives each month."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from loansim.borrowers import Borrowers

if TYPE_CHECKING:
    from loansim.borrowers.monthly import IncomeSide  # the month's income side, worked on as on Borrowers


def step_employment(people: Borrowers | IncomeSide, u: np.ndarray, job_loss: np.ndarray | float, job_finding_prob: float) -> None:
    """One month of the employment chain, driven by uniform draws `u` (one per borrower).

    `job_loss` is each borrower's hazard (or one hazard for all).
    """
    people.employed = np.where(people.employed, u >= job_loss, u < job_finding_prob)


def cut_pay(people: Borrowers | IncomeSide, ids: np.ndarray, cut_share: np.ndarray) -> None:
    """Borrowers `ids` lose `cut_share` of their base income for good (essentials stay)."""
    people.base_income[ids] *= 1.0 - cut_share


def grow_incomes(people: Borrowers | IncomeSide, monthly_factor: float) -> None:
    """Base incomes and the cost of essentials grow by `monthly_factor` (wage and price growth)."""
    if monthly_factor != 1.0:
        people.base_income *= monthly_factor
        people.essentials *= monthly_factor


def receive_income(people: Borrowers | IncomeSide, unemployment_income_share: float,
                   spells: Sequence[tuple[np.ndarray, float]] = ()) -> None:
    """This month's income: base income if employed, else the replacement share, less what
    shock spells take. `spells` holds, per shock kind, each borrower's months left and the
    share of income that kind takes; spells of different kinds combine as
    ``income × (1 − share_1) × (1 − share_2) ...``, and each then has a month less to run."""
    share = np.where(people.employed, 1.0, unemployment_income_share)
    np.multiply(people.base_income, share, out=people.income)
    for months_left, lost_share in spells:
        ill = np.flatnonzero(months_left > 0)
        people.income[ill] *= 1.0 - lost_share
        months_left[ill] -= 1
