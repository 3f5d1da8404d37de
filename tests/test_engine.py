"""Engine behaviour: closed-form limits, timing of default and charge-off, step order."""

from __future__ import annotations

import numpy as np

from loansim.engine import HOOKS, Simulation
from loansim.loans import CHARGED_OFF, DAYS_PER_MONTH, REPAID, round_cents
from loansim.policies import REGISTRY, Policy

from conftest import make_scenario, one_loan, run, run_with_cash


def test_no_income_risk_and_ample_savings_means_nobody_misses() -> None:
    scenario = make_scenario(
        borrowers={"income_monthly": 3500, "initial_savings_months": 50, "monthly_forget_prob": 0,
                   "spending_noise_sd": 0, "target_buffer_months": 50},
        economy={"monthly_job_loss_prob": 0},
        policies={"late_fee": {}},
    )
    sim, result = run(scenario)
    assert result.metrics["missed_payment_rate"] == 0
    assert result.metrics["default_rate"] == 0
    assert result.metrics["prepaid_or_repaid_rate"] == 1.0  # run.months == term_months
    assert np.all(sim.loans.status == REPAID)
    assert result.metrics["fee_income"] == 0


def test_zero_income_defaults_and_charges_off_on_schedule() -> None:
    scenario = make_scenario(
        borrowers={"income_monthly": 0, "initial_savings_months": 0},
        lender={"default_dpd": 90, "charge_off_dpd": 120, "recovery_rate": 0.15, "recovery_delay_months": 3},
    )
    sim, result = run(scenario)
    L = sim.loans
    # First instalment is due on the loan's due day in month 0 and is never paid:
    # 90 days later the loan defaults, 120 days later it is charged off.
    assert np.array_equal(L.defaulted_day, L.due_day + 90)
    assert np.array_equal(L.charged_off_day, L.due_day + 120)
    assert np.all(L.status == CHARGED_OFF)
    assert np.all(L.principal_charged_off == L.disbursed)
    assert result.metrics["missed_payment_rate"] == 1.0
    assert result.metrics["default_rate"] == 1.0
    # Recoveries: 15% of each charged-off principal, three months after charge-off.
    assert np.array_equal(L.recoveries, round_cents(L.disbursed * 0.15))
    monthly = result.monthly
    charge_off_month = (L.due_day[0] + 120) // DAYS_PER_MONTH
    assert monthly["new_charge_offs"].sum() == L.n
    assert monthly["recoveries"][: charge_off_month + 3].sum() == 0
    assert abs(result.metrics["net_loss"] - (L.disbursed.sum() - L.recoveries.sum()) / 100) < 1e-6


def test_default_threshold_need_not_be_a_whole_number_of_months() -> None:
    scenario = make_scenario(
        borrowers={"income_monthly": 0, "initial_savings_months": 0},
        lender={"default_dpd": 45, "charge_off_dpd": 100},
    )
    sim, _ = run(scenario)
    assert np.array_equal(sim.loans.defaulted_day, sim.loans.due_day + 45)
    assert np.array_equal(sim.loans.charged_off_day, sim.loans.due_day + 100)


def test_forgetful_borrowers_with_cash_pay_when_they_notice() -> None:
    notice = 6
    scenario = make_scenario(
        run={"months": 30},
        borrowers={"income_monthly": 3500, "initial_savings_months": 50, "monthly_forget_prob": 0.1,
                   "target_buffer_months": 50, "spending_noise_sd": 0, "forget_notice_days": notice},
        economy={"monthly_job_loss_prob": 0},
    )
    sim = Simulation(scenario)
    deepest = []
    sim.hooks.add("day_end", lambda sim, day: deepest.append(int((day - sim.loans.oldest_unpaid_day[sim.loans.oldest_unpaid_day >= 0]).max(initial=0))))
    result = sim.run()
    assert 0.08 < result.metrics["missed_payment_rate"] < 0.12
    assert max(deepest) == notice - 1  # paid on the day they notice, before that day ends behind
    assert result.metrics["default_rate"] == 0
    repaid = sim.loans.status == REPAID
    assert repaid.mean() > 0.99
    missed_when_repaid = sim.loans.n_missed[repaid]
    assert (missed_when_repaid == 0).any() and (missed_when_repaid > 0).any()


def test_late_fee_is_billed_once_per_missed_due_date_up_to_its_cap() -> None:
    sim, _ = run(make_scenario(policies={"late_fee": {"flat_fee": 15}}))
    assert np.array_equal(sim.loans.fees_billed, sim.loans.n_missed * 1500)
    sim, result = run(make_scenario(policies={"late_fee": {"flat_fee": 15, "max_fees_per_loan": 40}}))
    assert sim.loans.fees_billed.max() == 4000
    assert result.policies["late_fee"]["actions"] == np.count_nonzero(sim.loans.n_missed) + np.count_nonzero(sim.loans.n_missed >= 2) + np.count_nonzero(sim.loans.n_missed >= 3)


def test_penalty_interest_grows_arrears() -> None:
    """Under common random numbers penalty interest strictly raises defaults and losses (at
    3,000 borrowers the effect is 0.17-0.27 points of defaults for seeds 1-5 and 11)."""
    base = make_scenario(portfolio={"borrowers": 3000})
    penal = make_scenario(portfolio={"borrowers": 3000}, policies={"late_fee": {"flat_fee": 0, "penalty_monthly_rate": 0.02}})
    _, without = run(base)
    sim, with_penalty = run(penal)
    assert without.ledger["fees_billed"] == 0
    assert with_penalty.ledger["fees_billed"] > 0
    assert with_penalty.metrics["default_rate"] > without.metrics["default_rate"]
    assert with_penalty.metrics["loss_rate"] > without.metrics["loss_rate"]


def test_hooks_run_in_the_documented_order() -> None:
    calls: list[tuple[int, str]] = []

    class Tracer(Policy):
        name = "tracer"

        def setup(self, sim: Simulation) -> None:
            for hook in HOOKS:
                sim.hooks.add(hook, lambda sim, *args, hook=hook: calls.append((int(sim.env.now), hook)))

    REGISTRY["tracer"] = Tracer
    try:
        scenario = make_scenario(run={"months": 2}, borrowers={"income_monthly": 0, "initial_savings_months": 0},
                                 policies={"tracer": {}})
        run(scenario)
    finally:
        del REGISTRY["tracer"]
    day0 = [hook for day, hook in calls if day == 0]
    assert day0 == ["before_month", "month_start", "day_start", "before_due", "missed", "day_end"]
    day29 = [hook for day, hook in calls if day == 29]
    assert day29 == ["day_start", "before_due", "missed", "day_end", "month_end"]
    assert [hook for day, hook in calls if day == 30][:2] == ["before_month", "month_start"]


def test_billing_happens_between_before_due_and_missed() -> None:
    seen: dict[str, int] = {}

    class Probe(Policy):
        name = "probe"

        def setup(self, sim: Simulation) -> None:
            sim.hooks.add("before_due", lambda sim, day, cohort: seen.setdefault("before", int(sim.loans.n_billed[cohort.loans].sum())))
            sim.hooks.add("missed", lambda sim, day, ids: seen.setdefault("after", int(sim.loans.n_billed[:len(ids)].sum())))

    REGISTRY["probe"] = Probe
    try:
        run(make_scenario(run={"months": 1}, borrowers={"income_monthly": 0, "initial_savings_months": 0},
                          policies={"probe": {}}))
    finally:
        del REGISTRY["probe"]
    assert seen["before"] == 0 and seen["after"] > 0


def test_unemployment_settles_at_the_chain_steady_state() -> None:
    scenario = make_scenario(run={"months": 60}, portfolio={"borrowers": 20_000},
                             economy={"monthly_job_loss_prob": 0.02, "monthly_job_finding_prob": 0.18})
    _, result = run(scenario)
    steady = 0.02 / (0.02 + 0.18)
    assert abs(result.monthly["unemployment_share"][-24:].mean() - steady) < 0.005


def test_penalty_interest_is_charged_on_the_overdue_instalment_to_the_cent() -> None:
    scenario = make_scenario(
        run={"months": 2},
        borrowers={"income_monthly": 0, "initial_savings_months": 0},
        policies={"late_fee": {"flat_fee": 0, "penalty_monthly_rate": 0.02}},
    )
    sim, _ = run(scenario)
    # The first instalment (interest + principal part = the level instalment) is unpaid at
    # the second due date, which bills 2% of it as a penalty; the fee itself is not penalised.
    assert np.array_equal(sim.loans.fees_billed, round_cents(sim.loans.installment * 0.02))


def test_arrears_left_at_the_end_of_the_term_keep_ageing() -> None:
    # Three instalments; the borrower pays the first two and nothing after.
    sim, result = run_with_cash(one_loan(months=12, term=3), lambda month: 10_000.0 if month < 2 else 0.0)
    L = sim.loans
    assert (L.defaulted_day[0], L.charged_off_day[0]) == (60 + 90, 60 + 120)
    assert result.metrics["default_rate"] == 1.0
    # Only the three scheduled instalments are due dates; the third was missed.
    assert (L.n_billed[0], L.n_missed[0]) == (3, 1)


def test_no_late_fee_on_a_late_fee() -> None:
    scenario = one_loan(months=30, principal=2400.0, term=24, policies={"late_fee": {"flat_fee": 25.0}})
    installment = Simulation(scenario).loans.installment[0] / 100
    # One cent short in month 1, then the instalment plus that cent every month: the only
    # thing ever left unpaid is the one late fee, which must not breed more fees or default.
    # (The final instalment is larger: it carries the interest on what the fee displaced.)
    cash = {0: installment, 1: installment - 0.01, 23: installment + 50}
    sim, _ = run_with_cash(scenario, lambda month: cash.get(month, installment + 0.01))
    L = sim.loans
    assert L.fees_billed[0] == 2500
    assert L.n_missed[0] == 1
    assert L.defaulted_day[0] == -1
    assert L.status[0] == REPAID


def test_first_month_starts_from_the_initial_unemployment_share() -> None:
    scenario = make_scenario(portfolio={"borrowers": 5000}, economy={"monthly_job_loss_prob": 0.1},
                             borrowers={"initial_unemployment_share": 0.0})
    _, result = run(scenario)
    assert result.monthly["unemployment_share"][0] == 0.0
    assert result.monthly["unemployment_share"][1] > 0.05


def test_recoveries_due_after_the_horizon_stay_pending() -> None:
    scenario = make_scenario(
        run={"months": 8},
        borrowers={"income_monthly": 0, "initial_savings_months": 0},
        lender={"recovery_rate": 0.5, "recovery_delay_months": 6},
    )
    sim, result = run(scenario)
    L = sim.loans
    assert L.recoveries.sum() == 0 and result.metrics["recoveries"] == 0
    assert np.array_equal(L.recoveries_pending, round_cents(L.principal_charged_off * 0.5))
    assert result.metrics["loss_rate"] == 1.0
    expected = result.metrics["net_loss"] - L.recoveries_pending.sum() / 100
    assert abs(result.metrics["expected_net_loss"] - expected) < 1e-6
    assert result.ledger_problems == []


def test_stepping_through_a_run_gives_the_same_results_as_running_it() -> None:
    scenario = make_scenario(policies={"late_fee": {}})
    _, whole = run(scenario)
    sim = Simulation(scenario)
    for day in (1, 1, 45, 200, 10_000):
        sim.advance(day)
    stepped = sim.run()
    assert stepped.metrics == whole.metrics
    assert all(np.array_equal(stepped.monthly[k], whole.monthly[k]) for k in whole.monthly)


def test_months_in_arrears_counts_month_ends_past_due() -> None:
    sim, result = run(make_scenario(
        borrowers={"income_monthly": 3500, "initial_savings_months": 50, "monthly_forget_prob": 0,
                   "spending_noise_sd": 0, "target_buffer_months": 50},
        economy={"monthly_job_loss_prob": 0}))
    assert result.metrics["months_in_arrears_per_borrower"] == 0
    sim, result = run(make_scenario(borrowers={"income_monthly": 0, "initial_savings_months": 0}))
    # Past due from the first month end after the first due date until charge-off at 120 DPD.
    expected = np.where(sim.loans.due_day < 29, 4, 3)
    assert np.array_equal(sim.borrowers.months_in_arrears, expected)
