"""Paired comparison of scenarios run on the same seeds.

Replication ``r`` of every scenario draws from the streams keyed by ``(run.seed, r, …)``
(``loansim.rng``), so the replications of two scenarios run on the same seed see the same
borrowers, the same economy and the same shocks wherever the scenarios agree: common random
numbers. The effect of what differs is then measured replication by replication: for each
metric, ``d_r = other_r − base_r``, and its mean with a Student-t 95% interval from the
``d_r`` (``metrics.mean_ci95``). The spread of ``d_r`` leaves out the noise the two runs
share, so the paired interval is much narrower than the two scenarios' own intervals: two
intervals that overlap say nothing about whether a difference is real; the paired one does.

Pairing needs the same ``run.seed``, ``run.months`` and number of replications; a
comparison that cannot be paired is refused (``pairing_problems``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from loansim.errors import UserError
from loansim.experiment import Experiment
from loansim.metrics import mean_ci95

PAIRED_KEYS: tuple[tuple[str, Callable[[Any], int]], ...] = (("run.seed", lambda s: s.run.seed), ("run.months", lambda s: s.run.months),
               ("run.replications", lambda s: s.run.replications))
"""What must agree for replications to be paired one to one."""


def pairing_problems(labels: list[str], scenarios: list[Any]) -> list[str]:
    """Why `scenarios` (the first is the base) cannot be compared pair by pair; empty if they can."""
    problems = []
    for key, get in PAIRED_KEYS:
        values = [get(s) for s in scenarios]
        if len(set(values)) > 1:
            shown = ", ".join(f"{label}: {value}" for label, value in zip(labels, values))
            problems.append(f"{key} differs ({shown}); a paired comparison runs every scenario on the same "
                            f"seed, months and replications: set it alike in the files, or with --set/--seed/--replications")
    return problems


def check_pairable(labels: list[str], scenarios: list[Any]) -> None:
    """Raise a ``UserError`` naming every key that keeps `scenarios` from being paired."""
    problems = pairing_problems(labels, scenarios)
    if problems:
        raise UserError("cannot compare: " + "\n".join(problems))


@dataclass
class Row:
    """One figure of one scenario, and its paired difference from the base (None for the base,
    or for a figure the base does not have)."""

    scenario: str
    kind: str  # "metric" or "policy:<name>"
    name: str
    mean: float
    ci_low: float | None
    ci_high: float | None
    difference: float | None = None
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    relative_change: float | None = None
    significant: bool | None = None


def paired_rows(labels: list[str], experiments: list[Experiment]) -> list[Row]:
    """Every metric and policy figure of every scenario, with the paired difference of each
    other scenario from the base (the first)."""
    base = _figures(experiments[0])
    rows = []
    for label, experiment in zip(labels, experiments):
        figures = base if experiment is experiments[0] else _figures(experiment)
        for (kind, name), values in figures.items():
            row = Row(label, kind, name, *estimate(values))
            if experiment is not experiments[0] and (kind, name) in base:
                _difference(row, values, base[(kind, name)])
            rows.append(row)
    return rows


def estimate(values: np.ndarray) -> tuple[float, float | None, float | None]:
    """Mean across replications and its 95% interval (None, None with one replication)."""
    own = mean_ci95(values)
    low, high = own["ci95"] or (None, None)
    return own["mean"], low, high


def paired_difference(values: np.ndarray, base: np.ndarray) -> tuple[float, float | None, float | None, bool | None]:
    """The paired difference of `values` from `base` (one per replication, in replication
    order): its mean, 95% interval and whether the interval excludes 0 (None, None, None
    with one replication)."""
    mean, low, high = estimate(values - base)
    return mean, low, high, None if low is None or high is None else bool(low > 0 or high < 0)


def set_difference(row: Any, values: np.ndarray, base: np.ndarray) -> None:
    """Set `row`'s paired difference of `values` from `base` (``paired_difference``):
    ``difference``, its interval and whether the interval excludes 0."""
    row.difference, row.difference_ci_low, row.difference_ci_high, row.significant = paired_difference(values, base)


def _difference(row: Row, values: np.ndarray, base: np.ndarray) -> None:
    set_difference(row, values, base)
    base_mean, difference = float(base.mean()), row.difference
    row.relative_change = difference / base_mean if difference is not None and base_mean != 0 else None


def _figures(experiment: Experiment) -> dict[tuple[str, str], np.ndarray]:
    """Each metric and policy figure across replications, in replication order."""
    runs = experiment.runs
    out = {("metric", name): np.array([run.metrics[name] for run in runs], dtype=float) for name in runs[0].metrics}
    for policy, block in runs[0].policies.items():
        for key in block:
            out[(f"policy:{policy}", key)] = np.array([run.policies[policy][key] for run in runs], dtype=float)
    return out


def unpaired_overlap(rows: list[Row], base_label: str) -> dict[tuple[str, str, str], bool]:
    """For each other scenario's figure with a difference: whether its own interval and the
    base's overlap (what a reader comparing two separate runs would look at)."""
    base = {(r.kind, r.name): r for r in rows if r.scenario == base_label}
    out = {}
    for r in rows:
        b = base.get((r.kind, r.name))
        if r.scenario == base_label or b is None:
            continue
        low, high, base_low, base_high = r.ci_low, r.ci_high, b.ci_low, b.ci_high
        if low is None or high is None or base_low is None or base_high is None:
            continue
        out[(r.scenario, r.kind, r.name)] = bool(low <= base_high and base_low <= high)
    return out
