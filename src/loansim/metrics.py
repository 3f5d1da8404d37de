"""Collectors and statistics: the monthly series of one run and the headline metrics.

Per-month results are preallocated arrays, filled at each month end from the book (stocks:
counts and balances by delinquency bucket) and from the ledger (flows). Nothing is logged
per borrower per day.

Definitions (also in the README): a loan *defaults* when it first reaches
``lender.default_dpd`` days past due (90 by default, Basel-style) or is charged off; a
scheduled due date is *missed* when the interest and principal due (the instalment plus
arrears) are not paid in full; unpaid fees alone do not make a due date missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from loansim.loans import ACTIVE, CHARGED_OFF, DAYS_PER_MONTH, NOT_LENT, REPAID, Ledger, Loans

if TYPE_CHECKING:
    from loansim.engine import Simulation

BUCKETS = ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus")

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

    def record_month(self, sim: Simulation, month: int, day: int) -> None:
        """Snapshot the book at the end of `day`, the last day of `month`.

        Only active loans carry an oldest unpaid due day, and closed loans carry no
        principal, so only the (few) delinquent loans need a closer look.
        """
        L = sim.loans
        late = np.flatnonzero(L.oldest_unpaid_day >= 0)
        dpd = day - L.oldest_unpaid_day[late]
        if sim.grace_days:  # inside the grace period a loan is not late
            late, dpd = late[dpd > sim.grace_days], dpd[dpd > sim.grace_days]
        # Fancy-index += adds once per distinct index: a borrower with several late loans counts once.
        sim.borrowers.months_in_arrears[sim.book.holders(late[dpd > 0])] += 1
        bucket = np.minimum(dpd // DAYS_PER_MONTH + (dpd > 0), len(BUCKETS) - 1)  # 1-29 -> 1, ..., 90+ -> 4
        counts = np.bincount(bucket, minlength=len(BUCKETS))
        balances = np.bincount(bucket, weights=L.principal[late], minlength=len(BUCKETS)).astype(np.int64)
        by_status = {code: np.count_nonzero(L.status == code) for code in (ACTIVE, REPAID, CHARGED_OFF, NOT_LENT)}
        counts[0] = by_status[ACTIVE] - counts[1:].sum()  # current: active and not late
        balances[0] = int(L.principal.sum()) - balances[1:].sum()
        self.bucket_counts[month] = counts
        self.bucket_balances[month] = balances
        self.counts["n_active"][month] = by_status[ACTIVE]
        self.counts["n_repaid"][month] = by_status[REPAID]
        self.counts["n_charged_off"][month] = by_status[CHARGED_OFF]
        self.counts["n_lent"][month] = L.n - by_status[NOT_LENT]
        self.counts["n_unemployed"][month] = sim.borrowers.n - np.count_nonzero(sim.borrowers.employed)
        self.mean_credit_score[month] = float(sim.borrowers.score.mean(dtype=np.float64))
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
        cols["mean_credit_score"] = self.mean_credit_score
        del cols["n_unemployed"]
        for name in ledger.flows:
            cols[name] = cents[name] / 100
        cols["cum_defaults"] = np.cumsum(self.counts["new_defaults"][:m])
        cols["cum_default_rate"] = cols["cum_defaults"] / np.maximum(self.counts["n_lent"][:m], 1)
        cols["cum_net_loss"] = cents["cum_net_loss"] / 100
        cols["cum_loss_rate"] = cents["cum_net_loss"] / max(principal_lent(ledger.loans), 1)
        return cols, cents


def principal_lent(loans: Loans, mask: np.ndarray | slice = slice(None)) -> int:
    """Principal the borrowers came to owe, in cents: disbursed, plus interest a modification
    capitalised into principal. Charge-offs never exceed it, so loss rates on it are at most 1."""
    return int(loans.disbursed[mask].sum()) + int(loans.capitalised[mask].sum())


def lifetime_metrics(sim: Simulation, months_run_off: int) -> dict[str, float]:
    """Figures over the loans' whole lives, after a run-off (``run.lifetime``): share of the
    loans lent that ever defaulted, expected net loss (charge-offs less recoveries received
    and pending) on principal lent, and the share still open when the run-off stopped (at
    its cap) with how many months it took."""
    L = sim.loans
    lent = L.status != NOT_LENT
    n = max(int(np.count_nonzero(lent)), 1)
    t = sim.ledger.totals()
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
        **_by_cause(sim, n, due_dates),
        **_by_group(sim),
        "active_at_end_rate": float(np.count_nonzero(L.status == ACTIVE) / n),
        "delinquent_at_end_rate": float(np.count_nonzero((L.status == ACTIVE) & (L.oldest_unpaid_day >= 0)) / n),
        "missed_payments_per_loan": missed / n,
        "months_in_arrears_per_borrower": float(sim.borrowers.months_in_arrears[customers].mean()),
        "mean_credit_score": float(sim.borrowers.score[customers].mean(dtype=np.float64)),
        **_outside_debt(sim, customers),
        "fees_paid_per_loan": t["fees_paid"] / 100 / n,
        **{k: v for policy in sim.policies for k, v in policy.portfolio_metrics(sim).items()},
    }


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
        "share_borrowers_stacking": float(np.count_nonzero(people.outside_taken[customers]) / max(np.count_nonzero(customers), 1)),
        "outside_debt_taken_per_borrower": float(people.outside_taken[customers].mean()),
        "outside_debt_outstanding": float(people.outside_balance[customers].sum()),
        "outside_rollovers_per_borrower": float(people.outside_rollovers[customers].mean()),
    }


def _by_cause(sim: Simulation, n_loans: int, due_dates: int) -> dict[str, float]:
    """Missed-payment and default rates split by the cause the engine recorded."""
    out = {}
    for name, series in sim.recorder.counts.items():
        if name.startswith("missed_") and name != "missed_payments":
            out[f"missed_payment_rate_{name.removeprefix('missed_')}"] = int(series.sum()) / due_dates if due_dates else 0.0
        elif name.startswith("new_defaults_"):
            out[f"default_rate_{name.removeprefix('new_defaults_')}"] = int(series.sum()) / n_loans
    return out


def mean_ci95(values: np.ndarray | list[float]) -> dict[str, float | list[float] | None]:
    """Mean across replications with a Student-t 95% confidence interval.

    With one replication there is no estimate of the spread, so ``ci95`` is ``None``.
    """
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci95": None}
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return {"mean": mean, "ci95": [mean - half, mean + half]}
