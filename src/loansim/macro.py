"""Macro paths: the monthly unemployment rate a run goes through, and how it becomes hazards.

A scenario gives ``economy.unemployment_path`` as a list of monthly rates (shares) or as the
name of a built-in path below. A path shorter than the run holds its last value.

Built-in paths are stylised, not forecasts. Each is written as knots (month, rate) joined by
straight lines:

- ``steady``: 4% throughout.
- ``mild-recession``: 4% rising to 6% at month 12, back to 4.5% by month 30.
- ``adverse``: 4% rising to 7.5% at month 15, easing to 5.5% by month 36 (in the spirit of
  the Federal Reserve's adverse stress scenarios).
- ``severely-adverse``: 4% rising to 10% at month 18, easing only to 7.5% by month 36 (the
  Fed's severely adverse design: a rise of 3-5 points, or to 10%, peaking about six quarters in).
- ``pandemic-spike``: 3.5% jumping to 14.7% in two months, then 8% by month 8, 6% by month
  14 and 4.5% by month 24 (the shape of the US spring of 2020).

The engine keeps the population on the path: each month the job-loss hazard is chosen so
that, given the job-finding probability, the expected unemployment rate next month is the
path's. Borrowers differ in how exposed they are (``borrowers.job_loss_sensitivity``): the
hazard is shared out in proportion to sensitivity, so the expected number of job losses is
unchanged while riskier jobs are lost more often.
"""

from __future__ import annotations

import numpy as np

BUILT_IN_PATHS: dict[str, tuple[tuple[int, float], ...]] = {
    "steady": ((0, 0.04),),
    "mild-recession": ((0, 0.04), (12, 0.06), (30, 0.045)),
    "adverse": ((0, 0.04), (15, 0.075), (36, 0.055)),
    "severely-adverse": ((0, 0.04), (18, 0.10), (36, 0.075)),
    "pandemic-spike": ((0, 0.035), (2, 0.147), (8, 0.08), (14, 0.06), (24, 0.045)),
}


def unemployment_path(spec: str | list[float], months: int) -> np.ndarray:
    """Monthly unemployment rates for months 0..`months` (one more than the run, for targets)."""
    if isinstance(spec, str):
        knots = BUILT_IN_PATHS[spec]
        x, y = zip(*knots)
        return np.interp(np.arange(months + 1), x, y)
    rates = np.atleast_1d(np.asarray(spec, dtype=float))
    return np.concatenate([rates, np.full(max(0, months + 1 - rates.size), rates[-1])])[: months + 1]


def first_rate(spec: str | list[float]) -> float:
    """The unemployment rate a path starts from (month 0)."""
    return float(unemployment_path(spec, 0)[0])


def job_loss_hazard(unemployed_now: float, target_next: float, job_finding_prob: float) -> float:
    """Job-loss probability that makes the expected unemployment rate next month `target_next`.

    ``u' = u (1 - f) + (1 - u) s``, solved for ``s`` and kept within [0, 1].
    """
    if unemployed_now >= 1.0:
        return 0.0
    s = (target_next - unemployed_now * (1 - job_finding_prob)) / (1 - unemployed_now)
    return float(min(max(s, 0.0), 1.0))


def individual_hazards(hazard: float, sensitivity: np.ndarray, employed: np.ndarray) -> np.ndarray:
    """Share an aggregate hazard among the employed in proportion to their sensitivity."""
    mean = float(sensitivity.compress(employed).mean()) if employed.any() else 1.0
    scale = hazard / mean if mean > 0 else 0.0
    return np.minimum(sensitivity * np.float32(scale), np.float32(1.0))
