"""The statistics a book is judged by against real ones, for one scenario.

    PYTHONPATH=src python scripts/book_statistics.py scenarios/baseline.toml [KEY.PATH=VALUE ...]

Per replication, then mean and standard deviation across replications: missed due dates,
default rate, the annualised net charge-off rate (charge-offs less recoveries over the
average principal outstanding: over the whole run, its first year and months 13-24),
loans 30+ days past due as a share of active loans (mean from month 7), the month-end roll
and cure rates out of 1-29, 30-59 and 60-89 days past due, and median liquid savings in
months of base income (``median_savings_months``) at a few months. The figures the
README's "Behaviour against real books" quotes come from this script.
"""

from __future__ import annotations

import sys

import numpy as np

from loansim.engine import Simulation
from loansim.metrics import FROM_STATES, STATES
from loansim.scenario import load_scenario

SAVINGS_MONTHS = (1, 12, 24, 36, 60, 96)


def statistics(scenario, replication: int) -> dict[str, float]:
    result = Simulation(scenario, replication).run()
    m = result.monthly
    net = m["principal_charged_off"] - m["recoveries"]
    balance = sum(m[f"balance_{b}"] for b in ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"))
    months = len(net)
    rate = lambda a, b: 12 * net[a:b].sum() / balance[a:b].sum() if b <= months else float("nan")  # noqa: E731
    behind = (m["n_dpd_30_59"] + m["n_dpd_60_89"] + m["n_dpd_90_plus"]) / np.maximum(m["n_active"], 1)
    moved = result.transitions.sum(axis=0)  # from-states x to-states, over months
    roll = lambda a, b: moved[FROM_STATES.index(a), STATES.index(b)] / max(moved[FROM_STATES.index(a)].sum(), 1)  # noqa: E731
    out = {
        "missed_payment_rate": result.metrics["missed_payment_rate"],
        "default_rate": result.metrics["default_rate"],
        "net_charge_off_rate_annual": rate(0, months),
        "net_charge_off_rate_year_1": rate(0, 12),
        "net_charge_off_rate_months_13_24": rate(12, 24),
        "share_30_plus_dpd": float(behind[6:].mean()),
        "roll_1_29_to_30_59": roll("dpd_1_29", "dpd_30_59"),
        "cure_30_59_to_current": roll("dpd_30_59", "current"),
        "roll_30_59_to_60_89": roll("dpd_30_59", "dpd_60_89"),
        "roll_60_89_to_90_plus": roll("dpd_60_89", "dpd_90_plus"),
    }
    out.update({f"median_savings_months_{k}": float(m["median_savings_months"][k - 1]) for k in SAVINGS_MONTHS if k <= months})
    return out


def main(argv: list[str]) -> None:
    scenario = load_scenario(argv[0], argv[1:])
    rows = [statistics(scenario, r) for r in range(scenario.run.replications)]
    print(f"{scenario.name}: {scenario.portfolio.borrowers:,} borrowers x {scenario.run.months} months x "
          f"{len(rows)} replication(s); mean (sd across replications)")
    for key in rows[0]:
        values = np.array([row[key] for row in rows])
        print(f"  {key:<34}{values.mean():9.4f}  ({values.std():.4f})")


if __name__ == "__main__":
    main(sys.argv[1:])
