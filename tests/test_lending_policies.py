"""Hardship deferral, restructuring, early warning and underwriting: closed forms, the
expected direction under common random numbers, zero reach, and the ledger."""

from __future__ import annotations

import numpy as np
import pytest

from loansim.errors import ScenarioError
from loansim.loans import DAYS_PER_MONTH, NOT_LENT, REPAID, annuity_payment, to_cents

from conftest import make_scenario, one_loan, run

EVERY_MONTH = {"hardship": {"annual_rate": 100.0}}  # a shock (without cost) hits every month
DEFER_ALL = {"application_prob": 1.0, "documented_share": 1.0, "cost_per_application": 0.0, "cooldown_months": 1000}
SHOCKED = {"borrowers": 3000}, {"shocks": {"illness": {"annual_rate": 0.6, "expense": 1500.0, "income_loss_share": 0.5,
                                                        "income_loss_months": 2.0}}}


def _shocked_book(**policies):
    portfolio, borrowers = SHOCKED
    return make_scenario(portfolio=portfolio, borrowers=borrowers, policies=policies)


# ------------------------------------------------------------------ hardship deferral

def test_waived_deferral_shifts_the_schedule_and_books_the_interest_forgone() -> None:
    rich = {"initial_savings_months": 0, "shocks": EVERY_MONTH}
    plain_sim, plain = run(one_loan(16, principal=1000.0, apr=0.12, term=12, borrowers=rich),)
    sim, result = run(one_loan(16, principal=1000.0, apr=0.12, term=12, borrowers=rich,
                               policies={"hardship_deferral": {**DEFER_ALL, "months": 3}}))
    # The borrower has no cash: both books miss. What matters is the schedule and the cost.
    L = sim.loans
    assert L.sched_start_day[0] == 90 and L.term_months[0] == 12  # three instalments skipped, none dropped
    assert result.policies["hardship_deferral"]["deferrals"] == 1
    # Interest on the 1,000 balance for the three deferred months, 1% a month, waived.
    assert result.policies["hardship_deferral"]["interest_forgone"] == pytest.approx(30.00)
    assert result.policies["hardship_deferral"]["cost"] == pytest.approx(30.00)
    assert result.ledger["operating_cost"] == 3000
    assert L.charged_off_day[0] == plain_sim.loans.charged_off_day[0] + 90  # arrears count from the resumed schedule
    assert result.ledger_problems == []


def test_a_paying_borrower_repays_the_same_interest_three_months_later() -> None:
    rich = {"income_monthly": 5000, "initial_savings_months": 2, "target_buffer_months": 1200, "shocks": EVERY_MONTH}
    plain_sim, _ = run(one_loan(16, principal=1000.0, apr=0.12, term=12, borrowers=rich))
    sim, result = run(one_loan(16, principal=1000.0, apr=0.12, term=12, borrowers=rich,
                               policies={"hardship_deferral": {**DEFER_ALL, "months": 3}}))
    assert plain_sim.loans.status[0] == REPAID and sim.loans.status[0] == REPAID
    assert sim.loans.interest_paid[0] == plain_sim.loans.interest_paid[0]  # waived: the same schedule, later
    assert result.monthly["principal_repaid"][:3].sum() == 0
    assert result.monthly["principal_repaid"][14] > 0 and plain_sim.loans.n_billed[0] == sim.loans.n_billed[0] == 12


def test_capitalised_deferral_adds_the_interest_to_the_balance() -> None:
    sim, result = run(one_loan(16, principal=1000.0, apr=0.12, term=12,
                               borrowers={"initial_savings_months": 0, "shocks": EVERY_MONTH},
                               policies={"hardship_deferral": {**DEFER_ALL, "months": 3, "interest": "capitalised"}}))
    L = sim.loans
    # 10.00, then 10.10 on 1,010.00, then 10.20 on 1,020.10: capitalised month by month.
    assert result.policies["hardship_deferral"]["interest_capitalised"] == pytest.approx(30.30)
    assert result.policies["hardship_deferral"]["cost"] == 0
    assert L.capitalised[0] >= 3030 and result.ledger_problems == []
    assert L.installment[0] == to_cents(annuity_payment(1030.301, 0.12, 12))


def test_deferred_loans_miss_nothing_while_deferred_and_the_cost_is_the_interest_forgone() -> None:
    scenario = _shocked_book(hardship_deferral={**DEFER_ALL, "application_prob": 0.5, "months": 3})
    from loansim.engine import Simulation

    sim = Simulation(scenario)
    assert sim.spans is not None  # several due days in one step: each loan's own day is its due day
    missed: list[tuple[np.ndarray, np.ndarray]] = []  # loans that missed, and each one's due day

    def on_missed(sim, day, ids):
        missed.append((ids.copy(), day - day % DAYS_PER_MONTH + sim.loans.due_day[ids].astype(np.int64)))

    sim.hooks.add("missed", on_missed)
    forgone = []

    def deferred_interest(sim, day, cohort):
        ids = cohort.loan_ids(np.flatnonzero(sim.loans.sched_start_day[cohort.loans] > cohort.today(day)))
        ids = ids[sim.loans.status[ids] == 0]
        forgone.append(int((sim.loans.principal[ids] * sim.loans.monthly_rate[ids] + 0.5).astype(np.int64).sum()))

    sim.hooks.add("before_due", deferred_interest)
    result = sim.run()
    policy = sim.policies[0]
    granted = policy.per_loan.deferred_from >= 0
    assert result.policies["hardship_deferral"]["deferrals"] > 50
    for ids, due in missed:
        during = ids[granted[ids] & (policy.per_loan.deferred_from[ids] <= due) & (sim.loans.sched_start_day[ids] > due)]
        assert during.size == 0, f"deferred loans {during} missed their due dates {due[np.isin(ids, during)]}"
    assert sim.ledger.cost_cents("hardship_deferral") == sum(forgone) == round(100 * result.policies["hardship_deferral"]["interest_forgone"])
    assert result.ledger_problems == []


def test_deferral_lowers_defaults_for_a_shocked_book() -> None:
    _, without = run(_shocked_book())
    _, with_ = run(_shocked_book(hardship_deferral={**DEFER_ALL, "months": 3}))
    assert with_.metrics["default_rate"] < without.metrics["default_rate"]


# ------------------------------------------------------------------ restructuring

def test_restructuring_re_ages_and_re_amortises_over_the_longer_term() -> None:
    from loansim.engine import Simulation

    scenario = one_loan(6, principal=1200.0, apr=0.12, term=12,
                        policies={"restructuring": {"entry_dpd": 30, "accept_prob": 1.0, "extension_months": 12,
                                                    "cost_per_offer": 1.0, "cost_per_modification": 20.0}})
    sim = Simulation(scenario)
    sim.advance(31)  # day 0's instalment missed: 30 DPD at the start of month 1, restructured before day 30's
    L = sim.loans
    assert L.n_modified[0] == 1 and L.capitalised[0] == 1200  # the 12.00 interest billed on day 0
    # 1,212.00 re-amortised over the 11 instalments left plus 12, from day 30 (billed and missed again).
    assert L.term_months[0] == 1 + 11 + 12 and L.sched_start_day[0] == 30 and L.oldest_unpaid_day[0] == 30
    assert L.installment[0] == to_cents(annuity_payment(1212.0, 0.12, 23))
    result = sim.run()
    assert result.policies["restructuring"]["cost"] == pytest.approx(21.0)
    assert result.ledger_problems == []


def test_restructuring_lowers_defaults_and_tracks_re_defaults() -> None:
    _, without = run(_shocked_book())
    _, with_ = run(_shocked_book(restructuring={"accept_prob": 0.8}))
    block = with_.policies["restructuring"]
    assert block["modifications"] > 20
    assert with_.metrics["default_rate"] < without.metrics["default_rate"]
    for k in (3, 6, 9, 12):  # a status at k months: 90+ days past due is also 60+
        assert 0 <= block[f"redefault_rate_90_{k}m"] <= block[f"redefault_rate_60_{k}m"] <= 1
    assert block["redefault_rate_60_3m"] > 0  # status 3 months on: the old within-90-days count was 0 by construction
    assert block["mean_instalment_after"] < block["mean_instalment_before"]


def test_borrowers_out_of_work_accept_with_their_own_chance() -> None:
    from loansim.engine import Simulation

    def modified_while(params: dict) -> tuple[int, int]:
        """Modifications made to borrowers in work and out of work at the offer."""
        sim = Simulation(make_scenario(portfolio=SHOCKED[0], borrowers={**SHOCKED[1], "initial_unemployment_share": 0.3},
                                       policies={"restructuring": {"accept_prob": 1.0, **params}}))
        policy = next(p for p in sim.policies if p.name == "restructuring")
        counts = [0, 0]
        restructure = policy.restructure

        def counting(sim: Simulation, ids: np.ndarray) -> None:
            employed = sim.borrowers.employed[sim.book.holders(ids)]
            counts[0] += int(employed.sum())
            counts[1] += int((~employed).sum())
            restructure(sim, ids)
        policy.restructure = counting
        sim.run()
        return counts[0], counts[1]

    in_work, out_of_work = modified_while({})
    assert in_work > 0 and out_of_work > 0
    assert modified_while({"out_of_work_accept_prob": 1.0}) == (in_work, out_of_work)  # the same chance for all
    only_in_work = modified_while({"out_of_work_accept_prob": 0.0})
    assert only_in_work[1] == 0 and only_in_work[0] > 0


def test_no_income_book_re_defaults_after_every_restructuring() -> None:
    scenario = make_scenario(borrowers={"income_monthly": 0, "initial_savings_months": 0},
                             policies={"restructuring": {"accept_prob": 1.0, "entry_dpd": 30}})
    _, result = run(scenario)
    assert result.policies["restructuring"]["modifications"] == 600
    assert result.policies["restructuring"]["redefault_rate_by_end"] == 1.0


# ------------------------------------------------------------------ early warning

def test_early_warning_needs_the_policy_it_offers() -> None:
    with pytest.raises(ScenarioError, match=r"policies.early_warning.offer = \"restructuring\": needs \[policies.restructuring\] enabled"):
        make_scenario(policies={"early_warning": {"offer": "restructuring"}})


def test_early_warning_offers_deferral_and_books_its_contacts() -> None:
    base = {"hardship_deferral": {**DEFER_ALL, "application_prob": 0.0}}
    _, alone = run(_shocked_book(**base))
    assert alone.policies["hardship_deferral"]["deferrals"] == 0  # nobody applies of their own accord
    _, warned = run(_shocked_book(**base, early_warning={"take_up_prob": 0.5, "cost_per_outreach": 2.0}))
    block = warned.policies["early_warning"]
    assert block["contacts"] > 0 and block["took_up"] > 0
    assert warned.policies["hardship_deferral"]["deferrals"] == block["loans_given_the_offer"] > 0
    assert block["cost"] == pytest.approx(2.0 * block["contacts"])
    assert warned.metrics["default_rate"] < alone.metrics["default_rate"]


def test_early_warning_with_zero_reach_changes_nothing() -> None:
    base = {"hardship_deferral": {**DEFER_ALL, "application_prob": 0.3}}
    _, alone = run(_shocked_book(**base))
    _, silent = run(_shocked_book(**base, early_warning={"score_threshold": 300.0, "on_shock": False}))
    assert silent.policies["early_warning"]["contacts"] == 0
    assert silent.metrics == alone.metrics


# ------------------------------------------------------------------ underwriting

def _applicants(cutoff: float, **more) -> dict:
    return {"applications_per_month": 150, "last_month": 12, "score_cutoff": cutoff, **more}


def _originating(**underwriting):
    return make_scenario(portfolio={"borrowers": 20}, borrowers={"score": {"risk_weight": 0.8}},
                         policies={"underwriting": underwriting})


def test_stricter_cut_off_lowers_approval_and_default_rates() -> None:
    _, loose = run(_originating(**_applicants(300.0)))
    _, strict = run(_originating(**_applicants(700.0)))
    assert loose.metrics["approval_rate"] == 1.0
    assert strict.metrics["approval_rate"] < 0.5
    assert strict.metrics["default_rate"] < loose.metrics["default_rate"]
    assert strict.policies["underwriting"]["new_default_rate"] < loose.policies["underwriting"]["new_default_rate"]
    assert strict.policies["underwriting"]["new_volume"] < loose.policies["underwriting"]["new_volume"]
    assert strict.ledger_problems == [] and loose.ledger_problems == []


def test_declined_applications_are_never_lent_and_new_loans_start_a_month_later() -> None:
    sim, result = run(_originating(**_applicants(700.0)))
    L, people = sim.loans, sim.borrowers
    applied = people.applies_in_month[L.borrower] >= 0
    declined = applied & (L.status == NOT_LENT)
    assert declined.any()
    assert np.all(L.disbursed[declined] == 0) and np.all(L.n_billed[declined] == 0) and np.all(L.interest_billed[declined] == 0)
    lent = applied & ~declined
    month = people.applies_in_month[L.borrower[lent]].astype(np.int64)
    assert np.array_equal(L.sched_start_day[lent], 30 * (month + 1) + L.due_day[lent])
    assert result.policies["underwriting"]["applications"] == 12 * 150
    assert result.metrics["approval_rate"] == result.policies["underwriting"]["approved"] / (12 * 150)
    assert result.ledger["disbursed"] == L.disbursed.sum()


def test_income_verification_declines_overstated_incomes() -> None:
    tight = {"max_dti": 0.06, "applicant_overstating_share": 1.0, "applicant_overstatement": 1.0}
    _, trusting = run(_originating(**_applicants(300.0, **tight, verification_share=0.0)))
    _, verifying = run(_originating(**_applicants(300.0, **tight, verification_share=1.0)))
    assert trusting.policies["underwriting"]["overstatements_caught"] == 0
    assert verifying.policies["underwriting"]["overstatements_caught"] == 12 * 150
    assert verifying.metrics["approval_rate"] < trusting.metrics["approval_rate"]
    assert verifying.metrics["operating_cost"] == pytest.approx(12 * 150 * (20.0 + 15.0))


def test_no_applicants_is_the_same_as_no_underwriting() -> None:
    _, none = run(make_scenario())
    _, zero = run(make_scenario(policies={"underwriting": {"applications_per_month": 0}}))
    assert {k: v for k, v in zero.metrics.items() if k != "approval_rate"} == none.metrics
    for name, series in none.monthly.items():
        assert np.array_equal(series, zero.monthly[name]), name


def test_bad_underwriting_months_are_errors() -> None:
    with pytest.raises(ScenarioError, match=r"policies.underwriting.first_month = 30: must be within the run \(run.months = 24\)"):
        make_scenario(policies={"underwriting": {"first_month": 30}})
    with pytest.raises(ScenarioError, match=r"policies.underwriting.last_month = 2: must be >= first_month \(5\)"):
        make_scenario(policies={"underwriting": {"first_month": 5, "last_month": 2}})
