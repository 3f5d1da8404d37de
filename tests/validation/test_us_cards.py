"""scenarios/validation/us-cards-2007-2010.toml against the Federal Reserve's credit-card
charge-off rates, 2007-2010 (its header gives the source and the tolerance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loansim.experiment import run_experiment
from loansim.metrics import net_charge_off_rate
from loansim.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "validation" / "us-cards-2007-2010.toml"
PEAK, PEAK_TOLERANCE = 0.107, 0.02  # card net charge-offs at their peak, early 2010
START_RANGE = (0.025, 0.045)  # 2007: 3.3% for the year
SEASONED = 6  # a new book charges nothing off for four months: 2007 is read from its seventh month


def annualised_charge_off_rates(monthly: dict[str, np.ndarray]) -> np.ndarray:
    """Net charge-offs over each 12 months on the average balance outstanding in them."""
    return np.array([net_charge_off_rate(monthly, i, i + 12) for i in range(len(monthly["n_active"]) - 11)])


@pytest.mark.slow
def test_charge_offs_rise_with_unemployment_as_in_2007_2010() -> None:
    experiment = run_experiment(load_scenario(SCENARIO), workers=2, progress=False)
    rates = np.mean([annualised_charge_off_rates(run.monthly) for run in experiment.runs], axis=0)
    assert START_RANGE[0] <= rates[SEASONED] <= START_RANGE[1], f"2007: {rates[SEASONED]:.2%}"
    assert abs(rates.max() - PEAK) <= PEAK_TOLERANCE, f"peak: {rates.max():.2%} against {PEAK:.1%}"
    assert rates.argmax() > 12  # the peak comes after unemployment has risen, not at the start
