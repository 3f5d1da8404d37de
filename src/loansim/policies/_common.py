"""What several policies need: who is a customer, days past due, the next due date, and
re-default measured after a loan is modified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, Loans, days_past_due
from loansim.servicing import DayBuckets

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.portfolio import Book
    from loansim.scenario import Scenario

REDEFAULT_MONTHS = (3, 6, 9, 12)  # horizons of re-default after a modification, months of 30 days
REDEFAULT_DPD = (60, 90)  # re-default thresholds, days past due
GONE = 2 ** 40  # the days past due a charged-off loan counts as: past every threshold
NEVER = -(2 ** 62)  # the day of an action that never was: long enough ago for any cooldown


def month_in_run(key: str, month: int, scenario: Scenario) -> list[tuple[str, int, str]]:
    """The problem, if any, with a policy's `key` naming `month` (1 = the first) outside the run."""
    if month > scenario.run.months:
        return [(key, month, f"must be within the run (run.months = {scenario.run.months})")]
    return []


def cooled_off(last_day: np.ndarray, now: int, months: int) -> np.ndarray:
    """Mask: a cooldown of `months` since `last_day` (``NEVER`` if none yet) is over by `now`."""
    return last_day <= now - months * DAYS_PER_MONTH


def next_due_day(loans: Loans, ids: np.ndarray, now: int) -> np.ndarray:
    """The next due date of loans `ids` on or after day `now` (a day of the loan's own cohort)."""
    first = now - now % DAYS_PER_MONTH + loans.due_day[ids].astype(np.int64)
    return np.where(first >= now, first, first + DAYS_PER_MONTH)


def active_loans_of(book: Book, borrower_mask: np.ndarray) -> np.ndarray:
    """Ids of the active loans whose borrowers are marked in `borrower_mask`."""
    L = book.loans
    of_marked = borrower_mask if book.one_each else borrower_mask[L.borrower]  # one loan each: loan i is borrower i's
    return np.flatnonzero((L.status == ACTIVE) & of_marked)


def customers(book: Book, of_loans: np.ndarray | None = None) -> np.ndarray:
    """Mask of borrowers with an active loan (among the loans marked in `of_loans`, if given)."""
    L = book.loans
    active = L.status == ACTIVE if of_loans is None else (L.status == ACTIVE) & of_loans
    if book.one_each:  # loan i is borrower i's
        return active
    mask = np.zeros(book.n_borrowers, dtype=np.bool_)
    mask[L.borrower[active]] = True
    return mask


def with_instalments_left(loans: Loans, ids: np.ndarray) -> np.ndarray:
    """Those of `ids` that still have scheduled instalments to bill."""
    return ids[loans.n_billed[ids] < loans.term_months[ids]]


class ReDefaults:
    """Re-default after a modification, after the OCC Mortgage Metrics Report's re-default
    rates (the share of a quarter's modifications 60, or 90, or more days delinquent or in
    foreclosure k months after the modification, among those aged k months).

    Each modification (a deferral granted, a restructuring) is one observation, counted
    from the modification's day ``m``. ``k`` months on, the loan's status is taken as the
    OCC's month-end data take it: at the end of the ``k``-th month after the modification's
    month (the last day of month ``m // 30 + k``: for a modification at a month's start,
    ``30 k + 29`` days on), for each ``k`` of ``REDEFAULT_MONTHS``, if that day falls within
    the run, at the day's end (hook ``month_end``: after that day's payments, default and
    charge-off, and after any ``month_end`` hook registered before it):
    it has re-defaulted at ``d`` days (each ``d`` of ``REDEFAULT_DPD``) if it is ``d`` or
    more days past due, or has been charged off since ``m``; a repaid loan has not. A loan
    modified again before day ``m + 30 k`` is still observed for its first modification, at
    its status then (a second modification that cures the arrears cures them for both), and
    the second modification starts an observation of its own: every modification counts,
    as in the OCC's figures. One difference: the OCC leaves out loans no longer active
    (repaid, foreclosed), while a charged-off loan is the nearest thing here to a mortgage
    in foreclosure, which rarely completed within a year in 2008-09.

    The loans to check on a day are known when they are watched, so they wait in day
    buckets, one per horizon, and only they are looked at on their day.
    """

    def __init__(self, sim: Context) -> None:
        self.last_day = sim.months * DAYS_PER_MONTH - 1
        self.due = {k: DayBuckets() for k in REDEFAULT_MONTHS}  # horizon -> loans by check day
        shape = (len(REDEFAULT_MONTHS), sim.months)  # by horizon and by the modification's month
        self.watched = np.zeros(shape, dtype=np.int64)  # modifications observed k months on
        self.redefaulted = {d: np.zeros(shape, dtype=np.int64) for d in REDEFAULT_DPD}
        self._ids: list[np.ndarray] = []  # every modification: its loan and its day
        self._days: list[np.ndarray] = []
        # Every check falls on a month's last day, after its due dates, payments, default and
        # charge-off: the month end sees the book as that day's end did, with spans or without.
        sim.hooks.add("month_end", lambda sim, month: self.check(sim.loans, (month + 1) * DAYS_PER_MONTH - 1))

    def watch(self, ids: np.ndarray, day: int) -> None:
        """Observe loans `ids`, modified on `day`, at each horizon that falls within the run."""
        if ids.size == 0:
            return
        self._ids.append(ids.copy())
        self._days.append(np.full(ids.size, day, dtype=np.int64))
        for k in REDEFAULT_MONTHS:
            check_day = (day // DAYS_PER_MONTH + k + 1) * DAYS_PER_MONTH - 1  # the k-th month end after
            if check_day <= self.last_day:
                self.due[k].add(np.full(ids.size, check_day, dtype=np.int64), ids)

    def check(self, L: Loans, day: int) -> None:
        """At the end of `day`: the status of the loans modified ``k`` months before, for each ``k``."""
        for h, k in enumerate(REDEFAULT_MONTHS):
            ids = self.due[k].take(day)
            if ids.size == 0:
                continue
            month = day // DAYS_PER_MONTH - k  # the modification's month
            days_late = days_past_due_or_gone(L, ids, day, since=month * DAYS_PER_MONTH)
            self.watched[h, month] += ids.size
            for d in REDEFAULT_DPD:
                self.redefaulted[d][h, month] += int(np.count_nonzero(days_late >= d))

    def rates(self, first_month: int = 1, last_month: int | None = None) -> dict[str, float]:
        """``redefault_rate_<d>_<k>m`` and ``watched_<k>m`` of the modifications made from
        month `first_month` to `last_month` (1 = the run's first; default: to the run's
        last), e.g. one quarter's modifications, as the OCC reports them."""
        months = slice(first_month - 1, last_month)
        watched = self.watched[:, months].sum(axis=1)
        out = {f"watched_{k}m": float(watched[h]) for h, k in enumerate(REDEFAULT_MONTHS)}
        for d in REDEFAULT_DPD:
            redefaulted = self.redefaulted[d][:, months].sum(axis=1)
            for h, k in enumerate(REDEFAULT_MONTHS):
                out[f"redefault_rate_{d}_{k}m"] = float(redefaulted[h] / max(watched[h], 1))
        return out

    def report(self, L: Loans, default_dpd: int) -> dict[str, float]:
        """The ``rates`` of every modification in the run (each horizon among those observed
        that long: ``watched_<k>m``) and ``redefault_rate_by_end``: among all ``watched``
        modifications, the share re-defaulted (``default_dpd`` or more past due, or charged
        off since) at the end of the run, however long each was observed."""
        ids = np.concatenate([np.zeros(0, dtype=np.int64), *self._ids])
        since = np.concatenate([np.zeros(0, dtype=np.int64), *self._days])
        at_end = days_past_due_or_gone(L, ids, self.last_day, since)
        return {"watched": float(ids.size), **self.rates(),
                "redefault_rate_by_end": float(np.count_nonzero(at_end >= default_dpd) / max(ids.size, 1))}


def days_past_due_or_gone(L: Loans, ids: np.ndarray, day: int, since: np.ndarray | int) -> np.ndarray:
    """Days past due of loans `ids` at the end of `day` (0 when current or repaid), and
    ``GONE`` for those charged off on or after day `since`."""
    late = np.where(L.status[ids] == ACTIVE, days_past_due(L.oldest_unpaid_day[ids].astype(np.int64), day), 0)
    gone = (L.status[ids] == CHARGED_OFF) & (L.charged_off_day[ids] >= since)
    return np.where(gone, GONE, late)
