"""Estimate the stochastic economy's parameters from the US monthly unemployment rate.

    PYTHONPATH=src python scripts/estimate_unemployment.py [--csv data/us-unemployment-monthly.csv]

Reads ``data/us-unemployment-monthly.csv`` (BLS LNS14000000 / FRED UNRATE, percent), keeps
January 1948 - December 2019 (the 2020 pandemic months are left out: see ``ESTIMATED`` in
``src/loansim/macro.py``) and prints:

1. the two-regime Markov-switching model of monthly changes, by maximum likelihood
   (Hamilton filter, several starting points, BFGS), with regime-specific mean change and
   volatility and a common pull towards the sample's mean rate (of the likelihood's two
   near-equal modes, the one whose regimes are rises and falls: ``fit_regimes``);
2. the AR(1) of the rate's deviation from its Hodrick-Prescott trend (lambda 129,600), used
   for deviations around a given path;
3. fit checks: statistics of the data against the same statistics of many paths simulated
   with ``loansim.macro`` from the estimates.

Uses numpy and scipy only.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, sparse
from scipy.sparse.linalg import spsolve
from scipy.special import expit

from loansim import macro

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "us-unemployment-monthly.csv"
FIRST, LAST = "1948-01-01", "2019-12-01"
HP_LAMBDA = 129_600.0

# NBER business-cycle peaks and troughs, 1948-2019 (months of recession: after the peak up to the trough).
NBER = [("1948-11", "1949-10"), ("1953-07", "1954-05"), ("1957-08", "1958-04"), ("1960-04", "1961-02"),
        ("1969-12", "1970-11"), ("1973-11", "1975-03"), ("1980-01", "1980-07"), ("1981-07", "1982-11"),
        ("1990-07", "1991-03"), ("2001-03", "2001-11"), ("2007-12", "2009-06")]


def load(path: Path = DATA) -> tuple[list[str], np.ndarray]:
    """Months (YYYY-MM) and rates (percent) of the sample."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if FIRST <= r["DATE"] <= LAST]
    return [r["DATE"][:7] for r in rows], np.array([float(r["UNRATE"]) for r in rows])


def unpack(theta: np.ndarray) -> dict[str, float]:
    """Unconstrained parameters to the model's (percentage points per month)."""
    return {"expansion_stay_prob": float(expit(theta[0])), "recession_stay_prob": float(expit(theta[1])),
            "expansion_mean_change_pp": float(theta[2]), "recession_mean_change_pp": float(theta[3]),
            "expansion_volatility_pp": float(math.exp(theta[4])), "recession_volatility_pp": float(math.exp(theta[5])),
            "mean_reversion": float(theta[6])}


def hamilton_filter(p: dict[str, float], rates: np.ndarray, level: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood of the monthly changes, and the predicted and filtered recession
    probabilities of each month after the first."""
    pe, pr = p["expansion_stay_prob"], p["recession_stay_prob"]
    mean = (p["expansion_mean_change_pp"], p["recession_mean_change_pp"])
    vol = (p["expansion_volatility_pp"], p["recession_volatility_pp"])
    k = p["mean_reversion"]
    rec = (1 - pe) / (2 - pe - pr)  # the first month's regime: the chain's long-run shares
    loglik = 0.0
    predicted, filtered = np.empty(rates.size - 1), np.empty(rates.size - 1)
    for t in range(1, rates.size):
        change, pull = rates[t] - rates[t - 1], -k * (rates[t - 1] - level)
        prior_r = rec * pr + (1 - rec) * (1 - pe)
        dens = [math.exp(-0.5 * ((change - mean[j] - pull) / vol[j]) ** 2) / (vol[j] * math.sqrt(2 * math.pi)) for j in (0, 1)]
        joint_e, joint_r = (1 - prior_r) * dens[0], prior_r * dens[1]
        total = joint_e + joint_r
        loglik += math.log(max(total, 1e-300))
        rec = joint_r / total if total > 0 else prior_r
        predicted[t - 1], filtered[t - 1] = prior_r, rec
    return loglik, predicted, filtered


def smoothed(p: dict[str, float], predicted: np.ndarray, filtered: np.ndarray) -> np.ndarray:
    """Kim's smoother: recession probabilities given the whole sample."""
    pe, pr = p["expansion_stay_prob"], p["recession_stay_prob"]
    P = np.array([[pe, 1 - pe], [1 - pr, pr]])
    out = np.empty_like(filtered)
    out[-1] = filtered[-1]
    for t in range(filtered.size - 2, -1, -1):
        f = np.array([1 - filtered[t], filtered[t]])
        nxt_s, nxt_p = np.array([1 - out[t + 1], out[t + 1]]), np.array([1 - predicted[t + 1], predicted[t + 1]])
        out[t] = (f * (P @ (nxt_s / nxt_p)))[1]
    return out


STARTS = ([4.0, 2.0, -0.03, 0.4, math.log(0.18), math.log(0.18), 0.02],
          [4.0, 2.0, -0.03, 0.2, math.log(0.15), math.log(0.3), 0.02],
          [3.5, 3.0, -0.02, 0.1, math.log(0.15), math.log(0.3), 0.0])


def fit_regimes(rates: np.ndarray) -> tuple[dict[str, float], float, list[tuple[float, dict[str, float]]]]:
    """Maximum-likelihood estimates, their log-likelihood, and every mode the starts reached.

    The likelihood has two modes of practically the same height: one splits the months by
    volatility (the noisy CPS months of 1948-59 against the rest), the other by direction
    (months of fast rises against slow falls). Of the modes within ``MODE_TOLERANCE`` of the
    highest, a likelihood ratio the data cannot tell apart, the one whose recession regime
    rises fastest is taken: it is the mode that describes recessions, the thing a stress
    model is for, and it matches the data's recession share and tails better (fit checks).
    """
    level = float(rates.mean())
    modes: list[tuple[float, dict[str, float]]] = []
    for start in STARTS:
        result = optimize.minimize(lambda th: -hamilton_filter(unpack(th), rates, level)[0], np.array(start), method="BFGS")
        p = unpack(result.x)
        if p["recession_mean_change_pp"] < p["expansion_mean_change_pp"]:
            continue  # the same mode with the regimes' names swapped
        if all(abs(p["recession_mean_change_pp"] - q["recession_mean_change_pp"]) > 1e-3 for _, q in modes):
            modes.append((-float(result.fun), p))
    best = max(loglik for loglik, _ in modes)
    loglik, p = max(((ll, q) for ll, q in modes if ll >= best - MODE_TOLERANCE), key=lambda m: m[1]["recession_mean_change_pp"])
    p["mean_reversion_level"] = level / 100
    return p, loglik, modes


MODE_TOLERANCE = 1.0  # log-likelihood units


def fit_deviation(rates: np.ndarray) -> dict[str, float]:
    """AR(1) of the rate's deviation from its Hodrick-Prescott trend (percentage points)."""
    n = rates.size
    second = sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n))
    trend = spsolve((sparse.identity(n) + HP_LAMBDA * (second.T @ second)).tocsc(), rates)
    cycle = rates - trend
    phi = float(cycle[1:] @ cycle[:-1] / (cycle[:-1] @ cycle[:-1]))
    return {"deviation_persistence": phi, "deviation_volatility_pp": float(np.std(cycle[1:] - phi * cycle[:-1], ddof=1))}


def simulate(p: dict[str, float], start: float, months: int, paths: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Paths (percent) and regimes of the estimated model, from `start` percent, with
    ``loansim.macro`` (the code a run uses)."""
    normals = np.random.default_rng(seed).standard_normal((paths, months, 2))
    rates, recession = macro.regime_paths(
        start / 100, normals, macro.long_run_recession_share(p["expansion_stay_prob"], p["recession_stay_prob"]),
        (p["expansion_stay_prob"], p["recession_stay_prob"]),
        (p["expansion_mean_change_pp"] / 100, p["recession_mean_change_pp"] / 100),
        (p["expansion_volatility_pp"] / 100, p["recession_volatility_pp"] / 100),
        p["mean_reversion"], p["mean_reversion_level"])
    return 100 * rates, recession


def statistics(paths: np.ndarray) -> dict[str, Any]:
    """Fit statistics of paths (rows, percent): 24-month changes and the peak rise within 36
    months, over every starting month."""
    changes = (paths[:, 24:] - paths[:, :-24]).ravel()
    n = paths.shape[1] - 36
    ahead = np.max(np.stack([paths[:, h:h + n] for h in range(1, 37)]), axis=0)
    rise = (ahead - paths[:, :n]).ravel()
    return {"change_24m_percentiles_5_25_50_75_95_99": np.percentile(changes, [5, 25, 50, 75, 95, 99]).round(2).tolist(),
            "change_24m_sd": round(float(changes.std()), 2),
            "peak_rise_36m_mean": round(float(rise.mean()), 2), "peak_rise_36m_q90": round(float(np.percentile(rise, 90)), 2),
            "peak_rise_36m_q99": round(float(np.percentile(rise, 99)), 2)}


def nber_share(months: list[str]) -> float:
    """Share of `months` in NBER recessions."""
    inside = [any(peak < m <= trough for peak, trough in NBER) for m in months]
    return sum(inside) / len(inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DATA)
    parser.add_argument("--paths", type=int, default=2000, help="simulated paths for the fit checks")
    args = parser.parse_args()
    months, rates = load(args.csv)
    print(f"sample: {months[0]} to {months[-1]}, {rates.size} months, mean rate {rates.mean():.2f}%")
    p, loglik, modes = fit_regimes(rates)
    print("\nmodes of the likelihood (log-likelihood: parameters):")
    for ll, q in modes:
        print(f"  {ll:.2f}: " + ", ".join(f"{k} {v:.4f}" for k, v in q.items()))
    _, predicted, filtered = hamilton_filter(p, rates, 100 * p["mean_reversion_level"])
    p.update(fit_deviation(rates))
    print(f"\ntaken: the mode at log-likelihood {loglik:.2f}; parameters (ESTIMATED in src/loansim/macro.py):")
    for key, value in p.items():
        print(f'    "{key}": {value:.4f},')
    share = macro.long_run_recession_share(p["expansion_stay_prob"], p["recession_stay_prob"])
    print(f"\nexpected spell: expansion {1 / (1 - p['expansion_stay_prob']):.0f} months, "
          f"recession {1 / (1 - p['recession_stay_prob']):.1f} months; long-run recession share {share:.3f}")
    paths, recession = simulate(p, rates[0], rates.size, args.paths)
    data, model = statistics(rates[None, :]), statistics(paths)
    print("\nfit checks (data 1948-2019 | model, "
          f"{args.paths} simulated paths of {rates.size} months from {rates[0]:.1f}%):")
    print(f"  months in recession: NBER {nber_share(months):.3f}, smoothed probability > 0.5 "
          f"{float(np.mean(smoothed(p, predicted, filtered) > 0.5)):.3f} | model {float(recession.mean()):.3f}")
    for key in data:
        print(f"  {key}: {data[key]} | {model[key]}")


if __name__ == "__main__":
    main()
