"""The loan book: per-loan arrays in integer cents, amortisation, and the ledger.

Money on the book is held as int64 cents, so every identity is exact by construction:
per loan and in total,

    disbursed + capitalised = principal repaid + principal charged off + principal outstanding
    interest billed = interest paid + interest written off + capitalised + interest outstanding
    fees billed     = fees paid + fees written off + fees outstanding
    recoveries received + recoveries pending <= principal charged off

``Ledger`` is the one place that moves money: billing, payments (allocated fees →
interest → principal), fees, charge-offs, recoveries, operating costs, and modifications
(a deferral or restructuring that re-ages arrears and sets a new schedule, ``modify``).
It also sums each movement into per-month flows for the results.

A loan's *schedule* runs from ``sched_start_day``, its first due date under the current
terms: before that day nothing is billed (a loan not yet lent, or one whose instalments are
deferred). Delinquency counts instalments from the schedule's start (``servicing``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import numpy as np

from loansim.state import Array, StateArrays, field

DAYS_PER_MONTH = 30  # the 30/360 convention

ACTIVE, REPAID, CHARGED_OFF, NOT_LENT = 0, 1, 2, 3  # NOT_LENT: an application pending or declined


def annuity_payment(principal: float | np.ndarray, apr: float | np.ndarray, term_months: int | np.ndarray) -> np.ndarray:
    """Level monthly payment that repays `principal` over `term_months` at `apr` (30/360).

    ``A = P r / (1 - (1 + r)^-n)`` with ``r = apr / 12``; ``A = P / n`` when ``r = 0``.
    """
    p, n = np.asarray(principal, dtype=float), np.asarray(term_months, dtype=float)
    r = np.asarray(apr, dtype=float) / 12
    # 1 - (1 + r)^-n computed without cancellation, so tiny rates stay exact.
    discount = -np.expm1(-n * np.log1p(r))
    with np.errstate(divide="ignore", invalid="ignore"):
        level = p * r / discount
    return np.where(discount > 0, level, p / n)


def days_past_due(oldest_unpaid_day: np.ndarray, today: int | np.ndarray) -> np.ndarray:
    """Days past due on `today` (or on each loan's day) of loans whose oldest unpaid due day is
    `oldest_unpaid_day` (``Loans.oldest_unpaid_day``): 0 for a loan with none (-1), current or
    closed."""
    return np.where(oldest_unpaid_day >= 0, today - oldest_unpaid_day, 0)


def whole_cents(cents: np.ndarray) -> np.ndarray:
    """Whole cents held as floats to int64, refusing any that int64 cannot hold.

    The scenario's budget (``loansim.limits``) keeps every amount far inside int64; should one
    still leave it, this fails loudly rather than turning it into a meaningless number.
    """
    try:
        with np.errstate(invalid="raise"):
            return np.asarray(cents).astype(np.int64)
    except FloatingPointError:
        a = np.asarray(cents, dtype=float)
        bad = a[~(np.abs(a) < 2.0**63)]
        raise OverflowError(f"an amount of {bad[0] / 100:.6g} currency units does not fit in int64 cents "
                            "(the scenario's budget, loansim.limits, should have refused it)") from None


def round_cents(cents: float | np.ndarray) -> np.ndarray:
    """An amount in (fractional) cents to whole cents, rounding half away from zero."""
    a = np.asarray(cents, dtype=float)
    return whole_cents(np.sign(a) * np.floor(np.abs(a) + 0.5))


def floor_cents(amount: np.ndarray) -> np.ndarray:
    """Currency units to the whole cents they cover, rounding down (what cash can pay);
    the tolerance keeps 1.14 * 100 = 113.99... at 114."""
    cents = np.multiply(amount, 100, dtype=np.float64)
    cents += 1e-6
    return whole_cents(np.floor(cents, out=cents))


def cents_text(cents: int, grouped: bool = False) -> str:
    """Whole `cents` as currency units with exactly two decimals (``-1234.05``; ``-1,234.05``
    if `grouped`), computed in integers, so exact at any size."""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{units:,}.{rest:02d}" if grouped else f"{'-' if cents < 0 else ''}{units}.{rest:02d}"


def to_cents(amount: float | np.ndarray) -> np.ndarray:
    """Currency units to whole cents, rounding half away from zero."""
    return round_cents(np.asarray(amount, dtype=float) * 100)


class Loans(StateArrays):
    """One row per loan. Money fields are int64 cents."""

    borrower: Array[np.int32] = field(-1, "id", "borrower who holds the loan")
    product: Array[np.int16] = field(0, "id", "product (position in the portfolio's payment order)")
    due_day: Array[np.int16] = field(0, "day of month", "day of the 30-day month the instalment is due")
    monthly_rate: Array[np.float64] = field(0.0, "share", "contract interest per month (apr / 12)")
    term_months: Array[np.int16] = field(0, "months", "number of scheduled instalments")
    installment: Array[np.int64] = field(0, "cents", "level scheduled payment")
    status: Array[np.int8] = field(ACTIVE, "code", "0 active, 1 repaid, 2 charged off, 3 not lent (application pending or declined)")
    n_billed: Array[np.int16] = field(0, "count", "scheduled instalments billed so far (= scheduled due dates)")
    oldest_unpaid_day: Array[np.int32] = field(-1, "day", "due day of the oldest unpaid instalment; -1 if current")
    defaulted_day: Array[np.int32] = field(-1, "day", "day the loan first reached the default DPD; -1 if never")
    charged_off_day: Array[np.int32] = field(-1, "day", "day of charge-off; -1 if not charged off")
    sched_start_day: Array[np.int32] = field(0, "day", "first due date of the current schedule (the loan's first, or the first after a modification)")
    sched_billed_base: Array[np.int16] = field(0, "count", "scheduled instalments billed before the current schedule started")
    sched_paid_base: Array[np.int64] = field(0, "cents", "interest and principal paid before the current schedule started")
    n_modified: Array[np.int16] = field(0, "count", "modifications (deferrals, restructurings)")
    recovery_share: Array[np.float64] = field(0.0, "share", "share of charged-off principal this loan will recover")
    # balances outstanding
    principal: Array[np.int64] = field(0, "cents", "principal outstanding, billed or not")
    principal_due: Array[np.int64] = field(0, "cents", "principal billed and not yet paid")
    interest_due: Array[np.int64] = field(0, "cents", "interest billed and not yet paid")
    fees_due: Array[np.int64] = field(0, "cents", "fees and penalty charges billed and not yet paid")
    fee_displaced: Array[np.int64] = field(0, "cents", "interest and principal past due only because payments went to fees first")
    # cumulative ledger per loan
    disbursed: Array[np.int64] = field(0, "cents", "principal lent")
    amount: Array[np.int64] = field(0, "cents", "principal of the loan (lent at the start, or applied for)")
    principal_repaid: Array[np.int64] = field(0, "cents", "principal paid by the borrower")
    principal_charged_off: Array[np.int64] = field(0, "cents", "principal written off at charge-off")
    interest_billed: Array[np.int64] = field(0, "cents", "contract interest charged")
    interest_paid: Array[np.int64] = field(0, "cents", "contract interest paid")
    interest_written_off: Array[np.int64] = field(0, "cents", "interest reversed at charge-off")
    capitalised: Array[np.int64] = field(0, "cents", "interest billed and then added to principal (a modification)")
    fees_billed: Array[np.int64] = field(0, "cents", "fees and penalty charges billed")
    fees_paid: Array[np.int64] = field(0, "cents", "fees and penalty charges paid")
    fees_written_off: Array[np.int64] = field(0, "cents", "fees reversed at charge-off")
    recoveries: Array[np.int64] = field(0, "cents", "cash recovered after charge-off")
    recoveries_pending: Array[np.int64] = field(0, "cents", "recoveries expected but not yet received")
    # payment history
    pay_reason: Array[np.int8] = field(0, "code", "what limited the payment at the latest due date (payment.MISS_CAUSES; 0: only cash)")
    last_miss_cause: Array[np.int8] = field(0, "code", "why the latest due date was missed (payment.MISS_CAUSES)")
    n_missed: Array[np.int32] = field(0, "count", "scheduled due dates whose interest and principal due were not paid in full")
    # vintages (loansim.metrics.vintage_curves)
    lent_month: Array[np.int16] = field(0, "month", "month the loan was lent: 0 for the book at the start, 1 for the run's first month, ...")
    recovered_day: Array[np.int32] = field(-1, "day", "day of the latest recovery received on the loan; -1 if none")
    # the book at the latest month end (loansim.metrics)
    month_end_state: Array[np.int8] = field(ACTIVE, "code", "state at the latest month end, or at the start before the first: the status code, "
                                   "or for an active loan past due beyond any grace period 4 to 7 (1-29, 30-59, 60-89, 90+ days; metrics.PAST_DUE)")

    def monthly_interest(self, ids: slice | np.ndarray) -> np.ndarray:
        """One month's contract interest on the principal outstanding, in cents (round half up)."""
        interest = self.principal[ids] * self.monthly_rate[ids]
        interest += 0.5
        return interest.astype(np.int64)

    def unpaid_scheduled(self, ids: slice | np.ndarray) -> np.ndarray:
        """Interest and principal past due, less what is unpaid only because payments went
        to fees first (cents): above 0, a due date is missed (``servicing``)."""
        return self.principal_due[ids] + self.interest_due[ids] - self.fee_displaced[ids]

    def amount_due(self, ids: slice | np.ndarray) -> np.ndarray:
        """Everything billed and unpaid (fees + interest + principal), in cents."""
        return self.fees_due[ids] + self.interest_due[ids] + self.principal_due[ids]

    def late(self, ids: slice | np.ndarray) -> np.ndarray:
        """Mask over loans `ids`: active with an unpaid instalment (past due)."""
        return (self.status[ids] == ACTIVE) & (self.oldest_unpaid_day[ids] >= 0)


def originate(loans: Loans, principal: np.ndarray, apr: float | np.ndarray, term_months: int | np.ndarray) -> None:
    """Book every loan as disbursed, with its level instalment rounded to the cent."""
    loans.amount[:] = to_cents(principal)
    loans.principal[:] = loans.amount
    loans.disbursed[:] = loans.amount
    loans.monthly_rate[:] = np.asarray(apr, dtype=float) / 12
    loans.term_months[:] = term_months
    loans.installment[:] = to_cents(annuity_payment(loans.principal / 100, apr, term_months))


FLOWS = (
    "disbursed", "interest_billed", "fees_billed", "payments", "principal_repaid", "interest_paid",
    "fees_paid", "principal_charged_off", "interest_written_off", "fees_written_off", "recoveries",
    "capitalised", "operating_cost",
)


class Ledger:
    """Every money movement on the book, per loan and summed per month (cents)."""

    def __init__(self, loans: Loans, months: int, now: Callable[[], float]) -> None:
        self.loans = loans
        self.now = now
        self.flows = {name: np.zeros(months, dtype=np.int64) for name in FLOWS}
        self._costs: dict[str, int] = defaultdict(int)

    @property
    def month(self) -> int:
        """Month of the current simulated day."""
        return int(self.now()) // DAYS_PER_MONTH

    def _flow(self, name: str, cents: np.ndarray | int, month: int | None = None) -> None:
        total = cents if isinstance(cents, int) else int(cents.sum())
        self.flows[name][self.month if month is None else month] += total

    def book_disbursement(self, ids: slice | np.ndarray) -> None:
        """Record the loans' principal as lent this month."""
        self._flow("disbursed", self.loans.disbursed[ids])

    def lend(self, ids: np.ndarray, first_due_day: np.ndarray | int) -> None:
        """Lend loans `ids` (applications approved) today: their amount is disbursed and the
        schedule starts on `first_due_day`."""
        L = self.loans
        L.status[ids] = ACTIVE
        L.principal[ids] = L.amount[ids]
        L.disbursed[ids] = L.amount[ids]
        L.sched_start_day[ids] = first_due_day
        L.lent_month[ids] = self.month + 1
        self.book_disbursement(ids)

    def bill_instalment(self, ids: slice, today: int | np.ndarray | None = None) -> np.ndarray:
        """Bill one month's interest and, while the schedule runs, its principal part.

        Interest accrues on all outstanding principal (30/360: rate / 12 per month).
        The scheduled principal is the level instalment less that interest; the last
        scheduled instalment bills whatever principal is left, so the loan amortises to
        zero exactly. Loans already charged off or repaid have no principal and are billed 0.
        After the term, loans still owing are billed interest only. Loans whose schedule
        has not started (not yet lent, or deferred) are billed nothing. Returns a mask of
        the loans that had a scheduled instalment due today. `today`: the day (default: now),
        or each loan's, for a span of due days (``loansim.spans``).
        """
        L = self.loans
        started = L.sched_start_day[ids] <= (self.now() if today is None else today)
        interest = L.monthly_interest(ids)  # >= 0
        if not started.all():
            interest *= started
        unbilled = L.principal[ids] - L.principal_due[ids]
        n_billed, term = L.n_billed[ids], L.term_months[ids]
        scheduled = n_billed < term
        last = n_billed == term - 1
        principal_part = L.installment[ids] - interest  # the regular part, then the last one's
        np.maximum(principal_part, 0, out=principal_part)
        np.minimum(principal_part, unbilled, out=principal_part)
        np.copyto(principal_part, unbilled, where=last)
        scheduled &= started
        principal_part *= scheduled
        L.interest_due[ids] += interest
        L.interest_billed[ids] += interest
        L.principal_due[ids] += principal_part
        scheduled &= L.status[ids] == ACTIVE
        L.n_billed[ids] += scheduled
        self._flow("interest_billed", interest)
        return scheduled

    def capitalise_interest(self, ids: np.ndarray, cents: np.ndarray) -> None:
        """Bill interest `cents` on loans `ids` and add it to their principal at once (the
        interest of a deferred month, when it is capitalised rather than waived)."""
        L = self.loans
        L.interest_billed[ids] += cents
        L.capitalised[ids] += cents
        L.principal[ids] += cents
        self._flow("interest_billed", cents)
        self._flow("capitalised", cents)

    def modify(self, ids: np.ndarray, first_due_day: np.ndarray, remaining_months: np.ndarray,
               monthly_rate: np.ndarray | None = None, balance_at_start: np.ndarray | None = None) -> None:
        """Modify loans `ids` (a deferral or a restructuring): re-age and set a new schedule.

        Arrears are re-aged: interest past due is capitalised and principal past due
        returns to the unbilled balance (fees past due stay due). The new schedule bills
        `remaining_months` level instalments from `first_due_day` (a due day of the loan's
        own cohort), at `monthly_rate` if given; the instalment amortises
        `balance_at_start` (default: the principal now) over them, and the last instalment
        bills whatever is left, so the loan still amortises to zero exactly. The loan is
        current afterwards.
        """
        L = self.loans
        interest = L.interest_due[ids]
        L.capitalised[ids] += interest
        L.principal[ids] += interest
        L.interest_due[ids] = 0
        L.principal_due[ids] = 0
        L.fee_displaced[ids] = 0
        self._flow("capitalised", interest)
        if monthly_rate is not None:
            L.monthly_rate[ids] = monthly_rate
        balance = L.principal[ids] if balance_at_start is None else balance_at_start
        L.installment[ids] = to_cents(annuity_payment(balance / 100, L.monthly_rate[ids] * 12, remaining_months))
        L.sched_start_day[ids] = first_due_day
        L.sched_billed_base[ids] = L.n_billed[ids]
        L.sched_paid_base[ids] = L.interest_paid[ids] + L.principal_repaid[ids]
        L.term_months[ids] = L.n_billed[ids] + remaining_months
        L.oldest_unpaid_day[ids] = -1
        L.n_modified[ids] += 1

    def charge_fee(self, ids: np.ndarray, cents: np.ndarray | int) -> None:
        """Bill a fee or penalty charge to loans `ids`."""
        cents = np.asarray(cents, dtype=np.int64)
        if cents.shape != np.shape(ids):
            cents = np.broadcast_to(cents, np.shape(ids))
        np.add.at(self.loans.fees_due, ids, cents)
        np.add.at(self.loans.fees_billed, ids, cents)
        self._flow("fees_billed", cents)

    def pay(self, ids: slice | np.ndarray, cents: np.ndarray) -> np.ndarray:
        """Apply payments to loans `ids`, fees first, then interest, then principal; returns
        the interest and principal still past due on each (cents).

        `cents` must not exceed the amount due (there are no prepayments in this version).
        Each balance is read once and written once (on scattered ids a read and a write are
        each a pass over memory).
        """
        L = self.loans
        fees_due, interest_due, principal_due = L.fees_due[ids], L.interest_due[ids], L.principal_due[ids]
        to_fees = np.minimum(cents, fees_due)
        fees = int(to_fees.sum())  # payments and dues are >= 0: 0 means nobody paid a fee
        rest = cents - to_fees if fees else cents
        to_interest = np.minimum(rest, interest_due)
        to_principal = rest - to_interest
        interest_left, principal_left = interest_due - to_interest, principal_due - to_principal
        owed = principal_left + interest_left
        L.interest_due[ids] = interest_left
        L.principal_due[ids] = principal_left
        L.interest_paid[ids] += to_interest
        L.principal[ids] -= to_principal
        L.principal_repaid[ids] += to_principal
        if fees:
            L.fees_due[ids] = fees_due - to_fees
            L.fees_paid[ids] += to_fees
        # Money that went to fees left this much interest and principal unpaid; it stops
        # counting once the arrears fall below it.
        displaced = L.fee_displaced[ids]
        if fees or displaced.any():
            L.fee_displaced[ids] = np.minimum(displaced + to_fees, owed)
        month, total, interest, flows = self.month, int(cents.sum()), int(to_interest.sum()), self.flows
        flows["payments"][month] += total
        flows["fees_paid"][month] += fees
        flows["interest_paid"][month] += interest
        flows["principal_repaid"][month] += total - fees - interest  # exact: sums of cents
        return owed

    def charge_off(self, ids: np.ndarray) -> np.ndarray:
        """Write off the loans' outstanding balances; returns the principal charged off (cents)."""
        L = self.loans
        principal = L.principal[ids]
        L.principal_charged_off[ids] += principal
        L.interest_written_off[ids] += L.interest_due[ids]
        L.fees_written_off[ids] += L.fees_due[ids]
        self._flow("principal_charged_off", principal)
        self._flow("interest_written_off", L.interest_due[ids])
        self._flow("fees_written_off", L.fees_due[ids])
        L.principal[ids] = 0
        L.principal_due[ids] = 0
        L.interest_due[ids] = 0
        L.fees_due[ids] = 0
        L.fee_displaced[ids] = 0
        L.status[ids] = CHARGED_OFF
        return principal

    def expect_recovery(self, ids: np.ndarray, cents: np.ndarray) -> None:
        """Record recoveries expected later on charged-off loans (never more than was charged off)."""
        L = self.loans
        room = L.principal_charged_off[ids] - L.recoveries[ids] - L.recoveries_pending[ids]
        L.recoveries_pending[ids] += np.minimum(cents, room)

    def recover(self, ids: np.ndarray, cents: np.ndarray | None = None) -> None:
        """Book recoveries pending on loans `ids` as cash received: all of them, or `cents`
        of each (at most what is pending)."""
        L = self.loans
        pending = L.recoveries_pending[ids]
        cents = pending if cents is None else np.minimum(cents, pending)
        L.recoveries[ids] += cents
        L.recoveries_pending[ids] = pending - cents
        L.recovered_day[ids] = np.where(cents > 0, int(self.now()), L.recovered_day[ids])
        self._flow("recoveries", cents)

    def receive_recovery(self, ids: np.ndarray, cents: np.ndarray) -> np.ndarray:
        """Receive `cents` more on charged-off loans `ids` (distinct) now, beyond any recovery
        already pending, which stays pending; capped so that recoveries never exceed the
        principal charged off. Returns what was received."""
        L = self.loans
        before = L.recoveries_pending[ids].copy()
        self.expect_recovery(ids, cents)
        added = L.recoveries_pending[ids] - before
        self.recover(ids, added)
        return added

    def book_cost(self, owner: str, cents: int) -> None:
        """Book an operating cost (a policy's messages, staff, ...) to `owner`."""
        self._costs[owner] += int(cents)
        self._flow("operating_cost", int(cents))

    def cost_cents(self, owner: str) -> int:
        """Operating cost booked to `owner` so far."""
        return self._costs[owner]

    def total_cost_cents(self) -> int:
        """Operating cost booked by every owner so far."""
        return sum(self._costs.values())

    def totals(self) -> dict[str, int]:
        """Portfolio totals in cents (cumulative ledger plus balances outstanding)."""
        L = self.loans
        totals = {name: int(getattr(L, OUTSTANDING.get(name, name)).sum()) for name in BOOK_TOTALS}
        totals["operating_cost"] = self.total_cost_cents()
        return totals


# The ledger's identities, once: each side is a sum of totals (``Ledger.totals`` names).
IDENTITIES = {
    "principal": (("disbursed", "capitalised"), ("principal_repaid", "principal_charged_off", "principal_outstanding")),
    "interest": (("interest_billed",), ("interest_paid", "interest_written_off", "capitalised", "interest_outstanding")),
    "fees": (("fees_billed",), ("fees_paid", "fees_written_off", "fees_outstanding")),
}
BOOK_TOTALS = (
    "disbursed", "principal_repaid", "principal_charged_off", "principal_outstanding", "recoveries", "recoveries_pending",
    "interest_billed", "interest_paid", "interest_written_off", "capitalised", "interest_outstanding",
    "fees_billed", "fees_paid", "fees_written_off", "fees_outstanding",
)
# Totals named for what they are that sum a differently named per-loan balance.
OUTSTANDING = {"principal_outstanding": "principal", "interest_outstanding": "interest_due", "fees_outstanding": "fees_due"}


def identity_gaps(get: Callable[[str], Any]) -> dict[str, Any]:
    """Left side minus right side of each identity, reading each total with `get(name)`
    (per-loan arrays or portfolio totals alike); all zero when the ledger balances."""
    return {name: sum(get(k) for k in left) - sum(get(k) for k in right) for name, (left, right) in IDENTITIES.items()}


def totals_problems(totals: dict[str, int]) -> list[str]:
    """Every identity that portfolio `totals` (integer cents) break; empty when they balance."""
    problems = [f"{name}: off by {gap} cents" for name, gap in identity_gaps(totals.__getitem__).items() if gap]
    if totals["recoveries"] + totals["recoveries_pending"] > totals["principal_charged_off"]:
        problems.append("recoveries (received and pending) exceed principal charged off")
    return problems


def ledger_errors(loans: Loans) -> list[str]:
    """Every broken ledger identity, per loan; an empty list when the book balances."""
    L = loans
    gaps = identity_gaps(lambda name: getattr(L, OUTSTANDING.get(name, name)))
    problems = [f"{name}: {np.count_nonzero(gap)} loans off by up to {np.abs(gap).max()} cents" for name, gap in gaps.items() if gap.any()]
    if np.any(L.recoveries + L.recoveries_pending > L.principal_charged_off):
        problems.append("recoveries (received and pending) exceed principal charged off")
    for name in ("principal", "principal_due", "interest_due", "fees_due"):
        if np.any(getattr(L, name) < 0):
            problems.append(f"negative {name}")
    if np.any(L.principal_due > L.principal):
        problems.append("principal_due exceeds principal outstanding")
    if np.any((L.fee_displaced < 0) | (L.fee_displaced > L.principal_due + L.interest_due)):
        problems.append("fee_displaced outside [0, interest and principal past due]")
    return problems
