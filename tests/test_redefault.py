"""Re-default after a modification: the status 3, 6, 9 and 12 months after the
modification's day, at 60 and 90 days past due (``policies._common.ReDefaults``)."""

from __future__ import annotations

from typing import Any

import pytest

from loansim.engine import RunResult, Simulation
from loansim.loans import CHARGED_OFF, REPAID
from loansim.scenario import Scenario

from conftest import make_scenario, one_loan, run, run_with_cash

HORIZONS = (3, 6, 9, 12)
KEYS = {"watched", "redefault_rate_by_end", *(f"watched_{k}m" for k in HORIZONS),
        *(f"redefault_rate_{d}_{k}m" for d in (60, 90) for k in HORIZONS)}
# The one loan falls due on day 0 of each month and its borrower has no cash: day 0 is
# missed, so the loan is 30 days past due at month 1's start (day 30) and restructured then;
# the new schedule starts that day.
RESTRUCTURE = {"entry_dpd": 30, "accept_prob": 1.0, "extension_months": 12}


def restructured(months: int, **params: Any) -> Scenario:
    return one_loan(months, principal=1200.0, apr=0.12, term=12, policies={"restructuring": {**RESTRUCTURE, **params}})


def rates(result: RunResult, policy: str, dpd: int) -> list[float]:
    return [result.policies[policy][f"redefault_rate_{dpd}_{k}m"] for k in HORIZONS]


def watched(result: RunResult, policy: str) -> list[float]:
    return [result.policies[policy][f"watched_{k}m"] for k in HORIZONS]


def test_a_loan_that_pays_nothing_after_its_modification_is_90_days_late_3_months_on() -> None:
    sim = Simulation(restructured(14))
    sim.advance(91)
    assert sim.loans.n_modified[0] == 1 and sim.loans.oldest_unpaid_day[0] == 30  # the day-30 instalment missed
    assert 90 - sim.loans.oldest_unpaid_day[0] == 60  # 60 days past due 2 months on
    result = sim.run()
    # 90 days past due on day 120 (3 months on); charged off at 120 days, on day 150, so
    # re-defaulted at 6, 9 and 12 months too.
    assert sim.loans.status[0] == CHARGED_OFF and sim.loans.charged_off_day[0] == 150
    assert rates(result, "restructuring", 90) == rates(result, "restructuring", 60) == [1.0] * 4
    assert watched(result, "restructuring") == [1.0] * 4
    assert result.policies["restructuring"]["redefault_rate_by_end"] == 1.0


def test_a_loan_that_pays_once_after_its_modification_is_60_but_not_90_days_late_3_months_on() -> None:
    sim, result = run_with_cash(restructured(14), lambda month: 10_000.0 if month == 1 else 0.0)
    assert sim.loans.oldest_unpaid_day[0] == -1 and sim.loans.charged_off_day[0] == 180  # the day-60 instalment missed
    assert rates(result, "restructuring", 60) == [1.0] * 4
    assert rates(result, "restructuring", 90) == [0.0, 1.0, 1.0, 1.0]


def test_a_loan_that_pays_after_its_modification_has_not_re_defaulted_nor_once_repaid() -> None:
    sim, result = run_with_cash(restructured(14, extension_months=0), lambda month: 0.0 if month == 0 else 10_000.0)
    assert sim.loans.n_modified[0] == 1 and sim.loans.status[0] == REPAID  # the 11 instalments left, all paid
    assert rates(result, "restructuring", 60) == rates(result, "restructuring", 90) == [0.0] * 4
    assert watched(result, "restructuring") == [1.0] * 4
    assert result.policies["restructuring"]["redefault_rate_by_end"] == 0.0


def test_horizons_past_the_run_s_end_do_not_count_the_modification() -> None:
    # Modified on day 30; a 9-month run ends on day 269: day 210 (6 months on) is within, day 300 is not.
    _, result = run(restructured(9))
    assert watched(result, "restructuring") == [1.0, 1.0, 0.0, 0.0]
    assert rates(result, "restructuring", 90) == [1.0, 1.0, 0.0, 0.0]
    assert result.policies["restructuring"]["watched"] == 1.0


def test_each_modification_counts_at_the_loan_s_status_k_months_after_it() -> None:
    # Modified on day 30, 30 days past due again on day 60 and modified again: on day 120
    # (3 months after the first) the loan is 60 days past due from day 60; on day 150 (3
    # months after the second), 90.
    sim, result = run(restructured(14, max_modifications=2, cooldown_months=1))
    block = result.policies["restructuring"]
    assert block["modifications"] == block["watched"] == block["watched_3m"] == 2
    assert block["redefault_rate_60_3m"] == 1.0 and block["redefault_rate_90_3m"] == 0.5
    # By the month of the modification (1 = the first): day 30 is in month 2, day 60 in month 3.
    first, second = sim.policies[0].redefaults.rates(2, 2), sim.policies[0].redefaults.rates(3, 3)
    assert first["watched_3m"] == second["watched_3m"] == 1
    assert (first["redefault_rate_60_3m"], first["redefault_rate_90_3m"]) == (1.0, 0.0)
    assert (second["redefault_rate_60_3m"], second["redefault_rate_90_3m"]) == (1.0, 1.0)


def test_a_deferred_loan_is_measured_from_the_day_the_deferral_is_granted() -> None:
    # Deferred on day 0, the schedule resumes on day 90 and the borrower has no cash: current
    # on day 90 (3 months on), 90 days past due on day 180, charged off on day 210.
    sim, result = run(one_loan(13, principal=1000.0, apr=0.12, term=12,
                               borrowers={"shocks": {"hardship": {"annual_rate": 100.0}}},
                               policies={"hardship_deferral": {"application_prob": 1.0, "documented_share": 1.0,
                                                               "cooldown_months": 1000, "months": 3}}))
    assert sim.loans.sched_start_day[0] == 90 and sim.loans.charged_off_day[0] == 210
    assert rates(result, "hardship_deferral", 60) == rates(result, "hardship_deferral", 90) == [0.0, 1.0, 1.0, 1.0]
    assert watched(result, "hardship_deferral") == [1.0] * 4


@pytest.mark.parametrize("policy", ["restructuring", "hardship_deferral"])
def test_both_policies_report_the_re_default_keys_and_not_the_old_ones(policy: str) -> None:
    _, result = run(make_scenario(run={"months": 6}, portfolio={"borrowers": 200}, policies={policy: {}}))
    block = result.policies[policy]
    assert {key for key in block if key.startswith(("redefault", "watched"))} == KEYS
    assert all(0 <= block[key] <= 1 for key in KEYS if key.startswith("redefault"))


def test_modifications_made_through_early_warning_count_in_the_policy_that_made_them() -> None:
    scenario = make_scenario(portfolio={"borrowers": 1500}, borrowers={"shocks": {"illness": {"annual_rate": 0.6, "expense": 1500.0}}},
                             policies={"restructuring": {"accept_prob": 0.0}, "early_warning": {"offer": "restructuring", "take_up_prob": 0.5}})
    _, result = run(scenario)
    block = result.policies["restructuring"]
    assert block["modifications"] == result.policies["early_warning"]["loans_given_the_offer"] > 0  # none of its own
    assert block["watched"] == block["modifications"] and block["watched_3m"] > 0
