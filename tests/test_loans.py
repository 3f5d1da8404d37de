"""Amortisation to the cent against the closed form, and the ledger's allocation rules."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from loansim.engine import Simulation
from loansim.loans import DAYS_PER_MONTH, Ledger, Loans, annuity_payment, ledger_errors, originate, to_cents
from loansim.state import StateArrays

from conftest import make_scenario


def reference_schedule(principal: str, apr: str, n: int) -> tuple[Decimal, list[Decimal]]:
    """Instalment and balance after each payment, by hand in Decimal (an independent check)."""
    p, r = Decimal(principal), Decimal(apr) / 12
    cent = Decimal("0.01")
    level = p / n if r == 0 else p * r / (1 - (1 + r) ** -n)
    payment = level.quantize(cent, ROUND_HALF_UP)
    balances = []
    for k in range(n):
        interest = (p * r).quantize(cent, ROUND_HALF_UP)
        p = Decimal(0) if k == n - 1 else p - (payment - interest)
        balances.append(p)
    return payment, balances


@pytest.mark.parametrize(("principal", "apr", "n", "expected"), [
    (10_000, 0.18, 36, 361.52),   # the textbook example
    (25_000, 0.069, 60, 493.85),
    (1_200, 0.0, 12, 100.00),     # no interest: principal / n
])
def test_annuity_payment_closed_form(principal: float, apr: float, n: int, expected: float) -> None:
    assert to_cents(annuity_payment(principal, apr, n)) == round(expected * 100)


def balance_path(principal: float, apr: float, term: int) -> tuple[int, list[int]]:
    """Balance of a loan due on day 0 after each of its due dates, from the engine."""
    scenario = make_scenario(
        run={"months": term},
        portfolio={"borrowers": 30, "principal": principal, "apr": apr, "term_months": term},
        borrowers={"income_monthly": 100_000, "initial_savings_months": 10, "monthly_forget_prob": 0,
                   "spending_noise_sd": 0},
        economy={"monthly_job_loss_prob": 0},
    )
    sim = Simulation(scenario)
    path = []
    for month in range(term):
        sim.advance(month * DAYS_PER_MONTH + 1)
        path.append(int(sim.loans.principal[0]))
    return int(sim.loans.installment[0]), path


@pytest.mark.parametrize(("principal", "apr", "term"), [("10000", "0.18", 36), ("4321.09", "0.259", 13), ("800", "0", 6)])
def test_amortisation_to_the_cent(principal: str, apr: str, term: int) -> None:
    installment, path = balance_path(float(principal), float(apr), term)
    payment, expected = reference_schedule(principal, apr, term)
    assert installment == int(payment * 100)
    assert path == [int(b * 100) for b in expected]
    assert path[-1] == 0


def test_balance_follows_closed_form_within_rounding() -> None:
    # B_k = P(1+r)^k - A((1+r)^k - 1)/r; monthly interest rounding moves it by cents only.
    installment, path = balance_path(10_000, 0.18, 36)
    r, a = 0.015, installment / 100
    for k, cents in enumerate(path[:-1], start=1):
        closed = 10_000 * (1 + r) ** k - a * ((1 + r) ** k - 1) / r
        assert abs(cents / 100 - closed) < 0.05


def test_payment_allocation_fees_then_interest_then_principal() -> None:
    loans = Loans(3)
    originate(loans, np.array([1000.0, 1000.0, 1000.0]), 0.12, 10)
    ledger = Ledger(loans, months=1, now=lambda: 0)
    ids = slice(0, 3)
    ledger.bill_instalment(ids)
    ledger.charge_fee(np.arange(3), 500)
    interest = loans.interest_due.copy()           # 1% of 1000.00 = 10.00
    assert list(interest) == [1000, 1000, 1000]
    ledger.pay(ids, np.array([300, 1200, loans.amount_due(ids)[2]]))
    assert list(loans.fees_due) == [200, 0, 0]                     # 3.00 only reaches fees
    assert list(loans.interest_due) == [1000, 300, 0]              # 12.00 = 5 fees + 7 interest
    assert loans.principal_repaid[2] == loans.installment[2] - 1000
    assert ledger_errors(loans) == []
    assert ledger.flows["payments"][0] == 300 + 1200 + loans.installment[2] + 500


def test_state_arrays_refuse_unknown_fields() -> None:
    loans = Loans(4)
    with pytest.raises(AttributeError):
        loans.princpal = np.zeros(4)
    with pytest.raises(ValueError):
        loans.principal = np.zeros(5)
    assert isinstance(loans, StateArrays) and loans.nbytes() > 0


@pytest.mark.parametrize("apr", [1e-300, 1e-20, 1e-9])
def test_annuity_payment_is_stable_for_tiny_rates(apr: float) -> None:
    assert annuity_payment(1000, apr, 12) == pytest.approx(1000 / 12, rel=1e-9)
