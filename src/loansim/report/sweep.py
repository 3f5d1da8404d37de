"""The sweep folder (``loansim sweep``): the store of finished replications and the sweep's
tables, charts and page.

Unlike a results folder, a sweep folder is written as the sweep goes: each finished
replication is stored at once (``points/<key>/r<replication>.json``, ``Store``)
so that an interrupted sweep resumes, and a changed sweep reuses what it shares with an
earlier one. Every file in it is written whole (to a temporary file, then renamed), so an
interruption leaves finished replications and no half-written file. The tables and charts
are rewritten at the end of each sweep:

- ``sweep.csv`` and ``sweep.parquet``: one row per point and replication;
- ``sweep_points.csv``: one row per point, each figure's mean and 95% interval;
- ``sweep_differences.csv``: each point's paired difference from point 0, per figure;
- ``sweep_<key>.png``: the headline figures against each swept key, with 95% intervals;
- ``sweep_differences.png``: each point's paired difference from point 0, with its interval;
- ``sweep.html``: all of it on one page; ``sweep.json``: what was swept, and how.

``sweep.json`` is written first, marked ``running``; a folder whose ``sweep.json`` names
another loansim version is refused, as its stored replications may differ from what this
version computes.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from loansim import __version__
from loansim.errors import UserError
from loansim.report import folder

if TYPE_CHECKING:
    from loansim.analysis.sweep import Point, Sweep

STORE = "points"
TABLES = ("sweep.json", "sweep.csv", "sweep.parquet", "sweep_points.csv", "sweep_differences.csv", "sweep.html")
CHART = re.compile(r"sweep_[A-Za-z0-9_.-]+\.png")
HEADLINE = ("default_rate", "loss_rate", "missed_payment_rate", "net_income", "cure_rate_30", "lifetime_loss_rate")
"""The figures charted against each swept key (those the sweep has)."""
DIFFERENCES = "sweep_differences"
"""The chart of each point's paired difference from point 0 (``sweep_differences.png``)."""
COLOURS = ("#4d4d4d", "#d7301f", "#2166ac", "#1b7837", "#762a83", "#e08214")
MAX_LINES = len(COLOURS)
"""A chart draws one line per combination of the other keys' values up to this many; beyond,
each point is drawn on its own with its interval."""


class Store:
    """Rows of finished replications, one JSON file each: ``<folder>/<key>/r<replication>.json``,
    written to a temporary file and renamed, so a file is whole or absent. `begin()` is
    called before the first row is saved (it makes the sweep folder): a sweep that fails
    before anything finishes (an unreachable cluster) leaves no folder behind."""

    def __init__(self, folder: Path, begin: Callable[[], None] | None = None) -> None:
        self.folder = folder
        self._begin = begin

    def load(self, key: str) -> dict[int, dict[str, Any]]:
        """The rows stored for the point `key`, by replication."""
        rows = {}
        for path in (self.folder / key).glob("r*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                rows[int(data["replication"])] = data["row"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable: computed again
        return rows

    def save(self, point: Point, replication: int, row: dict[str, Any]) -> None:
        """Store one replication's row of `point` (and, once, its resolved scenario)."""
        if self._begin is not None:
            self._begin()
            self._begin = None
        folder = self.folder / point.key
        folder.mkdir(parents=True, exist_ok=True)
        scenario_file = folder / "scenario.json"
        if not scenario_file.exists():
            _exact_json(scenario_file, {"loansim_version": __version__, "scenario": point.scenario.to_dict()})
        _exact_json(folder / f"r{replication}.json",
                    {"loansim_version": __version__, "key": point.key, "replication": replication, "row": row})


def _exact_json(path: Path, data: Any) -> None:
    """`data` as JSON with every float as it is (a resumed sweep's rows are the computed ones
    to the bit; NaN as NaN), written whole."""
    _whole(path, lambda p: p.write_text(json.dumps(data, indent=1, allow_nan=True), encoding="utf-8"))


def check_sweep_out(out: Path, *scenario_files: Path | str | None) -> None:
    """Refuse a sweep folder that is not empty, not a sweep folder, holds anything a sweep
    does not write, or was written by another loansim version."""
    folder.check_path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    for scenario_file in (Path(f) for f in scenario_files if f is not None):
        if scenario_file.resolve().is_relative_to(out.resolve()):
            raise UserError(f"--out {out}: the folder holds the scenario file {scenario_file}; choose another folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        manifest = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("loansim_version"), str):
        raise UserError(f"--out {out}: the folder is not a loansim sweep folder (it has no sweep.json of ours) and is not "
                        "empty; choose a new or empty folder, or the folder of an earlier sweep")
    if manifest["loansim_version"] != __version__:
        raise UserError(f"--out {out}: a sweep folder written by loansim {manifest['loansim_version']}; this is loansim "
                        f"{__version__}, whose results may differ, so its stored points cannot be reused: choose another "
                        "--out, or delete the folder to start afresh")
    foreign = sorted(p.name for p in out.iterdir()
                     if not ((p.name in TABLES or CHART.fullmatch(p.name)) and p.is_file() and not p.is_symlink())
                     and not (p.name == STORE and p.is_dir() and not p.is_symlink()) and not p.name.startswith("."))
    if foreign:
        raise UserError(f"--out {out}: the folder holds {', '.join(foreign[:3])}, which a sweep does not write; "
                        "choose a new or empty folder")


def begin(out: Path, plan: dict[str, Any]) -> None:
    """Make `out` a sweep folder of this version (``sweep.json`` marked running)."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "sweep.json", {"loansim_version": __version__, "status": "running", **plan})


def plan_of(sweep: Sweep, replications: int) -> dict[str, Any]:
    """What was swept, and how (``sweep.json``)."""
    base = sweep.scenario
    return {
        "kind": "sweep",
        "method": sweep.method,
        "keys": sweep.keys,
        "replications": replications,
        "seed": base.run.seed,
        "months": base.run.months,
        **sweep.source,
        "points": [{"point": p.number, "values": p.values, "key": p.key} for p in sweep.points_run],
    }


@contextmanager
def held(out: Path, scenario_file: Path | str | None) -> Iterator[None]:
    """Check the sweep folder `out` (``check_sweep_out``) and hold its lock meanwhile; an OS
    error on the folder is a ``UserError`` naming it."""
    check_sweep_out(out, scenario_file)
    try:
        with folder.OutLock(out):
            yield
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the sweep folder: {exc.strerror or exc}") from None


def write_sweep_guarded(out: Path, sweep: Sweep) -> Path:
    """Check and lock `out`, then write the sweep's tables, charts and page into it."""
    with held(out, sweep.source.get("scenario_file")):
        return write_sweep(out, sweep)


def write_sweep(out: Path, sweep: Sweep) -> Path:
    """Write the tables, charts and page into the sweep folder `out` (each file whole)."""
    out.mkdir(parents=True, exist_ok=True)
    replications = int(sweep.rows["replication"].nunique())
    points, differences = sweep.points, sweep.differences()
    charts = {key: f"sweep_{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}.png" for key in sweep.keys}
    for name, write in (("sweep.csv", lambda p: sweep.rows.to_csv(p, index=False)),
                        ("sweep.parquet", lambda p: sweep.rows.to_parquet(p, index=False)),
                        ("sweep_points.csv", lambda p: points.to_csv(p, index=False)),
                        ("sweep_differences.csv", lambda p: differences.to_csv(p, index=False))):
        _whole(out / name, write)
    for key, name in charts.items():
        _whole(out / name, partial(_save_chart, sweep, points, key))
    if replications > 1 and len(points) > 1:
        charts[DIFFERENCES] = f"{DIFFERENCES}.png"
        _whole(out / charts[DIFFERENCES], lambda p: plot_differences(sweep, differences).savefig(p, dpi=110, format="png"))
    for stale in out.glob("sweep_*.png"):
        if stale.name not in charts.values():
            stale.unlink(missing_ok=True)  # a chart of a key an earlier sweep swept
    _whole(out / "sweep.html", lambda p: p.write_text(render(sweep, points, out, charts), encoding="utf-8"))
    write_json(out / "sweep.json", {"loansim_version": __version__, "status": "complete",
                                    "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                    **plan_of(sweep, replications), "definitions": DEFINITIONS})
    return out


DEFINITIONS = {
    "sweep.csv": "one row per point and replication: point (its number in this sweep), the swept keys' values, "
                 "replication, point_key (the store key: a hash of the point's resolved scenario), every headline "
                 "metric (summary.json's definitions), policy figures as <policy>.<figure>, ledger_balanced",
    "sweep_points.csv": "one row per point: each figure's mean across replications and its 95% Student-t interval "
                        "(<figure>_ci_low, <figure>_ci_high)",
    "sweep_differences.csv": "each point's paired difference from point 0 per figure: the mean over replications r of "
                             "(point_r - point0_r), the same seed and replication (common random numbers), its 95% "
                             "interval and whether that excludes 0",
}


def write_json(path: Path, data: Any) -> None:
    from loansim.report.writer import _tidy

    _whole(path, lambda p: p.write_text(json.dumps(_tidy(data), indent=2, allow_nan=False, default=str) + "\n",
                                        encoding="utf-8"))


def _whole(path: Path, write: Callable[[Path], Any]) -> None:
    """Have `write(tmp)` write a temporary file beside `path`, then rename it to `path`."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o666 & ~folder._umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _save_chart(sweep: Sweep, points: Any, key: str, path: Path) -> None:
    """Save the chart of the headline metrics against `key` as a PNG at `path`."""
    plot_key(sweep, points, key).savefig(path, dpi=110, format="png")


def plot_key(sweep: Sweep, points: Any, key: str) -> Any:
    """The headline figures against `key`: means with 95% intervals; one line per
    combination of the other keys' values (up to ``MAX_LINES``), else every point on its own."""
    from matplotlib.figure import Figure

    from loansim.report.comparison import figure_text

    names = [n for n in HEADLINE if n in points.columns]
    others = [k for k in sweep.keys if k != key]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in points[key])
    categories = {v: i for i, v in enumerate(dict.fromkeys(map(str, points[key])))}
    groups = list(points.groupby(others, sort=False)) if others else [((), points)]
    as_lines = sweep.method == "grid" and len(groups) <= MAX_LINES
    fig = Figure(figsize=(4 * min(3, len(names)), 3.3 * -(-len(names) // 3)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(-(-len(names) // 3), min(3, len(names)), squeeze=False)).ravel()
    for ax, name in zip(axes, names):
        scale = 100 if figure_text(name, 0.5).endswith("%") else 1
        for colour, (label, group) in zip(COLOURS * (len(groups) // len(COLOURS) + 1), groups if as_lines else [((), points)]):
            group = group.sort_values(key) if numeric else group
            x = group[key].to_numpy(dtype=float) if numeric else np.array([categories[str(v)] for v in group[key]])
            mean = group[name].to_numpy(dtype=float) * scale
            low = group.get(f"{name}_ci_low")
            has_ci = low is not None and low.notna().all()
            text = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(others, label if isinstance(label, tuple) else (label,)))
            if as_lines:
                ax.plot(x, mean, marker="o", ms=3, color=colour, label=text or None)
                if has_ci:
                    ax.fill_between(x, group[f"{name}_ci_low"] * scale, group[f"{name}_ci_high"] * scale, color=colour, alpha=0.15)
            else:
                err = np.array([mean - group[f"{name}_ci_low"] * scale, group[f"{name}_ci_high"] * scale - mean]) if has_ci else None
                ax.errorbar(x, mean, yerr=err, fmt="o", ms=3, color=COLOURS[0], elinewidth=0.8, capsize=2)
        ax.set(title=name.replace("_", " "), xlabel=key, ylabel="%" if scale == 100 else "")
        if not numeric:
            ax.set_xticks(list(categories.values()), list(categories), rotation=20)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if as_lines and others:
        axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{sweep.scenario.name}: figures against {key} (mean and 95% interval across replications)", fontsize=10)
    return fig


def plot_differences(sweep: Sweep, differences: Any) -> Any:
    """Each point's paired difference from point 0 in the headline figures, with its 95%
    interval from the per-replication differences: against the swept key when there is one
    numeric key, else against the point's number."""
    from matplotlib.figure import Figure

    from loansim.report.comparison import figure_text

    names = [n for n in HEADLINE if n in set(differences["figure"])]
    key = sweep.keys[0] if len(sweep.keys) == 1 else None
    numeric = key is not None and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in differences[key])
    fig = Figure(figsize=(4 * min(3, len(names)), 3.3 * -(-len(names) // 3)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(-(-len(names) // 3), min(3, len(names)), squeeze=False)).ravel()
    for ax, name in zip(axes, names):
        rows = differences[differences["figure"] == name]
        rows = rows.sort_values(key) if numeric else rows
        scale = 100 if figure_text(name, 0.5).endswith("%") else 1
        x = rows[key].to_numpy(dtype=float) if numeric else rows["point"].to_numpy()
        mean = rows["difference"].to_numpy(dtype=float) * scale
        err = np.array([mean - rows["ci_low"].to_numpy(dtype=float) * scale, rows["ci_high"].to_numpy(dtype=float) * scale - mean])
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.errorbar(x, mean, yerr=err, fmt="o", ms=3, color=COLOURS[2], elinewidth=0.8, capsize=2)
        ax.set(title=name.replace("_", " "), xlabel=key if numeric else "point", ylabel="points (pp)" if scale == 100 else "")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{sweep.scenario.name}: paired difference from point 0 (mean and 95% interval of the "
                 "per-replication differences)", fontsize=10)
    return fig


def render(sweep: Sweep, points: Any, out: Path, charts: dict[str, str]) -> str:
    from loansim.report.comparison import figure_text
    from loansim.report.html import STYLE, _image

    base = sweep.scenario
    replications = int(sweep.rows["replication"].nunique())
    how = {"grid": "a full grid", "lhs": "a Latin-hypercube sample", "sobol": "a scrambled Sobol sample"}[sweep.method]
    names = [n for n in HEADLINE if n in points.columns]
    head = "<tr><th>point</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in sweep.keys) + \
           "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    body = []
    for _, row in points.iterrows():
        cells = "".join(f"<td>{html.escape(_shown(row[k]))}</td>" for k in sweep.keys)
        for n in names:
            ci = "" if row.get(f"{n}_ci_low") is None or not np.isfinite(row.get(f"{n}_ci_low", np.nan)) else \
                f"<br><span class='note'>[{figure_text(n, row[f'{n}_ci_low'])}, {figure_text(n, row[f'{n}_ci_high'])}]</span>"
            cells += f"<td>{figure_text(n, row[n])}{ci}</td>"
        body.append(f"<tr><td>{int(row['point'])}</td>{cells}</tr>")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>loansim sweep: {html.escape(base.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Sweep of {html.escape(base.name)} over {html.escape(', '.join(sweep.keys))}</h1>",
        f"<p>{html.escape(base.description or '')}</p>",
        f"<p class='note'>{how} of {len(points)} point(s), {replications} replication(s) each on seed {base.run.seed}, "
        f"{base.portfolio.borrowers:,} borrowers (unless swept), {base.run.months} months. Every point ran the same "
        "replications on the same seed (common random numbers), so differences between points are measured "
        "replication by replication (sweep_differences.csv). Intervals are 95% Student-t intervals across "
        "replications.</p>",
        *(_image(out, name) for name in charts.values()),
        f"<table>{head}{''.join(body)}</table>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
