"""The command line end to end: results folders, reproducibility, user errors and validate."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import loansim
from conftest import SCENARIOS
from loansim.cli import main
from loansim.report import writer

BASELINE = SCENARIOS / "baseline.toml"
SMALL = ["--set", "portfolio.borrowers=500", "--set", "run.months=12", "--replications", "2"]
TINY_RUN = ["--set", "portfolio.borrowers=300", "--set", "run.months=6", "--replications", "2", "--quiet"]
RESULT_FILES = {"manifest.json", "summary.json", "monthly.csv", "monthly_mean.csv", "roll_rates.csv", "delinquency.png",
                "default_and_loss.png", "missed_by_cause.png", "loss_distribution.png", "report.html", "monthly.parquet",
                "vintages.csv"}  # vintages.png only where loans are lent over time
METRICS = ("default_rate", "charge_off_rate", "loss_rate", "net_loss", "missed_payment_rate",
           "prepaid_or_repaid_rate", "interest_income", "fee_income")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_of(out: Path, *extra: str) -> dict[str, Any]:
    code, _, err = run_cli("run", BASELINE, *TINY_RUN, "--out", out, *extra)
    assert code == 0, err
    return read_json(out / "summary.json")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The small baseline run of the brief: its results folder and what it printed."""
    out = tmp_path_factory.mktemp("run") / "x"
    code, stdout, stderr = run_cli("run", BASELINE, *SMALL, "--workers", "1", "--out", out)
    assert code == 0, stderr
    return out, stdout


# ------------------------------------------------------------------ a successful run


def test_run_writes_every_result_file_and_nothing_else(baseline: tuple[Path, str]) -> None:
    out, stdout = baseline
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert [p.name for p in out.parent.iterdir()] == ["x"]
    assert "ledger balances to the cent" in stdout
    assert f"results: {out}/" in stdout


def test_summary_metrics_have_mean_and_ci95(baseline: tuple[Path, str]) -> None:
    summary = read_json(baseline[0] / "summary.json")
    assert summary["replications"] == 2
    for name in METRICS:
        metric = summary["metrics"][name]
        lo, hi = metric["ci95"]
        assert lo <= metric["mean"] <= hi, name
    assert 0 < summary["metrics"]["interest_income"]["mean"]
    assert 0 <= summary["metrics"]["default_rate"]["mean"] <= 1


def test_summary_ledger_balances_to_the_cent(baseline: tuple[Path, str]) -> None:
    ledger = read_json(baseline[0] / "summary.json")["ledger"]
    assert ledger["balanced"] is True
    assert ledger["problems"] == []
    by_replication = ledger["cents"]["by_replication"]
    assert [t["replication"] for t in by_replication] == [0, 1]
    for totals in [ledger["cents"]["total"], *by_replication]:
        assert all(isinstance(v, int) for v in totals.values())  # exact: integer cents as written
        assert totals["disbursed"] > 0
        assert totals["disbursed"] + totals["capitalised"] == (
            totals["principal_repaid"] + totals["principal_charged_off"] + totals["principal_outstanding"])
        assert totals["interest_billed"] == (totals["interest_paid"] + totals["interest_written_off"]
                                             + totals["capitalised"] + totals["interest_outstanding"])
        assert totals["fees_billed"] == totals["fees_paid"] + totals["fees_written_off"] + totals["fees_outstanding"]
        assert 0 <= totals["recoveries"] <= totals["principal_charged_off"]
    total = ledger["cents"]["total"]
    assert all(total[k] == sum(t[k] for t in by_replication) for k in total if k != "replication")


def test_manifest_records_the_resolved_run(baseline: tuple[Path, str]) -> None:
    manifest = read_json(baseline[0] / "manifest.json")
    assert manifest["scenario"]["portfolio"]["borrowers"] == 500
    assert manifest["scenario"]["run"]["months"] == 12
    assert manifest["scenario"]["run"]["replications"] == 2
    assert manifest["scenario"]["policies"]["late_fee"]["flat_fee"] == 25.0
    assert manifest["seed"] == 2026
    assert manifest["replications"] == 2
    assert manifest["loansim_version"] == loansim.__version__
    assert "--set portfolio.borrowers=500" in manifest["overrides"]
    assert "--replications run.replications=2" in manifest["overrides"]
    assert manifest["extends_chain"] == [str(BASELINE)]
    assert datetime.fromisoformat(manifest["started_at"]).tzinfo is not None
    assert isinstance(manifest["wall_seconds"], (int, float)) and manifest["wall_seconds"] >= 0


def test_monthly_csv_has_a_row_per_replication_and_month(baseline: tuple[Path, str]) -> None:
    rows = read_csv(baseline[0] / "monthly.csv")
    assert len(rows) == 2 * 12
    assert [(r["replication"], r["month"]) for r in rows] == [(str(r), str(m)) for r in range(2) for m in range(1, 13)]


def test_monthly_mean_csv_averages_the_replications(baseline: tuple[Path, str]) -> None:
    rows = read_csv(baseline[0] / "monthly.csv")
    means = read_csv(baseline[0] / "monthly_mean.csv")
    assert [m["month"] for m in means] == [str(m) for m in range(1, 13)]
    for i, mean in enumerate(means):
        for column in ("n_current", "missed_payments"):
            expected = (float(rows[i][column]) + float(rows[12 + i][column])) / 2
            assert float(mean[column]) == pytest.approx(expected, abs=0.01)


def test_plots_are_png_and_report_is_html(baseline: tuple[Path, str]) -> None:
    out = baseline[0]
    for name in ("delinquency.png", "default_and_loss.png", "missed_by_cause.png", "loss_distribution.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    assert (out / "report.html").read_text(encoding="utf-8").lower().startswith("<!doctype html>")


# ------------------------------------------------------------------ reproducibility


def test_seed_changes_results_and_same_seed_repeats_them(tmp_path: Path) -> None:
    first = summary_of(tmp_path / "a", "--seed", "1", "--workers", "1")
    again = summary_of(tmp_path / "b", "--seed", "1", "--workers", "1")
    other = summary_of(tmp_path / "c", "--seed", "2", "--workers", "1")
    assert first["metrics"] == again["metrics"]
    assert first["ledger"] == again["ledger"]
    assert first["metrics"] != other["metrics"]
    assert read_json(tmp_path / "c" / "manifest.json")["seed"] == 2


def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    serial = summary_of(tmp_path / "one", "--seed", "3", "--workers", "1")
    parallel = summary_of(tmp_path / "two", "--seed", "3", "--workers", "2")
    assert read_json(tmp_path / "two" / "manifest.json")["workers"] == 2
    assert serial == parallel


def test_existing_results_folder_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "monthly.csv").write_text("old", encoding="utf-8")
    (out / "manifest.json").write_text('{"loansim_version": "0.1.0"}', encoding="utf-8")  # an earlier result
    summary = summary_of(out, "--workers", "1")
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert (out / "monthly.csv").read_text(encoding="utf-8") != "old"
    assert summary["replications"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_a_loansim_manifest_does_not_make_other_files_replaceable(tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "stray.txt").write_text("mine", encoding="utf-8")
    (out / "manifest.json").write_text('{"loansim_version": "0.1.0"}', encoding="utf-8")
    assert_user_error(["run", BASELINE, *TINY_RUN, "--workers", "1", "--out", out], tmp_path,
                      f"--out {out}: the folder holds stray.txt, which is not part of a loansim result")
    assert (out / "stray.txt").read_text(encoding="utf-8") == "mine"


def test_interrupted_write_leaves_the_old_folder_and_no_temporary_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "manifest.json").write_text('{"loansim_version": "old"}', encoding="utf-8")

    def interrupt(runs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(writer.PLOTS, "default_and_loss.png", interrupt)
    code, _, stderr = run_cli("run", BASELINE, *TINY_RUN, "--workers", "1", "--out", out)
    assert code == 130
    assert "interrupted; no results were written" in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert (out / "manifest.json").read_text(encoding="utf-8") == '{"loansim_version": "old"}'


# ------------------------------------------------------------------ user errors


def assert_user_error(argv: list[str | Path], parent: Path, *needles: str) -> str:
    """Run, expect exit 2 with one error message holding `needles`, and nothing new in `parent`."""
    before = sorted(p.name for p in parent.iterdir())
    code, stdout, stderr = run_cli(*argv)
    assert code == 2
    assert stdout == ""
    assert stderr.startswith("loansim: error: ")
    assert stderr.count("loansim: error:") == 1
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in stderr
    assert sorted(p.name for p in parent.iterdir()) == before
    return stderr


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--set", "portfolio.borrowers=abc"], ['--set: portfolio.borrowers = "abc": must be a whole number']),
        (["--set", "portfolio.borowers=3"], ["--set: portfolio.borowers = 3: unknown key (did you mean 'borrowers'?)"]),
        (["--set", "portfolio.borrowers"], ["--set 'portfolio.borrowers': expected KEY.PATH=VALUE"]),
        (["--set", "economy.monthly_job_loss_prob=1.5"], ["--set: economy.monthly_job_loss_prob = 1.5: must be <= 1"]),
        (["--replications", "0"], ["--replications: run.replications = 0: must be >= 1"]),
        (["--seed", "-1"], ["--seed: run.seed = -1: must be >= 0"]),
        (["--workers", "0"], ["--workers 0: must be >= 1"]),
    ],
    ids=["bad-set-value", "unknown-set-key", "set-without-equals", "set-out-of-range", "zero-replications",
         "negative-seed", "zero-workers"],
)
def test_user_error_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    assert_user_error(["run", BASELINE, *TINY_RUN, *args, "--out", tmp_path / "x"], tmp_path, *needles)


def test_missing_scenario_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_user_error(["run", missing, "--out", tmp_path / "x"], tmp_path, f"{missing}: no such scenario file")


def test_bad_scenario_file_names_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "what-if.toml"
    bad.write_text('extends = "{}"\n[policies.late_fee]\nflat_fee = -5\n'.format(BASELINE.as_posix()), encoding="utf-8")
    assert_user_error(["run", bad, "--out", tmp_path / "x"], tmp_path, f"{bad}: policies.late_fee.flat_fee = -5: must be >= 0")


def test_out_is_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "x"
    target.write_text("keep me", encoding="utf-8")
    assert_user_error(["run", BASELINE, *TINY_RUN, "--out", target], tmp_path, f"--out {target}: exists and is not a folder")
    assert target.read_text(encoding="utf-8") == "keep me"


def test_out_inside_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert_user_error(["run", BASELINE, *TINY_RUN, "--out", blocker / "x"], tmp_path, f"--out {blocker / 'x'}:", "is not a folder")


def test_bad_set_leaves_an_existing_results_folder_alone(tmp_path: Path) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    assert_user_error(["run", BASELINE, *TINY_RUN, "--set", "run.months=0", "--out", out], tmp_path, "run.months = 0")
    assert [p.name for p in out.iterdir()] == ["summary.json"]


def test_non_finite_set_value_is_a_user_error(tmp_path: Path) -> None:
    assert_user_error(["run", BASELINE, *TINY_RUN, "--workers", "1", "--set", "portfolio.principal=inf", "--out", tmp_path / "x"],
                      tmp_path, "portfolio.principal")


def test_user_error_in_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loansim.cli", "run", str(BASELINE), "--set", "portfolio.borrowers=abc", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("loansim: error: ")
    assert "portfolio.borrowers" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ validate


def test_validate_bundled_scenarios() -> None:
    files = sorted(SCENARIOS.glob("*.toml"))
    code, stdout, stderr = run_cli("validate", *files)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert len(lines) == len(files)
    for path, line in zip(files, lines):
        assert line.startswith(f"{path}: ok ({path.stem}: ")


def test_validate_mix_of_good_and_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{BASELINE.as_posix()}"\n[portfolio]\nterm_months = 0\n', encoding="utf-8")
    code, stdout, stderr = run_cli("validate", BASELINE, bad)
    assert code == 2
    assert stdout.startswith(f"{BASELINE}: ok")
    assert str(bad) not in stdout
    assert stderr.startswith("loansim: error: ")
    assert f"{bad}: portfolio.term_months = 0: must be >= 1" in stderr
    assert str(BASELINE) not in stderr


def test_validate_reports_every_bad_file(tmp_path: Path) -> None:
    missing, broken = tmp_path / "missing.toml", tmp_path / "broken.toml"
    broken.write_text("[run\n", encoding="utf-8")
    code, _, stderr = run_cli("validate", missing, broken)
    assert code == 2
    assert f"{missing}: no such scenario file" in stderr
    assert f"{broken}: not valid TOML" in stderr


@pytest.mark.parametrize("folder", ["notes", "scenarios"])
def test_a_folder_that_is_not_a_loansim_result_is_never_replaced(tmp_path: Path, folder: str) -> None:
    out = tmp_path / folder
    out.mkdir()
    (out / "notes.txt").write_text("important", encoding="utf-8")
    scenario = BASELINE
    if folder == "scenarios":  # the scenario file itself lives in the folder
        scenario = out / "s.toml"
        scenario.write_text(BASELINE.read_text(encoding="utf-8").replace('extends', '#'), encoding="utf-8")
    code, _, stderr = run_cli("run", scenario, *TINY_RUN, "--workers", "1", "--out", out)
    assert code == 2 and "choose" in stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "important"
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]


def test_default_results_folder_names_the_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run_cli("run", BASELINE, "--set", "portfolio.borrowers=300", "--set", "run.months=6",
                              "--seed", "7", "--replications", "1")
    assert code == 0
    assert (tmp_path / "results" / "baseline+borrowers=300+months=6+seed=7+replications=1" / "summary.json").is_file()
    assert "active_at_end_rate" in stdout and "note: the run ends before the longest loans" in stdout


def test_validate_applies_overrides() -> None:
    assert run_cli("validate", BASELINE, "--set", "portfolio.borrowers=10")[0] == 0
    code, _, stderr = run_cli("validate", BASELINE, "--set", "portfolio.borrowers=0")
    assert code == 2 and "--set: portfolio.borrowers = 0: must be >= 1" in stderr


def test_set_value_that_is_not_toml_is_an_error() -> None:
    code, _, stderr = run_cli("validate", BASELINE, "--set", "portfolio.principal={dist=")
    assert code == 2 and "is not a TOML value" in stderr
