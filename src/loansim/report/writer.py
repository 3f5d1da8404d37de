"""The results folder, written atomically.

Everything is written into a temporary folder beside the target and renamed into place at
the end (``report.folder``), so an interrupted or failed run never leaves a half-written
results folder, and an existing folder of the same name is replaced only by a complete one.
Money is written exactly: the ledger in ``summary.json`` as integer cents, money columns of
``monthly.csv`` with exactly two decimals computed from integer cents.
"""

from __future__ import annotations

import csv
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from loansim import __version__
from loansim.engine import RunResult
from loansim.experiment import Experiment
from loansim.loans import cents_text
from loansim.metrics import FROM_STATES, STATES
from loansim.report import folder
from loansim.report.html import render_report
from loansim.report.plots import (plot_default_and_loss, plot_delinquency, plot_loss_distribution, plot_missed_by_cause,
                                  plot_vintages)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOTS: dict[str, Callable[[list[RunResult]], Figure]] = {
    "delinquency.png": plot_delinquency, "default_and_loss.png": plot_default_and_loss,
    "missed_by_cause.png": plot_missed_by_cause, "loss_distribution.png": plot_loss_distribution}


def write_results(out: Path, experiment: Experiment, source: dict[str, Any]) -> Path:
    """Write manifest, summary, monthly CSVs, roll rates, plots and report into `out`; returns `out`."""
    def fill(tmp: Path) -> None:
        summary = experiment.summary()
        _write_json(tmp / "manifest.json", manifest(experiment, source))
        _write_json(tmp / "summary.json", summary)
        write_monthly_csv(tmp / "monthly.csv", experiment)
        write_monthly_mean_csv(tmp / "monthly_mean.csv", experiment)
        write_monthly_parquet(tmp / "monthly.parquet", experiment)
        write_roll_rates_csv(tmp / "roll_rates.csv", experiment)
        write_vintages_csv(tmp / "vintages.csv", experiment)
        for name, plot in PLOTS.items():
            plot(experiment.runs).savefig(tmp / name, dpi=110)
        if lent_over_time(experiment):
            plot_vintages(experiment.runs).savefig(tmp / "vintages.png", dpi=110)
        (tmp / "report.html").write_text(render_report(experiment, summary, tmp, source.get("overrides")), encoding="utf-8")

    return folder.write_atomically(out, fill)


def write_guarded(out: Path, experiment: Experiment, source: dict[str, Any]) -> Path:
    """``write_results`` into `out` once it is checked and locked (``folder.write_guarded``)."""
    return folder.write_guarded(out, [source.get("scenario_file")], lambda o: write_results(o, experiment, source))


def manifest(experiment: Experiment, source: dict[str, Any]) -> dict[str, Any]:
    """What was run, from which inputs, with what, when and for how long."""
    s = experiment.scenario
    return {
        "loansim_version": __version__,
        "scenario_file": source.get("scenario_file"),
        "extends_chain": source.get("extends_chain", []),
        "overrides": source.get("overrides", []),
        "scenario": s.to_dict(),
        "seed": s.run.seed,
        "replications": s.run.replications,
        "replication_streams": "SeedSequence(run.seed, spawn_key=(replication, crc32(process name), period)) for replication in 0..replications-1",
        "started_at": experiment.started_at,
        "wall_seconds": round(experiment.wall_seconds, 3),
        "workers": experiment.workers,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def write_monthly_csv(path: Path, experiment: Experiment) -> None:
    """One row per replication and month, every monthly column."""
    columns = list(experiment.runs[0].monthly)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["replication", *columns])
        for run in experiment.runs:
            texts = [_column_text(run, c) for c in columns]
            for i in range(len(run.monthly["month"])):
                writer.writerow([run.replication, *(text[i] for text in texts)])


def write_monthly_parquet(path: Path, experiment: Experiment) -> None:
    """``monthly.csv`` as Parquet (``Experiment.monthly_frame``): counts as integers, money in
    currency units as float64 (the nearest double to the exact amount in cents, which
    ``monthly.csv`` writes as text)."""
    experiment.monthly_frame().to_parquet(path, index=False)


def write_monthly_mean_csv(path: Path, experiment: Experiment) -> None:
    """One row per month: each column's mean across replications."""
    columns = list(experiment.runs[0].monthly)
    means = {c: np.mean([run.monthly[c] for run in experiment.runs], axis=0) for c in columns}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for i in range(len(means["month"])):
            writer.writerow([_fmt(means[c][i]) for c in columns])


def write_roll_rates_csv(path: Path, experiment: Experiment) -> None:
    """One row per replication, month, from-state and to-state with loans moving from the
    one at the month end before to the other at this month end; pairs with none are left out."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["replication", "month", "from_state", "to_state", "loans"])
        for run in experiment.runs:
            for month, origin, state in zip(*np.nonzero(run.transitions)):
                writer.writerow([run.replication, month + 1, FROM_STATES[origin], STATES[state],
                                 run.transitions[month, origin, state]])


def lent_over_time(experiment: Experiment) -> bool:
    """Whether loans were lent in more than one month (then vintages differ and are plotted)."""
    return any(np.unique(run.vintages[:, 0]).size > 1 for run in experiment.runs)


def write_vintages_csv(path: Path, experiment: Experiment) -> None:
    """One row per replication, vintage and month on book (``metrics.vintage_curves``): the
    vintage's loans and principal lent, and cumulative defaults, default rate, principal
    charged off, recoveries, net loss and net loss rate by the end of that month on book."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["replication", "vintage", "months_on_book", "loans", "principal_lent", "cum_defaults",
                         "cum_default_rate", "cum_charged_off", "cum_recoveries", "cum_net_loss", "cum_net_loss_rate"])
        for run in experiment.runs:
            for vintage, mob, loans, lent, defaults, charged, recovered in run.vintages.tolist():
                writer.writerow([run.replication, vintage, mob, loans, cents_text(lent), defaults, _fmt(defaults / max(loans, 1)),
                                 cents_text(charged), cents_text(recovered), cents_text(charged - recovered),
                                 _fmt((charged - recovered) / max(lent, 1))])


def _column_text(run: RunResult, column: str) -> list[str]:
    """A monthly column as text: money exact from its cents, everything else by ``_fmt``."""
    if column in run.monthly_cents:
        return [cents_text(c) for c in run.monthly_cents[column].tolist()]
    return [_fmt(v) for v in run.monthly[column].tolist()]


def _fmt(value: Any) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}" if abs(value) < 1 else f"{value:.2f}"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_tidy(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _tidy(data: Any) -> Any:
    """Floats to 12 significant digits, so 0.8355874999999999 is written 0.8355875, but
    never coarser than the cent (money means of big books). Integers (cents) stay exact."""
    if isinstance(data, float):
        return float(f"{data:.12g}") if abs(data) < 1e10 else round(data, 2)
    if isinstance(data, dict):
        return {k: _tidy(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_tidy(v) for v in data]
    return data
