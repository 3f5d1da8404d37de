"""Sweeps: grid and sample points, paired replications, the resumable store, the sweep folder
and its errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loansim
from loansim.analysis import sweep as sw
from loansim.errors import UserError

from conftest import ROOT, SCENARIOS
from test_cli import assert_user_error, read_json, run_cli

SMALL = {"portfolio.borrowers": 500, "run.months": 8, "run.lifetime": False}
SMALL_SET = [f"--set={k}={str(v).lower()}" for k, v in SMALL.items()]
LATE_FEE = SCENARIOS / "late-fee.toml"
FEE = "policies.late_fee.flat_fee"


def stored(out: Path) -> list[Path]:
    return sorted((out / "points").glob("*/r*.json"))


def count_tasks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many replications each sweep runs (``experiment.run_tasks``)."""
    from loansim import experiment

    counts: list[int] = []
    real = experiment.run_tasks

    def counting(work, tasks, **kwargs):  # type: ignore[no-untyped-def]
        counts.append(len(tasks))
        return real(work, tasks, **kwargs)

    monkeypatch.setattr(experiment, "run_tasks", counting)
    return counts


def test_a_grid_runs_every_combination_and_each_point_is_the_plain_run() -> None:
    result = loansim.sweep(LATE_FEE, grid={FEE: [0, 40], "portfolio.apr": [0.15, 0.25]}, set=SMALL, replications=2, workers=1)
    points = result.points
    assert [tuple(v) for v in points[[FEE, "portfolio.apr"]].to_numpy()] == [(0, 0.15), (0, 0.25), (40, 0.15), (40, 0.25)]
    assert len(result.rows) == 4 * 2
    plain = loansim.run(LATE_FEE, set={**SMALL, FEE: 40, "portfolio.apr": 0.15}, replications=2, workers=1)
    row = points[points["point"] == 2].iloc[0]
    for name in ("default_rate", "fee_income", "net_income", "missed_payment_rate"):
        assert row[name] == plain.summary.loc[name, "mean"]
        assert row[f"{name}_ci_low"] == plain.summary.loc[name, "ci_low"]
    assert result.rows["ledger_balanced"].all()
    fees = result.rows[result.rows["replication"] == 1].set_index("point")["fee_income"]
    assert fees.loc[2] > fees.loc[0]
    assert {"late_fee.actions", "late_fee.cost"} <= set(result.rows.columns)


def test_points_are_paired_so_a_small_effect_is_resolved() -> None:
    result = loansim.sweep(LATE_FEE, grid={FEE: [0, 40]}, set=SMALL, replications=4, workers=1)
    d = result.differences().set_index(["point", "figure"])
    fee = d.loc[(1, "fee_income")]
    assert fee["significant"] and fee["difference"] > 0
    points = result.points.set_index("point")
    paired_width = fee["ci_high"] - fee["ci_low"]
    own_width = points.loc[1, "net_income_ci_high"] - points.loc[1, "net_income_ci_low"]
    net = d.loc[(1, "net_income")]
    assert net["ci_high"] - net["ci_low"] < own_width / 3  # common random numbers leave out the shared noise
    assert paired_width > 0
    assert d.loc[(0, "fee_income"), "difference"] == 0.0


def test_a_sample_is_stratified_within_its_ranges_and_repeats_for_a_seed() -> None:
    ranges = {"borrowers.monthly_forget_prob": (0.01, 0.09, False), "portfolio.borrowers": (400, 800, True)}
    a = sw.sample_values(ranges, 8, "lhs", seed=5)
    assert a == sw.sample_values(ranges, 8, "lhs", seed=5)
    assert a != sw.sample_values(ranges, 8, "lhs", seed=6)
    forget = np.array([p["borrowers.monthly_forget_prob"] for p in a])
    assert sorted(np.floor((forget - 0.01) / 0.01).astype(int)) == list(range(8))  # one point in each eighth
    assert all(isinstance(p["portfolio.borrowers"], int) and 400 <= p["portfolio.borrowers"] <= 800 for p in a)
    sobol = sw.sample_values(ranges, 16, "sobol", seed=5)
    assert len({p["borrowers.monthly_forget_prob"] for p in sobol}) == 16
    with pytest.raises(UserError, match="power of two"):
        sw.sample_values(ranges, 12, "sobol", seed=5)


def test_the_store_key_is_the_resolved_scenario_not_how_it_was_reached() -> None:
    a = loansim.load(LATE_FEE, set={**SMALL, FEE: 40})
    b = loansim.load(LATE_FEE, set={**SMALL, FEE: 40.0, "run.replications": 7})
    c = loansim.load(LATE_FEE, set={**SMALL, FEE: 41})
    assert sw.point_key(a) == sw.point_key(b) != sw.point_key(c)


def test_a_sweep_computes_only_what_its_folder_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sweep"
    counts = count_tasks(monkeypatch)
    first = loansim.sweep(LATE_FEE, grid={FEE: [0, 20, 40]}, set=SMALL, replications=2, workers=1, out=out)
    assert counts == [6] and len(stored(out)) == 6
    table = (out / "sweep.csv").read_bytes()
    # as if interrupted: one point lost wholly, another one replication
    key = first.points_run[1].key
    for path in (out / "points" / key).glob("r*.json"):
        path.unlink()
    (out / "points" / first.points_run[2].key / "r1.json").unlink()
    again = loansim.sweep(LATE_FEE, grid={FEE: [0, 20, 40]}, set=SMALL, replications=2, workers=1, out=out)
    assert counts == [6, 3]
    assert (out / "sweep.csv").read_bytes() == table
    pd.testing.assert_frame_equal(again.rows, first.rows)
    # a changed sweep reuses the points it shares with the earlier one
    wider = loansim.sweep(LATE_FEE, grid={FEE: [0, 40, 60]}, set=SMALL, replications=3, workers=1, out=out)
    assert counts == [6, 3, 3 + 1 + 1]  # 60: three replications; 0 and 40: their third
    assert sorted(p.name for p in out.iterdir()) == ["points", "sweep.csv", "sweep.html", "sweep.json", "sweep.parquet",
                                                     "sweep_differences.csv", "sweep_differences.png", "sweep_points.csv",
                                                     "sweep_policies.late_fee.flat_fee.png"]
    assert list(wider.points[FEE]) == [0, 40, 60]
    assert pd.read_parquet(out / "sweep.parquet").equals(pd.read_csv(out / "sweep.csv").astype(wider.rows.dtypes.to_dict()))
    manifest = read_json(out / "sweep.json")
    assert manifest["status"] == "complete" and manifest["keys"] == [FEE] and len(manifest["points"]) == 3


def test_the_sweep_command_writes_its_folder_and_prints_the_points(tmp_path: Path) -> None:
    out = tmp_path / "s"
    code, stdout, stderr = run_cli("sweep", LATE_FEE, "--grid", f"{FEE}=0,40", *SMALL_SET, "--replications", "2",
                                   "--workers", "1", "--out", out)
    assert code == 0, stderr
    assert "sweep of late-fee: 2 point(s) x 2 paired replication(s)" in stdout
    points = pd.read_csv(out / "sweep_points.csv")
    assert list(points[FEE]) == [0, 40] and (points["replications"] == 2).all()
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert "Sweep of late-fee over policies.late_fee.flat_fee" in page and "data:image/png;base64," in page


@pytest.mark.parametrize("argv, needles", [
    (["--grid", "portfolio.borowers=500,600"], ["--grid: portfolio.borowers = 500: unknown key (did you mean 'borrowers'?)"]),
    (["--grid", "portfolio.borrowers="], ["--grid 'portfolio.borrowers=': an empty grid"]),
    (["--grid", "portfolio.borrowers"], ["--grid 'portfolio.borrowers': expected KEY.PATH=V1,V2"]),
    (["--sample", "4", "--range", "portfolio.apr=0.3:0.1"], ["--range 'portfolio.apr=0.3:0.1': LO = 0.3 is not below HI = 0.1"]),
    (["--sample", "4", "--range", "portfolio.apr=0.2:0.2"], ["LO = 0.2 is not below HI = 0.2"]),
    (["--sample", "4", "--range", "portfolio.apr=x:0.2"], ["is not a range of numbers"]),
    (["--sample", "4", "--range", "borrowers.monthly_forget_prob=0.5:3"], ["--range: borrowers.monthly_forget_prob = "]),
    (["--range", "portfolio.apr=0.1:0.3"], ["--range needs --sample N"]),
    (["--sample", "0", "--range", "portfolio.apr=0.1:0.3"], ["--sample 0: must be a whole number from 1"]),
    ([], ["nothing to sweep"]),
    (["--grid", "portfolio.apr=0.1,0.2", "--sample", "4", "--range", "portfolio.apr=0.1:0.3"], ["not both"]),
    (["--grid", "portfolio.apr=0.1,0.2", "--set", "portfolio.apr=0.3"], ["portfolio.apr is both swept and set by --set"]),
    (["--grid", "run.replications=1,2"], ["run.replications: cannot be swept"]),
    (["--grid", "portfolio.apr=-0.1,0.2"], ["--grid: portfolio.apr = -0.1: must be >= 0"]),
])
def test_a_bad_sweep_is_one_error_and_writes_nothing(tmp_path: Path, argv: list[str], needles: list[str]) -> None:
    assert_user_error(["sweep", SCENARIOS / "baseline.toml", *argv, "--out", tmp_path / "s"], tmp_path, *needles)


def test_a_sweep_folder_of_another_version_or_not_a_sweep_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "sweep.json").write_text(json.dumps({"loansim_version": "0.0.1", "status": "complete"}), encoding="utf-8")
    argv = ["sweep", LATE_FEE, "--grid", f"{FEE}=0,40", *SMALL_SET, "--workers", "1"]
    assert_user_error([*argv, "--out", old], old, f"--out {old}: a sweep folder written by loansim 0.0.1; this is loansim")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    assert_user_error([*argv, "--out", other], other, "is not a loansim sweep folder")


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_keeps_finished_points_and_a_rerun_completes_the_sweep(tmp_path: Path) -> None:
    out, whole = tmp_path / "s", tmp_path / "whole"
    argv = [sys.executable, "-m", "loansim.cli", "sweep", str(LATE_FEE), "--grid", f"{FEE}=0,10,20,30,40,50,60,70",
            "--set=portfolio.borrowers=1000", "--set=run.months=8", "--set=run.lifetime=false", "--replications", "2",
            "--workers", "1", "--quiet"]
    proc = subprocess.Popen([*argv, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(stored(out)) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    kept = stored(out)
    assert 3 <= len(kept) < 16
    assert f"finished replication(s) are stored in {out}/points; run the same command again" in stderr
    assert "Traceback" not in stderr
    assert not (out / "sweep.csv").exists()
    assert not [p for p in out.rglob(".*")]  # no half-written file
    for path in kept:
        json.loads(path.read_text(encoding="utf-8"))
    again = subprocess.run([*argv, "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert len(stored(out)) == 16
    subprocess.run([*argv, "--out", str(whole)], check=True, capture_output=True, cwd=ROOT)
    assert (out / "sweep.csv").read_bytes() == (whole / "sweep.csv").read_bytes()


@pytest.mark.usefixtures("broken_pool")
def test_a_lost_worker_ends_a_sweep_with_one_line_saying_what_is_stored(tmp_path: Path) -> None:
    out = tmp_path / "s"
    code, _, stderr = run_cli("sweep", LATE_FEE, "--grid", f"{FEE}=0,40", *SMALL_SET, "--workers", "2", "--quiet", "--out", out)
    assert code == 1
    assert stderr == (f"loansim: error: a worker process stopped unexpectedly (the system may have run out of memory; try fewer "
                      f"--workers or a smaller book); 0 finished replication(s) are stored in {out}/points; run the same "
                      "command again to compute only the rest\n")


def test_a_sweep_run_in_memory_writes_the_same_tables(tmp_path: Path) -> None:
    grid = {FEE: [0, 40]}
    stored = loansim.sweep(LATE_FEE, grid=grid, set=SMALL, replications=2, workers=1, out=tmp_path / "stored")
    in_memory = loansim.sweep(LATE_FEE, grid=grid, set=SMALL, replications=2, workers=1)
    assert in_memory.table.equals(stored.table)
    written = in_memory.write(tmp_path / "written")
    for name in ("sweep.csv", "sweep_points.csv", "sweep_differences.csv"):
        assert (written / name).read_bytes() == (tmp_path / "stored" / name).read_bytes()
    assert not (written / "points").exists()
    with pytest.raises(UserError, match="is not a loansim sweep folder"):
        in_memory.write(tmp_path / "stored" / "points")
