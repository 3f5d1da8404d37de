"""Causes of late payment: off ⇒ no effect, on ⇒ the expected direction, extreme ⇒ the limit."""

from __future__ import annotations

import numpy as np
import pytest

from loansim import macro
from loansim.borrowers import Borrowers, cash_cents, income, score, shocks, spending, stacking
from loansim.engine import Simulation
from loansim.errors import ScenarioError
from loansim.loans import DAYS_PER_MONTH
from loansim.rng import Streams
from loansim.scenario.schema import Shock, Stacking

from conftest import make_scenario, run

BIG = {"borrowers": 6000}


def metrics(**changes) -> dict[str, float]:
    return run(make_scenario(**changes))[1].metrics


def identical(a: dict, b: dict) -> bool:
    return run(make_scenario(**a))[1].metrics == run(make_scenario(**b))[1].metrics


# ------------------------------------------------------------------ off ⇒ no effect

@pytest.mark.parametrize("off", [
    {"economy": {"monthly_pay_cut_prob": 0.0, "pay_cut_share": 0.5}},
    {"economy": {"annual_income_growth": 0.0}},
    {"borrowers": {"shocks": {"illness": {"annual_rate": 0.0, "expense": 5000, "income_loss_share": 1, "income_loss_months": 6}}}},
    {"borrowers": {"shocks": {"flood": {"annual_rate": 0.0, "expense": 9000, "regional": True}}, "regions": 7}},
    {"borrowers": {"essential_spending_share": 0.0}},
    {"borrowers": {"overspender_share": 0.0, "overspend_share_of_savings": 0.9}},
    {"borrowers": {"literacy": 0.0}},
    {"borrowers": {"job_loss_sensitivity": 1.0}},
], ids=["pay-cuts", "growth", "illness", "regional", "essentials", "overspenders", "literacy", "sensitivity"])
def test_a_cause_switched_off_changes_nothing(off: dict) -> None:
    assert identical({}, off)


def test_switching_a_cause_on_leaves_other_shocks_alone() -> None:
    # Common random numbers: employment follows the same path with shocks on or off.
    def unemployment(**changes):
        return run(make_scenario(portfolio=BIG, **changes))[1].monthly["unemployment_share"]

    base = unemployment()
    shocked = unemployment(borrowers={"shocks": {"illness": {"annual_rate": 0.5, "expense": 3000}}},
                           economy={"monthly_pay_cut_prob": 0.05})
    assert np.array_equal(base, shocked)


# ------------------------------------------------------------------ economic pressure

def test_unemployment_follows_the_path() -> None:
    scenario = make_scenario(run={"months": 36}, portfolio={"borrowers": 40_000},
                             economy={"monthly_job_loss_prob": None, "unemployment_path": "severely-adverse"})
    _, result = run(scenario)
    target = macro.unemployment_path("severely-adverse", 36)[:36]
    assert np.max(np.abs(result.monthly["unemployment_share"] - target)) < 0.006


def test_a_path_and_a_constant_hazard_cannot_both_be_set() -> None:
    with pytest.raises(ScenarioError, match="economy.unemployment_path .* cannot be combined with economy.monthly_job_loss_prob"):
        make_scenario(economy={"unemployment_path": "adverse"})  # the tiny scenario sets the hazard


def test_unknown_built_in_path_is_an_error_naming_the_paths() -> None:
    with pytest.raises(ScenarioError, match="unknown path; built-in paths are: steady"):
        make_scenario(economy={"monthly_job_loss_prob": None, "unemployment_path": "armageddon"})


def test_a_downturn_raises_defaults_more_when_essentials_cannot_be_cut() -> None:
    def downturn_effect(essentials: float) -> float:
        spend = {"essential_spending_share": essentials}
        paths = [0.04, "severely-adverse"]
        steady, severe = (metrics(portfolio=BIG, borrowers=spend,
                                  economy={"monthly_job_loss_prob": None, "unemployment_path": p}) for p in paths)
        return severe["default_rate"] - steady["default_rate"]

    flexible, rigid = downturn_effect(0.0), downturn_effect(0.4)
    assert flexible > 0
    assert rigid > flexible


def test_hazards_are_shared_out_by_sensitivity() -> None:
    sensitivity = np.array([0.5, 1.0, 1.5, 3.0, 100.0], dtype=np.float32)
    employed = np.array([True, True, True, False, False])
    h = macro.individual_hazards(0.1, sensitivity, employed)
    assert h[employed].mean() == pytest.approx(0.1)          # same expected job losses
    assert h[0] < h[1] < h[2] and h[4] == 1.0                # riskier jobs lost more often, capped at 1


def test_sensitive_borrowers_lose_their_jobs_more_often() -> None:
    scenario = make_scenario(portfolio={"borrowers": 20_000}, borrowers={"job_loss_sensitivity": {"dist": "uniform", "low": 0, "high": 2}})
    sim, _ = run(scenario)
    s, employed = sim.borrowers.job_loss_sensitivity, sim.borrowers.employed
    assert (~employed[s > 1.5]).mean() > 2 * (~employed[s < 0.5]).mean()


def test_pay_cuts_raise_defaults_and_follow_unemployment() -> None:
    base = {"monthly_job_loss_prob": None, "unemployment_path": "pandemic-spike"}
    without = run(make_scenario(portfolio=BIG, economy=base))
    with_cuts = run(make_scenario(portfolio=BIG, economy={**base, "monthly_pay_cut_prob": 0.03, "pay_cut_share": 0.3}))
    assert with_cuts[1].metrics["default_rate"] > without[1].metrics["default_rate"]
    cuts = with_cuts[1].monthly["pay_cuts"]
    assert cuts[0] == 0 and cuts[2:5].mean() > 2 * cuts[18:].mean()  # more cuts at the spike
    assert np.all(with_cuts[0].borrowers.base_income <= without[0].borrowers.base_income + 1e-9)


def test_income_growth_compounds_monthly_and_lowers_defaults() -> None:
    flat, grown = run(make_scenario(portfolio=BIG)), run(make_scenario(portfolio=BIG, economy={"annual_income_growth": 0.06}))
    months_grown = flat[1].monthly["month"][-1] - 1  # growth is applied from month 1 on
    ratio = grown[0].borrowers.base_income / flat[0].borrowers.base_income
    assert np.allclose(ratio, 1.06 ** (months_grown / 12))
    assert grown[1].metrics["default_rate"] < flat[1].metrics["default_rate"]


# ------------------------------------------------------------------ sudden shocks

def test_shock_frequency_matches_its_rate() -> None:
    people, streams = Borrowers(200_000), Streams(3)
    shock = Shock(annual_rate=0.6)
    hits = [shocks.hit_by("illness", shock, people, streams, m).size for m in range(6)]
    p = -np.expm1(-0.6 / 12)
    se = np.sqrt(p * (1 - p) / (6 * people.n))
    assert abs(np.mean(hits) / people.n - p) < 4 * se


def test_regional_shocks_hit_whole_regions() -> None:
    people = Borrowers(10_000)
    people.region = np.arange(10_000) % 50
    shock = Shock(annual_rate=2.0, regional=True, regional_hit_share=1.0)
    hit = shocks.hit_by("flood", shock, people, Streams(5), 4)
    regions = np.unique(people.region[hit])
    assert 0 < regions.size < 50
    assert hit.size == 200 * regions.size  # every borrower of a hit region, nobody else


def test_shock_rate_zero_means_no_shock_expense_and_shocks_raise_defaults() -> None:
    quiet = run(make_scenario(portfolio=BIG, borrowers={"shocks": {"illness": {"annual_rate": 0.0, "expense": 4000}}}))[1]
    assert quiet.monthly["shock_illness_expense"].sum() == 0 and quiet.monthly["shock_illness_events"].sum() == 0
    ill = run(make_scenario(portfolio=BIG, borrowers={"shocks": {"illness": {
        "annual_rate": 0.3, "expense": {"dist": "lognormal", "median": 3000, "sigma": 0.7},
        "income_loss_share": 0.6, "income_loss_months": 3}}}))[1]
    assert ill.monthly["shock_illness_events"].sum() > 0
    assert ill.metrics["default_rate"] > quiet.metrics["default_rate"]


def test_income_loss_spells_last_their_months_and_combine() -> None:
    people = Borrowers(3)
    people.base_income = np.full(3, 1000.0)
    illness, injury = np.array([2, 0, 1], dtype=np.int16), np.array([1, 0, 3], dtype=np.int16)
    seen = []
    for _ in range(4):
        income.receive_income(people, 0.3, [(illness, 0.5), (injury, 0.2)])
        seen.append(people.income.round(6).tolist())
    assert seen == [[400, 1000, 400], [500, 1000, 800], [1000, 1000, 800], [1000, 1000, 1000]]


def test_a_short_mild_spell_does_not_end_a_long_severe_one() -> None:
    severe = {"annual_rate": 0.0, "income_loss_share": 1.0, "income_loss_months": 6}
    mild = {"annual_rate": 100.0, "income_loss_share": 0.05, "income_loss_months": 1}
    sim = Simulation(make_scenario(borrowers={"shocks": {"illness": severe, "cold": mild}}))
    sim.population.spells["illness"][:] = 6
    sim.advance(1)
    assert np.all(sim.borrowers.income == 0)          # fully off work, whatever else happens


# ------------------------------------------------------------------ spending and literacy

def test_essentials_and_over_spending_raise_defaults() -> None:
    base = metrics(portfolio=BIG)
    essentials = metrics(portfolio=BIG, borrowers={"essential_spending_share": 0.35})
    overspend = metrics(portfolio=BIG, borrowers={"overspender_share": 1.0, "overspend_share_of_savings": 0.3})
    assert essentials["default_rate"] > base["default_rate"]
    assert overspend["default_rate"] > base["default_rate"]


def test_literacy_one_means_no_forgotten_payments() -> None:
    result = run(make_scenario(borrowers={"monthly_forget_prob": 0.5, "literacy": 1.0}))[1]
    assert result.monthly["missed_forgot"].sum() == 0


def test_literacy_cuts_forgetting_and_protects_payments() -> None:
    common = {"monthly_forget_prob": 0.1, "overspender_share": 0.5, "overspend_share_of_savings": 0.3}
    low = run(make_scenario(portfolio=BIG, borrowers={**common, "literacy": 0.0}))[1]
    high = run(make_scenario(portfolio=BIG, borrowers={**common, "literacy": 0.8}))[1]
    assert high.monthly["missed_forgot"].sum() < 0.4 * low.monthly["missed_forgot"].sum()
    # Fewer defaults, though not fewer missed dates: borrowers who protect their instalment
    # keep paying while behind (rolling delinquency) instead of defaulting and leaving.
    assert high.metrics["default_rate"] < low.metrics["default_rate"]


@pytest.mark.parametrize("literacy", [0.0, 0.5, 1.0])
def test_literacy_ring_fences_that_share_of_the_coming_due_date(literacy: float) -> None:
    people = Borrowers(4)
    people.base_income = np.full(4, 1000.0)
    people.income = np.array([1000.0, 1000.0, 1000.0, 200.0])  # the last is out of work
    people.savings = np.array([0.0, 500.0, 0.0, 0.0])
    people.essentials = np.full(4, 300.0)
    people.literacy = np.full(4, literacy, dtype=np.float32)
    instalments, coming = np.full(4, 100.0), np.array([400.0, 400.0, 50.0, 400.0])
    spending.spend_and_save(people, np.float32(0), 0.5, 0.0, instalments, coming)
    after_essentials = np.array([700.0, 1200.0, 700.0, 0.0])
    # The rule: base income less essentials and the instalment (600), plus half the gap
    # between cash and the target (savings + income - base income; the target is zero here).
    rule = 600.0 + 0.5 * np.array([0.0, 500.0, 0.0, -800.0])
    spent = np.minimum(rule, after_essentials - literacy * np.minimum(coming, after_essentials))
    assert np.allclose(people.month_spending, spent)
    assert np.allclose(people.savings, after_essentials - spent)


def test_savings_return_to_the_target_buffer_at_the_adjustment_rate() -> None:
    people = Borrowers(3)
    people.base_income = people.income = np.full(3, 1000.0)
    people.target_buffer = np.full(3, 2.0, dtype=np.float32)  # 2,000 (paid on day 0)
    people.savings = np.array([2000.0, 5000.0, 0.0])
    for _ in range(40):
        spending.spend_and_save(people, np.float32(0), 0.25, 0.0, 0.0, None, essentials=False)
    assert np.allclose(people.savings, 2000.0, atol=0.5)
    people.savings = np.array([2000.0, 5000.0, 0.0])
    spending.spend_and_save(people, np.float32(0), 0.25, 0.0, 0.0, None, essentials=False)
    assert np.allclose(people.savings, [2000.0, 2000.0 + 0.75 * 3000.0, 2000.0 - 0.75 * 2000.0])


def test_missed_payments_and_defaults_add_up_by_cause() -> None:
    result = run(make_scenario(portfolio=BIG, borrowers={"monthly_forget_prob": 0.05}))[1]
    m = result.monthly
    assert np.array_equal(m["missed_forgot"] + m["missed_cannot_pay"], m["missed_payments"])
    by_cause = m["new_defaults_other"] + m["new_defaults_forgot"] + m["new_defaults_cannot_pay"]
    assert np.array_equal(by_cause, m["new_defaults"])
    assert m["missed_forgot"].sum() > 0 and m["new_defaults_cannot_pay"].sum() > 0


# ------------------------------------------------------------------ misread terms, unwillingness

@pytest.mark.parametrize("off", [
    {"borrowers": {"misunderstanding": {"share": 0.0, "date_share": 0.3}}},
    {"borrowers": {"strategic": {"monthly_prob": 0.0, "arrears_multiplier": 5.0}}},
], ids=["misunderstanding", "strategic"])
def test_payment_causes_switched_off_change_nothing(off: dict) -> None:
    assert identical({}, off)


def test_misread_terms_cost_one_miss_each_until_the_late_notice() -> None:
    ample = {"income_monthly": 6000, "initial_savings_months": 20, "monthly_forget_prob": 0.0, "target_buffer_months": 20}
    sim, result = run(make_scenario(
        portfolio=BIG, economy={"monthly_job_loss_prob": 0.0},
        borrowers={**ample, "misunderstanding": {"share": 0.3, "date_share": 0.5, "late_days": 10, "paid_share": 0.5}}))
    misread = result.monthly["missed_misunderstood"].sum()
    assert misread == pytest.approx(0.3 * BIG["borrowers"], rel=0.1)    # one miss per misreader
    assert misread == result.monthly["missed_payments"].sum()            # nobody else misses
    assert result.monthly["missed_misunderstood"][1:].sum() == 0         # corrected after the first notice
    assert not sim.borrowers.misreads.any()
    assert result.metrics["default_rate"] == 0


def test_borrowers_who_misread_the_date_pay_that_many_days_late() -> None:
    sim = Simulation(make_scenario(
        borrowers={"income_monthly": 6000, "initial_savings_months": 20, "monthly_forget_prob": 0.0,
                   "misunderstanding": {"share": 1.0, "date_share": 1.0, "late_days": 12}}))
    late = sim.loans.due_day == 3
    sim.advance(3 + 1)
    assert np.all(sim.loans.oldest_unpaid_day[late] == 3)                # missed on day 3
    sim.advance(3 + 12)
    assert np.all(sim.loans.oldest_unpaid_day[late] == 3)                # still unpaid on day 14
    sim.advance(3 + 12 + 1)
    assert np.all(sim.loans.oldest_unpaid_day[late] == -1)               # paid on day 15


def test_strategic_default_is_reported_apart_from_inability() -> None:
    ample = {"income_monthly": 6000, "initial_savings_months": 20, "monthly_forget_prob": 0.0, "target_buffer_months": 20}
    result = run(make_scenario(portfolio=BIG, economy={"monthly_job_loss_prob": 0.0},
                               borrowers={**ample, "strategic": {"monthly_prob": 0.01}}))[1]
    m = result.metrics
    assert m["default_rate_unwilling"] > 0.1                              # ~1%/month over 24 months
    assert m["default_rate_unwilling"] == m["default_rate"]               # nobody else defaults
    assert m["default_rate_cannot_pay"] == 0


def test_unwillingness_rises_with_arrears_and_loan_size() -> None:
    def rate(**strategic):
        return metrics(portfolio=BIG, borrowers={"strategic": {"monthly_prob": 0.002, **strategic}})["default_rate_unwilling"]

    flat = rate(arrears_multiplier=0.0, size_multiplier=0.0)
    assert rate(arrears_multiplier=5.0, size_multiplier=0.0) > flat
    assert rate(arrears_multiplier=0.0, size_multiplier=5.0) > flat


# ------------------------------------------------------------------ credit score

def test_score_rules_on_time_never_lowers_and_a_miss_never_raises() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(300, 850, 10_000).astype(np.float32)
    drop = rng.uniform(-0.1, 0.2, s.size).astype(np.float32)
    up = score.on_time(s, 3.0, drop, 40.0)
    down = score.missed(s, 35.0, rng.integers(0, 6, s.size))
    assert np.all(up >= s) and np.all(up <= 850)
    assert np.all(down <= s) and np.all(down >= 300)
    assert np.all(score.defaulted(s, 80.0) <= s)


def test_scores_follow_payment_history() -> None:
    sim, _ = run(make_scenario(portfolio=BIG))
    L, s = sim.loans, sim.borrowers.score
    initial = np.clip(Simulation(make_scenario(portfolio=BIG)).borrowers.score, 300, 850)
    never_missed = (L.n_missed == 0) & (L.n_billed > 0)
    assert np.all(s[never_missed] >= initial[never_missed])
    assert s[L.defaulted_day >= 0].mean() < s[never_missed].mean() - 100
    assert np.all((s >= 300) & (s <= 850))


# ------------------------------------------------------------------ loan stacking, loan use

@pytest.mark.parametrize("off", [
    {"borrowers": {"stacking": {"take_up_prob": 0.0, "apr": 3.0}}},
    {"borrowers": {"loan_use": {"productive_share": 0.0, "risky_share": 0.0, "monthly_return": 0.5}}},
], ids=["stacking", "loan-use"])
def test_credit_causes_switched_off_change_nothing(off: dict) -> None:
    assert identical({}, off)


def test_outside_repayment_rolls_over_with_its_fee_and_then_credit_stops() -> None:
    people = Borrowers(3)
    people.outside_balance = np.array([300.0, 300.0, 0.0])
    params = Stacking(apr=1.2, term_months=3, rollover_fee_share=0.1, max_rollovers=1)
    required = 300 * 0.1 / (1 - 1.1 ** -3)                                       # 120.63: amortised over 3 months
    available = np.array([500.0, 40.0, 500.0])
    paid, unmet = stacking.repay(people, available, params)
    assert paid.tolist() == pytest.approx([required, 40]) and unmet.tolist() == [1]
    assert available.tolist() == pytest.approx([500 - required, 0.0, 500.0])
    assert people.outside_balance[0] == pytest.approx(300 * 1.1 - required)
    assert people.outside_balance[1] == pytest.approx(300 * 1.1 - 40 + 0.1 * (required - 40))
    assert people.outside_rollovers.tolist() == [0, 1, 0]
    lent = stacking.borrow(people, np.array([0, 1, 2]), np.array([100.0, 100.0, 100.0]), Stacking(max_balance=1000, max_rollovers=1))
    assert lent.tolist() == [100.0, 0.0, 100.0]                                   # borrower 1 is cut off


def test_stacking_pays_today_and_costs_later() -> None:
    plain = run(make_scenario(portfolio=BIG))[1]
    stacked = run(make_scenario(portfolio=BIG, borrowers={"stacking": {"take_up_prob": 0.7, "apr": 2.0, "max_balance": 2000}}))[1]
    m = stacked.metrics
    assert m["share_borrowers_stacking"] > 0.05 and m["outside_rollovers_per_borrower"] > 0
    # Borrowing outside covers early shortfalls...
    assert stacked.monthly["missed_cannot_pay"][:3].sum() < plain.monthly["missed_cannot_pay"][:3].sum()
    # ...and what is owed outside is never less than what was borrowed, less what was repaid.
    taken, repaid = stacked.monthly["outside_borrowed"].sum(), stacked.monthly["outside_repaid"].sum()
    assert m["outside_debt_outstanding"] >= taken - repaid - 0.01


def test_a_venture_lost_at_once_is_the_same_as_consumption() -> None:
    lost = {"loan_use": {"risky_share": 1.0, "risky_monthly_loss_prob": 1.0, "risky_loss_share": 1.0, "monthly_return": 0.05}}
    assert identical({}, {"borrowers": lost})


def test_productive_use_supports_income_and_risky_use_less_so() -> None:
    def rate(**use):
        return metrics(portfolio=BIG, borrowers={"loan_use": {"monthly_return": 0.015, **use}})["default_rate"]

    consumption, productive, risky = rate(), rate(productive_share=1.0), rate(risky_share=1.0, risky_monthly_loss_prob=0.1)
    assert productive < risky < consumption


# ------------------------------------------------------------------ edge cases

@pytest.mark.parametrize("partial", [True, False])
def test_a_borrower_who_thinks_the_instalment_lower_pays_that_much(partial: bool) -> None:
    scenario = make_scenario(run={"months": 1}, borrowers={
        "income_monthly": 0, "initial_savings_months": 0, "monthly_forget_prob": 0, "partial_payments": partial,
        "misunderstanding": {"share": 1.0, "date_share": 0.0, "paid_share": 0.5}})
    sim = Simulation(scenario)
    sim.borrowers.savings[:] = sim.loans.installment / 100 * 0.7   # enough for what they believe, not all
    sim.run()
    believed = np.floor(sim.loans.installment * 0.5)
    assert np.array_equal(sim.loans.interest_paid + sim.loans.principal_repaid, believed)


def test_without_partial_payments_outside_credit_is_taken_only_to_complete_a_payment() -> None:
    scenario = make_scenario(run={"months": 1}, portfolio={"principal": 8000}, borrowers={
        "income_monthly": 0, "initial_savings_months": 0, "monthly_forget_prob": 0, "partial_payments": False,
        "stacking": {"take_up_prob": 1.0, "max_balance": 100.0}})
    sim = Simulation(scenario)
    short = sim.loans.installment / 100 - 50.0                      # 50 short: the limit covers it
    sim.borrowers.savings[:] = np.where(np.arange(sim.borrowers.n) % 2 == 0, short, short - 100)
    sim.run()
    covered = np.arange(sim.borrowers.n) % 2 == 0
    assert np.all(sim.loans.n_missed[covered] == 0) and np.all(sim.borrowers.outside_taken[covered] == 50)
    assert np.all(sim.loans.n_missed[~covered] == 1) and np.all(sim.borrowers.outside_taken[~covered] == 0)


def test_stacking_metrics_exist_in_every_replication() -> None:
    scenario = make_scenario(portfolio={"borrowers": 20}, run={"months": 2},
                             borrowers={"stacking": {"take_up_prob": {"dist": "normal", "mean": -1, "sd": 0.3, "low": 0, "high": 1}}})
    keys = {frozenset(run(scenario, r)[1].metrics) for r in range(4)}
    assert len(keys) == 1 and "share_borrowers_stacking" in next(iter(keys))


def test_pay_cuts_on_a_path_starting_at_zero_are_rejected() -> None:
    with pytest.raises(ScenarioError, match="the path must start above 0"):
        make_scenario(economy={"monthly_job_loss_prob": None, "unemployment_path": [0.0, 0.01], "monthly_pay_cut_prob": 0.01})


def test_scores_stay_on_the_scale_with_extreme_points() -> None:
    scenario = make_scenario(borrowers={"score": {"miss_points": 550, "on_time_points": 550, "utilisation_points": 550,
                                                  "default_points": 550}})
    s = run(scenario)[0].borrowers.score
    assert s.min() >= 300 and s.max() <= 850


def test_last_months_income_is_all_cash_on_the_next_months_first_day() -> None:
    """Day 0's late payers and promised payments come before the month start: by then every
    pay day of the month before has passed, so nothing of it may be held back as pending."""
    scenario = make_scenario(borrowers={"pay_day": {"dist": "uniform", "low": 0, "high": 29}})
    sim = Simulation(scenario)
    sim.advance(DAYS_PER_MONTH - 1)  # month 0 up to its last day
    people = sim.borrowers
    waiting = people.pay_day > DAYS_PER_MONTH - 2
    assert waiting.any() and np.all(cash_cents(people, slice(None), DAYS_PER_MONTH - 2)[waiting]
                                    < np.floor(np.maximum(people.savings[waiting], 0) * 100 + 1e-6))
    sim.advance(DAYS_PER_MONTH)  # the month's last day is done; the next month has not started
    late = people.pay_day > 0
    assert np.array_equal(cash_cents(people, slice(None), 0)[late],
                          np.floor(np.maximum(people.savings[late], 0) * 100 + 1e-6).astype(np.int64))
