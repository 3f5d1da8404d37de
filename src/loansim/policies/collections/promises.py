"""Promises to pay, made to the collections desk and kept on their day.

A contacted borrower who promises pays ``promise_days`` later (or on their pay day, if this
month's income is still to come then) what their cash allows on everything due. The
promises falling due on the same day are kept by one SimPy process that waits until then
(a loan promised twice pays once). A promise is *kept* when some payment is made on it, or
the loan was paid up since; amounts collected include what some borrowers would have paid
later anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim import servicing
from loansim.loans import CHARGED_OFF, DAYS_PER_MONTH

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

    from loansim.context import Context


class Promises:
    """The promises outstanding, by the day they fall due, and per stage those kept and the
    cents they collected."""

    def __init__(self, stages: int) -> None:
        self.due: dict[int, list[tuple[int, np.ndarray]]] = {}  # day -> (stage, loans) promised for then
        self.kept = [0] * stages
        self.collected = [0] * stages  # cents

    def make(self, sim: Context, day: int, days: int, stage: int, ids: np.ndarray) -> None:
        """The borrowers of loans `ids`, contacted in `stage` on `day`, promise to pay `days`
        later, or on this month's pay day if that comes later still."""
        due = promise_day(sim.borrowers.pay_day[sim.book.holders(ids)], day, days)
        for when in np.unique(due).tolist():
            self._expect(sim, when, stage, ids[due == when])

    def _expect(self, sim: Context, due: int, stage: int, ids: np.ndarray) -> None:
        """Loans `ids` promised in `stage` are to be paid on day `due`; the promises of every
        stage falling due on a day are kept together, by one process."""
        batches = self.due.get(due)
        if batches is None:
            self.due[due] = batches = []
            sim.env.process(self._keep(sim, due))
        batches.append((stage, ids))

    def _keep(self, sim: Context, due: int) -> ProcessGenerator:
        """On day `due`, borrowers who promised pay what their cash allows on what is due."""
        yield sim.env.timeout(due - sim.today)
        batches = self.due.pop(due)
        ids, first = np.unique(np.concatenate([batch for _, batch in batches]), return_index=True)
        stage = np.concatenate([np.full(batch.size, s, dtype=np.int64) for s, batch in batches])[first]
        settled = (sim.loans.oldest_unpaid_day[ids] < 0) & (sim.loans.status[ids] != CHARGED_OFF)  # paid up since
        paid = servicing.pay_what_cash_allows(sim, ids, sim.today)  # a loan promised twice pays once
        kept = np.bincount(stage.compress((paid > 0) | settled), minlength=len(self.kept))
        collected = np.zeros(len(self.kept), dtype=np.int64)
        np.add.at(collected, stage, paid)
        for s in range(len(self.kept)):
            self.kept[s] += int(kept[s])
            self.collected[s] += int(collected[s])
        sim.recorder.add(due, "collections_collected", int(paid.sum()))


def promise_day(pay_day: np.ndarray, day: int, days: int) -> np.ndarray:
    """The day each borrower with pay day `pay_day` (of the month), promising on `day`, will
    pay: `days` later, or on this month's pay day if that comes later still (one promises
    the pay packet)."""
    pay_day = pay_day.astype(np.int64)
    month_start = day - day % DAYS_PER_MONTH
    waiting = month_start + pay_day > day  # this month's income still to come
    return np.where(waiting, np.maximum(day + days, month_start + pay_day), day + days)
