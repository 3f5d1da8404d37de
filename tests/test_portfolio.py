"""Products, segments and borrowers holding several loans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loansim.borrowers.payment import allocate
from loansim.errors import ScenarioError
from loansim.loans import ledger_errors

from conftest import make_scenario, run

PRODUCTS = {
    "auto": {"principal": {"dist": "lognormal", "median": 15_000, "sigma": 0.3}, "apr": 0.07, "term_months": 48},
    "card": {"principal": 1_500, "apr": 0.24, "term_months": 12},
}
SEGMENTS = {
    "consumers": {"share": 0.5, "products": ["loan"]},
    "drivers": {"share": 0.3, "products": ["card", "auto", "loan"]},
    "spenders": {"share": 0.2, "products": ["card"]},
}


def multi(**changes):
    return make_scenario(portfolio={"borrowers": 3000, "products": PRODUCTS, "segments": SEGMENTS,
                                    "payment_order": ["auto", "loan", "card"], **changes.pop("portfolio", {})}, **changes)


def test_cash_is_split_in_payment_order() -> None:
    # Borrower 0: two loans due 100 and 50, has 120; borrower 1: one loan due 80, has 100.
    due, first = np.array([100, 50, 80]), np.array([0, 2])
    assert allocate(np.array([120, 100]), due, first, partial=True).tolist() == [100, 20, 80]
    assert allocate(np.array([120, 100]), due, first, partial=False).tolist() == [100, 0, 80]
    assert allocate(np.array([40, 0]), due, first, partial=False).tolist() == [0, 0, 0]
    assert allocate(np.array([60, 0]), due, first, partial=False).tolist() == [0, 50, 0]  # skips what it cannot cover


def test_segments_hold_their_products() -> None:
    sim, result = run(multi())
    people, L, book = sim.borrowers, sim.loans, sim.book
    assert book.products == ["auto", "loan", "card"]
    shares = np.bincount(people.segment, minlength=3) / people.n
    assert np.allclose(shares, [0.5, 0.3, 0.2], atol=0.03)
    held = np.bincount(L.borrower, minlength=people.n)
    assert np.array_equal(held, np.array([1, 3, 1])[people.segment])
    # A borrower's loans share a due day and are stored in payment order.
    assert np.all(L.due_day == people.due_day[L.borrower])
    drivers = L.borrower == np.flatnonzero(people.segment == 1)[0]
    assert L.product[drivers].tolist() == [0, 1, 2]
    assert result.ledger_problems == []
    for name in ("consumers", "drivers", "spenders"):
        assert f"default_rate_segment_{name}" in result.metrics
    assert {"default_rate_product_auto", "loss_rate_product_card"} <= result.metrics.keys()


def test_a_borrower_short_of_cash_pays_the_first_loan_in_the_order() -> None:
    scenario = multi(borrowers={"income_monthly": 0, "initial_savings_months": 0, "monthly_forget_prob": 0},
                     run={"months": 1})
    sim = run(scenario)[0]
    L, people = sim.loans, sim.borrowers
    drivers = np.flatnonzero(people.segment == 1)
    # Enough for the auto instalment only, then the month's due dates.
    auto = (L.product == 0) & np.isin(L.borrower, drivers)
    fresh = type(sim)(scenario)
    fresh.borrowers.savings[fresh.loans.borrower[auto]] = fresh.loans.installment[auto] / 100
    fresh.run()
    F = fresh.loans
    assert np.all(F.n_missed[auto] == 0)
    others = np.isin(F.borrower, drivers) & ~auto
    assert np.all(F.n_missed[others] == 1)


def test_a_policy_does_not_change_anyones_shocks_with_several_loans() -> None:
    a = run(multi())[1].monthly["unemployment_share"]
    b = run(multi(policies={"late_fee": {"flat_fee": 40}}))[1].monthly["unemployment_share"]
    assert np.array_equal(a, b)


@pytest.mark.parametrize(("portfolio", "message"), [
    ({"segments": {"a": {"share": 0.6, "products": ["loan"]}, "b": {"share": 0.3, "products": ["loan"]}}},
     "segment shares must add up to 1"),
    ({"segments": {"a": {"share": 1.0, "products": ["truck"]}}}, "segment 'a' holds unknown product 'truck'"),
    ({"payment_order": ["loan"], "products": {"auto": PRODUCTS["auto"]}}, "must list every product once: loan, auto"),
    ({"products": {"loan": PRODUCTS["card"]}}, "the product name 'loan' is taken"),
])
def test_bad_products_and_segments_are_rejected(portfolio: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        make_scenario(portfolio=portfolio)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31), st.floats(0.1, 0.9), st.booleans(), st.floats(0, 1))
def test_ledger_balances_with_several_loans_per_borrower(seed: int, share: float, partial: bool, forget: float) -> None:
    scenario = multi(run={"seed": seed, "months": 18},
                     portfolio={"borrowers": 200, "segments": {
                         "a": {"share": share, "products": ["loan", "card"]},
                         "b": {"share": 1 - share, "products": ["auto", "card", "loan"]}}},
                     borrowers={"partial_payments": partial, "monthly_forget_prob": forget,
                                "misunderstanding": {"share": 0.3}, "stacking": {"take_up_prob": 0.5},
                                "strategic": {"monthly_prob": 0.01}},
                     policies={"late_fee": {"flat_fee": 20, "penalty_monthly_rate": 0.03}})
    sim, result = run(scenario)
    assert ledger_errors(sim.loans) == [] and result.ledger_problems == []
    assert np.all(sim.borrowers.savings >= -1e-6)


def test_a_borrower_with_several_late_loans_counts_each_month_once() -> None:
    sim, _ = run(multi(borrowers={"income_monthly": 0, "initial_savings_months": 0}, run={"months": 8}))
    people = sim.borrowers
    # Past due at the month ends from the first due date until charge-off at 120 DPD.
    expected = np.where(people.due_day < 29, 4, 3)
    assert np.array_equal(people.months_in_arrears, expected)
