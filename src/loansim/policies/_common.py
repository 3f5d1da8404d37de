"""What several policies need: who is a customer, days past due, the next due date, and
re-default tracking after a loan is modified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim.loans import ACTIVE, DAYS_PER_MONTH

if TYPE_CHECKING:
    from loansim.engine import Simulation
    from loansim.scenario import Scenario

REDEFAULT_MONTHS = (3, 6, 12)
NEVER = -(2 ** 62)  # the day of an action that never was: long enough ago for any cooldown


def month_in_run(key: str, month: int, scenario: Scenario) -> list[tuple[str, int, str]]:
    """The problem, if any, with a policy's `key` naming `month` (1 = the first) outside the run."""
    if month > scenario.run.months:
        return [(key, month, f"must be within the run (run.months = {scenario.run.months})")]
    return []


def dpd(sim: Simulation, ids: np.ndarray | slice) -> np.ndarray:
    """Days past due of loans `ids` now (0 when current)."""
    oldest = sim.loans.oldest_unpaid_day[ids]
    return np.where(oldest >= 0, int(sim.env.now) - oldest, 0)


def cooled_off(last_day: np.ndarray, now: int, months: int) -> np.ndarray:
    """Mask: a cooldown of `months` since `last_day` (``NEVER`` if none yet) is over by `now`."""
    return last_day <= now - months * DAYS_PER_MONTH


def next_due_day(sim: Simulation, ids: np.ndarray) -> np.ndarray:
    """The next due date of loans `ids` on or after today (a day of the loan's own cohort)."""
    now = int(sim.env.now)
    first = now - now % DAYS_PER_MONTH + sim.loans.due_day[ids].astype(np.int64)
    return np.where(first >= now, first, first + DAYS_PER_MONTH)


def active_loans_of(sim: Simulation, borrower_mask: np.ndarray) -> np.ndarray:
    """Ids of the active loans whose borrowers are marked in `borrower_mask`."""
    L = sim.loans
    of_marked = borrower_mask if sim.book.one_each else borrower_mask[L.borrower]  # one loan each: loan i is borrower i's
    return np.flatnonzero((L.status == ACTIVE) & of_marked)


def customers(sim: Simulation, of_loans: np.ndarray | None = None) -> np.ndarray:
    """Mask of borrowers with an active loan (among the loans marked in `of_loans`, if given)."""
    L = sim.loans
    active = L.status == ACTIVE if of_loans is None else (L.status == ACTIVE) & of_loans
    if sim.book.one_each:  # loan i is borrower i's
        return active
    mask = np.zeros(sim.borrowers.n, dtype=np.bool_)
    mask[L.borrower[active]] = True
    return mask


def with_instalments_left(sim: Simulation, ids: np.ndarray) -> np.ndarray:
    """Those of `ids` that still have scheduled instalments to bill."""
    L = sim.loans
    return ids[L.n_billed[ids] < L.term_months[ids]]


class ReDefaults:
    """Loans watched from a day on (the end of a deferral, a modification): the first month
    end at which each has reached the default DPD again, or was charged off. Checked at
    every month end of `sim`."""

    def __init__(self, sim: Simulation) -> None:
        sim.hooks.add("month_end", lambda sim, month: self.check(sim, int(sim.env.now)))
        self.ids = np.empty(0, dtype=np.int64)
        self.start = np.empty(0, dtype=np.int64)
        self.day = np.empty(0, dtype=np.int64)  # -1 while it has not re-defaulted

    def watch(self, ids: np.ndarray, from_day: np.ndarray | int) -> None:
        """Start watching loans `ids` from `from_day` on."""
        self.ids = np.concatenate([self.ids, ids])
        self.start = np.concatenate([self.start, np.broadcast_to(np.asarray(from_day, dtype=np.int64), ids.shape)])
        self.day = np.concatenate([self.day, np.full(ids.size, -1, dtype=np.int64)])

    def check(self, sim: Simulation, day: int) -> None:
        """At a month end: mark the watched loans that have re-defaulted by `day`."""
        L = sim.loans
        open_ = np.flatnonzero((self.day < 0) & (self.start <= day))
        ids, start = self.ids[open_], self.start[open_]
        charged_day = L.charged_off_day[ids]  # -1 unless charged off
        charged = charged_day >= start
        oldest = L.oldest_unpaid_day[ids]
        late = (oldest >= start) & (day - oldest >= sim.scenario.lender.default_dpd)
        self.day[open_.compress(charged)] = charged_day.compress(charged)
        self.day[open_.compress(late & ~charged)] = day

    def report(self, sim: Simulation) -> dict[str, float]:
        """Re-default rates 3, 6 and 12 months on, among the loans watched that long by the
        end of the run, and by the end of the run among all watched."""
        horizon_day = sim.months * DAYS_PER_MONTH
        out = {"watched": float(self.ids.size)}
        gone = self.day - self.start
        for k in REDEFAULT_MONTHS:
            seen = self.start + k * DAYS_PER_MONTH <= horizon_day
            out[f"redefault_rate_{k}m"] = float(np.count_nonzero(seen & (self.day >= 0) & (gone <= k * DAYS_PER_MONTH)) / max(np.count_nonzero(seen), 1))
            out[f"watched_{k}m"] = float(np.count_nonzero(seen))
        out["redefault_rate_by_end"] = float(np.count_nonzero(self.day >= 0) / max(self.ids.size, 1))
        return out
