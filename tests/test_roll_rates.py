"""Roll rates: loans moving between month-end states, their accounting, closed forms and outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import SCENARIOS, make_scenario, one_loan, run, shortened
from loansim.engine import RunResult, Simulation
from loansim.experiment import run_experiment
from loansim.loans import NOT_LENT
from loansim.metrics import BUCKETS, CODE, FROM_STATES, HEADLINE_ROLLS, PAST_DUE, STATES, count_transitions, may_have_moved
from loansim.report import write_results
from loansim.scenario import load_scenario

NEW = FROM_STATES.index("new")
EVERYONE_PAYS = {"income_monthly": 3500, "initial_savings_months": 50, "monthly_forget_prob": 0,
                 "spending_noise_sd": 0, "target_buffer_months": 50}
NEVER_PAYS = {"income_monthly": 0, "initial_savings_months": 0}


def state_counts(result: RunResult) -> np.ndarray:
    """Loans in each of ``STATES`` at each month end, from the monthly series."""
    columns = [f"n_{name}" for name in BUCKETS] + ["n_charged_off", "n_repaid"]
    return np.stack([result.monthly[c] for c in columns], axis=1)


def run_from_start(scenario) -> tuple[Simulation, RunResult, int]:
    """Run one replication; also return how many loans were lent before the first day."""
    sim = Simulation(scenario)
    lent_at_start = int(np.count_nonzero(sim.loans.status != NOT_LENT))
    return sim, sim.run(), lent_at_start


def assert_accounts(result: RunResult, lent_at_start: int) -> None:
    """Each from-state's outgoing loans are its loans at the month end before (before month 1:
    every lent loan current); new loans are those lent in the month; each to-state's incoming
    loans are its loans at this month end, as monthly counts them."""
    T = result.transitions
    held = state_counts(result)
    assert np.array_equal(T.sum(axis=1), held)
    before = np.vstack([[lent_at_start, *[0] * (len(STATES) - 1)], held[:-1]])
    assert np.array_equal(T.sum(axis=2)[:, :NEW], before)
    assert np.array_equal(T.sum(axis=2)[:, NEW], np.diff(result.monthly["n_lent"], prepend=lent_at_start))


@pytest.mark.parametrize("name", ["baseline", "underwriting", "grace", "hardship-deferral", "restructuring", "collections"])
def test_outgoing_loans_are_the_from_state_at_the_month_end_before(name: str) -> None:
    path = SCENARIOS / f"{name}.toml"
    sim, result, lent_at_start = run_from_start(load_scenario(path, shortened(path, 14, ["portfolio.borrowers=300"])))
    assert_accounts(result, lent_at_start)
    assert result.transitions.sum() > 0
    assert np.array_equal(sim.recorder.past_due, np.flatnonzero(sim.loans.month_end_state >= PAST_DUE))


def test_lending_during_the_run_comes_from_new() -> None:
    path = SCENARIOS / "underwriting.toml"
    _, result, lent_at_start = run_from_start(load_scenario(path, shortened(path, 6, ["portfolio.borrowers=300"])))
    new = result.transitions[:, NEW]
    assert new.sum() == result.monthly["n_lent"][-1] - lent_at_start > 0
    assert new[:, STATES.index("current")].sum() > 0


def test_a_book_where_everyone_pays_stays_current_until_it_is_repaid() -> None:
    sim, result, n = run_from_start(make_scenario(borrowers=EVERYONE_PAYS, economy={"monthly_job_loss_prob": 0}))
    T, months = result.transitions, sim.months  # 24 months, 24-month loans: repaid in the last month
    current, repaid = STATES.index("current"), STATES.index("repaid")
    stay = np.zeros_like(T[0])
    stay[current, current] = n
    assert all(np.array_equal(T[m], stay) for m in range(months - 1))
    last = np.zeros_like(T[0])
    last[current, repaid] = n
    assert np.array_equal(T[-1], last)
    assert result.metrics["cure_rate_30"] == result.metrics["roll_rate_30_60"] == result.metrics["roll_rate_60_90"] == 0


def test_a_book_without_income_rolls_one_bucket_a_month_to_charge_off() -> None:
    # 29 borrowers are due on days 0 to 28, so each is past due at the first month end.
    scenario = one_loan(months=8, term=12, portfolio={"borrowers": 29},
                        lender={"default_dpd": 90, "charge_off_dpd": 120})
    _, result, n = run_from_start(scenario)
    path = ["current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus", "charged_off", "charged_off", "charged_off", "charged_off"]
    for month in range(8):
        expected = np.zeros_like(result.transitions[0])
        expected[STATES.index(path[month]), STATES.index(path[month + 1])] = n
        assert np.array_equal(result.transitions[month], expected), month
    summary = run_experiment(scenario, workers=1, progress=False).summary()
    rates = {a: {b: m["mean"] for b, m in to.items() if m["mean"]} for a, to in summary["roll_rates"].items()}
    assert rates == {a: {b: 1.0} for a, b in zip(path[:5], path[1:6])} | {"charged_off": {"charged_off": 1.0}}
    metrics = summary["metrics"]
    assert (metrics["cure_rate_30"]["mean"], metrics["roll_rate_30_60"]["mean"], metrics["roll_rate_60_90"]["mean"]) == (0, 1, 1)


@pytest.mark.parametrize("grace", [1, 10, 29])
def test_loans_inside_the_grace_window_are_current_in_both_outputs(grace: int) -> None:
    sim = Simulation(make_scenario(borrowers=NEVER_PAYS, policies={"grace": {"days": grace}}))
    sim.advance(30)  # through the first month end, at which a loan due on day d is 29 - d days past due
    inside = 29 - sim.loans.due_day <= grace
    current, late = STATES.index("current"), STATES.index("dpd_1_29")
    assert np.array_equal(sim.loans.month_end_state == CODE["current"], inside)
    result = sim.run()
    assert result.transitions[0, current, current] == result.monthly["n_current"][0] == np.count_nonzero(inside)
    assert result.transitions[0, current, late] == result.monthly["n_dpd_1_29"][0] == np.count_nonzero(~inside)
    assert_accounts(result, sim.loans.n)


def test_summary_roll_rates_and_headline_metrics_are_the_runs_counts() -> None:
    experiment = run_experiment(make_scenario(run={"months": 12, "replications": 3}), workers=1, progress=False)
    summary = experiment.summary()
    moved = np.array([run.transitions.sum(axis=0) for run in experiment.runs]).astype(float)  # replication, from, to
    held = moved.sum(axis=2, keepdims=True)
    rates = np.divide(moved, held, out=np.zeros_like(moved), where=held > 0)
    ever = held.sum(axis=(0, 2)) > 0
    assert list(summary["roll_rates"]) == [s for s, e in zip(FROM_STATES, ever) if e]
    for i, origin in enumerate(FROM_STATES):
        for j, state in enumerate(STATES):
            if ever[i]:
                assert_mean_ci95(summary["roll_rates"][origin][state], rates[:, i, j])
    for name, (origin, state) in HEADLINE_ROLLS.items():
        assert_mean_ci95(summary["metrics"][name], rates[:, FROM_STATES.index(origin), STATES.index(state)])
        assert name in summary["definitions"]
    assert summary["metrics"]["roll_rate_30_60"]["mean"] > 0


def assert_mean_ci95(block: dict, values: np.ndarray) -> None:
    mean, half = values.mean(), stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    assert block["mean"] == pytest.approx(mean, abs=1e-12)
    assert block["ci95"] == pytest.approx([mean - half, mean + half], abs=1e-12)


def test_roll_rates_csv_agrees_with_monthly_csv_and_the_summary(tmp_path: Path) -> None:
    experiment = run_experiment(make_scenario(run={"months": 12, "replications": 2}), workers=1, progress=False)
    out = write_results(tmp_path / "x", experiment, {})
    with (out / "roll_rates.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == ["replication", "month", "from_state", "to_state", "loans"]
    assert rows and all(int(r["loans"]) > 0 for r in rows)  # pairs no loan moved between are left out
    counts = np.zeros((2, 12, len(FROM_STATES), len(STATES)), dtype=np.int64)
    for r in rows:
        counts[int(r["replication"]), int(r["month"]) - 1, FROM_STATES.index(r["from_state"]), STATES.index(r["to_state"])] = int(r["loans"])
    assert all(np.array_equal(counts[k], run.transitions) for k, run in enumerate(experiment.runs))
    with (out / "monthly.csv").open(newline="", encoding="utf-8") as fh:
        monthly = list(csv.DictReader(fh))
    columns = [f"n_{name}" for name in BUCKETS] + ["n_charged_off", "n_repaid"]
    written = np.array([[[int(row[c]) for c in columns] for row in monthly if row["replication"] == str(k)] for k in range(2)])
    assert np.array_equal(counts.sum(axis=2), written)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["roll_rates"]["dpd_30_59"]["current"]["mean"] == pytest.approx(summary["metrics"]["cure_rate_30"]["mean"])
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Roll rates" in report and "<th>dpd_90_plus</th>" in report


def test_transitions_look_at_the_loans_that_may_have_moved_and_count_the_rest_as_staying() -> None:
    before = np.array([0, 0, 4, 5, 3, 0, 2, 7, 1, 3], dtype=np.int8)  # state codes (metrics.PAST_DUE)
    after = np.array([0, 4, 5, 6, 3, 1, 2, 2, 1, 0], dtype=np.int8)
    movers = may_have_moved(before, after, np.flatnonzero(before >= 4), np.flatnonzero(after >= 4))
    assert sorted(movers) == [1, 2, 3, 5, 7, 9]
    table = count_transitions(before, after, np.bincount(after, minlength=8), movers)
    expected = np.zeros((8, 8), dtype=np.int64)
    for a, b in zip(before, after):
        expected[a, b] += 1
    assert np.array_equal(table, expected)


# ------------------------------------------------------------------ vintages and balance-weighted delinquency


def test_vintage_curves_add_up_to_the_books_totals_at_the_horizon() -> None:
    from loansim.metrics import VINTAGE_COLUMNS

    scenario = load_scenario(SCENARIOS / "underwriting.toml", ["portfolio.borrowers=1500", "run.months=18", "run.lifetime=false",
                                                               "policies.underwriting.applications_per_month=100",
                                                               "lender.recovery_delay_months=1", "policies.underwriting.last_month=12"])
    result = Simulation(scenario).run()
    v = result.vintages
    col = {name: i for i, name in enumerate(VINTAGE_COLUMNS)}
    assert len(np.unique(v[:, col["vintage"]])) > 10  # the book, then a vintage a month
    last = v[v[:, col["vintage"]] + v[:, col["months_on_book"]] == 18]  # each vintage at the horizon
    m, cents = result.monthly, result.monthly_cents
    assert last[:, col["cum_defaults"]].sum() == m["cum_defaults"][-1]
    assert last[:, col["cum_charged_off"]].sum() == cents["principal_charged_off"].sum()
    assert last[:, col["cum_recoveries"]].sum() == cents["recoveries"].sum() > 0
    assert last[:, col["loans"]].sum() == m["n_lent"][-1]
    assert last[:, col["principal_lent"]].sum() == cents["disbursed"].sum()
    for vintage in np.unique(v[:, 0]):  # cumulative: never falls with months on book
        mine = v[v[:, 0] == vintage]
        assert np.all(np.diff(mine[:, col["cum_defaults"]]) >= 0) and np.all(np.diff(mine[:, col["cum_charged_off"]]) >= 0)
        assert mine[:, col["months_on_book"]].tolist() == list(range(1, 18 - int(vintage) + 1))


def test_balance_weighted_delinquency_is_the_principal_past_due_30_days() -> None:
    _, result = run(make_scenario(run={"months": 18}))
    m = result.monthly
    past_due = m["balance_dpd_30_59"] + m["balance_dpd_60_89"] + m["balance_dpd_90_plus"]
    outstanding = sum(m[f"balance_{b}"] for b in ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"))
    assert np.allclose(m["dpd_30_plus_balance_share"], past_due / outstanding)
    assert np.allclose(m["dpd_30_plus_share"], (m["n_dpd_30_59"] + m["n_dpd_60_89"] + m["n_dpd_90_plus"]) / m["n_active"])
    assert m["dpd_30_plus_balance_share"][-1] > 0
