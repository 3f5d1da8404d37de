"""The comparison folder (``loansim compare``): ``comparison.csv``, ``comparison.json``,
``comparison.html`` and its plots, beside a ``manifest.json``; written atomically like a
results folder (``report.folder``)."""

from __future__ import annotations

import csv
import html
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from loansim import __version__
from loansim.analysis.compare import Row, unpaired_overlap
from loansim.report import folder
from loansim.report.html import STYLE
from loansim.report.plots import band
from loansim.report.writer import _write_json

if TYPE_CHECKING:
    from loansim.api import Comparison

KEY_METRICS = ("default_rate", "loss_rate", "missed_payment_rate", "net_loss", "net_income", "interest_income",
               "fee_income", "operating_cost", "cure_rate_30", "roll_rate_30_60", "roll_rate_60_90",
               "lifetime_default_rate", "lifetime_loss_rate")
"""The metrics shown first, side by side, and plotted with their differences."""
SERIES = (("cum_default_rate", "cumulative default rate", 100, "%"), ("cum_loss_rate", "cumulative loss rate", 100, "%"),
          ("missed_payments", "missed due dates", 1, "per month"), ("n_dpd_30_59", "loans 30–59 days past due", 1, "loans"))
"""Monthly series overlaid for every scenario: column, title, scale, unit."""
COLOURS = ("#4d4d4d", "#d7301f", "#2166ac", "#1b7837", "#762a83", "#e08214", "#35978f")
FILES = ("manifest.json", "comparison.csv", "comparison.json", "comparison.html", "comparison_monthly.png",
         "comparison_differences.png")
"""Every file of a comparison folder."""
COLUMNS = ("scenario", "kind", "name", "mean", "ci_low", "ci_high", "difference", "difference_ci_low",
           "difference_ci_high", "relative_change", "significant")


def write_comparison_guarded(out: Path, comparison: Comparison) -> Path:
    """Check and lock `out`, then write the comparison into it (``write_comparison``)."""
    files = [r.source.get("scenario_file") for r in comparison.results]
    return folder.write_guarded(out, files, lambda o: write_comparison(o, comparison))


def write_comparison(out: Path, comparison: Comparison) -> Path:
    """Write the comparison folder into `out` through a temporary folder; returns `out`."""
    def fill(tmp: Path) -> None:
        _write_json(tmp / "manifest.json", manifest(comparison))
        _write_json(tmp / "comparison.json", as_json(comparison))
        write_csv(tmp / "comparison.csv", comparison.rows, COLUMNS)
        plot_series(comparison).savefig(tmp / "comparison_monthly.png", dpi=110)
        plot_differences(comparison).savefig(tmp / "comparison_differences.png", dpi=110)
        (tmp / "comparison.html").write_text(render(comparison, tmp), encoding="utf-8")

    return folder.write_atomically(out, fill)


def manifest(comparison: Comparison) -> dict[str, Any]:
    """What was compared, from which files, on which seeds."""
    base = comparison.base.scenario
    return {
        "loansim_version": __version__,
        "kind": "comparison",
        "scenarios": [{"label": label, "name": r.scenario.name, **r.source, "scenario": r.scenario.to_dict(),
                       "wall_seconds": round(r.experiment.wall_seconds, 3)}
                      for label, r in zip(comparison.labels, comparison.results)],
        "seed": base.run.seed,
        "replications": base.run.replications,
        "months": base.run.months,
        "pairing": "replication r of every scenario draws from the streams keyed by (run.seed, r, process name, period)",
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def as_json(comparison: Comparison) -> dict[str, Any]:
    """Per scenario and figure: mean and interval, and the paired difference from the base."""
    out: dict[str, Any] = {"base": comparison.labels[0], "scenarios": {}}
    for row in comparison.rows:
        block = out["scenarios"].setdefault(row.scenario, {}).setdefault(row.kind, {})
        entry: dict[str, Any] = {"mean": _finite(row.mean), "ci95": _pair(row.ci_low, row.ci_high)}
        if row.difference is not None:
            entry["difference"] = {"mean": _finite(row.difference), "ci95": _pair(row.difference_ci_low, row.difference_ci_high),
                                   "relative_change": _finite(row.relative_change), "significant": row.significant}
        block[row.name] = entry
    out["definitions"] = {
        "difference": "paired difference other - base: mean over replications of (other_r - base_r), the same replication r of both "
                      "(common random numbers); ci95: Student-t 95% interval from the per-replication differences",
        "relative_change": "difference / the base's mean (null when the base's mean is 0)",
        "significant": "the difference's 95% interval excludes 0 (null with one replication)",
    }
    return out


def write_csv(path: Path, rows: list[Any], columns: tuple[str, ...]) -> None:
    """Rows (dataclasses) as CSV, one column per attribute in `columns`; None as empty."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if (v := getattr(row, c)) is None else _text(v) for c in columns])


def plot_series(comparison: Comparison) -> Figure:
    """Key monthly series of every scenario, the mean with the 2.5–97.5% band of replications."""
    fig = Figure(figsize=(11, 7), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (column, title, scale, unit) in zip(axes, SERIES):
        for colour, label, result in zip(COLOURS * 3, comparison.labels, comparison.results):
            runs = result.experiment.runs
            if column not in runs[0].monthly:
                continue
            months = runs[0].monthly["month"]
            mean, lo, hi = band(runs, column)
            ax.plot(months, scale * mean, color=colour, label=label)
            if len(runs) > 1:
                ax.fill_between(months, scale * lo, scale * hi, color=colour, alpha=0.15)
        ax.set(xlabel="month", ylabel=unit, title=title)
    axes[0].legend(loc="upper left", frameon=False)
    fig.suptitle("Monthly series: mean and 2.5–97.5% of replications")
    return fig


def plot_differences(comparison: Comparison) -> Figure:
    """The paired difference from the base of each key rate, with its 95% interval, per scenario."""
    rows = [r for r in comparison.rows if r.kind == "metric" and r.name in KEY_METRICS and _is_rate(r.name)
            and r.difference is not None]
    names = [n for n in KEY_METRICS if any(r.name == n for r in rows)]
    others = comparison.labels[1:]
    fig = Figure(figsize=(9, 0.45 * max(len(names), 1) * len(others) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    ticks, labels = [], []
    for k, name in enumerate(names):
        for j, (label, colour) in enumerate(zip(others, COLOURS[1:] * 3)):
            row = next((r for r in rows if r.name == name and r.scenario == label), None)
            if row is None or row.difference is None:
                continue
            y = -(k * (len(others) + 1) + j)
            lo = row.difference_ci_low if row.difference_ci_low is not None else row.difference
            hi = row.difference_ci_high if row.difference_ci_high is not None else row.difference
            ax.errorbar([100 * row.difference], [y], xerr=[[100 * (row.difference - lo)], [100 * (hi - row.difference)]],
                        fmt="o", color=colour, capsize=3, label=label if k == 0 else None)
            ticks.append(y)
            labels.append(name if j == 0 else "")
    ax.axvline(0, color="#888", linewidth=1)
    ax.set_yticks(ticks, labels)
    ax.set(xlabel=f"difference from {comparison.labels[0]}, percentage points (paired, 95% interval)",
           title="Paired differences")
    if others:
        ax.legend(loc="best", frameon=False)
    return fig


def render(comparison: Comparison, tmp: Path) -> str:
    """The comparison as one self-contained HTML page."""
    from loansim.report.html import _image

    base = comparison.base.scenario
    labels = comparison.labels
    by_key = {(r.scenario, r.kind, r.name): r for r in comparison.rows}
    overlap = unpaired_overlap(comparison.rows, labels[0])
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>loansim: {html.escape(' vs '.join(labels))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(labels[0])} compared with {html.escape(', '.join(labels[1:]))}</h1>",
        "<ul>" + "".join(f"<li><b>{html.escape(label)}</b>: {html.escape(r.scenario.description or '')}</li>"
                         for label, r in zip(labels, comparison.results)) + "</ul>",
        f"<p class='note'>{base.portfolio.borrowers:,} borrowers in the base, {base.run.months} months, "
        f"{base.run.replications} replication(s), seed {base.run.seed}; every scenario ran the same replications on the "
        "same seed (common random numbers), so each difference is measured replication by replication: the mean of "
        "(other − base) with a 95% Student-t interval from those differences. ✱ marks a difference whose interval "
        "excludes 0.</p>",
        "<h2>Key metrics</h2>", _table(comparison, "metric", [n for n in KEY_METRICS if ("metric", n) in {(r.kind, r.name) for r in comparison.rows}], by_key),
    ]
    hidden = [(s, n) for (s, k, n), o in overlap.items() if o and by_key[(s, k, n)].significant and k == "metric" and n in KEY_METRICS]
    if hidden:
        parts.append("<p class='note'>For " + ", ".join(f"{html.escape(n)} ({html.escape(s)})" for s, n in hidden)
                     + ", the two scenarios' own intervals overlap, yet the paired difference is clearly not 0: "
                       "comparing the runs' separate intervals would miss it.</p>")
    parts += [_image(tmp, "comparison_differences.png"), "<h2>Monthly series</h2>", _image(tmp, "comparison_monthly.png")]
    others = sorted({r.name for r in comparison.rows if r.kind == "metric"} - set(KEY_METRICS))
    parts += ["<h2>Every other metric</h2>", _table(comparison, "metric", others, by_key)]
    for kind in sorted({r.kind for r in comparison.rows if r.kind != "metric"}):
        names = list(dict.fromkeys(r.name for r in comparison.rows if r.kind == kind))
        parts += [f"<h2>Policy {html.escape(kind.split(':', 1)[1])}</h2>", _table(comparison, kind, names, by_key)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(comparison: Comparison, kind: str, names: list[str], by_key: dict[tuple[str, str, str], Row]) -> str:
    labels = comparison.labels
    head = "<tr><th>figure</th>" + "".join(f"<th>{html.escape(label)}</th>" for label in labels) + \
           "".join(f"<th>{html.escape(label)} − {html.escape(labels[0])}</th>" for label in labels[1:]) + "</tr>"
    body = []
    for name in names:
        cells = []
        for label in labels:
            row = by_key.get((label, kind, name))
            cells.append("<td></td>" if row is None else f"<td>{figure_text(name, row.mean)}{_interval(name, row.ci_low, row.ci_high)}</td>")
        for label in labels[1:]:
            row = by_key.get((label, kind, name))
            if row is None or row.difference is None:
                cells.append("<td></td>")
                continue
            mark = " ✱" if row.significant else ""
            rel = "" if row.relative_change is None else f" ({100 * row.relative_change:+.1f}%)"
            cells.append(f"<td>{figure_text(name, row.difference, signed=True)}{mark}"
                         f"{_interval(name, row.difference_ci_low, row.difference_ci_high)}{rel}</td>")
        body.append(f"<tr><td>{html.escape(name)}</td>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _is_rate(name: str) -> bool:
    return "_rate" in name or name.startswith(("cure_", "roll_"))


def figure_text(name: str, value: float, signed: bool = False) -> str:
    """A figure as text: rates in percent (a difference in percentage points), money and counts with separators."""
    sign = "+" if signed else ""
    if _is_rate(name):
        return f"{100 * value:{sign}.3f}{' pp' if signed else '%'}"
    return f"{value:{sign},.2f}" if abs(value) < 100 else f"{value:{sign},.0f}"


def _interval(name: str, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"<br><span class='note'>[{figure_text(name, low)}, {figure_text(name, high)}]</span>"


def _pair(low: float | None, high: float | None) -> list[float | None] | None:
    if low is None or high is None:
        return None
    return [_finite(low), _finite(high)]


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)
