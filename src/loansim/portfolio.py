"""Building the book: segments of borrowers, the loans they hold, and due-day cohorts.

Each borrower belongs to one segment and holds one loan of each product the segment lists.
A borrower's loans share one due day (a lender aligns one customer's due dates), spread
evenly over the month. Borrowers are stored in due-day order and loans in (due day,
borrower, payment priority) order, so the loans due on day ``d`` are one contiguous slice,
their borrowers another, and each borrower's loans sit together in the order a borrower
short of cash pays them.

``Cohort`` maps between the two: per-borrower values to loans (``to_loans``) and per-loan
values to borrowers (``per_borrower``). When every borrower holds one loan, loan ``i``
belongs to borrower ``i`` and both maps are the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loansim.borrowers import Borrowers
from loansim.loans import DAYS_PER_MONTH, NOT_LENT, Loans, originate
from loansim.rng import Streams
from loansim.scenario import Scenario
from loansim.scenario.schema import Portfolio


@dataclass(frozen=True)
class Cohort:
    """The loans due on one day of the month and the borrowers who hold them; or, made by
    ``Book.span``, those due on several consecutive days of a month (a *span*), then `day`
    is each borrower's due day of the month."""

    day: int | np.ndarray
    loans: slice
    borrowers: slice
    holder: np.ndarray | None = None  # each loan's borrower, as a position in `borrowers`
    first: np.ndarray | None = None   # each borrower's first loan, as a position in `loans`

    @property
    def empty(self) -> bool:
        """No loans fall due on this day."""
        return self.loans.stop == self.loans.start

    def to_loans(self, per_borrower: np.ndarray) -> np.ndarray:
        """A per-borrower array over this cohort's borrowers, repeated for each of their loans."""
        return per_borrower if self.holder is None else per_borrower[self.holder]

    def per_borrower(self, per_loan: np.ndarray) -> np.ndarray:
        """Sum a per-loan array over this cohort's loans, borrower by borrower."""
        return per_loan if self.first is None else np.add.reduceat(per_loan, self.first)

    def most_per_borrower(self, per_loan: np.ndarray) -> np.ndarray:
        """The largest of a per-loan array for each borrower."""
        return per_loan if self.first is None else np.maximum.reduceat(per_loan, self.first)

    def today(self, now: int) -> int | np.ndarray:
        """The day each of the cohort's loans is dealt with: `now` for one day's cohort; for a
        span, each loan's due date in the month of `now`."""
        if isinstance(self.day, int):
            return now
        return now - now % DAYS_PER_MONTH + self.to_loans(self.day)

    def loan_ids(self, local: np.ndarray) -> np.ndarray:
        """Loan ids of positions `local` within this cohort."""
        return self.loans.start + local


def borrower_starts(borrower: np.ndarray) -> np.ndarray:
    """Positions at which a new borrower starts in `borrower`, the holders of a list of
    loans in id order (loans are stored by borrower, so each one's loans are adjacent)."""
    if borrower.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.empty(borrower.size, dtype=np.bool_)
    starts[0] = True
    np.not_equal(borrower[1:], borrower[:-1], out=starts[1:])
    return np.flatnonzero(starts)


BLOCK = 32_768  # borrowers per block: a block's float64 arrays (256 KiB each) stay in cache


class Book:
    """How loans and borrowers relate: segments, products and the due-day cohorts.

    ``blocks`` cuts the population into consecutive blocks of ``BLOCK`` borrowers, each as
    (its borrowers, their loans), both slices. Month-start work on everyone runs block by
    block: each step of a long chain of array operations then reads and writes arrays that
    fit in the processor's cache, instead of streaming the whole population from memory at
    every step (about twice as fast at a million borrowers, with the same results: the
    steps are per borrower).
    """

    def __init__(self, scenario: Scenario, streams: Streams, people: Borrowers) -> None:
        portfolio = scenario.portfolio
        self.products = list(portfolio.product_table())  # in payment order
        self.segments = list(portfolio.segment_table())
        people.segment = assign_segments(portfolio, streams, people.n)
        self.loans = build_loans(scenario, streams, people, self.products)
        # Every borrower holds one loan: then loan i is borrower i's (loans are sorted by borrower).
        self.n_borrowers = people.n
        self.one_each = self.loans.n == people.n and bool(np.all(self.loans.borrower == np.arange(people.n)))
        # Each borrower's first loan (loans are sorted by borrower).
        self.first_loan = np.searchsorted(self.loans.borrower, np.arange(people.n))
        self.cohorts = build_cohorts(self.loans, people, self.one_each)
        self.due_day = people.due_day  # each borrower's due day of the month (fixed for the run)
        # The population in blocks of borrowers, each with its loans (``blocks``).
        edges = list(range(0, people.n, BLOCK)) + [people.n]
        loan_edges = [int(self.first_loan[b]) if b < people.n else self.loans.n for b in edges]
        self.blocks = [(slice(b0, b1), slice(l0, l1)) for b0, b1, l0, l1 in zip(edges, edges[1:], loan_edges, loan_edges[1:])]

    def span(self, first: int, stop: int) -> Cohort:
        """One cohort of the loans due on days `first` to `stop - 1` of the month (their
        loans and borrowers are contiguous, as each day's are)."""
        days = self.cohorts[first:stop]
        if len(days) == 1:
            return days[0]
        loans = slice(days[0].loans.start, days[-1].loans.stop)
        borrowers = slice(days[0].borrowers.start, days[-1].borrowers.stop)
        day = self.due_day[borrowers].astype(np.int64)
        if days[0].holder is None:
            return Cohort(day, loans, borrowers)
        holder = np.concatenate([c.holder + (c.borrowers.start - borrowers.start) for c in days])
        first_loan = np.concatenate([c.first + (c.loans.start - loans.start) for c in days])
        return Cohort(day, loans, borrowers, holder, first_loan)

    def holders(self, ids: np.ndarray) -> np.ndarray:
        """The borrower of each of loans `ids`. When every borrower holds one loan, loan i is
        borrower i's, and this is `ids` itself (not a copy: do not change it in place)."""
        return ids if self.one_each else self.loans.borrower[ids]

    def per_borrower(self, per_loan: np.ndarray, block: tuple[slice, slice] | None = None) -> np.ndarray:
        """Sum a per-loan array over all loans, borrower by borrower; or over the loans of
        one of ``blocks``, for its borrowers."""
        if self.one_each:
            return per_loan
        if block is None:
            return np.add.reduceat(per_loan, self.first_loan)
        borrowers, loans = block
        return np.add.reduceat(per_loan, self.first_loan[borrowers] - loans.start)


def assign_segments(portfolio: Portfolio, streams: Streams, n: int) -> np.ndarray:
    """Each borrower's segment, drawn with the segments' shares (its own stream)."""
    shares = np.array([seg.share for seg in portfolio.segment_table().values()])
    if shares.size == 1:
        return np.zeros(n, dtype=np.int16)
    u = streams.uniform("population.segment", 0, n)
    return np.minimum(np.searchsorted(np.cumsum(shares), u, side="right"), shares.size - 1).astype(np.int16)


def build_loans(scenario: Scenario, streams: Streams, people: Borrowers, products: list[str]) -> Loans:
    """One loan per (borrower, product of the borrower's segment), sorted by borrower and priority."""
    portfolio = scenario.portfolio
    table = portfolio.product_table()
    holders, kinds = [], []
    for s, segment in enumerate(portfolio.segment_table().values()):
        members = np.flatnonzero(people.segment == s)
        for name in sorted(segment.products, key=products.index):
            holders.append(members)
            kinds.append(np.full(members.size, products.index(name), dtype=np.int16))
    holder, kind = np.concatenate(holders), np.concatenate(kinds)
    order = np.lexsort((kind, holder))
    holder, kind = holder[order], kind[order]
    loans = Loans(holder.size)
    loans.borrower = holder
    loans.product = kind
    loans.due_day = people.due_day[holder]  # first due in month 0, disbursed 30 days earlier
    loans.sched_start_day = loans.due_day
    streams.place(loan_is_applicant=people.applies_in_month[holder] >= 0)  # applicants' loans draw from streams of their own
    principal, apr, term = np.zeros(holder.size), np.zeros(holder.size), np.zeros(holder.size, dtype=np.int64)
    for p, name in enumerate(products):
        mine = np.flatnonzero(kind == p)
        stream = "portfolio.principal" if name == "loan" else f"portfolio.{name}.principal"
        principal[mine] = streams.sample(table[name].principal, stream, mine, of="loans")
        apr[mine], term[mine] = table[name].apr, table[name].term_months
    originate(loans, principal, apr, term)
    applying = people.applies_in_month[holder] >= 0  # lent only if approved (``Ledger.lend``)
    loans.status[applying] = NOT_LENT
    loans.principal[applying] = 0
    loans.disbursed[applying] = 0
    loans.recovery_share = streams.sample(scenario.lender.recovery_rate, "lender.recovery_share", loans.n, of="loans")
    return loans


def build_cohorts(loans: Loans, people: Borrowers, one_each: bool) -> list[Cohort]:
    """The contiguous loans and borrowers due on each day of the month."""
    if np.any(np.diff(people.due_day) < 0) or np.any(np.diff(loans.borrower) < 0):
        raise ValueError("borrowers must be stored in due-day order and loans in borrower order")
    days = np.arange(DAYS_PER_MONTH + 1)
    b_bounds = np.searchsorted(people.due_day, days, side="left")
    l_bounds = np.searchsorted(loans.due_day, days, side="left")
    cohorts = []
    for d in range(DAYS_PER_MONTH):
        loans_d, borrowers_d = slice(int(l_bounds[d]), int(l_bounds[d + 1])), slice(int(b_bounds[d]), int(b_bounds[d + 1]))
        if one_each:
            cohorts.append(Cohort(d, loans_d, borrowers_d))
            continue
        holder = (loans.borrower[loans_d] - borrowers_d.start).astype(np.int64)
        first = np.searchsorted(holder, np.arange(borrowers_d.stop - borrowers_d.start))
        cohorts.append(Cohort(d, loans_d, borrowers_d, holder, first))
    return cohorts
