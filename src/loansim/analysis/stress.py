"""Stress tests: one book through several macro scenarios, quarter by quarter.

A stress scenario is the book itself (``baseline``: its own economy), the book with a
built-in unemployment path (``macro.BUILT_IN_PATHS``: ``adverse``, ``severely-adverse``,
…, which start where the book's economy starts), the book with a list of monthly rates, or a
scenario file. A path replaces the book's: a book with a stochastic economy keeps its
random deviations, around the stress path (``economy.stochastic.around``); otherwise the
path is followed exactly (``economy.unemployment_path``). Every scenario runs on the same
seed and replications, so each quarter's figures are compared with the first scenario's
pair by pair (``analysis.compare``).

Per scenario, replication and quarter (months 3q+1 … 3q+3), ``quarterly`` measures:
``net_charge_offs`` (principal charged off less recoveries, currency),
``loss_rate_annualised`` (4 × net charge-offs / the average of the quarter's month-end
principal outstanding), ``new_defaults`` (loans), ``balance_30_plus_dpd`` and
``balance_90_plus_dpd`` (principal 30+ and 90+ days past due at the quarter's end),
``net_income`` (interest and fees paid less net charge-offs and operating costs),
``cumulative_loss_rate`` (net loss since the start / principal lent, at the quarter's end)
and ``unemployment_rate`` (the quarter's mean rate on the path, when there is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np

from loansim import macro
from loansim.analysis.compare import estimate, set_difference
from loansim.engine import RunResult
from loansim.errors import UserError
from loansim.metrics import BUCKETS
from loansim.scenario import Scenario, validate_scenario

DEFAULT_SCENARIOS = ("baseline", "adverse", "severely-adverse")
DEFAULT_QUARTERS = 9
BOOK = "baseline"
"""The stress scenario that is the book as it is."""
SEP = " - "
"""Between the book's name and the stress scenario's in a stressed scenario's name."""

MEASURES = ("net_charge_offs", "loss_rate_annualised", "new_defaults", "balance_30_plus_dpd", "balance_90_plus_dpd",
            "net_income", "cumulative_loss_rate", "unemployment_rate")
RATES = frozenset({"loss_rate_annualised", "cumulative_loss_rate", "unemployment_rate"})


def describe_path(name: str, start: float) -> str:
    """A built-in path in words, from its knots."""
    knots = macro.BUILT_IN_PATHS[name]
    steps = ", ".join(f"{100 * change:+.1f} points by month {month}" for month, change in knots[1:])
    return f"unemployment from {100 * start:.1f}%" + (f", {steps}" if steps else ", flat")


def book_itself(book: Scenario) -> Scenario:
    """The stress scenario ``baseline``: the book with its own economy, named and described as such."""
    raw = book.to_dict()
    raw["name"] = f"{book.name}{SEP}{BOOK}"
    raw["description"] = f"{book.description} Stress scenario {BOOK}: the book's own economy."
    return validate_scenario(raw, file=f"stress scenario {BOOK}")


def with_path(book: Scenario, label: str, path: str | list[float]) -> Scenario:
    """The book with unemployment path `path` (a built-in name or monthly rates): around
    it with the book's stochastic economy, else exactly; named and described after it."""
    raw = book.to_dict()
    economy = raw["economy"]
    stochastic = economy.get("stochastic")
    if stochastic is not None and stochastic.get("enabled", True):
        stochastic["around"] = path
        how = "with the book's random deviations around it"
    else:
        economy["unemployment_path"] = path
        economy["monthly_job_loss_prob"] = None  # the path sets the job-loss hazard
        how = "followed exactly"
    words = describe_path(path, book.economy.initial_unemployment) if isinstance(path, str) else \
        f"unemployment {100 * path[0]:.1f}% to {100 * max(path):.1f}% at its highest ({len(path)} monthly rates)"
    raw["name"] = f"{book.name}{SEP}{label}"
    raw["description"] = f"{book.description} Stress scenario {label}: {words}, {how}."
    try:
        return validate_scenario(raw, file=f"stress scenario {label}")
    except UserError as exc:
        raise UserError(f"stress scenario {label}: cannot apply it to {book.name}: {exc}") from None


def parse_rates(label: str, text: str) -> list[float]:
    """``R1,R2,…`` as monthly unemployment rates (shares)."""
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--path {label}={text}: expected monthly unemployment rates as shares, e.g. "
                        f"{label}=0.05,0.06,0.08") from None
    if not rates:
        raise UserError(f"--path {label}=: give at least one monthly rate")
    bad = [r for r in rates if not macro.MIN_RATE <= r <= macro.MAX_RATE]
    if bad:
        raise UserError(f"--path {label}: rate {bad[0]:g} is outside [{macro.MIN_RATE:g}, {macro.MAX_RATE:g}] (shares: 0.05 is 5%)")
    return rates


def quarterly(run: RunResult, quarters: int) -> dict[str, np.ndarray]:
    """Each measure of the module docstring for quarters 1..`quarters` of one replication."""
    m = run.monthly
    cut = 3 * quarters
    if len(m["month"]) < cut:
        raise UserError(f"a {quarters}-quarter stress test needs {cut} months; the run has {len(m['month'])}")

    def by_quarter(values: np.ndarray, how: str) -> np.ndarray:
        q = np.asarray(values[:cut], dtype=float).reshape(quarters, 3)
        return q.sum(axis=1) if how == "sum" else q.mean(axis=1) if how == "mean" else q[:, -1]

    net = m["principal_charged_off"] - m["recoveries"]
    balance = reduce(np.add, [m[f"balance_{b}"] for b in BUCKETS])
    income = m["interest_paid"] + m["fees_paid"] - net - m["operating_cost"]
    out = {
        "net_charge_offs": by_quarter(net, "sum"),
        "loss_rate_annualised": 4 * by_quarter(net, "sum") / np.maximum(by_quarter(balance, "mean"), 1e-9),
        "new_defaults": by_quarter(m["new_defaults"], "sum"),
        "balance_30_plus_dpd": by_quarter(m["balance_dpd_30_59"] + m["balance_dpd_60_89"] + m["balance_dpd_90_plus"], "end"),
        "balance_90_plus_dpd": by_quarter(m["balance_dpd_90_plus"], "end"),
        "net_income": by_quarter(income, "sum"),
        "cumulative_loss_rate": by_quarter(m["cum_loss_rate"], "end"),
    }
    if "unemployment_rate_path" in m:
        out["unemployment_rate"] = by_quarter(m["unemployment_rate_path"], "mean")
    return out


@dataclass
class Row:
    """One measure of one scenario in one quarter, and its paired difference from the first scenario."""

    scenario: str
    quarter: int
    measure: str
    mean: float
    ci_low: float | None
    ci_high: float | None
    difference: float | None = None
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    significant: bool | None = None


def stress_rows(labels: list[str], runs: list[list[RunResult]], quarters: int) -> list[Row]:
    """Every measure, scenario and quarter, with the paired difference from the first scenario."""
    values = [{k: np.array(v) for k, v in _stack([quarterly(r, quarters) for r in scenario_runs]).items()} for scenario_runs in runs]
    rows = []
    for s, (label, measures) in enumerate(zip(labels, values)):
        for measure in (m for m in MEASURES if m in measures):
            for q in range(quarters):
                row = Row(label, q + 1, measure, *estimate(measures[measure][:, q]))
                if s > 0 and measure in values[0]:
                    set_difference(row, measures[measure][:, q], values[0][measure][:, q])
                rows.append(row)
    return rows


def _stack(per_run: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    return {key: [run[key] for run in per_run] for key in per_run[0]}
