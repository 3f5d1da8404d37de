"""The stress folder (``loansim stress``): ``stress.csv``, ``stress.json``, ``stress.html``
and its charts, beside a ``manifest.json``; written atomically like a results folder."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from loansim import __version__
from loansim.report import folder
from loansim.report.comparison import COLOURS, _finite, _pair, write_csv
from loansim.report.html import STYLE, _image
from loansim.report.plots import band
from loansim.report.writer import _write_json
from loansim.analysis.stress import MEASURES, RATES, SEP, Row

if TYPE_CHECKING:
    from loansim.api import Stress

FILES = ("manifest.json", "stress.csv", "stress.json", "stress.html", "stress_unemployment.png", "stress_losses.png")
"""Every file of a stress folder."""
COLUMNS = ("scenario", "quarter", "measure", "mean", "ci_low", "ci_high", "difference", "difference_ci_low",
           "difference_ci_high", "significant")
TITLES = {
    "net_charge_offs": "net charge-offs (currency)", "loss_rate_annualised": "annualised net charge-off rate",
    "new_defaults": "new defaults (loans)", "balance_30_plus_dpd": "principal 30+ days past due, quarter end",
    "balance_90_plus_dpd": "principal 90+ days past due, quarter end", "net_income": "net income (currency)",
    "cumulative_loss_rate": "cumulative loss rate, quarter end", "unemployment_rate": "unemployment rate, quarter mean",
}


def write_stress_guarded(out: Path, stress: Stress) -> Path:
    """Check and lock `out`, then write the stress test into it."""
    files = [r.source.get("scenario_file") for r in stress.results]
    return folder.write_guarded(out, files, lambda o: write_stress(o, stress))


def write_stress(out: Path, stress: Stress) -> Path:
    """Write the stress folder into `out` through a temporary folder; returns `out`."""
    def fill(tmp: Path) -> None:
        _write_json(tmp / "manifest.json", manifest(stress))
        _write_json(tmp / "stress.json", as_json(stress))
        write_csv(tmp / "stress.csv", stress.rows, COLUMNS)
        plot_unemployment(stress).savefig(tmp / "stress_unemployment.png", dpi=110)
        plot_losses(stress).savefig(tmp / "stress_losses.png", dpi=110)
        (tmp / "stress.html").write_text(render(stress, tmp), encoding="utf-8")

    return folder.write_atomically(out, fill)


def manifest(stress: Stress) -> dict[str, Any]:
    base = stress.results[0].scenario
    return {
        "loansim_version": __version__,
        "kind": "stress",
        "quarters": stress.quarters,
        "scenarios": [{"label": label, "name": r.scenario.name, "description": r.scenario.description, **r.source,
                       "scenario": r.scenario.to_dict(), "wall_seconds": round(r.experiment.wall_seconds, 3)}
                      for label, r in zip(stress.labels, stress.results)],
        "seed": base.run.seed,
        "replications": base.run.replications,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def as_json(stress: Stress) -> dict[str, Any]:
    """Per scenario, measure: a list over quarters of mean, interval and paired difference."""
    out: dict[str, Any] = {"first": stress.labels[0], "quarters": stress.quarters, "scenarios": {}}
    for row in stress.rows:
        entry: dict[str, Any] = {"quarter": row.quarter, "mean": _finite(row.mean), "ci95": _pair(row.ci_low, row.ci_high)}
        if row.difference is not None:
            entry["difference"] = {"mean": _finite(row.difference), "ci95": _pair(row.difference_ci_low, row.difference_ci_high),
                                   "significant": row.significant}
        out["scenarios"].setdefault(row.scenario, {}).setdefault(row.measure, []).append(entry)
    out["definitions"] = {name: TITLES[name] for name in MEASURES} | {
        "difference": "paired difference from the first scenario: mean over replications of (scenario_r - first_r), "
                      "the same replication r of both (common random numbers); ci95 from the per-replication differences"}
    return out


def plot_unemployment(stress: Stress) -> Figure:
    """Each scenario's monthly unemployment rate: mean and 2.5–97.5% of replications."""
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for colour, label, result in zip(COLOURS * 3, stress.labels, stress.results):
        runs = result.experiment.runs
        if "unemployment_rate_path" not in runs[0].monthly:
            continue
        months = runs[0].monthly["month"]
        mean, lo, hi = band(runs, "unemployment_rate_path")
        ax.plot(months, 100 * mean, color=colour, label=label)
        if len(runs) > 1 and np.any(hi > lo):
            ax.fill_between(months, 100 * lo, 100 * hi, color=colour, alpha=0.15)
    ax.set(xlabel="month", ylabel="%", title="Unemployment rate (mean and 2.5–97.5% of replications)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", frameon=False)
    return fig


def plot_losses(stress: Stress) -> Figure:
    """Quarterly annualised net charge-off rate and principal 30+ days past due, with 95% intervals."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / max(len(stress.labels), 1)
    for ax, measure, scale in zip(axes, ("loss_rate_annualised", "balance_30_plus_dpd"), (100, 1)):
        for k, (colour, label) in enumerate(zip(COLOURS * 3, stress.labels)):
            rows = [r for r in stress.rows if r.scenario == label and r.measure == measure]
            x = np.array([r.quarter for r in rows]) - 0.4 + width * (k + 0.5)
            mean = np.array([r.mean for r in rows]) * scale
            err = None
            if all(r.ci_low is not None for r in rows):
                err = np.array([[r.mean - r.ci_low for r in rows], [r.ci_high - r.mean for r in rows]]) * scale
            ax.bar(x, mean, width=width, color=colour, label=label, yerr=err, capsize=2)
        ax.set(xlabel="quarter", ylabel="%" if scale == 100 else "currency", title=TITLES[measure])
        ax.set_xticks(range(1, stress.quarters + 1))
    axes[0].legend(loc="upper left", frameon=False)
    return fig


def render(stress: Stress, tmp: Path) -> str:
    base = stress.results[0].scenario
    book = base.name.split(SEP)[0]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>loansim stress: {html.escape(book)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Stress test of {html.escape(book)}: {html.escape(', '.join(stress.labels))}</h1>",
        "<ul>" + "".join(f"<li><b>{html.escape(label)}</b> ({html.escape(r.scenario.name)}): {html.escape(r.scenario.description or '')}</li>"
                         for label, r in zip(stress.labels, stress.results)) + "</ul>",
        f"<p class='note'>{base.portfolio.borrowers:,} borrowers, {stress.quarters} quarters, {base.run.replications} "
        f"replication(s), seed {base.run.seed}. Every scenario ran the same replications on the same seed, so each "
        f"quarter's difference from {html.escape(stress.labels[0])} is measured replication by replication (mean, 95% "
        "Student-t interval of the differences; ✱: the interval excludes 0). Intervals under the means are each "
        "scenario's own 95% interval across replications.</p>",
        _image(tmp, "stress_unemployment.png"), _image(tmp, "stress_losses.png"),
    ]
    for measure in MEASURES:
        rows = [r for r in stress.rows if r.measure == measure]
        if rows:
            parts += [f"<h2>{html.escape(TITLES[measure])}</h2>", _table(stress, rows, measure)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(stress: Stress, rows: list[Row], measure: str) -> str:
    by = {(r.scenario, r.quarter): r for r in rows}
    head = "<tr><th>quarter</th>" + "".join(f"<th>{html.escape(label)}</th>" for label in stress.labels) + \
           "".join(f"<th>{html.escape(label)} − {html.escape(stress.labels[0])}</th>" for label in stress.labels[1:]) + "</tr>"
    body = []
    for q in range(1, stress.quarters + 1):
        cells = [f"<td>{_fmt(measure, by[(label, q)].mean)}</td>" if (label, q) in by else "<td></td>" for label in stress.labels]
        for label in stress.labels[1:]:
            r = by.get((label, q))
            if r is None or r.difference is None:
                cells.append("<td></td>")
                continue
            ci = "" if r.difference_ci_low is None or r.difference_ci_high is None else \
                f"<br><span class='note'>[{_fmt(measure, r.difference_ci_low, True)}, {_fmt(measure, r.difference_ci_high, True)}]</span>"
            cells.append(f"<td>{_fmt(measure, r.difference, True)}{' ✱' if r.significant else ''}{ci}</td>")
        body.append(f"<tr><td>Q{q}</td>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _fmt(measure: str, value: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if measure in RATES:
        return f"{100 * value:{sign}.2f}{' pp' if signed else '%'}"
    return f"{value:{sign},.0f}"
