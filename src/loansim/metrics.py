"""Collectors and statistics: the monthly series of one run and the headline metrics.

Per-month results are preallocated arrays, filled at each month end from the book (stocks:
counts and balances by delinquency bucket) and from the ledger (flows). Nothing is logged
per borrower per day.

Definitions (also in the README): a loan *defaults* when it first reaches
``lender.default_dpd`` days past due (90 by default, Basel-style) or is charged off; a
scheduled due date is *missed* when the interest and principal due (the instalment plus
arrears) are not paid in full; unpaid fees alone do not make a due date missed.

At each month end every lent loan is in one *state* (``STATES``): a delinquency bucket while
active, charged off or repaid. ``month_end_states`` classifies the book; the bucket counts and
the roll rates (the loans moving from each state at one month end to each state at the
next, ``Recorder.transitions``) both come from it, so they agree.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, NOT_LENT, REPAID, Ledger, Loans
from loansim.policies import AddsPortfolioMetrics, on_time_days

if TYPE_CHECKING:
    from loansim.engine import Simulation

BUCKETS = ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus")
STATES = (*BUCKETS, "charged_off", "repaid")
"""A lent loan's state at a month end: its delinquency bucket while active, or how it closed."""
FROM_STATES = (*STATES, "new")
"""Where a month's transitions come from: a state at the month end before, or ``new``, a loan
lent during the month (an application approved; it was in no state at the month end before)."""

PAST_DUE = 4
"""A state code (``Loans.month_end_state``) is the loan's status code (``loans.ACTIVE`` is
current, ``REPAID``, ``CHARGED_OFF``, ``NOT_LENT``: in no state), or for an active loan past
due, ``PAST_DUE`` + its bucket - 1: 4 is 1-29 days past due, ..., 7 is 90 or more."""
N_CODES = PAST_DUE + len(BUCKETS) - 1
CODE = {"current": ACTIVE, "repaid": REPAID, "charged_off": CHARGED_OFF, "new": NOT_LENT,
        **{name: PAST_DUE + i for i, name in enumerate(BUCKETS[1:])}}
FROM_CODES, TO_CODES, BUCKET_CODES = ([CODE[s] for s in names] for names in (FROM_STATES, STATES, BUCKETS))

COUNTS = ("new_defaults", "new_charge_offs", "due_dates", "missed_payments", "n_active", "n_repaid",
          "n_charged_off", "n_lent", "n_unemployed")


class Recorder:
    """Preallocated per-month series of one run."""

    def __init__(self, months: int, n_borrowers: int, capacity: int | None = None) -> None:
        self.months = months  # the series written: the run's months
        self.capacity = months if capacity is None else capacity  # months that can be counted into (a run-off too)
        self.n_borrowers = n_borrowers
        self.counts = {name: np.zeros(self.capacity, dtype=np.int64) for name in COUNTS}
        self.bucket_counts = np.zeros((months, len(BUCKETS)), dtype=np.int64)
        self.bucket_balances = np.zeros((months, len(BUCKETS)), dtype=np.int64)  # cents
        self.mean_credit_score = np.zeros(months)
        self.median_savings_months = np.zeros(months)
        self.transitions = np.zeros((months, len(FROM_STATES), len(STATES)), dtype=np.int64)  # loans, from -> to
        self.past_due = np.zeros(0, dtype=np.intp)  # ids of the loans in a DPD bucket at the latest month end
        self.money: set[str] = set()

    def declare(self, *names: str, money: bool = False) -> None:
        """Add series that only some scenarios have; `money` series are kept in cents."""
        for name in names:
            self.counts.setdefault(name, np.zeros(self.capacity, dtype=np.int64))
            if money:
                self.money.add(name)

    def add(self, day: int, name: str, value: int) -> None:
        """Add `value` to the count `name` of the month containing `day`."""
        self.counts[name][day // DAYS_PER_MONTH] += value

    def start(self, loans: Loans) -> None:
        """Take the book before the first day as the month end before month 1: every loan
        lent is current; applications are in no state."""
        loans.month_end_state, self.past_due = month_end_states(loans, 0, 0)

    def record_month(self, sim: Simulation, month: int, day: int) -> None:
        """Snapshot the book at the end of `day`, the last day of `month`, and count the loans
        moving between states since the month end before (``Loans.month_end_state``); the
        loans past due then are ``past_due``.

        Closed loans carry no principal, so only the (few) delinquent loans need a closer look.
        """
        L = sim.loans
        state, late = month_end_states(L, day, on_time_days(sim.scenario.policies)[0])
        by_code = np.zeros(N_CODES, dtype=np.int64)
        by_code[:PAST_DUE] = [np.count_nonzero(state == code) for code in range(PAST_DUE)]
        bucket = state[late] - (PAST_DUE - 1)  # 1-29 -> 1, ..., 90+ -> 4
        by_code[PAST_DUE:] = np.bincount(bucket, minlength=len(BUCKETS))[1:]
        movers = may_have_moved(L.month_end_state, state, self.past_due, late)
        self.transitions[month] = count_transitions(L.month_end_state, state, by_code, movers)[np.ix_(FROM_CODES, TO_CODES)]
        L.month_end_state, self.past_due = state, late
        counts = by_code[BUCKET_CODES]
        balances = np.bincount(bucket, weights=L.principal[late], minlength=len(BUCKETS)).astype(np.int64)
        balances[0] = int(L.principal.sum()) - balances[1:].sum()
        self.bucket_counts[month] = counts
        self.bucket_balances[month] = balances
        self.counts["n_active"][month] = counts.sum()
        self.counts["n_repaid"][month] = by_code[REPAID]
        self.counts["n_charged_off"][month] = by_code[CHARGED_OFF]
        self.counts["n_lent"][month] = L.n - by_code[NOT_LENT]
        self.counts["n_unemployed"][month] = sim.borrowers.n - np.count_nonzero(sim.borrowers.employed)
        self.mean_credit_score[month] = float(sim.borrowers.score.mean(dtype=np.float64))
        self.median_savings_months[month] = median_savings_months(sim)
        if "outside_balance" in self.counts:
            self.counts["outside_balance"][month] = round(float(sim.borrowers.outside_balance.sum()) * 100)

    def frame(self, ledger: Ledger) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The monthly series as named columns (money in currency units), and the money
        columns again in exact integer cents (for writing them to the cent at any size)."""
        m = self.months
        cents: dict[str, np.ndarray] = {f"balance_{name}": self.bucket_balances[:, i] for i, name in enumerate(BUCKETS)}
        cents.update({k: v[:m] for k, v in self.counts.items() if k in self.money})
        cents.update({k: v[:m] for k, v in ledger.flows.items()})
        cents["cum_net_loss"] = np.cumsum(cents["principal_charged_off"] - cents["recoveries"])
        cols: dict[str, np.ndarray] = {"month": np.arange(1, self.months + 1)}
        for i, name in enumerate(BUCKETS):
            cols[f"n_{name}"] = self.bucket_counts[:, i]
        for name in BUCKETS:
            cols[f"balance_{name}"] = cents[f"balance_{name}"] / 100
        cols.update({k: v[:m] / 100 if k in self.money else v[:m] for k, v in self.counts.items()})
        cols["unemployment_share"] = self.counts["n_unemployed"][:m] / self.n_borrowers
        behind = self.bucket_counts[:, 2:].sum(axis=1)  # 30-59, 60-89 and 90+ days past due
        cols["dpd_30_plus_share"] = behind / np.maximum(self.bucket_counts.sum(axis=1), 1)
        cols["dpd_30_plus_balance_share"] = self.bucket_balances[:, 2:].sum(axis=1) / np.maximum(self.bucket_balances.sum(axis=1), 1)
        cols["mean_credit_score"] = self.mean_credit_score
        cols["median_savings_months"] = self.median_savings_months
        del cols["n_unemployed"]
        for name in ledger.flows:
            cols[name] = cents[name] / 100
        cols["cum_defaults"] = np.cumsum(self.counts["new_defaults"][:m])
        cols["cum_default_rate"] = cols["cum_defaults"] / np.maximum(self.counts["n_lent"][:m], 1)
        cols["cum_net_loss"] = cents["cum_net_loss"] / 100
        cols["cum_loss_rate"] = cents["cum_net_loss"] / max(principal_lent(ledger.loans), 1)
        return cols, cents


def month_end_states(loans: Loans, day: int, on_time_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Each loan's state code at the end of `day` (``PAST_DUE``), and the ids of the loans
    past due, in ascending order.

    A loan is `day` minus its oldest unpaid due day past due; only active loans carry one.
    Within the days a payment still counts as on time (at most `on_time_days` past due,
    ``Policy.on_time_days``) a loan is not late, and a loan due and unpaid today is 0 days
    past due: both are current.
    """
    late = (loans.oldest_unpaid_day >= 0).nonzero()[0]
    dpd = day - loans.oldest_unpaid_day[late]
    late, dpd = late[dpd > on_time_days], dpd[dpd > on_time_days]
    state = loans.status.copy()
    state[late] = PAST_DUE + np.minimum(dpd // DAYS_PER_MONTH, len(BUCKETS) - 2)
    return state, late


def may_have_moved(before: np.ndarray, after: np.ndarray, was_past_due: np.ndarray, past_due: np.ndarray) -> np.ndarray:
    """Ids, each once, of the loans whose state code may differ from `before` to `after`: those
    past due at either month end (`was_past_due`, `past_due`: ids of codes ``PAST_DUE`` and up),
    and those whose status changed (lent, repaid or charged off). Status changes are few,
    so the book is searched for them alone."""
    changed = ((before != after) & (before < PAST_DUE) & (after < PAST_DUE)).nonzero()[0]
    return np.concatenate([was_past_due, past_due[before[past_due] < PAST_DUE], changed])


def count_transitions(before: np.ndarray, after: np.ndarray, after_counts: np.ndarray, movers: np.ndarray) -> np.ndarray:
    """Loans by state code `before` (rows) and `after` (columns). `after_counts` holds the
    loans of each code in `after`; every loan outside `movers` (ids, each once) has the same
    code in both, so only the movers are looked at one by one."""
    pairs = before[movers].astype(np.intp) * N_CODES + after[movers]
    table = np.bincount(pairs, minlength=N_CODES * N_CODES).reshape(N_CODES, N_CODES)
    table[np.diag_indices(N_CODES)] += after_counts - table.sum(axis=0)
    return table


def principal_lent(loans: Loans, mask: np.ndarray | slice = slice(None)) -> int:
    """Principal the borrowers came to owe, in cents: disbursed, plus interest a modification
    capitalised into principal. Charge-offs never exceed it, so loss rates on it are at most 1."""
    return int(loans.disbursed[mask].sum()) + int(loans.capitalised[mask].sum())


SAVINGS_SAMPLE = 50_000  # most borrowers the monthly median of savings is taken over


def median_savings_months(sim: Simulation) -> float:
    """Median liquid savings of the borrowers with an active loan, in months of their current
    base income (month-end savings; nan when nobody has an active loan).

    Over a large book it is taken over every k-th of them (at most ``SAVINGS_SAMPLE``, the
    same borrowers every month while their loans are active): exact up to 50,000 borrowers,
    within about 0.5% of the exact median beyond, at a fraction of the cost of sorting a
    million values each month."""
    people = sim.borrowers
    active = sim.loans.status == ACTIVE
    holders = active.nonzero()[0] if sim.book.one_each else np.unique(sim.loans.borrower[active])
    holders = holders[:: max(1, -(-holders.size // SAVINGS_SAMPLE))]
    savings, base = people.savings[holders], people.base_income[holders]
    if savings.size == 0:
        return float("nan")
    return median(savings / np.maximum(base, 1e-9))


def median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D float array, the same value to the bit (the mean of the middle
    one or two, nan if any is nan), found by sorting: about twice as fast as ``np.median``'s
    partition at 300 to 50,000 values."""
    ordered = np.sort(values)
    if ordered.size == 0 or np.isnan(ordered[-1]):  # nan sorts last
        return float("nan")
    half = ordered.size // 2
    return float(ordered[half - 1:half + 1].mean() if ordered.size % 2 == 0 else ordered[half])


def lifetime_metrics(L: Loans, ledger: Ledger, months_run_off: int) -> dict[str, float]:
    """Figures over the loans' whole lives, after a run-off (``run.lifetime``): share of the
    loans lent that ever defaulted, expected net loss (charge-offs less recoveries received
    and pending) on principal lent, and the share still open when the run-off stopped (at
    its cap) with how many months it took."""
    lent = L.status != NOT_LENT
    n = max(int(np.count_nonzero(lent)), 1)
    t = ledger.totals()
    loss = t["principal_charged_off"] - t["recoveries"] - t["recoveries_pending"]
    return {
        "lifetime_default_rate": float(np.count_nonzero(L.defaulted_day >= 0) / n),
        "lifetime_loss_rate": loss / max(principal_lent(L), 1),
        "lifetime_unresolved_rate": float(np.count_nonzero(L.status == ACTIVE) / n),
        "lifetime_run_off_months": float(months_run_off),
    }


def run_metrics(sim: Simulation) -> dict[str, float]:
    """Headline metrics of one run (money in currency units, rates as shares)."""
    L = sim.loans
    lent = L.status != NOT_LENT  # loans applied for and never lent are not on the book
    n = max(int(np.count_nonzero(lent)), 1)
    customers = np.zeros(sim.borrowers.n, dtype=np.bool_)
    customers[L.borrower[lent]] = True
    t = sim.ledger.totals()
    lent_cents, net_loss, cost = t["disbursed"] + t["capitalised"], t["principal_charged_off"] - t["recoveries"], t["operating_cost"]
    due_dates, missed = int(L.n_billed.sum()), int(L.n_missed.sum())
    return {
        "default_rate": float(np.count_nonzero(L.defaulted_day >= 0) / n),
        "charge_off_rate": float(np.count_nonzero(L.status == CHARGED_OFF) / n),
        "loss_rate": net_loss / lent_cents if lent_cents else 0.0,
        "net_loss": net_loss / 100,
        "missed_payment_rate": missed / due_dates if due_dates else 0.0,
        "prepaid_or_repaid_rate": float(np.count_nonzero(L.status == REPAID) / n),
        "interest_income": t["interest_paid"] / 100,
        "fee_income": t["fees_paid"] / 100,
        "recoveries": t["recoveries"] / 100,
        "recoveries_pending": t["recoveries_pending"] / 100,
        "expected_net_loss": (net_loss - t["recoveries_pending"]) / 100,
        "operating_cost": cost / 100,
        "net_income": (t["interest_paid"] + t["fees_paid"] - net_loss - cost) / 100,
        **_by_cause(sim.recorder.counts, n, due_dates),
        **_by_group(sim),
        "active_at_end_rate": float(np.count_nonzero(L.status == ACTIVE) / n),
        "delinquent_at_end_rate": float(np.count_nonzero(L.late(slice(None))) / n),
        **roll_rate_metrics(sim.recorder.transitions),
        "missed_payments_per_loan": missed / n,
        "months_in_arrears_per_borrower": float(sim.borrowers.months_in_arrears[customers].mean()),
        "mean_credit_score": float(sim.borrowers.score[customers].mean(dtype=np.float64)),
        **_outside_debt(sim, customers),
        "fees_paid_per_loan": t["fees_paid"] / 100 / n,
        **{k: v for policy in sim.policies if isinstance(policy, AddsPortfolioMetrics) for k, v in policy.portfolio_metrics(sim).items()},
    }


HEADLINE_ROLLS = {"cure_rate_30": ("dpd_30_59", "current"), "roll_rate_30_60": ("dpd_30_59", "dpd_60_89"),
                  "roll_rate_60_90": ("dpd_60_89", "dpd_90_plus")}
"""Headline roll rates: the mean monthly transition rate of one from-state to one to-state."""


def transition_rates(transitions: np.ndarray) -> np.ndarray:
    """Mean monthly transition rates of one run, from ``FROM_STATES`` (rows) to ``STATES``
    (columns): the loans that moved, summed over months, / the loans in the from-state at the
    month ends before, summed over the same months. A from-state that never held a loan has
    rates 0."""
    moved = transitions.sum(axis=0)
    held = moved.sum(axis=1, keepdims=True)
    return np.divide(moved, held, out=np.zeros(moved.shape), where=held > 0)


def roll_rate_metrics(transitions: np.ndarray) -> dict[str, float]:
    """The headline roll rates (``HEADLINE_ROLLS``) of one run."""
    rates = transition_rates(transitions)
    return {name: float(rates[FROM_STATES.index(a), STATES.index(b)]) for name, (a, b) in HEADLINE_ROLLS.items()}


def _by_group(sim: Simulation) -> dict[str, float]:
    """Default, loss and missed-payment rates by segment and by product (when there are several)."""
    L, book = sim.loans, sim.book
    groups = {}
    if len(book.segments) > 1:
        groups["segment"] = (book.segments, sim.borrowers.segment[L.borrower])
    if len(book.products) > 1:
        groups["product"] = (book.products, L.product)
    out = {}
    for kind, (names, of_loan) in groups.items():
        for g, name in enumerate(names):
            mine = (of_loan == g) & (L.status != NOT_LENT)
            n, lent = int(mine.sum()), principal_lent(L, mine)
            if n == 0:  # a product no segment holds
                continue
            loss = int(L.principal_charged_off[mine].sum()) - int(L.recoveries[mine].sum())
            due = int(L.n_billed[mine].sum())
            out[f"default_rate_{kind}_{name}"] = float(np.count_nonzero(L.defaulted_day[mine] >= 0) / n)
            out[f"loss_rate_{kind}_{name}"] = loss / lent if lent else 0.0
            out[f"missed_payment_rate_{kind}_{name}"] = int(L.n_missed[mine].sum()) / due if due else 0.0
    return out


def _outside_debt(sim: Simulation, customers: np.ndarray) -> dict[str, float]:
    """Borrower-side outcomes of loan stacking (only when it is switched on), over the
    borrowers the lender lent to."""
    if not sim.population.stacking:
        return {}
    people = sim.borrowers
    return {
        "share_borrowers_stacking": float(np.count_nonzero(people.outside_taken[customers]) / max(int(np.count_nonzero(customers)), 1)),
        "outside_debt_taken_per_borrower": float(people.outside_taken[customers].mean()),
        "outside_debt_outstanding": float(people.outside_balance[customers].sum()),
        "outside_rollovers_per_borrower": float(people.outside_rollovers[customers].mean()),
    }


def _by_cause(counts: dict[str, np.ndarray], n_loans: int, due_dates: int) -> dict[str, float]:
    """Missed-payment and default rates split by the cause the engine recorded (the recorder's `counts`)."""
    out = {}
    for name, series in counts.items():
        if name.startswith("missed_") and name != "missed_payments":
            out[f"missed_payment_rate_{name.removeprefix('missed_')}"] = int(series.sum()) / due_dates if due_dates else 0.0
        elif name.startswith("new_defaults_"):
            out[f"default_rate_{name.removeprefix('new_defaults_')}"] = int(series.sum()) / n_loans
    return out


class MeanCI95(TypedDict):
    """A mean across replications and its 95% interval (``mean_ci95``)."""

    mean: float
    ci95: list[float] | None


def mean_ci95(values: np.ndarray | list[float]) -> MeanCI95:
    """Mean across replications with a Student-t 95% confidence interval.

    With one replication there is no estimate of the spread, so ``ci95`` is ``None``.
    """
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci95": None}
    from scipy.special import stdtrit  # the Student-t quantile (scipy.stats.t.ppf, without importing scipy.stats)

    half = float(stdtrit(x.size - 1, 0.975) * x.std(ddof=1) / np.sqrt(x.size))
    return {"mean": mean, "ci95": [mean - half, mean + half]}


VINTAGE_COLUMNS = ("vintage", "months_on_book", "loans", "principal_lent", "cum_defaults", "cum_charged_off", "cum_recoveries")
"""Columns of ``vintage_curves`` (money in cents)."""


def vintage_curves(loans: Loans, months: int) -> np.ndarray:
    """Vintage curves of one run at its horizon (`months`): for each vintage (``lent_month``:
    0 for the book at the start) and each month on book 1 .. `months` − vintage, the loans
    lent, the principal lent (cents), and by the end of that month on book the loans that
    had defaulted (reached the default DPD, or were charged off), the principal charged off
    and the recoveries received (cents; a loan's recoveries count from the day of its latest
    one). One row per (vintage, month on book), as int64
    columns ``VINTAGE_COLUMNS``.

    An event on day ``d`` falls in month ``d // 30 + 1`` of the run, which is month
    ``d // 30 + 1 − vintage`` on book (a vintage-0 loan's first month on book is the run's first).
    """
    lent = np.flatnonzero(loans.status != NOT_LENT)
    vintage = loans.lent_month[lent].astype(np.int64)
    vintages = np.unique(vintage)
    span = months + 1  # months on book 0 .. months (0 only for events before the first due date)
    key = np.searchsorted(vintages, vintage)

    def by_month_on_book(day: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        happened = (day >= 0) & (day < months * DAYS_PER_MONTH)
        mob = np.clip(day[happened] // DAYS_PER_MONTH + 1 - vintage[happened], 0, months)
        counts = np.bincount(key[happened] * span + mob, weights=None if weight is None else weight[happened],
                             minlength=vintages.size * span)
        return np.cumsum(counts.reshape(vintages.size, span), axis=1)  # by the end of each month on book

    defaulted_day = loans.defaulted_day[lent]
    charged_day = loans.charged_off_day[lent]
    first = np.where(defaulted_day >= 0, defaulted_day, charged_day)  # charged off below the default DPD counts too
    defaults = by_month_on_book(first)
    charged = by_month_on_book(charged_day, loans.principal_charged_off[lent].astype(float))
    recovered = by_month_on_book(loans.recovered_day[lent], loans.recoveries[lent].astype(float))
    n = np.bincount(key, minlength=vintages.size)
    principal = np.bincount(key, weights=loans.disbursed[lent].astype(float), minlength=vintages.size)
    i, k = np.nonzero(np.arange(span)[None, :] <= months - vintages[:, None])  # observed months on book, by vintage
    i, k = i[k >= 1], k[k >= 1]
    columns = (vintages[i], k, n[i], principal[i], defaults[i, k], charged[i, k], recovered[i, k])
    return np.rint(np.column_stack(columns).astype(float)).astype(np.int64).reshape(-1, len(VINTAGE_COLUMNS))


# ---------------------------------------------------------------- judged against real books

SAVINGS_MONTHS = (1, 12, 24, 36, 60, 96)
"""Months at which ``book_statistics`` reads median savings (those the run reaches)."""


def outstanding_balance(monthly: dict[str, np.ndarray]) -> np.ndarray:
    """Principal outstanding on active loans at each month end (cents)."""
    return reduce(np.add, [monthly[f"balance_{b}"] for b in BUCKETS])


def net_charge_off_rate(monthly: dict[str, np.ndarray], start: int, stop: int) -> float:
    """Annualised net charge-off rate of months `start`..`stop`-1 (0 = the first): charge-offs
    less recoveries over them, on the average principal outstanding, times 12 / months; nan
    if the run is shorter than `stop`."""
    net = monthly["principal_charged_off"] - monthly["recoveries"]
    if stop > len(net) or stop <= start:
        return float("nan")
    balance = outstanding_balance(monthly)[start:stop]
    return float(12 * net[start:stop].sum() / max(balance.sum(), 1))


def roll_rate(transitions: np.ndarray, from_state: str, to_state: str) -> float:
    """Share of the loans in `from_state` at a month end that are in `to_state` at the next,
    over every month of `transitions` (``Recorder.transitions``, months x from x to)."""
    moved = transitions.sum(axis=0)
    row = moved[FROM_STATES.index(from_state)]
    return float(row[STATES.index(to_state)] / max(row.sum(), 1))


def book_statistics(metrics: dict[str, float], monthly: dict[str, np.ndarray], transitions: np.ndarray,
                    seasoned_from: int = 6) -> dict[str, float]:
    """The statistics a book is judged by against real ones (README, "Behaviour against real
    books"), for one run: missed due dates, default rate, the annualised net charge-off rate
    over the run, its first year and months 13-24, loans 30+ days past due as a share of
    active loans (mean from month `seasoned_from` + 1: a new book has had no time to fall
    behind), month-end roll and cure rates, and median savings at ``SAVINGS_MONTHS``."""
    months = len(monthly["n_active"])
    behind = (monthly["n_dpd_30_59"] + monthly["n_dpd_60_89"] + monthly["n_dpd_90_plus"]) / np.maximum(monthly["n_active"], 1)
    out = {
        "missed_payment_rate": metrics["missed_payment_rate"],
        "default_rate": metrics["default_rate"],
        "net_charge_off_rate_annual": net_charge_off_rate(monthly, 0, months),
        "net_charge_off_rate_year_1": net_charge_off_rate(monthly, 0, 12),
        "net_charge_off_rate_months_13_24": net_charge_off_rate(monthly, 12, 24),
        "share_30_plus_dpd": float(behind[seasoned_from:].mean()),
        "roll_1_29_to_30_59": roll_rate(transitions, "dpd_1_29", "dpd_30_59"),
        "cure_30_59_to_current": roll_rate(transitions, "dpd_30_59", "current"),
        "roll_30_59_to_60_89": roll_rate(transitions, "dpd_30_59", "dpd_60_89"),
        "roll_60_89_to_90_plus": roll_rate(transitions, "dpd_60_89", "dpd_90_plus"),
    }
    out.update({f"median_savings_months_{k}": float(monthly["median_savings_months"][k - 1]) for k in SAVINGS_MONTHS if k <= months})
    return out
