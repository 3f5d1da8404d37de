"""Reproducibility, common random numbers, and sampled distributions against theory."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from loansim import portfolio
from loansim.distributions import Dist
from loansim.engine import Simulation
from loansim.experiment import run_experiment
from loansim.loans import DAYS_PER_MONTH
from loansim.rng import Streams
from loansim.scenario import load_scenario, validate_scenario

from conftest import SCENARIOS, TINY, deep_update, make_scenario, run, shortened


def same_results(a, b) -> bool:
    return a.metrics == b.metrics and all(np.array_equal(a.monthly[k], b.monthly[k]) for k in a.monthly)


def test_same_seed_gives_identical_results() -> None:
    _, first = run(make_scenario())
    _, second = run(make_scenario())
    assert same_results(first, second)


def test_different_seeds_or_replications_give_different_results() -> None:
    _, base = run(make_scenario())
    _, reseeded = run(make_scenario(run={"seed": 12}))
    _, other_replication = run(make_scenario(), replication=1)
    assert not same_results(base, reseeded)
    assert not same_results(base, other_replication)


def test_replications_do_not_depend_on_the_number_of_processes() -> None:
    scenario = make_scenario(run={"replications": 3, "months": 12}, portfolio={"borrowers": 300})
    serial = run_experiment(scenario, workers=1, progress=False)
    parallel = run_experiment(scenario, workers=2, progress=False)
    assert all(same_results(a, b) for a, b in zip(serial.runs, parallel.runs))
    assert serial.summary()["metrics"] == parallel.summary()["metrics"]


def income_paths(scenario) -> list[np.ndarray]:
    sim = Simulation(scenario)
    paths = []
    for month in range(scenario.run.months):
        sim.advance(month * DAYS_PER_MONTH + 1)
        paths.append(np.stack([sim.borrowers.income.copy(), sim.borrowers.employed.copy()]))
    return paths


def test_common_random_numbers_a_policy_does_not_change_anyones_shocks() -> None:
    without = make_scenario()
    with_fees = make_scenario(policies={"late_fee": {"flat_fee": 50, "penalty_monthly_rate": 0.05}})
    a, b = income_paths(without), income_paths(with_fees)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    # ... while the policy does change outcomes.
    _, ra = run(without)
    _, rb = run(with_fees)
    assert ra.ledger["fees_billed"] != rb.ledger["fees_billed"]


BOOK_STATE = ("status", "principal", "principal_repaid", "interest_paid", "fees_paid", "n_missed", "defaulted_day",
              "charged_off_day", "oldest_unpaid_day", "recovery_share", "due_day")


@pytest.mark.parametrize("changes", [
    {},  # the tiny book: a stochastic shock mix, job loss, forgetting
    {"economy": {"unemployment_path": "adverse", "monthly_pay_cut_prob": 0.01},
     "borrowers": {"job_loss_sensitivity": {"dist": "lognormal", "median": 1.0, "sigma": 0.6},
                   "score": {"risk_weight": 0.5},
                   "shocks": {"flood": {"annual_rate": 0.5, "regional": True, "expense": 900, "income_loss_share": 0.5,
                                        "income_loss_months": 2}}},
     "portfolio": {"products": {"card": {"principal": 1500, "apr": 0.24, "term_months": 12}}}},
])
def test_common_random_numbers_applicants_leave_the_book_as_it_was(changes: dict) -> None:
    """Underwriting brings applicants into the population; the book's borrowers and loans
    live exactly the same lives as without them (applicants draw from streams of their own)."""
    def scenario(**more: dict):
        raw = deep_update(TINY, {**changes, **more})
        if "unemployment_path" in raw["economy"]:
            del raw["economy"]["monthly_job_loss_prob"]
        return validate_scenario(raw)

    without = scenario()
    with_applicants = scenario(policies={"underwriting": {"applications_per_month": 40, "score_cutoff": 620}})
    a, b = Simulation(without), Simulation(with_applicants)
    book = b.borrowers.applies_in_month < 0
    book_loans = book[b.loans.borrower]
    assert np.count_nonzero(~book) == 40 * 24 and book.sum() == a.borrowers.n
    for month in (1, 7, 24):
        a.advance(month * DAYS_PER_MONTH + 1)
        b.advance(month * DAYS_PER_MONTH + 1)
        for field in ("income", "employed", "savings", "score", "pay_day", "target_buffer"):
            assert np.array_equal(getattr(a.borrowers, field), getattr(b.borrowers, field)[book]), (month, field)
        for field in BOOK_STATE:
            assert np.array_equal(getattr(a.loans, field), getattr(b.loans, field)[book_loans]), (month, field)
    assert b.loans.status[~book_loans].tolist().count(0) > 0  # some applicants were lent to


def test_streams_are_independent_of_draw_order() -> None:
    s = Streams(5, replication=2)
    first = s.uniform("payment.forget", 3, 10)
    s.normal("spending.noise", 3, 1000)
    assert np.array_equal(first, s.uniform("payment.forget", 3, 10))
    assert not np.array_equal(first, s.uniform("payment.forget", 4, 10))
    assert not np.array_equal(first, Streams(5, replication=3).uniform("payment.forget", 3, 10))


def test_draws_made_ahead_are_the_draws_made_on_time() -> None:
    """Recurring draws are made a period ahead on a background thread; each array must be
    the one drawn in its own period, whatever was drawn before it and in whichever order."""
    ahead, on_time = Streams(7, replication=2), Streams(7, replication=2)
    for period in range(4):
        for kind in ("uniform", "normal"):
            draw = getattr(ahead, kind)("process", period, 1_000, recurring=True)
            np.testing.assert_array_equal(draw, getattr(on_time, kind)("process", period, 1_000))
    # A period skipped, or another size, is drawn afresh, not taken from the head start.
    np.testing.assert_array_equal(ahead.uniform("process", 9, 1_000, recurring=True), on_time.uniform("process", 9, 1_000))
    np.testing.assert_array_equal(ahead.uniform("process", 10, 500), on_time.uniform("process", 10, 500))


@pytest.mark.parametrize("name", ["bench-policies", "products"])
def test_month_start_in_blocks_and_ahead_gives_the_results_made_in_one_go(name: str, monkeypatch) -> None:
    """The month start runs block by block (``Book.blocks``), and each month's income side
    is worked out during the month before on a background thread; neither may change a result."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml", shortened(SCENARIOS / f"{name}.toml", 14, ["portfolio.borrowers=2000"]))
    monkeypatch.setattr(portfolio, "BLOCK", 300)
    sim = Simulation(scenario)
    fast = sim.run()
    assert len(sim.book.blocks) > 5 and sim.population.work_ahead
    monkeypatch.setattr(portfolio, "BLOCK", 10 ** 9)
    sim = Simulation(scenario)
    sim.population.work_ahead = False
    slow = sim.run()
    assert len(sim.book.blocks) == 1
    assert same_results(fast, slow) and fast.policies == slow.policies and fast.ledger == slow.ledger


def test_the_income_side_worked_out_ahead_is_read_only_during_its_month() -> None:
    sim = Simulation(make_scenario())
    sim.advance(DAYS_PER_MONTH + 1)
    for name in ("employed", "base_income", "essentials", "income", "invested"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(sim.borrowers, name)[0] = 1
    sim.borrowers.savings[0] = 1  # the spending side is the simulation's to change


def test_higher_job_loss_gives_more_defaults() -> None:
    rates = []
    for p in (0.0, 0.02, 0.06):
        scenario = make_scenario(portfolio={"borrowers": 4000}, economy={"monthly_job_loss_prob": p},
                                 borrowers={"initial_unemployment_share": 0.0})
        rates.append(run(scenario)[1].metrics["default_rate"])
    assert rates[0] < rates[1] < rates[2]


@pytest.mark.parametrize("spec", [
    {"dist": "fixed", "value": 3.0},
    {"dist": "uniform", "low": 2, "high": 5},
    {"dist": "normal", "mean": 1.0, "sd": 2.0},
    {"dist": "normal", "mean": 0.1, "sd": 0.2, "low": 0.0, "high": 1.0},
    {"dist": "lognormal", "median": 4000, "sigma": 0.4},
    {"dist": "beta", "a": 8, "b": 2},
    {"dist": "beta", "a": 2, "b": 5, "low": 10, "high": 20},
])
def test_sampled_mean_matches_the_stated_mean(spec: dict) -> None:
    dist = TypeAdapter(Dist).validate_python(spec)
    x = dist.sample(np.random.default_rng(1), 400_000)
    lo, hi = dist.support()
    assert x.min() >= lo and x.max() <= hi
    se = x.std() / np.sqrt(x.size)
    assert abs(x.mean() - dist.mean()) <= 4 * se + 1e-12
