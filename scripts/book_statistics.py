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
from loansim.metrics import book_statistics
from loansim.scenario import load_scenario


def statistics(scenario, replication: int) -> dict[str, float]:
    """``loansim.metrics.book_statistics`` of one replication."""
    result = Simulation(scenario, replication).run()
    return book_statistics(result.metrics, result.monthly, result.transitions)


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
