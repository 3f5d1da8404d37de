"""Macro paths: the monthly unemployment rate a run goes through, and how it becomes hazards.

A scenario gives ``economy.unemployment_path`` as the name of a built-in path below, one
rate, or a list of monthly rates (shares); or ``[economy.stochastic]`` draws a path for each
replication (``stochastic_path``). A path shorter than the run holds its last value.

**Built-in paths** are stylised, not forecasts. Each is written as knots (month, change in
the rate since month 0) joined by straight lines, and starts where the book's economy
starts, ``economy.initial_unemployment`` (5% by default), so a stress never begins by
improving the economy:

- ``steady``: flat at the starting rate.
- ``mild-recession``: +2 points at month 12, back to +0.5 by month 30.
- ``adverse``: +3 points at month 15, easing to +1.5 by month 36 (in the spirit of the
  Federal Reserve's adverse stress scenarios).
- ``severely-adverse``: +5.5 points at month 18, easing only to +3 by month 36. The Federal
  Reserve's severely adverse scenarios raise unemployment by 3-5 points, or to about 10%,
  peaking about six quarters in; in 2007-09 US unemployment went from 5.0% to 10.0%
  (BLS LNS14000000) and was still 9% two years after the peak.
- ``pandemic-spike``: +11.2 points in two months, then +4.5 by month 8, +2.5 by month 14 and
  +1 by month 24 (the shape of the US spring of 2020: 3.5% to 14.7% in April 2020).

**The stochastic economy** (``stochastic_path``) is a two-regime Markov-switching model of
monthly changes in the unemployment rate, estimated on the US rate (``ESTIMATED``). Each
month the economy is in expansion or recession; it stays in its regime with the regime's
stay probability, and the rate changes by

    u[t] - u[t-1] = mean_change[S[t]] - mean_reversion * (u[t-1] - mean_reversion_level) + volatility[S[t]] * z[t]

with ``z`` standard normal. Recessions are short, with a large mean rise and a large
volatility; expansions are long, with a small mean fall: unemployment rises fast and falls
slowly. The weak pull towards the long-run level keeps long runs stationary. Around a path
(``around``), the rate is the path plus a deviation that follows an AR(1),
``d[t] = deviation_persistence * d[t-1] + deviation_volatility * z[t]``, ``d[0] = 0``. Either
way the rate is kept within [``MIN_RATE``, ``MAX_RATE``] by reflection at the bounds.

**Hazards.** The engine keeps the population on the path: each month the job-loss hazard
is chosen so that, given the month's job-finding probability, the expected unemployment rate
next month is the path's. Job finding falls as unemployment rises
(``job_finding_prob``). Borrowers differ in how exposed they are
(``borrowers.job_loss_sensitivity``): the hazard is shared out in proportion to sensitivity,
so the expected number of job losses is unchanged while riskier jobs are lost more often.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from loansim.rng import Streams
    from loansim.scenario.schema import Economy

MIN_RATE, MAX_RATE = 0.01, 0.30
"""The range a stochastic unemployment rate is kept in (by reflection): below the lowest US
monthly rate since 1948 (2.5%, May 1953) and above the highest (14.7%, April 2020) by far."""

DEFAULT_INITIAL_UNEMPLOYMENT = 0.05
"""Where a book's economy starts: US unemployment averaged 4.6% in 2007 and 5.7% over
1948-2019 (BLS LNS14000000); 5% is a round value between a good year and the long run."""

DEFAULT_JOB_FINDING_ELASTICITY = -0.7
"""Job finding against unemployment: the US monthly job-finding rate fell from about 0.28 in
2007 to about 0.17 in 2009-10 while unemployment doubled from 5% to 10% (Shimer 2012,
"Reassessing the ins and outs of unemployment", Review of Economic Dynamics 15(2); BLS CPS
labour-force flows): ln(0.17 / 0.28) / ln(2) = -0.72."""

ESTIMATED: dict[str, float] = {
    # Maximum likelihood (Hamilton filter) on the US unemployment rate, monthly, January 1948 -
    # December 2019 (data/us-unemployment-monthly.csv: BLS LNS14000000, FRED UNRATE).
    # Reproduce with: PYTHONPATH=src python scripts/estimate_unemployment.py
    # The 2020 pandemic months are left out: a 10-point rise in one month, from a cause
    # outside the business cycle, would on its own set the recession regime's volatility;
    # ``pandemic-spike`` is the path for that kind of shock. The likelihood has two modes of
    # the same height (log-likelihood 242.46 and 242.68): one splits months by volatility
    # (the noisy CPS months of 1948-59), this one by direction (fast rises, slow falls); the
    # script takes the latter (its ``fit_regimes`` says why), which also fits the data's
    # recession share and the tails of its 24-month changes better.
    "expansion_stay_prob": 0.9828,
    "recession_stay_prob": 0.9008,
    "expansion_mean_change_pp": -0.0365,
    "recession_mean_change_pp": 0.2150,
    "expansion_volatility_pp": 0.1560,
    "recession_volatility_pp": 0.3158,
    "mean_reversion": 0.0170,
    "mean_reversion_level": 0.0573,  # the sample's mean rate, fixed (not estimated)
    # AR(1) on the cycle of the same sample about its Hodrick-Prescott trend (lambda 129,600,
    # the monthly value of Ravn and Uhlig 2002): how far the rate strays from a smooth path.
    "deviation_persistence": 0.9670,
    "deviation_volatility_pp": 0.2007,
}

BUILT_IN_PATHS: dict[str, tuple[tuple[int, float], ...]] = {
    "steady": ((0, 0.0),),
    "mild-recession": ((0, 0.0), (12, 0.02), (30, 0.005)),
    "adverse": ((0, 0.0), (15, 0.03), (36, 0.015)),
    "severely-adverse": ((0, 0.0), (18, 0.055), (36, 0.03)),
    "pandemic-spike": ((0, 0.0), (2, 0.112), (8, 0.045), (14, 0.025), (24, 0.01)),
}
"""Knots (month, change in the unemployment rate since month 0, as a share)."""


def unemployment_path(spec: str | float | list[float], months: int, start: float = DEFAULT_INITIAL_UNEMPLOYMENT) -> np.ndarray:
    """Monthly unemployment rates for months 0..`months` (one more than the run, for targets):
    a built-in path's name (changes added to `start`), one rate, or a list of rates."""
    if isinstance(spec, str):
        x, y = zip(*BUILT_IN_PATHS[spec])
        return start + np.interp(np.arange(months + 1), x, y)
    rates = np.atleast_1d(np.asarray(spec, dtype=float))
    return np.concatenate([rates, np.full(max(0, months + 1 - rates.size), rates[-1])])[: months + 1]


def first_rate(spec: str | float | list[float], start: float = DEFAULT_INITIAL_UNEMPLOYMENT) -> float:
    """The unemployment rate a path starts from (month 0)."""
    return float(unemployment_path(spec, 0, start)[0])


def reflect(rate: np.ndarray, low: float = MIN_RATE, high: float = MAX_RATE) -> np.ndarray:
    """`rate` folded into [`low`, `high`]: what crosses a bound is reflected back from it."""
    width = high - low
    folded = np.mod(np.asarray(rate, dtype=float) - low, 2 * width)
    return low + np.where(folded > width, 2 * width - folded, folded)


def long_run_recession_share(expansion_stay_prob: float, recession_stay_prob: float) -> float:
    """Share of months the regime chain spends in recession in the long run."""
    leave_e, leave_r = 1 - expansion_stay_prob, 1 - recession_stay_prob
    return leave_e / (leave_e + leave_r)


def regime_paths(start: float, normals: np.ndarray, recession_prob0: float, stay: tuple[float, float],
                 mean_change: tuple[float, float], volatility: tuple[float, float],
                 mean_reversion: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Unemployment paths of the two-regime model (module docstring), in shares.

    `normals` has shape (paths, months + 1, 2): column 0 decides the regime (month 0's is a
    recession with probability `recession_prob0`; later, a regime is left when its stay
    probability is exceeded), column 1 drives the month's change. `stay`, `mean_change` and
    `volatility` are (expansion, recession); changes and volatilities are shares per month.
    Returns the rates and the regimes (True: recession), each (paths, months + 1); month 0's
    rate is `start`.
    """
    # A normal below ndtri(p) has probability p; ndtri(1) = inf and ndtri(0) = -inf keep 0 and 1 exact.
    w, z = normals[..., 0], normals[..., 1]
    paths, steps = w.shape
    from scipy.special import ndtri  # imported when a stochastic path is drawn, not with loansim

    stay_e, stay_r = ndtri(stay[0]), ndtri(stay[1])
    rates, recession = np.empty((paths, steps)), np.empty((paths, steps), dtype=np.bool_)
    rates[:, 0], recession[:, 0] = start, w[:, 0] < ndtri(recession_prob0)
    mean, vol = np.asarray(mean_change), np.asarray(volatility)
    for t in range(1, steps):  # each month depends on the one before: a loop over months, not agents
        was = recession[:, t - 1]
        recession[:, t] = np.where(was, w[:, t] < stay_r, w[:, t] >= stay_e)
        k = recession[:, t].astype(np.intp)
        step = mean[k] - mean_reversion * (rates[:, t - 1] - level) + vol[k] * z[:, t]
        rates[:, t] = reflect(rates[:, t - 1] + step)
    return rates, recession


def deviation_paths(path: np.ndarray, normals: np.ndarray, persistence: float, volatility: float) -> np.ndarray:
    """`path` (months + 1 rates) plus an AR(1) deviation that starts at 0, driven by
    `normals` (paths, months + 1), kept within the valid range; shape (paths, months + 1)."""
    deviation = np.zeros(normals.shape)
    for t in range(1, normals.shape[1]):
        deviation[:, t] = persistence * deviation[:, t - 1] + volatility * normals[:, t]
    return reflect(path[None, :] + deviation)


def job_finding_prob(base_prob: float, rate: np.ndarray | float, start: float, elasticity: float) -> np.ndarray:
    """The job-finding probability at unemployment `rate`: `base_prob` at the `start` rate,
    times (rate / start) ** `elasticity`, within [0, 1]. Rates below ``MIN_RATE`` count as
    ``MIN_RATE`` (a path may start at 0)."""
    ratio = np.maximum(rate, MIN_RATE) / max(start, MIN_RATE)
    return np.clip(base_prob * ratio ** elasticity, 0.0, 1.0)


def job_loss_hazard(unemployed_now: float, target_next: float, job_finding_prob: float) -> float:
    """Job-loss probability that makes the expected unemployment rate next month `target_next`.

    ``u' = u (1 - f) + (1 - u) s``, solved for ``s`` and kept within [0, 1].
    """
    if unemployed_now >= 1.0:
        return 0.0
    s = (target_next - unemployed_now * (1 - job_finding_prob)) / (1 - unemployed_now)
    return float(min(max(s, 0.0), 1.0))


def individual_hazards(hazard: float, sensitivity: np.ndarray, employed: np.ndarray,
                       among: slice | np.ndarray = slice(None)) -> np.ndarray:
    """Share an aggregate hazard among the employed in proportion to their sensitivity,
    scaled so that the employed of `among` (the book, without applicants) face `hazard` on average."""
    working = employed[among]
    mean = float(sensitivity[among].compress(working).mean()) if working.any() else 1.0
    scale = hazard / mean if mean > 0 else 0.0
    return np.minimum(sensitivity * np.float32(scale), np.float32(1.0))


STREAM = "economy.unemployment"
"""The random stream of a replication's unemployment path: drawn once, the whole path at once."""


def economy_path(economy: Economy, months: int, streams: Streams | None = None) -> np.ndarray | None:
    """The unemployment rates of months 0..`months` of one replication (None without a path).

    A stochastic path draws one (months + 1) × 2 array of standard normals from the stream
    ``STREAM`` of `streams` (period 0): rows are months, so a longer run extends a shorter
    one's path, and no other process shares the stream, so two scenarios that differ only in
    policy see the same economy in the same replication.
    """
    start = economy.initial_unemployment
    st = economy.stochastic
    if st is None or not st.enabled:
        return None if economy.unemployment_path is None else unemployment_path(economy.unemployment_path, months, start)
    if streams is None:
        raise ValueError("a stochastic economy needs the replication's streams")
    normals = streams.generator(STREAM, 0).standard_normal((1, months + 1, 2))
    if st.around is not None:
        around = unemployment_path(st.around, months, start)
        return deviation_paths(around, normals[..., 1], st.deviation_persistence, st.deviation_volatility_pp / 100)[0]
    first = {"expansion": 0.0, "recession": 1.0}.get(st.initial_regime)
    rates, _ = regime_paths(
        start, normals, long_run_recession_share(st.expansion_stay_prob, st.recession_stay_prob) if first is None else first,
        (st.expansion_stay_prob, st.recession_stay_prob),
        (st.expansion_mean_change_pp / 100, st.recession_mean_change_pp / 100),
        (st.expansion_volatility_pp / 100, st.recession_volatility_pp / 100),
        st.mean_reversion, st.mean_reversion_level)
    return rates[0]
