"""Staged collections: capacity and waiting, legal action, cost, direction of effect, errors.

Comparisons run the same scenario and seed with and without the policy, or with one
parameter changed (common random numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import simpy

from loansim.errors import ScenarioError, UserError
from loansim.loans import CHARGED_OFF, DAYS_PER_MONTH, round_cents, to_cents
from loansim.policies.collections import DEFAULT_STAGES, cure_probability, top

from conftest import make_scenario, run

OFF = {"enabled": False}
NO_INCOME = {"income_monthly": 0, "initial_savings_months": 0}


def one_stage(collectors: int, per_day: int, **legal: Any) -> dict[str, Any]:
    """Collections with only a phone team working from 5 DPD (and legal action as given)."""
    phone = {"entry_dpd": 5, "collectors": collectors, "actions_per_collector_per_day": per_day}
    return {"stages": {"sms": OFF, "field_visit": OFF, "phone": phone}, "legal": {"capacity": 0, **legal}}


def legal_only(**legal: Any) -> dict[str, Any]:
    return {"stages": {name: OFF for name in DEFAULT_STAGES}, "legal": {"min_balance": 0, **legal}}


# ------------------------------------------------------------------ capacity and waiting


def test_more_collectors_leave_fewer_accounts_never_worked() -> None:
    reports = []
    for collectors in (1, 4, 20):
        _, result = run(make_scenario(portfolio={"borrowers": 1500}, policies={"collections": one_stage(collectors, 3)}))
        reports.append(result.policies["collections"])
    never = [r["accounts_never_worked"] for r in reports]
    actions = [r["actions"] for r in reports]
    queue = [r["phone_mean_queue"] for r in reports]
    assert never[0] > never[1] > never[2]
    assert actions[0] <= actions[1] <= actions[2]
    assert queue[0] > queue[1] > queue[2]
    assert reports[0]["phone_utilisation"] > 0.95  # one collector is busy all the time
    assert 0 < reports[2]["phone_utilisation"] < reports[0]["phone_utilisation"]


def test_zero_reach_gives_exactly_the_results_of_no_policy() -> None:
    zero = {"stages": {name: {"collectors": 0} for name in DEFAULT_STAGES}, "legal": {"capacity": 0}}
    _, without = run(make_scenario())
    _, idle = run(make_scenario(policies={"collections": zero}))
    assert idle.metrics == without.metrics
    assert idle.ledger == without.ledger
    for name, series in without.monthly.items():
        assert np.array_equal(idle.monthly[name], series), name
    report = idle.policies["collections"]
    assert report["actions"] == report["cost"] == report["legal_cases_filed"] == 0
    assert report["accounts_never_worked"] == report["accounts_entered"] > 0
    assert report["sms_mean_queue"] > 0


def test_the_monthly_series_add_up_to_the_report() -> None:
    _, result = run(make_scenario(policies={"collections": {}}))
    report, monthly = result.policies["collections"], result.monthly
    for name in DEFAULT_STAGES:
        assert monthly[f"collections_actions_{name}"].sum() == report[f"{name}_actions"] > 0
        assert monthly[f"collections_queue_{name}"].max() <= report[f"{name}_max_queue"]
    assert abs(monthly["collections_collected"].sum() - report["collected"]) < 1e-6
    assert report["collected"] == pytest.approx(sum(report[f"{name}_collected"] for name in DEFAULT_STAGES))
    assert monthly["collections_legal_open"][-1] == report["legal_cases_open"]
    assert result.ledger_problems == []


def test_borrowers_who_chose_not_to_pay_never_promise() -> None:
    scenario = make_scenario(borrowers={"strategic": {"monthly_prob": 1.0}}, policies={"collections": {}})
    _, result = run(scenario)
    report = result.policies["collections"]
    assert report["sms_contacts"] > 0
    assert sum(report[f"{name}_promises"] for name in DEFAULT_STAGES) == 0
    assert report["collected"] == 0


def test_same_seed_gives_the_same_collections() -> None:
    scenario = make_scenario(policies={"collections": {"prioritise": "cure_probability"}})
    assert run(scenario)[1].policies == run(scenario)[1].policies


# ------------------------------------------------------------------ effect


def test_collections_cut_the_arrears_of_forgetful_borrowers_with_cash() -> None:
    # They forget half their due dates and notice only 25 days on; a first contact (an SMS
    # at 5 days past due) makes some of them pay sooner, so fewer month-ends find them behind.
    forgetful = {"income_monthly": 3500, "initial_savings_months": 50, "target_buffer_months": 50, "spending_noise_sd": 0,
                 "monthly_forget_prob": 0.5, "literacy": 0, "forget_notice_days": 25}
    base = {"portfolio": {"borrowers": 2000}, "borrowers": forgetful, "economy": {"monthly_job_loss_prob": 0}}
    _, without = run(make_scenario(**base))
    _, with_collections = run(make_scenario(**base, policies={"collections": {}}))
    assert with_collections.metrics["months_in_arrears_per_borrower"] < without.metrics["months_in_arrears_per_borrower"]
    assert with_collections.policies["collections"]["collected"] > 0
    assert without.metrics["default_rate"] == with_collections.metrics["default_rate"] == 0  # forgetting alone never defaults


# ------------------------------------------------------------------ cost


def test_cost_is_actions_times_their_price_plus_cases_times_theirs_to_the_cent() -> None:
    prices = {"sms": 0.07, "phone": 3.33, "field_visit": 41.5}
    table = {"stages": {name: {"cost_per_action": price} for name, price in prices.items()},
             "legal": {"cost_per_case": 612.25, "capacity": 30}}
    sim, result = run(make_scenario(policies={"collections": table}))
    report = result.policies["collections"]
    expected = sum(int(report[f"{name}_actions"]) * int(to_cents(price)) for name, price in prices.items())
    expected += int(report["legal_cases_filed"]) * 61225
    assert report["legal_cases_filed"] > 0
    assert sim.ledger.cost_cents("collections") == expected
    assert result.ledger["operating_cost"] == expected
    assert report["cost"] == expected / 100


# ------------------------------------------------------------------ legal


def test_legal_cases_wait_for_a_slot_when_capacity_is_short() -> None:
    reports = {}
    for capacity in (1, 100):
        table = legal_only(capacity=capacity, duration_days=30)
        _, result = run(make_scenario(borrowers=NO_INCOME, policies={"collections": table}))
        reports[capacity] = result.policies["collections"]
    short, ample = reports[1], reports[100]
    assert short["legal_cases_filed"] == ample["legal_cases_filed"] == 600  # every loan is charged off
    assert short["legal_cases_completed"] < ample["legal_cases_completed"]
    assert short["legal_mean_wait_days"] > ample["legal_mean_wait_days"]
    assert short["legal_cases_waiting"] > 0 and short["legal_cases_open"] > short["legal_cases_waiting"]
    assert short["legal_cases_open"] == short["legal_cases_filed"] - short["legal_cases_completed"]


def test_legal_recovers_its_share_to_the_cent_on_top_of_the_lenders_own_recovery() -> None:
    # Cases last 20 days and the lender's own recovery (20%) comes 60 days after charge-off,
    # so most cases end while the lender's recovery is still pending: it must stay pending.
    table = legal_only(capacity=40, duration_days=20, recovery_share=0.3)
    sim, result = run(make_scenario(borrowers=NO_INCOME, policies={"collections": table}))
    L, report = sim.loans, result.policies["collections"]
    own = round_cents(L.principal_charged_off * L.recovery_share)
    legal = L.recoveries - own
    won = legal > 0
    assert np.all(L.status == CHARGED_OFF) and L.recoveries_pending.sum() == 0
    assert np.array_equal(legal[won], round_cents(L.principal_charged_off[won] * 0.3))
    assert np.all(legal[~won] == 0)
    assert won.sum() == report["legal_cases_completed"] > 0
    assert legal.sum() == round(report["legal_recovered"] * 100)
    assert result.ledger_problems == []


def test_legal_recovery_never_exceeds_the_principal_charged_off() -> None:
    table = legal_only(capacity=600, duration_days=10, recovery_share=0.95)
    sim, result = run(make_scenario(borrowers=NO_INCOME, policies={"collections": table}))
    L = sim.loans
    assert np.array_equal(L.recoveries, L.principal_charged_off)  # 20% own + 80% legal, capped
    assert result.policies["collections"]["legal_recovered"] == pytest.approx((L.principal_charged_off.sum() - round_cents(L.principal_charged_off * 0.2).sum()) / 100)
    assert result.ledger_problems == []


def test_legal_line_behaves_like_a_simpy_resource() -> None:
    capacity, duration, share = 7, 25, 0.4
    table = legal_only(capacity=capacity, duration_days=duration, recovery_share=share, min_balance=7000)
    scenario = make_scenario(borrowers=NO_INCOME, lender={"recovery_rate": 0.0}, policies={"collections": table})
    sim, result = run(scenario)
    L, horizon = sim.loans, scenario.run.months * DAYS_PER_MONTH
    filed = np.flatnonzero(L.principal_charged_off >= 700_000)
    filed = filed[np.lexsort((filed, L.charged_off_day[filed]))]  # filing order: by day, then id

    # The reference: one process per case, each holding a slot of a simpy.Resource.
    env = simpy.Environment()
    court = simpy.Resource(env, capacity=capacity)
    done: dict[int, int] = {}

    def case(loan: int, day: int):
        yield env.timeout(day - env.now)
        with court.request() as slot:
            yield slot
            yield env.timeout(duration)
            done[loan] = int(env.now)

    for loan in filed:
        env.process(case(int(loan), int(L.charged_off_day[loan])))
    env.run(until=horizon)
    expected = np.zeros(scenario.run.months, dtype=np.int64)
    for loan, day in done.items():
        expected[day // DAYS_PER_MONTH] += round_cents(L.principal_charged_off[loan] * share)
    assert np.array_equal(np.round(result.monthly["recoveries"] * 100).astype(np.int64), expected)
    assert result.policies["collections"]["legal_cases_completed"] == len(done)


# ------------------------------------------------------------------ prioritisation


def test_top_takes_the_largest_keys_and_breaks_ties_by_lower_id() -> None:
    key = np.array([5, 9, 5, 1, 5, 9])
    ids = np.array([40, 10, 30, 20, 35, 50])
    assert sorted(ids[top(key, ids, 3)]) == [10, 30, 50]
    assert sorted(ids[top(key, ids, 4)]) == [10, 30, 35, 50]
    assert top(key, ids, 10).size == 6


def test_cure_probability_rises_with_score_and_falls_with_arrears_and_balance() -> None:
    p = cure_probability(np.array([600.0, 750.0, 750.0, 750.0, 750.0]), np.array([30, 30, 60, 30, 30]),
                         np.array([1, 1, 1, 3, 1]), np.array([500_000, 500_000, 500_000, 500_000, 2_000_000]))
    assert p[1] > p[0] and p[1] > p[2] and p[1] > p[3] and p[1] > p[4]
    assert np.all((0 < p) & (p < 1))


def test_each_rule_works_the_whole_capacity_when_the_queue_is_longer() -> None:
    results = {}
    for rule in ("oldest", "largest_balance", "cure_probability"):
        table = {**one_stage(1, 2), "prioritise": rule}
        results[rule] = run(make_scenario(portfolio={"borrowers": 3000}, borrowers={"target_buffer_months": 0.0},  # a long queue
                                          policies={"collections": table}))[1].policies["collections"]
    for report in results.values():
        assert report["phone_utilisation"] > 0.95
    assert len({r["phone_collected"] for r in results.values()}) == 3  # the rules pick different accounts


# ------------------------------------------------------------------ the table


def params(table: dict[str, Any], **changes: Any):
    return make_scenario(policies={"collections": table}, **changes).policies["collections"]


def test_stages_change_the_defaults_key_by_key_and_run_in_order_of_entry_dpd() -> None:
    p = params({"stages": {"phone": {"collectors": 8},
                           "letter": {"entry_dpd": 15, "collectors": 1, "actions_per_collector_per_day": 200,
                                      "cost_per_action": 0.8, "contact_prob": 0.5, "promise_prob": 0.1, "promise_days": 10},
                           "field_visit": OFF}})
    assert list(p.stages) == ["sms", "letter", "phone"]
    assert p.stages["phone"].collectors == 8
    assert p.stages["phone"].cost_per_action == DEFAULT_STAGES["phone"]["cost_per_action"]


def error(table: dict[str, Any], **changes: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        params(table, **changes)
    assert isinstance(info.value, UserError)
    return str(info.value)


@pytest.mark.parametrize(("table", "expected"), [
    ({"prioritise": "newest"},
     'policies.collections.prioritise = "newest": unknown rule; expected one of: oldest, largest_balance, cure_probability'),
    ({"prioritize": "oldest"}, "policies.collections.prioritize = \"oldest\": unknown key (did you mean 'prioritise'?)"),
    ({"stages": {"phone": {"colectors": 3}}},
     "policies.collections.stages.phone.colectors = 3: unknown key (did you mean 'collectors'?)"),
    ({"stages": {"sms": {"cost_per_action": -0.05}}}, "policies.collections.stages.sms.cost_per_action = -0.05: must be >= 0"),
    ({"stages": {"phone": {"contact_prob": 1.5}}}, "policies.collections.stages.phone.contact_prob = 1.5: must be <= 1"),
    ({"stages": {"phone": {"collectors": 2.5}}}, "policies.collections.stages.phone.collectors = 2.5: must be a whole number"),
    ({"stages": {"letter": {"entry_dpd": 15}}}, "policies.collections.stages.letter.collectors: is required but missing"),
    ({"stages": {"Letter": {**DEFAULT_STAGES["sms"], "entry_dpd": 15}}}, "stage name 'Letter' must be lower-case"),
    ({"stages": {"letter": {**DEFAULT_STAGES["sms"]}}}, "stages 'sms' and 'letter' both have entry_dpd = 5"),
    ({"legal": {"cost_per_case": -600}}, "policies.collections.legal.cost_per_case = -600: must be >= 0"),
    ({"legal": {"capacty": 5}}, "policies.collections.legal.capacty = 5: unknown key (did you mean 'capacity'?)"),
    ({"recontact_days": 0}, "policies.collections.recontact_days = 0: must be >= 1"),
], ids=["rule", "rule-key", "stage-key", "negative-cost", "probability", "whole-number", "new-stage-incomplete",
        "stage-name", "same-entry", "legal-cost", "legal-key", "recontact"])
def test_invalid_tables_say_where_and_why(table: dict[str, Any], expected: str) -> None:
    assert expected in error(table)


def test_stages_must_start_after_the_grace_period_and_before_charge_off() -> None:
    with pytest.raises(ScenarioError, match=r"policies.collections.stages.sms.entry_dpd = 5: must be above the days in which policies.grace counts a payment as on time \(10\)"):
        make_scenario(policies={"collections": {}, "grace": {"days": 10}})
    assert "stages.field_visit.entry_dpd = 120: must be below lender.charge_off_dpd (120)" in error({"stages": {"field_visit": {"entry_dpd": 120}}})
    later = make_scenario(policies={"collections": {"stages": {"sms": {"entry_dpd": 11}}}, "grace": {"days": 10}})
    assert list(later.policies["collections"].stages) == ["sms", "phone", "field_visit"]


def test_a_borrower_with_nothing_to_pay_with_promises_nothing() -> None:
    _, result = run(make_scenario(borrowers=NO_INCOME, policies={"collections": {}}))
    report = result.policies["collections"]
    assert report["sms_contacts"] > 0 and report["phone_contacts"] > 0
    assert report["sms_promises"] == report["phone_promises"] == report["field_visit_promises"] == 0


def test_promises_of_borrowers_with_cash_are_kept() -> None:
    # Forgetful borrowers with ample cash who notice late: every promise they make is kept
    # (they pay on the promise day, or have paid by then).
    forgetful = {"income_monthly": 3500, "initial_savings_months": 50, "target_buffer_months": 50, "spending_noise_sd": 0,
                 "monthly_forget_prob": 0.5, "literacy": 0, "forget_notice_days": 25}
    _, result = run(make_scenario(portfolio={"borrowers": 2000}, borrowers=forgetful, economy={"monthly_job_loss_prob": 0},
                                  policies={"collections": {}}))
    report = result.policies["collections"]
    assert report["sms_promises"] > 0
    # Only those whose promise day falls after the run's end are not counted as kept.
    assert 0.98 * report["sms_promises"] < report["sms_promises_kept"] <= report["sms_promises"]
