"""Sudden shocks: illness, accidents, disasters.

Each shock type is a Poisson process with a yearly rate. For a borrower-level shock, each
borrower is hit in a month with probability ``1 - exp(-rate / 12)``; for a regional one,
each region is, and then each borrower in a hit region with ``regional_hit_share``: one
event hits many borrowers at once (a correlated shock). A hit costs a drawn expense, which
comes out of savings first and then out of the month's income, and may cut income by a
share for a drawn number of months (an illness keeping someone off work).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from loansim.borrowers import Borrowers
from loansim.rng import Streams

if TYPE_CHECKING:
    from loansim.borrowers.monthly import IncomeSide  # the month's income side, worked on as on Borrowers


def hit_by(kind: str, shock: Any, people: Borrowers | IncomeSide, streams: Streams, month: int) -> np.ndarray:
    """Ids of borrowers hit by shock `kind` this month, in increasing order.

    A borrower-level shock draws how many are hit (binomial) and then which (a uniform
    random subset): the same distribution as one draw per borrower, at a cost that grows
    with the hits, not the population. Both draws come from the shock's own stream and
    month, so the borrowers hit never depend on policy (common random numbers).
    """
    p_month = -np.expm1(-shock.annual_rate / 12)
    if not shock.regional:
        return streams.subset(f"shock.{kind}", month, people.n, p_month)
    rngs = streams.pair(f"shock.{kind}", month)
    regions_hit = rngs[0].random(int(people.region.max()) + 1) < p_month  # a region's disaster hits its applicants too
    u = streams.split(rngs, people.n, lambda rng, size: rng.random(size, dtype=np.float32))
    return np.flatnonzero(regions_hit[people.region] & (u < shock.regional_hit_share))


def strike(kind: str, shock: Any, people: Borrowers | IncomeSide, streams: Streams, month: int,
           spell: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Who shock `kind` hits this month and what each hit costs (currency); starts their
    income-loss spells in `spell`. Returns (ids hit, expense per hit).

    `spell` holds each borrower's months left of this kind's income loss; a new spell never
    shortens one already running. The expense comes out of savings (``charge``); nothing
    here depends on savings, so the month's shocks can be drawn ahead of it.
    """
    hit = hit_by(kind, shock, people, streams, month)
    if hit.size == 0:
        return hit, np.zeros(0)
    rngs = streams.pair(f"shock.{kind}.size", month)  # drawn only for those hit, who do not depend on policy
    expense = streams.split(rngs, hit, shock.expense.sample)
    if spell is not None:
        months = np.rint(np.clip(streams.split(rngs, hit, shock.income_loss_months.sample), 0, 1200)).astype(np.int16)  # fits int16
        spell[hit] = np.maximum(spell[hit], months)
    return hit, expense


def charge(people: Borrowers, hit: np.ndarray, expense: np.ndarray) -> None:
    """Take each hit's expense out of savings. Savings may go below zero: the rest comes out
    of the month's income. An expense beyond all the borrower's cash goes unmet (an unpaid
    bill the model does not follow further)."""
    people.savings[hit] -= expense
