"""The Python API (loansim.load, run, compare) and the compare command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loansim
from loansim.errors import ScenarioError, UserError
from loansim.experiment import run_experiment

from conftest import ROOT, SCENARIOS, make_scenario
from test_cli import read_csv, read_json, run_cli

SMALL = {"portfolio.borrowers": 800, "run.months": 12, "run.lifetime": False}
SMALL_SET = [f"--set={k}={str(v).lower()}" for k, v in SMALL.items()]


def test_run_gives_the_experiment_as_tables() -> None:
    results = loansim.run(SCENARIOS / "baseline.toml", set=SMALL, replications=3, workers=1)
    summary = results.experiment.summary()
    assert list(results.summary.columns) == ["mean", "ci_low", "ci_high"]
    for name, value in summary["metrics"].items():
        assert results.summary.loc[name, "mean"] == value["mean"]
        assert [results.summary.loc[name, "ci_low"], results.summary.loc[name, "ci_high"]] == value["ci95"]
    assert results.monthly.shape[0] == 3 * 12
    assert list(results.monthly["replication"].unique()) == [0, 1, 2]
    run1 = results.experiment.runs[1]
    assert np.array_equal(results.monthly.loc[results.monthly["replication"] == 1, "missed_payments"], run1.monthly["missed_payments"])
    assert results.roll_rates.loc[("dpd_30_59", "current"), "mean"] == summary["roll_rates"]["dpd_30_59"]["current"]["mean"]
    assert results.policies.loc[("late_fee", "actions"), "mean"] == summary["policies"]["late_fee"]["actions"]["mean"]


def test_run_matches_the_engine_and_repeats_exactly() -> None:
    scenario = loansim.load(SCENARIOS / "baseline.toml", set={**SMALL, "run.replications": 2})
    direct = run_experiment(scenario, workers=1, progress=False)
    again = loansim.run(scenario, workers=2)
    pd.testing.assert_frame_equal(loansim.run(scenario, workers=1).monthly, again.monthly)
    assert [r.metrics for r in direct.runs] == [r.metrics for r in again.experiment.runs]


def test_write_gives_the_results_folder_with_parquet(tmp_path: Path) -> None:
    results = loansim.run(SCENARIOS / "baseline.toml", set=SMALL, replications=2, workers=1)
    out = results.write(tmp_path / "run")
    assert (out / "summary.json").is_file() and (out / "report.html").is_file()
    parquet = pd.read_parquet(out / "monthly.parquet")
    rows = read_csv(out / "monthly.csv")
    assert len(parquet) == len(rows) == 24
    assert [f"{v:.2f}" for v in parquet["payments"]] == [row["payments"] for row in rows]  # money to the cent
    assert parquet["missed_payments"].tolist() == [int(row["missed_payments"]) for row in rows]
    with pytest.raises(UserError, match="not part of a loansim result"):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep me")
        results.write(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_plain_script_runs_replications_in_parallel_without_a_main_guard(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import loansim
        results = loansim.run({str(SCENARIOS / 'baseline.toml')!r}, set={SMALL!r}, replications=2, workers=2)
        print("default", round(results.summary.loc["default_rate", "mean"], 6))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("default") == 1  # the workers did not run the script again


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"set": {"portfolio.borrowers": -5}}, "portfolio.borrowers = -5"),
    ({"set": {"portfolio.borowers": 5}}, "portfolio.borowers"),
    ({"set": ["portfolio.borrowers=5"]}, "expected a mapping"),
    ({"set": {"economy.monthly_job_loss_prob": float("nan")}}, "finite number"),
    ({"workers": 0}, "workers = 0"),
    ({"replications": 0}, "run.replications = 0"),
])
def test_bad_arguments_raise_the_command_lines_messages(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace(".", r"\.")):
        loansim.run(SCENARIOS / "baseline.toml", **kwargs)


def test_a_missing_file_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        loansim.load(ROOT / "nowhere.toml")


def test_a_scenario_compared_with_itself_differs_by_exactly_nothing() -> None:
    scenario = make_scenario(run={"replications": 3})
    comparison = loansim.compare(scenario, scenario, workers=1)
    diffs = comparison.differences
    assert comparison.labels == ["tiny", "tiny#2"]
    assert len(diffs) > 20 and (diffs["difference"] == 0).all()
    assert (diffs["difference_ci_low"] == 0).all() and (diffs["difference_ci_high"] == 0).all()
    assert not diffs["significant"].any()


def test_reminders_are_measured_by_paired_differences_much_tighter_than_the_runs_intervals() -> None:
    base = make_scenario(run={"replications": 6}, portfolio={"borrowers": 3000})
    reminded = make_scenario(run={"replications": 6}, portfolio={"borrowers": 3000}, policies={"reminders": {}})
    row = loansim.compare(base, reminded, workers=1).differences.loc[("tiny#2", "metric", "missed_payment_rate")]
    assert row["difference"] < 0 and row["significant"] and row["difference_ci_high"] < 0
    own_width = row["ci_high"] - row["ci_low"]
    # Common random numbers at work: unpaired, the difference's interval would be about
    # sqrt(2) times as wide as one run's own; paired, the shared noise drops out.
    assert row["difference_ci_high"] - row["difference_ci_low"] < own_width
    assert row["relative_change"] == pytest.approx(row["difference"] / (row["mean"] - row["difference"]))


def test_scenarios_that_cannot_be_paired_are_refused() -> None:
    with pytest.raises(UserError, match=r"run\.seed differs \(tiny: 11, tiny#2: 12\)"):
        loansim.compare(make_scenario(), make_scenario(run={"seed": 12}))
    with pytest.raises(UserError, match="at least two scenarios"):
        loansim.compare(make_scenario())


def test_compare_command_writes_the_comparison_folder(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    code, printed, err = run_cli("compare", SCENARIOS / "baseline.toml", SCENARIOS / "reminders.toml", *SMALL_SET,
                                 "--replications", "3", "--workers", "1", "--out", out)
    assert code == 0, err
    assert "reminders − baseline" in printed and "missed_payment_rate" in printed
    assert sorted(p.name for p in out.iterdir()) == ["comparison.csv", "comparison.html", "comparison.json",
                                                      "comparison_differences.png", "comparison_monthly.png", "manifest.json"]
    data = read_json(out / "comparison.json")
    assert data["base"] == "baseline"
    missed = data["scenarios"]["reminders"]["metric"]["missed_payment_rate"]
    assert missed["difference"]["mean"] == pytest.approx(missed["mean"] - data["scenarios"]["baseline"]["metric"]["missed_payment_rate"]["mean"])
    rows = read_csv(out / "comparison.csv")
    assert {r["scenario"] for r in rows} == {"baseline", "reminders"}
    assert read_json(out / "manifest.json")["replications"] == 3
    code, _, _ = run_cli("compare", SCENARIOS / "baseline.toml", SCENARIOS / "reminders.toml", *SMALL_SET,
                         "--replications", "3", "--workers", "1", "--out", out, "--quiet")
    assert code == 0  # an earlier comparison is replaced


def test_compare_command_refuses_unpaired_scenarios_and_writes_nothing(tmp_path: Path) -> None:
    other = tmp_path / "longer.toml"
    other.write_text(f'extends = "{SCENARIOS / "reminders.toml"}"\n[run]\nmonths = 24\n')
    out2 = tmp_path / "cmp2"
    code, printed, err = run_cli("compare", SCENARIOS / "baseline.toml", other, "--out", out2)
    assert code == 2 and printed == ""
    assert err.startswith("loansim: error: cannot compare: run.months differs")
    assert f"{SCENARIOS / 'baseline.toml'}: 36" in err and f"{other}: 24" in err
    assert not out2.exists() and not any(p.name.startswith(".cmp2") for p in tmp_path.iterdir())
    code, _, err = run_cli("compare", SCENARIOS / "baseline.toml", "--out", out2)
    assert code == 2 and "give at least two scenario files" in err


# ------------------------------------------------------------------ stress


@pytest.fixture(scope="module")
def stressed():
    return loansim.stress(SCENARIOS / "baseline.toml", ["baseline", "severely-adverse"], paths={"spike": [0.05, 0.09, 0.12]},
                          quarters=4, set={"portfolio.borrowers": 1500}, replications=3, workers=1)


def test_stress_reports_every_measure_by_quarter_consistently_with_the_runs(stressed) -> None:
    from loansim.analysis.stress import MEASURES

    assert stressed.labels == ["baseline", "severely-adverse", "spike"]
    t = stressed.table
    assert set(t["measure"]) == set(MEASURES) and sorted(set(t["quarter"])) == [1, 2, 3, 4]
    assert len(t) == 3 * 4 * len(MEASURES)
    for label, result in zip(stressed.labels, stressed.results):
        runs = result.experiment.runs
        assert all(len(run.monthly["month"]) == 12 for run in runs)  # 4 quarters
        net = np.mean([(run.monthly["principal_charged_off"] - run.monthly["recoveries"]).sum() for run in runs])
        mine = t[(t["scenario"] == label) & (t["measure"] == "net_charge_offs")]
        assert mine["mean"].sum() == pytest.approx(net)
        defaults = np.mean([run.monthly["new_defaults"].sum() for run in runs])
        assert t[(t["scenario"] == label) & (t["measure"] == "new_defaults")]["mean"].sum() == pytest.approx(defaults)
        last = t[(t["scenario"] == label) & (t["measure"] == "cumulative_loss_rate") & (t["quarter"] == 4)]["mean"].item()
        assert last == pytest.approx(np.mean([run.monthly["cum_loss_rate"][11] for run in runs]))
    assert t[t["scenario"] == "baseline"]["difference"].isna().all()


def test_stress_scenarios_say_what_ran_and_move_unemployment_as_asked(stressed) -> None:
    severe, spike = stressed.results[1].scenario, stressed.results[2].scenario
    assert severe.name == "baseline - severely-adverse" and "severely-adverse" in severe.description
    assert severe.economy.stochastic.around == "severely-adverse"  # the book's random deviations, around the stress path
    assert spike.economy.stochastic.around == [0.05, 0.09, 0.12]
    rise = stressed.table.set_index(["scenario", "measure", "quarter"])
    for label in ("severely-adverse", "spike"):
        row = rise.loc[(label, "unemployment_rate", 4)]
        assert row["difference"] > 0.01 and row["significant"]


def test_stress_folder_is_written_atomically(stressed, tmp_path: Path) -> None:
    out = stressed.write(tmp_path / "st")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "stress.csv", "stress.html", "stress.json",
                                                      "stress_losses.png", "stress_unemployment.png"]
    data = read_json(out / "stress.json")
    assert len(data["scenarios"]["spike"]["loss_rate_annualised"]) == 4
    assert "difference" in data["scenarios"]["spike"]["loss_rate_annualised"][0]
    assert "Stress test of baseline" in (out / "stress.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (["--scenarios", "baseline,sevrely-adverse"], "'sevrely-adverse' (did you mean 'severely-adverse'?) is neither a built-in"),
    (["--path", "spike=0.05,abc"], "--path spike=0.05,abc: expected monthly unemployment rates"),
    (["--path", "spike=0.05,5"], "--path spike: rate 5 is outside"),
    (["--quarters", "0"], "--quarters 0: must be from 1 to 400"),
    (["--scenarios", "nowhere.toml"], "nowhere.toml: no such scenario file"),
])
def test_stress_command_refuses_bad_input_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "st"
    code, printed, err = run_cli("stress", SCENARIOS / "baseline.toml", *args, "--out", out, "--quiet")
    assert code == 2 and printed == ""
    assert message in err, err
    assert list(tmp_path.iterdir()) == []


def test_stress_command_prints_quarterly_losses(tmp_path: Path) -> None:
    code, printed, err = run_cli("stress", SCENARIOS / "baseline.toml", "--quarters", "2", "--set", "portfolio.borrowers=800",
                                 "--replications", "2", "--workers", "1", "--out", tmp_path / "st")
    assert code == 0, err
    assert "annualised net charge-off rate by quarter" in printed and "Q2" in printed
    assert (tmp_path / "st" / "stress.csv").is_file()


def test_a_report_says_which_economy_ran_and_what_was_overridden(tmp_path: Path) -> None:
    results = loansim.run(SCENARIOS / "baseline.toml", set={**SMALL, "economy.stochastic.around": "severely-adverse"},
                          replications=2, workers=1)
    page = (results.write(tmp_path / "r") / "report.html").read_text(encoding="utf-8")
    assert "around the path &#x27;severely-adverse&#x27;" in page
    assert "set economy.stochastic.around=&quot;severely-adverse&quot;" in page


def test_the_api_function_stress_is_not_shadowed_by_a_module() -> None:
    import loansim.report.stress  # noqa: F401
    import loansim.analysis.stress  # noqa: F401

    assert callable(loansim.stress) and callable(loansim.compare) and callable(loansim.run)
