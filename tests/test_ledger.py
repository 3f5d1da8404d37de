"""The ledger identity to the cent after runs of generated scenarios."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loansim.loans import FLOWS, ledger_errors

from conftest import make_scenario, run


@st.composite
def scenarios(draw):
    default_dpd = draw(st.integers(1, 150))
    fees = draw(st.sampled_from([None, {"flat_fee": draw(st.floats(0, 60)),
                                        "penalty_monthly_rate": draw(st.floats(0, 0.1)),
                                        "max_fees_per_loan": draw(st.one_of(st.none(), st.floats(0, 200)))}]))
    return make_scenario(
        run={"months": draw(st.integers(1, 40)), "seed": draw(st.integers(0, 2**32))},
        portfolio={"borrowers": draw(st.integers(1, 120)), "apr": draw(st.floats(0, 0.6)),
                   "term_months": draw(st.integers(1, 48)),
                   "principal": {"dist": "lognormal", "median": draw(st.floats(50, 50_000)), "sigma": 0.6}},
        borrowers={"income_monthly": {"dist": "lognormal", "median": draw(st.floats(0.01, 8000)), "sigma": 0.5},
                   "initial_savings_months": draw(st.floats(0, 3)),
                   "monthly_forget_prob": draw(st.floats(0, 1)),
                   "target_buffer_months": {"dist": "uniform", "low": 0, "high": 2},
                   "buffer_adjustment": draw(st.floats(0.01, 1)),
                   "spending_noise_sd": draw(st.floats(0, 0.3)),
                   "partial_payments": draw(st.booleans())},
        economy={"monthly_job_loss_prob": draw(st.floats(0, 1)), "monthly_job_finding_prob": draw(st.floats(0, 1))},
        lender={"default_dpd": default_dpd, "charge_off_dpd": default_dpd + draw(st.integers(0, 120)),
                "recovery_rate": draw(st.floats(0, 1)), "recovery_delay_months": draw(st.integers(0, 12))},
        policies={} if fees is None else {"late_fee": fees},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_ledger_balances_to_the_cent(scenario) -> None:
    sim, result = run(scenario)
    L = sim.loans
    assert ledger_errors(L) == []
    assert result.ledger_problems == []
    # Totals equal the per-loan sums, and the monthly flows add up to the totals.
    t = result.ledger
    assert t["disbursed"] == t["principal_repaid"] + t["principal_charged_off"] + t["principal_outstanding"]
    assert t["interest_billed"] == t["interest_paid"] + t["interest_written_off"] + t["interest_outstanding"]
    assert t["fees_billed"] == t["fees_paid"] + t["fees_written_off"] + t["fees_outstanding"]
    flows = sim.ledger.flows
    for name in FLOWS:
        if name in t:
            assert flows[name].sum() == t[name], name
    assert flows["payments"].sum() == t["principal_repaid"] + t["interest_paid"] + t["fees_paid"]
    assert t["recoveries"] <= t["principal_charged_off"]
    assert np.all(L.recoveries <= L.principal_charged_off)
