"""Spans: the due dates of several days of a month dealt with in one step, with the same results.

A due date costs a few hundred small numpy calls whatever the size of its cohort, so a
small book, whose daily cohorts are small (about 333 loans at 10,000 borrowers), spends
most of its time on that fixed cost. But what a due date does to a borrower depends only
on that borrower's own state and the month's draws: borrowers of different cohorts never
meet, and what they share (the month's totals in the recorder and the ledger) is summed by
month. So when nothing acts on the book day by day except the clock's own steps, the clock
deals with days ``a`` to ``b - 1`` of a month (a *span*, ``Book.span``) on day ``a``, in
four vectorised steps that keep each borrower's own events in the order the engine's day
gives them:

1. late payments and pay-day arrears already set for days ``a + 1`` to ``b - 1`` (from
   earlier due dates), each paid out of the cash its own day brings;
2. the due dates of the span's cohorts (``servicing.due_date``, each loan on its own day);
3. default and charge-off of the span's loans reaching the thresholds (both a whole number
   of months past due, so a loan reaches one on a due day of its own), and the recoveries
   that follow, each started on its day;
4. late payments and pay-day arrears that step 2 set for days up to ``b - 1``.

Step 1 may come first: an event already set for day ``t`` belongs to a loan whose due
date in the span, if it has one, is at or after ``t`` (a borrower notices a forgotten or
misread date within 29 days, and the next pay day is at most 30 days after a due date), so
for its borrower it came first anyway. If one borrower has such events on different days,
they are paid day by day instead. Days the span covered then skip these steps.

The clock steps day by day when a policy defers assessments (``servicing.Deferral``) or
acts on days of its own (``Policy.spans_days`` false, or a ``day_start``, ``day_end`` or
``charged_off`` hook; ``lent`` runs when a policy lends, and a policy lending on days of its
own is not ``spans_days``), when a threshold is not a whole number of months, or when asked
(``Simulation(..., day_by_day=True)``); the results are the same bit for bit either way
(``tests/test_spans.py``). ``Simulation.advance`` ends a span where it stops, so the
book is exact at every stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim import servicing
from loansim.loans import DAYS_PER_MONTH
from loansim.portfolio import BLOCK, Book, Cohort

if TYPE_CHECKING:
    from loansim.engine import Simulation

SPAN_LOANS = BLOCK
"""At most this many loans in a span of more than one day: its arrays then stay in the
processor's cache (``portfolio.BLOCK``). A large book's days are each bigger than that, so
it steps day by day as before: at a million borrowers, spans of three days were slower."""

DAY_HOOKS = ("day_start", "day_end", "charged_off")
"""Hooks that act on days of their own: a scenario with any of them steps day by day."""


def possible(sim: Simulation) -> bool:
    """Whether `sim` may deal with spans of due days (module docstring); asked after the
    policies' ``setup``."""
    lender = sim.scenario.lender
    return (sim.deferral is None
            and lender.default_dpd % DAYS_PER_MONTH == 0 and lender.charge_off_dpd % DAYS_PER_MONTH == 0
            and all(policy.spans_days for policy in sim.policies)
            and not any(sim.hooks.registered(hook) for hook in DAY_HOOKS))


class Spans:
    """The clock's steps 3-8 (due date to charge-off) for spans of days (module docstring)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.until = 0  # the days before this one have been dealt with
        self._cohorts: dict[tuple[int, int], Cohort] = {}
        starts = [c.loans.start for c in sim.cohorts] + [sim.loans.n]  # the first loan due on each day
        # The day after the longest span from each day of the month: more than one day's loans only if they fit.
        self._ends = [first + 1 + sum(1 for stop in range(first + 2, DAYS_PER_MONTH + 1) if starts[stop] - starts[first] <= SPAN_LOANS)
                      for first in range(DAYS_PER_MONTH)]

    def step(self, day: int) -> None:
        """Deal with the span starting today, up to the month's end or the day the run stops
        at (``Simulation.advance``); on a later day of the span, start its recoveries."""
        sim = self.sim
        if day >= self.until:
            month, first = divmod(day, DAYS_PER_MONTH)
            stop = max(first + 1, min(self._ends[first], sim.stop_day - month * DAYS_PER_MONTH))
            span = self._cohorts.get((first, stop))
            if span is None:
                span = self._cohorts[(first, stop)] = sim.book.span(first, stop)
            self.until = day - first + stop
            self._pay_set(day + 1, span)
            servicing.due_date(sim, day, span)
            servicing.default_step(sim, day, span)
            servicing.charge_off_step(sim, day, span)
            self._pay_set(day + 1)
        recovering = sim.recoveries.take(day)
        if recovering.size:
            sim.env.process(servicing.recover(sim, recovering))

    def _pay_set(self, first: int, span: Cohort | None = None) -> None:
        """Late payments and pay-day arrears set for days `first` to the span's end, each on
        its own day's cash; day by day if one borrower has them on different days. Before
        the `span`'s due dates, none may fall after its loan's due date (module docstring)."""
        sim = self.sim
        late, late_days = sim.late_payments.take_span(first, self.until)
        owing, owing_days = sim.catch_ups.take_span(first, self.until)
        if late.size + owing.size == 0:
            return
        if span is not None:
            for ids, days in ((late, late_days), (owing, owing_days)):
                own = sim.loans.due_day[ids]
                if np.any((ids >= span.loans.start) & (ids < span.loans.stop) & (own < days % DAYS_PER_MONTH)):
                    raise RuntimeError("a payment was set for after its loan's next due date in a span of due days; "
                                       "spans (loansim.spans) assume none is: step this scenario day by day")
        if _one_day_each(sim.book, (late, late_days), (owing, owing_days)):
            if late.size:
                servicing.pay_what_cash_allows(sim, late, late_days)
            if owing.size:
                servicing.pay_arrears(sim, owing, owing_days)
            return
        for day in range(first, self.until):  # as the clock would: late payers, then the pay day
            if np.any(at := late_days == day):
                servicing.pay_what_cash_allows(sim, late[at], day)
            if np.any(at := owing_days == day):
                servicing.pay_arrears(sim, owing[at], day)


def _one_day_each(book: Book, *groups: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether every borrower holding loans among the `groups` (each loans and their days)
    appears in one group only, on one day only."""
    holders = np.concatenate([book.holders(ids) for ids, _ in groups])
    tag = np.concatenate([days * len(groups) + g for g, (_, days) in enumerate(groups)])
    order = np.argsort(holders, kind="stable")
    holders, tag = holders[order], tag[order]
    return not np.any((holders[1:] == holders[:-1]) & (tag[1:] != tag[:-1]))
