"""Sweeps: one scenario at many parameter points, each with the same seeds and replications.

A sweep's points are a full grid (every combination of the values given for each key) or a
sample of ``n`` points in a box of ranges: a Latin hypercube (``lhs``, any ``n``: one
point in each of ``n`` equal slices of every range) or a scrambled Sobol sequence
(``sobol``, ``n`` a power of two, where its balance holds; scipy's ``qmc.Sobol``); the
sample is drawn from ``run.seed``, so the same command gives the same points. A range
whose bounds are both written as whole numbers gives whole numbers (``portfolio.borrowers``).

Every point runs on the same ``run.seed`` and replication numbers, so replication ``r`` of
two points sees the same borrowers and shocks wherever the points agree (common random
numbers): neighbouring points are paired, and ``differences`` measures each point against
a reference point replication by replication, as ``analysis.compare`` does.

One replication of one point yields one row (``replication_row``): every headline metric,
every policy figure (``<policy>.<figure>``) and whether the ledger balanced. Rows are kept
in a store (``report.sweep.Store``), one file per point and replication, under a key derived from the point's
resolved scenario (``point_key``: everything but its name, description and number of
replications). A sweep first reads what its store already holds and runs only what is
missing: a sweep that was interrupted finishes where it stopped, and a changed sweep
reuses the points it shares with an earlier one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from loansim.analysis.compare import estimate, paired_difference
from loansim.errors import UserError
from loansim.loans import totals_problems
from loansim.scenario import Scenario

METHODS = ("grid", "lhs", "sobol")
MAX_POINTS = 100_000
"""Most points a sweep may have (a grid's size is the product of its value counts)."""
UNSWEEPABLE = {"run.replications": "give replications with --replications; every point runs all of them",
               "name": "a point's name is the scenario's", "description": "a point's description is the scenario's",
               "extends": "a point extends what the scenario extends"}


@dataclass(frozen=True)
class Point:
    """One parameter point: its number in the sweep, the swept keys' values, the scenario
    they resolve to and its store key."""

    number: int
    values: dict[str, Any]
    scenario: Scenario
    key: str


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``--grid KEY=V1,V2,…`` options as key → values (TOML text), in the order given."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--grid {item!r}: expected KEY.PATH=V1,V2,…, e.g. --grid policies.late_fee.flat_fee=0,20,40")
        values = [v.strip() for v in text.split(",")]
        if not text.strip() or any(not v for v in values):
            raise UserError(f"--grid {item!r}: {'an empty grid' if not text.strip() else 'an empty value'}; "
                            f"give one or more values separated by commas, e.g. --grid {key}=V1,V2,V3")
        _check_key(key, "--grid", grid)
        grid[key] = values
    return grid


def parse_ranges(items: list[str]) -> dict[str, tuple[float, float, bool]]:
    """``--range KEY=LO:HI`` options as key → (low, high, whole numbers)."""
    ranges: dict[str, tuple[float, float, bool]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        low_text, colon, high_text = text.partition(":")
        if not sep or not key or not colon:
            raise UserError(f"--range {item!r}: expected KEY.PATH=LO:HI, e.g. --range borrowers.monthly_forget_prob=0.01:0.10")
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise UserError(f"--range {item!r}: {low_text.strip()!r} to {high_text.strip()!r} is not a range of numbers; "
                            "expected LO:HI, e.g. 0.01:0.10") from None
        if not (math.isfinite(low) and math.isfinite(high)):
            raise UserError(f"--range {item!r}: the bounds must be finite numbers")
        if low >= high:
            raise UserError(f"--range {item!r}: LO = {low_text.strip()} is not below HI = {high_text.strip()}; "
                            "a range needs LO < HI")
        _check_key(key, "--range", ranges)
        whole = all(_is_whole(t) for t in (low_text, high_text))
        ranges[key] = (low, high, whole)
    return ranges


def _is_whole(text: str) -> bool:
    return text.strip().lstrip("+-").replace("_", "").isdigit()


def _check_key(key: str, option: str, seen: dict[str, Any]) -> None:
    if key in seen:
        raise UserError(f"{option} {key}: given twice; give each key once, with all its values")
    if key in UNSWEEPABLE:
        raise UserError(f"{option} {key}: cannot be swept ({UNSWEEPABLE[key]})")


def grid_values(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, the last key varying fastest."""
    size = math.prod(len(v) for v in grid.values())
    if size > MAX_POINTS:
        raise UserError(f"--grid: {' × '.join(str(len(v)) for v in grid.values())} = {size:,} points; "
                        f"a sweep may have at most {MAX_POINTS:,}: use fewer values, or --sample")
    return [dict(zip(grid, combination)) for combination in itertools.product(*grid.values())]


def sample_values(ranges: dict[str, tuple[float, float, bool]], n: int, method: str, seed: int) -> list[dict[str, float | int]]:
    """`n` points in the box of `ranges`, by Latin hypercube or scrambled Sobol sequence,
    drawn from `seed`; whole-number ranges give whole numbers."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n > MAX_POINTS:
        raise UserError(f"--sample {n!r}: must be a whole number from 1 to {MAX_POINTS:,}")
    if method == "sobol" and n & (n - 1):
        below = 1 << (n.bit_length() - 1)
        raise UserError(f"--sample {n}: a Sobol sample keeps its balance only with a power of two points; "
                        f"use --sample {below} or {2 * below}, or --method lhs")
    rng = np.random.default_rng([seed, 0x5EE9])  # the sample's own stream, apart from the runs'
    unit = latin_hypercube(n, len(ranges), rng) if method == "lhs" else _sobol(n, len(ranges), rng)
    low = np.array([r[0] for r in ranges.values()])
    high = np.array([r[1] for r in ranges.values()])
    box = low + unit * (high - low)
    return [{key: (int(round(v)) if whole else float(v)) for (key, (_, _, whole)), v in zip(ranges.items(), row)}
            for row in box]


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """`n` points in the unit cube of `d` dimensions, exactly one in each of the `n` equal
    slices of every axis, at a uniform place within it (McKay, Beckman & Conover 1979)."""
    strata = np.argsort(rng.random((d, n)), axis=1).T  # a random permutation of the slices per axis
    return (strata + rng.random((n, d))) / n


def _sobol(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc  # imported only here: scipy.stats takes a second or more to import

    return qmc.Sobol(d, scramble=True, rng=rng).random_base2(n.bit_length() - 1)


def point_key(scenario: Scenario) -> str:
    """The store key of a point: a hash of its resolved scenario, leaving out what does not
    change a replication's results (name, description, number of replications)."""
    data = scenario.to_dict()
    for name in ("name", "description"):
        data.pop(name, None)
    data["run"].pop("replications", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def replication_row(scenario: Scenario, replication: int, month_done: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run one replication of a point (in whichever process or worker) and reduce it to its
    row: headline metrics, policy figures and whether the ledger balanced."""
    from loansim.engine import Simulation

    run = Simulation(scenario, replication).run(progress=month_done)
    row: dict[str, Any] = dict(run.metrics)
    for policy, block in run.policies.items():
        row.update({f"{policy}.{figure}": value for figure, value in block.items()})
    row["ledger_balanced"] = not (run.ledger_problems or totals_problems(run.ledger))
    return row


def missing(points: list[Point], replications: int, stored: dict[str, dict[int, dict[str, Any]]]) -> list[tuple[Point, int]]:
    """The (point, replication) pairs not in `stored`; a point repeated in the sweep runs once."""
    seen: set[tuple[str, int]] = set()
    out = []
    for point in points:
        for r in range(replications):
            if r not in stored.get(point.key, {}) and (point.key, r) not in seen:
                seen.add((point.key, r))
                out.append((point, r))
    return out


def rows_frame(points: list[Point], replications: int, stored: dict[str, dict[int, dict[str, Any]]]) -> Any:
    """One row per point and replication: ``point``, the swept keys, ``replication``,
    ``point_key``, then the figures."""
    import pandas as pd

    records = []
    for point in points:
        for r in range(replications):
            records.append({"point": point.number, **point.values, "replication": r, "point_key": point.key,
                            **stored[point.key][r]})
    return pd.DataFrame.from_records(records)


def figure_columns(frame: Any, keys: list[str]) -> list[str]:
    """The figure columns of a rows frame (not the point's identity or the swept keys)."""
    return [c for c in frame.columns if c not in {"point", "replication", "point_key", "ledger_balanced", *keys}]


def points_frame(rows: Any, keys: list[str]) -> Any:
    """One row per point: its swept values, replications, and each figure's mean with its
    95% interval (``<figure>``, ``<figure>_ci_low``, ``<figure>_ci_high``)."""
    import pandas as pd

    figures = figure_columns(rows, keys)
    records = []
    for number, group in rows.groupby("point", sort=True):
        record: dict[str, Any] = {"point": number, **{k: group[k].iloc[0] for k in keys}, "replications": len(group)}
        for name in figures:
            values = group[name].to_numpy(dtype=float)
            if np.isnan(values).any():
                continue
            mean, low, high = estimate(values)
            record.update({name: mean, f"{name}_ci_low": low, f"{name}_ci_high": high})
        record["ledger_balanced"] = bool(group["ledger_balanced"].all())
        records.append(record)
    return pd.DataFrame.from_records(records)


def differences_frame(rows: Any, keys: list[str], reference: int = 0) -> Any:
    """Each point's paired difference from point `reference`, figure by figure: the mean of
    the per-replication differences and its 95% interval, and whether it excludes 0."""
    import pandas as pd

    figures = figure_columns(rows, keys)
    base = rows[rows["point"] == reference].sort_values("replication")
    if base.empty:
        raise UserError(f"reference = {reference!r}: no such point; points are numbered from 0")
    records = []
    for number, group in rows.groupby("point", sort=True):
        group = group.sort_values("replication")
        for name in figures:
            values, reference_values = group[name].to_numpy(dtype=float), base[name].to_numpy(dtype=float)
            if np.isnan(values).any() or np.isnan(reference_values).any():
                continue
            difference, low, high, significant = paired_difference(values, reference_values)
            records.append({"point": number, **{k: group[k].iloc[0] for k in keys}, "figure": name,
                            "difference": difference, "ci_low": low, "ci_high": high, "significant": significant})
    return pd.DataFrame.from_records(records)


def plan_sweep(path: str | Path, overrides: list[tuple[str, str]], grid: dict[str, list[str]] | None,
               ranges: dict[str, tuple[float, float, bool]] | None, sample: int | None,
               method: str | None) -> tuple[str, list[str], list[Point], dict[str, Any]]:
    """The sweep's method, its keys and its points, each resolved and checked as a scenario
    (a bad key or value is refused before anything runs), and where the scenario came from."""
    from loansim.scenario import load_scenario_and_files, load_scenario_variants

    if grid and ranges:
        raise UserError("sweep: give either --grid (a full grid) or --sample with --range (a sample), not both")
    if not grid and not ranges:
        raise UserError("sweep: nothing to sweep; give --grid KEY=V1,V2,… or --sample N --range KEY=LO:HI")
    if ranges and sample is None:
        raise UserError("sweep: --range needs --sample N, the number of points to draw in the ranges")
    if grid and sample is not None:
        raise UserError(f"sweep: --sample {sample} draws points in --range boxes; a --grid runs every combination")
    method = method or ("lhs" if ranges else "grid")
    if method not in METHODS or (method == "grid") != bool(grid):
        allowed = "grid" if grid else "lhs or sobol"
        raise UserError(f"sweep: --method {method}: {'unknown method' if method not in METHODS else 'does not fit'}; "
                        f"with {'--grid' if grid else '--range'} use {allowed}")
    keys = list(grid or ranges or {})
    for label, item in overrides:
        key = item.partition("=")[0].strip()
        if key in keys:
            raise UserError(f"sweep: {key} is both swept and set by {label} {item}; sweep it or set it, not both")
    base, files = load_scenario_and_files(path, overrides)
    option = "--grid" if grid else "--range"
    if grid:
        values = [{k: _value(v) for k, v in combo.items()} for combo in grid_values(grid)]
    else:
        values = sample_values(ranges or {}, sample, method, base.run.seed)  # type: ignore[arg-type]
    variants = [[(option, f"{k}={_toml(v)}") for k, v in point_values.items()] for point_values in values]
    scenarios = load_scenario_variants(path, overrides, variants)[0]
    points = [Point(number, point_values, scenario, point_key(scenario))
              for number, (point_values, scenario) in enumerate(zip(values, scenarios))]
    source = {"scenario_file": str(path), "extends_chain": files, "overrides": [f"{label} {item}" for label, item in overrides]}
    return method, keys, points, source


def _value(text: str) -> Any:
    """A grid value's text as the value it stands for (TOML; a bare word is text)."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _toml(value: Any) -> str:
    from loansim.api import toml_value

    return toml_value(value, "sweep")


def run_points(points: list[Point], replications: int, store: Any, backend: Any, progress: bool) -> Any:
    """Every replication of every point that `store` (``report.sweep.Store``, or None) does
    not hold yet, stored as each finishes; returns the rows frame of the whole sweep
    (``rows_frame``)."""
    import sys

    from loansim.experiment import run_tasks
    from loansim.memory import check_fits

    backend.check()
    stored = {point.key: store.load(point.key) if store is not None else {} for point in points}
    todo = missing(points, replications, stored)
    if not backend.scheduler:
        for point in {p.key: p for p, _ in todo}.values():
            check_fits(point.scenario, backend.workers)
    if progress:
        have = len(points) * replications - len(todo)
        print(f"sweep: {len(points)} point(s) x {replications} replication(s)"
              + (f"; {have} already stored, running {len(todo)}" if have else ""), file=sys.stderr)

    def done(i: int, row: dict[str, Any]) -> None:
        point, r = todo[i]
        stored[point.key][r] = row
        if store is not None:
            store.save(point, r, row)

    def points_done() -> str:
        return f"{sum(len(stored[p.key]) >= replications for p in points)}/{len(points)} points"

    if todo:
        run_tasks(replication_row, [(point.scenario, r) for point, r in todo], workers=backend.workers,
                  backend=backend.backend, scheduler=backend.scheduler, progress=progress, done=done, status=points_done)
    return rows_frame(points, replications, stored)


@dataclass
class Sweep:
    """A finished sweep: its rows (one per point and replication) and summaries."""

    method: str
    keys: list[str]
    points_run: list[Point]
    rows: Any
    source: dict[str, Any]

    @property
    def scenario(self) -> Scenario:
        return self.points_run[0].scenario

    @property
    def table(self) -> Any:
        """One row per point and replication (``sweep.csv``)."""
        return self.rows

    @property
    def points(self) -> Any:
        """One row per point: swept values and each figure's mean and 95% interval."""
        return points_frame(self.rows, self.keys)

    def differences(self, reference: int = 0) -> Any:
        """Each point's paired difference from point `reference`, per figure, with its interval."""
        return differences_frame(self.rows, self.keys, reference)

    def write(self, folder: str | Path) -> Path:
        """Write the sweep's tables, charts and page into `folder` (as ``loansim sweep --out``)."""
        from loansim.report.sweep import write_sweep_guarded

        return write_sweep_guarded(Path(folder), self)
