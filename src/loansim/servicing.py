"""Servicing the book: what happens on a due date, and as unpaid loans age.

``due_date`` runs steps 3-6 of the engine's day for one cohort (billing, payment,
delinquency, and the assessment of misses, unless a policy defers it: ``Deferral``, an
extension point for a period after the due date within which payment counts as on time);
``default_step`` and ``charge_off_step`` are steps 7-8.
Money moves only through ``sim.ledger``.

Delinquency uses the payment-count method: instalments covered = (interest + principal
paid since the schedule started) // instalment; the oldest unpaid instalment is the next
one, and at the latest the one billed most recently. The oldest unpaid day therefore moves only when money
arrives, during the term or after it. A scheduled due date is *missed* when interest and
principal are left unpaid for a reason other than payments having gone to fees first
(no late fee on a late fee: the FTC Credit Practices Rule's ban on pyramiding).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from loansim.borrowers import cash_cents, pay_out, payment, score
from loansim.borrowers.payment import CANNOT_PAY, MISS_CAUSES
from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, REPAID, Loans, days_past_due, round_cents
from loansim.portfolio import Book, Cohort, borrower_starts

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

    from loansim.context import Context
    from loansim.engine import Simulation

Ids = slice | np.ndarray
MISSED_SERIES = tuple(f"missed_{cause}" for cause in MISS_CAUSES[1:])  # the recorder's misses by cause
DEFAULT_SERIES = tuple(f"new_defaults_{cause}" for cause in MISS_CAUSES)  # and defaults by the latest miss's cause


class Deferral(Protocol):
    """An extension point: a policy that defers the assessment of due dates (``assess``),
    registered as ``sim.deferral``. ``due_date`` hands it each due date instead of assessing
    it; the clock calls ``end`` each day after the due dates (step 6). (The days in which a
    payment still counts as on time, and a loan as current, a policy declares with
    ``Policy.on_time_days``.)"""

    def defer(self, sim: Context, day: int, cohort: Cohort, scheduled: np.ndarray, reason: np.ndarray,
              principal_before: np.ndarray) -> None:
        """Take the due date `day` of `cohort` (the arguments ``assess`` needs) to assess later."""
        ...

    def end(self, sim: Context, day: int) -> None:
        """Assess the due dates deferred until today."""
        ...


def due_date(sim: Simulation, day: int, cohort: Cohort) -> None:
    """Bill today's cohort and collect what borrowers pay; then assess misses, today or
    when a ``Deferral`` says (``assess``).

    `cohort` may be a span of due days (``loansim.spans``): `day` is then its first, and
    each loan is dealt with as on its own due date (``Cohort.today``)."""
    if cohort.empty:
        return
    L, loans = sim.loans, cohort.loans
    today = cohort.today(day)
    sim.hooks.run("before_due", sim, day, cohort)
    principal_before = L.principal[loans].copy()
    scheduled = sim.ledger.bill_instalment(loans, today)
    due = L.amount_due(loans)
    paid, reason = payment.decide(sim, cohort, due)
    L.pay_reason[loans] = reason
    collect(sim, loans, due, paid, cohort)
    if sim.population.catch_up:  # short of cash, not of will or memory: pays on the pay day
        short = ((reason == 0) & L.late(loans)).nonzero()[0]  # late as collect left them
        ids = cohort.loan_ids(short)
        sim.catch_ups.add(next_pay_day(sim.borrowers.pay_day[sim.book.holders(ids)], _of(today, short)), ids)
    sim.recorder.add(day, "due_dates", int(np.count_nonzero(scheduled)))
    if sim.population.misreading or sim.population.forgetting:
        late, days_late = payment.late_payers(sim, cohort, reason)
        sim.late_payments.add(_of(today, late - loans.start) + days_late, late)
    if sim.deferral is None:
        assess(sim, day, cohort, scheduled, reason, principal_before)
    else:
        sim.deferral.defer(sim, day, cohort, scheduled, reason, principal_before)


def _of(today: int | np.ndarray, local: np.ndarray) -> int | np.ndarray:
    """`today` (``Cohort.today``) for the loans at positions `local` of the cohort."""
    return today if isinstance(today, int) else today[local]


def assess(sim: Context, day: int, cohort: Cohort, scheduled: np.ndarray, reason: np.ndarray,
           principal_before: np.ndarray) -> None:
    """Record the misses of the due date `day` of `cohort` (a scheduled due date whose interest
    and principal are still unpaid), move credit scores, send late notices, and run the
    ``missed`` hook (late fees)."""
    L, loans = sim.loans, cohort.loans
    missed = L.unpaid_scheduled(loans) > 0
    if sim.today > day:  # assessed later (``Deferral``): a loan charged off since is still unpaid
        missed |= (L.status[loans] == CHARGED_OFF) & (L.charged_off_day[loans] >= day)
    missed &= scheduled  # a mask over the cohort's loans
    L.n_missed[loans] += missed
    local = missed.nonzero()[0]
    cause = reason[local]
    cause[cause <= 0] = CANNOT_PAY  # a miss limited by cash alone
    ids = cohort.loan_ids(local)
    L.last_miss_cause[ids] = cause
    update_scores(sim, cohort, scheduled, missed, principal_before)
    now = sim.today
    sim.recorder.add(now, "missed_payments", len(local))
    if local.size:
        for name, count in zip(MISSED_SERIES, np.bincount(cause, minlength=len(MISS_CAUSES))[1:].tolist()):
            sim.recorder.add(now, name, count)
    if sim.population.misreading:
        payment.read_late_notice(sim.borrowers, sim.book.holders(ids))
    sim.hooks.run("missed", sim, now, ids)


def collect(sim: Context, ids: Ids, due: np.ndarray, paid: np.ndarray, cohort: Cohort | None = None,
            today: int | np.ndarray | None = None) -> None:
    """Book payments `paid` (cents) against amounts `due` on loans `ids`, and what follows.

    Borrowers pay out of their cash (``borrowers.pay_out``): through `cohort` when the loans
    are a whole cohort, else loan by loan (a borrower may pay several loans). `today`: the
    day of each payment (default: now), for payments of several days made in one step.
    """
    past_due = sim.ledger.pay(ids, paid)
    if cohort is not None:
        pay_out(sim.borrowers, cohort.borrowers, cohort.per_borrower(paid) / 100, cohort.day)
    else:
        day_of_month = (sim.today if today is None else today) % DAYS_PER_MONTH
        if sim.book.one_each:  # each borrower once
            pay_out(sim.borrowers, ids, paid / 100, day_of_month)
        else:
            holders, first, of_loan = np.unique(sim.loans.borrower[ids], return_index=True, return_inverse=True)
            day_of_month = day_of_month if isinstance(day_of_month, int) else day_of_month[first]
            pay_out(sim.borrowers, holders, np.bincount(of_loan, weights=paid / 100, minlength=holders.size), day_of_month)
    update_delinquency(sim.loans, ids, past_due)
    close_repaid(sim.loans, ids, due, paid)


class DayBuckets:
    """Loans to act on by day: filled from many cohorts' due dates, taken once on the day
    as one sorted array, so the day's step is one vectorised call however many fed it."""

    def __init__(self) -> None:
        self._days: dict[int, list[np.ndarray]] = {}

    def add(self, days: np.ndarray, ids: np.ndarray) -> None:
        """Put each of loans `ids` in the bucket of its day in `days`."""
        if ids.size == 0:
            return
        offset = days - days.min()
        if offset.max() < 2 ** 15:  # a stable sort of int16 is a radix sort
            offset = offset.astype(np.int16)
        order = np.argsort(offset, kind="stable")
        days, ids = days[order], ids[order]
        cuts = ((days[1:] != days[:-1]).nonzero()[0] + 1).tolist()
        starts, ends = [0, *cuts], [*cuts, ids.size]
        for day, start, end in zip(days[starts].tolist(), starts, ends):
            self._days.setdefault(day, []).append(ids[start:end])

    def take_span(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The loans in the buckets of days `first` to `stop - 1`, in id order, and the day
        of each; those buckets are emptied."""
        days = [day for day in range(first, stop) if day in self._days]
        if not days:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        groups = [(day, ids) for day in days for ids in self._days.pop(day)]
        ids = np.concatenate([ids for _, ids in groups])
        when = np.repeat(np.array([day for day, _ in groups], dtype=np.int64), [ids.size for _, ids in groups])
        order = np.argsort(ids, kind="stable")
        return ids[order], when[order]

    def take(self, day: int) -> np.ndarray:
        """The loans in `day`'s bucket, in id order (empty if none); the bucket is emptied."""
        groups = self._days.pop(day, None)
        return np.sort(np.concatenate(groups)) if groups else np.zeros(0, dtype=np.int64)


def pay_late(sim: Simulation, day: int) -> None:
    """Borrowers who forgot a due date and notice today, or thought it later and their later
    date is today, pay what they can."""
    ids = sim.late_payments.take(day)
    if ids.size:
        pay_what_cash_allows(sim, ids, day)


def next_pay_day(pay_day: np.ndarray, day: int | np.ndarray) -> np.ndarray:
    """The next day after `day` (or each one's) that is a pay day `pay_day` of the month (a
    pay day on `day` itself is past: that income is in already)."""
    dom = day % DAYS_PER_MONTH
    pay_day = pay_day.astype(np.int64)
    return day - dom + pay_day + np.where(pay_day > dom, 0, DAYS_PER_MONTH)


def pay_arrears_on_pay_day(sim: Simulation, day: int) -> None:
    """Borrowers left short of cash at a due date whose next pay day is today pay the arrears
    out of it (``borrowers.pay_arrears_on_pay_day``), unless they have chosen not to pay."""
    ids = sim.catch_ups.take(day)
    if ids.size:
        pay_arrears(sim, ids, day)


def pay_arrears(sim: Context, ids: np.ndarray, today: int | np.ndarray) -> None:
    """The holders of loans `ids`, short of cash at a due date, pay the arrears out of the
    pay day of `today` (or each loan's), unless they have chosen not to pay."""
    L = sim.loans
    late = L.late(ids).nonzero()[0]
    late = late.compress(~sim.borrowers.unwilling[sim.book.holders(ids[late])])
    if late.size:
        paid = pay_what_cash_allows(sim, ids[late], _of(today, late))
        sim.recorder.add(sim.today, "paid_on_pay_day", int(paid.sum()))


def pay_what_cash_allows(sim: Context, ids: np.ndarray, today: int | np.ndarray) -> np.ndarray:
    """The holders of loans `ids` pay what is due on those that are active, on `today` (or
    each loan's day), out of their savings, in payment order; returns what was paid on each
    of `ids` (cents)."""
    paid_out = np.zeros(len(ids), dtype=np.int64)
    mine = (sim.loans.status[ids] == ACTIVE).nonzero()[0]
    active = ids[mine]
    if active.size == 0:
        return paid_out
    if (active[1:] < active[:-1]).any():  # loans by borrower and priority (= by id), as allocate needs
        order = np.argsort(active, kind="stable")
        active, mine = active[order], mine[order]
    today = _of(today, mine)
    if sim.book.one_each:
        first, holders = None, active
    else:
        borrower = sim.loans.borrower[active]
        first = borrower_starts(borrower)
        holders = borrower[first]
    due = sim.loans.amount_due(active)
    day_of_month = today % DAYS_PER_MONTH
    if first is not None and isinstance(day_of_month, np.ndarray):
        day_of_month = day_of_month[first]
    cash = cash_cents(sim.borrowers, holders, day_of_month)
    paid = payment.allocate(cash, due, first, sim.scenario.borrowers.partial_payments)
    paid_out[mine] = paid
    if not paid.all():  # nothing changes on a loan paid nothing
        paying = paid.nonzero()[0]
        active, due, paid, today = active[paying], due[paying], paid[paying], _of(today, paying)
    if paid.size:
        collect(sim, active, due, paid, today=today)
    return paid_out


def update_delinquency(L: Loans, ids: Ids, past_due: np.ndarray | None = None) -> None:
    """Set the loans' oldest unpaid due day by the payment-count method (module docstring).

    `past_due`: the loans' interest and principal past due (cents), if already at hand.
    """
    if past_due is None:
        past_due = L.principal_due[ids] + L.interest_due[ids]
    behind = (past_due > 0).nonzero()[0]  # never negative; a mask finds them faster
    L.oldest_unpaid_day[ids] = -1  # current, unless behind
    if behind.size == 0:
        return
    owing = _pick(ids, behind)
    paid = L.interest_paid[owing] + L.principal_repaid[owing] - L.sched_paid_base[owing]
    covered = paid // np.maximum(L.installment[owing], 1)
    unpaid = np.minimum(covered, L.n_billed[owing] - L.sched_billed_base[owing] - 1)
    L.oldest_unpaid_day[owing] = L.sched_start_day[owing] + DAYS_PER_MONTH * unpaid  # instalment j of the schedule falls due 30 j days after its start


def close_repaid(L: Loans, ids: Ids, due: np.ndarray, paid: np.ndarray) -> None:
    """Loans that paid everything due and have no principal left are repaid."""
    done = ((L.principal[ids] == 0) & (due > 0)).nonzero()[0]
    if done.size == 0:
        return
    done = _pick(ids, done[(L.status[_pick(ids, done)] == ACTIVE) & (due[done] == paid[done])])
    L.status[done] = REPAID


def update_scores(sim: Context, cohort: Cohort, scheduled: np.ndarray, missed: np.ndarray,
                  principal_before: np.ndarray) -> None:
    """Move credit scores for today's scheduled due dates (``loansim.borrowers.score``);
    `scheduled` and `missed` are masks over the cohort's loans.

    A borrower who missed any loan today takes the miss (by the deepest arrears among
    them); one who paid every scheduled loan in full gains, more as utilisation falls.
    """
    L, people, p, loans = sim.loans, sim.borrowers, sim.scenario.borrowers.score, cohort.loans
    scores = people.score[cohort.borrowers]  # a view
    if cohort.holder is None:
        missed_b, in_full = missed, scheduled & ~missed
    else:
        missed_b = cohort.most_per_borrower(missed)
        in_full = (cohort.per_borrower(scheduled.astype(np.int8)) > 0) & ~missed_b
    utilisation_drop: np.ndarray | np.float32 = np.float32(0)
    if p.utilisation_points:
        repaid = cohort.per_borrower(principal_before - L.principal[loans])
        utilisation_drop = (repaid / np.maximum(cohort.per_borrower(L.disbursed[loans]), 1)).astype(np.float32)
    np.copyto(scores, score.on_time(scores, p.on_time_points, utilisation_drop, p.utilisation_points), where=in_full)
    at = missed.nonzero()[0]  # positions: on a large cohort a gather by them beats a random mask many times over
    if at.size == 0:
        return
    oldest = L.oldest_unpaid_day[cohort.loan_ids(at)]
    behind = np.where(oldest >= 0, days_past_due(oldest, _of(cohort.today(sim.today), at)) // DAYS_PER_MONTH + 1, 0)  # this month's too
    if cohort.holder is None:
        scores[at] = score.missed(scores[at], p.miss_points, behind)
    else:  # a borrower's deepest arrears among the loans missed today
        per_loan = np.zeros(scheduled.shape, dtype=behind.dtype)
        per_loan[at] = behind
        deepest = cohort.most_per_borrower(per_loan)
        scores[missed_b] = score.missed(scores[missed_b], p.miss_points, deepest[missed_b])


def reaching(book: Book, day: int, dpd: int, span: Cohort | None = None) -> np.ndarray:
    """Ids, ascending, of the active loans at or past `dpd` days past due today: only loans of
    one cohort can reach it today (the engine's docstring), and on most days none does.

    With a `span` of due days (``loansim.spans``; `dpd` a whole number of months, so that the
    loans reaching it on a day are that day's cohort): its loans reaching it on their due day."""
    latest: int | np.ndarray  # the oldest unpaid day at the latest
    if span is None:
        loans, latest = book.cohorts[(day - dpd) % DAYS_PER_MONTH].loans, day - dpd
    else:
        loans, latest = span.loans, span.today(day) - dpd
    if isinstance(latest, int) and latest < 0:
        return np.zeros(0, dtype=np.int64)
    # A loan with no unpaid day holds -1, which as uint32 is past any day: one comparison finds them all.
    ids = loans.start + (book.loans.oldest_unpaid_day[loans].view(np.uint32) <= latest).nonzero()[0]
    return ids.compress(book.loans.status[ids] == ACTIVE) if ids.size else ids


def default_step(sim: Context, day: int, span: Cohort | None = None) -> None:
    """Flag loans reaching the default DPD today (or on their due day, in a `span`,
    ``reaching``), attribute them to a cause, mark scores."""
    L = sim.loans
    new = reaching(sim.book, day, sim.scenario.lender.default_dpd, span)
    if new.size:
        new = new.compress(L.defaulted_day[new] < 0)
    if new.size == 0:
        return
    L.defaulted_day[new] = day if span is None else _of(span.today(day), new - span.loans.start)
    holders = sim.book.holders(new)  # a borrower with several loans defaulting today is marked once
    sim.borrowers.score[holders] = score.defaulted(sim.borrowers.score[holders], sim.scenario.borrowers.score.default_points)
    sim.recorder.add(day, "new_defaults", len(new))
    for name, count in zip(DEFAULT_SERIES, np.bincount(L.last_miss_cause[new], minlength=len(MISS_CAUSES)).tolist()):
        sim.recorder.add(day, name, count)


def charge_off_step(sim: Simulation, day: int, span: Cohort | None = None) -> None:
    """Charge off loans reaching the charge-off DPD today (or on their due day, in a `span`,
    ``reaching``) and expect their recoveries."""
    L = sim.loans
    ids = reaching(sim.book, day, sim.scenario.lender.charge_off_dpd, span)
    if ids.size == 0:
        return
    principal = sim.ledger.charge_off(ids)
    when = day if span is None else _of(span.today(day), ids - span.loans.start)
    L.charged_off_day[ids] = when
    L.oldest_unpaid_day[ids] = -1  # closed loans are in no delinquency bucket
    sim.recorder.add(day, "new_charge_offs", len(ids))
    expected = round_cents(principal * L.recovery_share[ids])
    if expected.any():
        recovering = ids[expected > 0]
        sim.ledger.expect_recovery(recovering, expected[expected > 0])
        if span is None:
            sim.env.process(recover(sim, recovering))
        else:  # each day's recoveries start on that day, as they would day by day
            sim.recoveries.add(when[expected > 0] if isinstance(when, np.ndarray) else np.full(recovering.size, when), recovering)
    sim.hooks.run("charged_off", sim, day, ids)


def recover(sim: Context, ids: np.ndarray) -> ProcessGenerator:
    """Recoveries on loans charged off today arrive after the recovery delay.

    Those that would arrive after the horizon stay pending in the ledger.
    """
    yield sim.env.timeout(sim.scenario.lender.recovery_delay_months * DAYS_PER_MONTH)
    sim.ledger.recover(ids)


def _pick(ids: Ids, local: np.ndarray) -> np.ndarray:
    """Absolute loan ids of positions `local` within `ids` (a slice or an index array)."""
    return ids.start + local if isinstance(ids, slice) else ids[local]
