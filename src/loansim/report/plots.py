"""Plots of a run. Each takes results and an optional ``ax``, returns the ``Figure``.

They build figures with ``matplotlib.figure.Figure`` directly (no pyplot, no global
state, no display needed) and never call ``show()``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from loansim.engine import RunResult
from loansim.experiment import loss_distribution
from loansim.metrics import BUCKETS

BUCKET_LABELS = {"dpd_1_29": "1–29 DPD", "dpd_30_59": "30–59 DPD", "dpd_60_89": "60–89 DPD", "dpd_90_plus": "90+ DPD"}
BUCKET_COLOURS = ("#fdd49e", "#fc8d59", "#d7301f", "#7f0000")


def _figure(ax: Axes) -> Figure:
    """The figure `ax` is drawn on."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)  # every Axes here is made on a Figure
    return fig


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return _figure(ax), ax
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    return fig, fig.add_subplot()


def mean_series(runs: list[RunResult], column: str) -> np.ndarray:
    """Mean of a monthly column across replications."""
    return np.mean([run.monthly[column] for run in runs], axis=0)


def band(runs: list[RunResult], column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 2.5%–97.5% range of a monthly column across replications."""
    values = np.array([run.monthly[column] for run in runs], dtype=float)
    return values.mean(axis=0), np.percentile(values, 2.5, axis=0), np.percentile(values, 97.5, axis=0)


def plot_delinquency(runs: list[RunResult], axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Delinquency by DPD bucket at each month end, counted and balance-weighted: delinquent
    loans as a share of loans originated, and delinquent principal as a share of the
    principal outstanding (mean of replications).

    Loans originated, not loans still active, is the count's denominator: as a static book
    runs off, the loans left are mostly the delinquent ones, and a share of active loans
    would climb towards 100% for that reason alone. The balance view weighs each loan by
    what it still owes, as a lender's books do.
    """
    if axes is None:
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        axes = tuple(fig.subplots(1, 2))
    fig = _figure(axes[0])
    months = runs[0].monthly["month"]
    originated = np.maximum(mean_series(runs, "n_lent"), 1)  # grows month by month with new lending
    outstanding = np.maximum(sum(mean_series(runs, f"balance_{b}") for b in BUCKETS), 1e-9)
    views = (([100 * mean_series(runs, f"n_{b}") / originated for b in BUCKETS[1:]], "% of loans originated", "Delinquent loans"),
             ([100 * mean_series(runs, f"balance_{b}") / outstanding for b in BUCKETS[1:]], "% of principal outstanding",
              "Delinquent principal (balance-weighted)"))
    for ax, (shares, unit, title) in zip(axes, views):
        ax.stackplot(months, shares, labels=[BUCKET_LABELS[b] for b in BUCKETS[1:]], colors=BUCKET_COLOURS)
        ax.set(xlabel="month", ylabel=unit, title=f"{title} by days past due")
        ax.set_xlim(months[0], months[-1])
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return fig


def plot_vintages(runs: list[RunResult], axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Vintage curves: cumulative default rate and net loss rate by months on book, one line
    per vintage (the month lent; mean of replications), later vintages lighter."""
    if axes is None:
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        axes = tuple(fig.subplots(1, 2))
    fig = _figure(axes[0])
    rows = np.concatenate([run.vintages for run in runs])
    vintages = np.unique(rows[:, 0])
    shades = np.linspace(0.95, 0.35, vintages.size)
    rates: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
        lambda r: r[:, 4] / np.maximum(r[:, 2], 1), lambda r: (r[:, 5] - r[:, 6]) / np.maximum(r[:, 3], 1))
    for ax, title, rate in zip(axes, ("Cumulative default rate", "Cumulative net loss rate"), rates):
        for shade, v in zip(shades, vintages):
            mine = rows[rows[:, 0] == v]
            mob = np.unique(mine[:, 1])
            mean = np.array([rate(mine[mine[:, 1] == k]).mean() for k in mob])
            ax.plot(mob, 100 * mean, color=(shade, 0.25 * shade, 0.1), linewidth=1.2 if v else 2.2,
                    label="the book at the start" if v == 0 else None)
        ax.set(xlabel="months on book", ylabel="%", title=f"{title} by vintage (month lent)")
    if 0 in vintages:
        axes[0].legend(loc="upper left", frameon=False)
    return fig


def plot_default_and_loss(runs: list[RunResult], axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Cumulative default rate and cumulative loss rate: the mean, and the range from the
    2.5th to the 97.5th percentile of replications (their spread, not a confidence interval)."""
    if axes is None:
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        axes = tuple(fig.subplots(1, 2))
    fig = _figure(axes[0])
    months = runs[0].monthly["month"]
    default_dpd = runs[0].extra["default_dpd"]
    for ax, column, title in zip(
        axes,
        ("cum_default_rate", "cum_loss_rate"),
        (f"Cumulative default rate ({default_dpd}+ DPD or charged off)", "Cumulative net loss / principal lent"),
    ):
        mean, lo, hi = band(runs, column)
        ax.plot(months, 100 * mean, color="#d7301f", label="mean")
        if len(runs) > 1:
            ax.fill_between(months, 100 * lo, 100 * hi, color="#d7301f", alpha=0.2, label="2.5–97.5% of replications")
        ax.set(xlabel="month", ylabel="%", title=title)
        ax.set_xlim(months[0], months[-1])
        ax.legend(loc="upper left", frameon=False)
    return fig


CAUSE_LABELS = {"cannot_pay": "could not pay", "forgot": "forgot", "misunderstood": "misread the contract",
                "unwilling": "chose not to pay"}
CAUSE_COLOURS = {"cannot_pay": "#d7301f", "forgot": "#fdae61", "misunderstood": "#74add1", "unwilling": "#4d4d4d"}


def plot_missed_by_cause(runs: list[RunResult], ax: Axes | None = None) -> Figure:
    """Missed due dates each month by cause, as a share of the month's due dates (mean of replications)."""
    fig, ax = _axes(ax)
    months = runs[0].monthly["month"]
    due = np.maximum(mean_series(runs, "due_dates"), 1)
    causes = [c for c in CAUSE_LABELS if f"missed_{c}" in runs[0].monthly]
    shares = [100 * mean_series(runs, f"missed_{c}") / due for c in causes]
    ax.stackplot(months, shares, labels=[CAUSE_LABELS[c] for c in causes], colors=[CAUSE_COLOURS[c] for c in causes])
    ax.set(xlabel="month", ylabel="% of due dates", title="Missed due dates by cause (mean of replications)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_xlim(months[0], months[-1])
    return fig


TAIL_LABELS = {"loss_rate_q95": "95th percentile", "loss_rate_q99": "99th percentile", "loss_rate_es99": "99% expected shortfall"}
TAIL_STYLES = {"loss_rate_q95": ":", "loss_rate_q99": "--", "loss_rate_es99": "-"}


def plot_loss_distribution(runs: list[RunResult], ax: Axes | None = None) -> Figure:
    """Histogram of the loss rate across replications, with the tail figures the number of
    replications supports (``experiment.loss_distribution``)."""
    fig, ax = _axes(ax)
    losses = 100 * np.array([run.metrics["loss_rate"] for run in runs])
    ax.hist(losses, bins=max(1, min(50, int(np.ceil(np.sqrt(losses.size))))), color="#fc8d59", edgecolor="white")
    for key, value in loss_distribution(list(losses / 100)).items():
        if key in TAIL_LABELS and value is not None:
            ax.axvline(100 * value, color="#7f0000", linestyle=TAIL_STYLES[key], label=f"{TAIL_LABELS[key]}: {100 * value:.2f}%")
    ax.set(xlabel="net loss / principal lent (%)", ylabel="replications",
           title=f"Loss rate across {len(runs)} replication(s)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", frameon=False)
    return fig
