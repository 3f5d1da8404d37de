"""Execution backends: local processes and a Dask cluster give the same results, whatever
the order in which replications finish; the backend options' errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loansim
from loansim import experiment
from loansim.errors import UserError

from conftest import SCENARIOS
from test_cli import assert_user_error, run_cli

SMALL = {"portfolio.borrowers": 600, "run.months": 9, "run.lifetime": False}
BASELINE = SCENARIOS / "baseline.toml"


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    """A real Dask cluster of two worker processes on this machine."""
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as local:
        yield local


def same_results(a: loansim.Results, b: loansim.Results) -> None:
    pd.testing.assert_frame_equal(a.monthly, b.monthly)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.roll_rates, b.roll_rates)
    assert a.summary_dict["ledger"] == b.summary_dict["ledger"]


def test_a_dask_cluster_gives_the_results_of_local_processes(cluster) -> None:  # type: ignore[no-untyped-def]
    local = loansim.run(BASELINE, set=SMALL, replications=4, workers=1)
    on_cluster = loansim.run(BASELINE, set=SMALL, replications=4, scheduler=cluster.scheduler_address)
    same_results(local, on_cluster)
    assert on_cluster.experiment.workers == 2


def test_a_sweep_and_a_comparison_on_dask_match_local(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    grid = {"policies.late_fee.flat_fee": [0, 30]}
    local = loansim.sweep(SCENARIOS / "late-fee.toml", grid=grid, set=SMALL, replications=2, workers=2)
    remote = loansim.sweep(SCENARIOS / "late-fee.toml", grid=grid, set=SMALL, replications=2,
                           scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.rows, remote.rows)
    code, _, stderr = run_cli("compare", BASELINE, SCENARIOS / "reminders.toml", *[f"--set={k}={str(v).lower()}" for k, v in SMALL.items()],
                              "--replications", "2", "--scheduler", cluster.scheduler_address, "--quiet", "--out", tmp_path / "c")
    assert code == 0, stderr
    here = loansim.compare(BASELINE, SCENARIOS / "reminders.toml", set=SMALL, replications=2, workers=1)
    written = pd.read_csv(tmp_path / "c" / "comparison.csv")
    assert np.allclose(written["difference"].dropna(), here.table["difference"].dropna(), rtol=1e-9, atol=0)


def test_a_local_dask_cluster_without_a_scheduler() -> None:
    pytest.importorskip("distributed")
    same_results(loansim.run(BASELINE, set=SMALL, replications=2, workers=1),
                 loansim.run(BASELINE, set=SMALL, replications=2, workers=2, backend="dask"))


def test_results_are_gathered_in_task_order_whatever_order_they_finish() -> None:
    big = loansim.load(BASELINE, set={**SMALL, "portfolio.borrowers": 300_000})
    small = loansim.load(BASELINE, set={**SMALL, "portfolio.borrowers": 200, "run.months": 3})
    tasks = [(big, 0), *[(small, r) for r in range(6)]]
    finished: list[int] = []
    runs, _ = experiment.run_tasks(experiment.run_replication, tasks, workers=2, progress=False,
                                   done=lambda i, _run: finished.append(i))
    assert finished[-1] == 0, finished  # the big book finished last
    serial, _ = experiment.run_tasks(experiment.run_replication, tasks, workers=1, progress=False)
    for a, b in zip(runs, serial):
        assert a.metrics == b.metrics and a.ledger == b.ledger
        assert all(np.array_equal(a.monthly[k], b.monthly[k]) for k in a.monthly)


def test_an_unreachable_scheduler_is_one_error_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    from loansim.experiment import cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    for command in (["run", BASELINE], ["sweep", BASELINE, "--grid", "portfolio.apr=0.1,0.2"]):
        assert_user_error([*command, "--set", "portfolio.borrowers=300", "--scheduler", "tcp://127.0.0.1:9", "--quiet",
                           "--out", tmp_path / "r"], tmp_path, "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler there")


def test_workers_of_another_loansim_version_are_refused(cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(loansim, "__version__", "9.9.9")
    code, _, stderr = run_cli("run", BASELINE, "--set", "portfolio.borrowers=300", "--scheduler", cluster.scheduler_address,
                              "--out", tmp_path / "r")
    assert code == 1
    assert "runs loansim " in stderr and "this is loansim 9.9.9" in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, needle", [
    (["--backend", "local", "--scheduler", "tcp://127.0.0.1:8786"], "--scheduler tcp://127.0.0.1:8786: a scheduler is for --backend dask"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers 2: with --scheduler the cluster's own workers"),
    (["--workers", "0"], "--workers 0: must be >= 1"),
])
def test_backend_options_that_cannot_be_honoured(tmp_path: Path, argv: list[str], needle: str) -> None:
    for command in (["run", BASELINE], ["compare", BASELINE, SCENARIOS / "reminders.toml"], ["stress", BASELINE],
                    ["sweep", BASELINE, "--grid", "portfolio.apr=0.1,0.2"]):
        assert_user_error([*command, *argv, "--out", tmp_path / "x"], tmp_path, needle)


def test_without_distributed_the_dask_backend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UserError, match=r"pip install 'loansim\[dask\]'"):
        loansim.run(BASELINE, set=SMALL, replications=1, backend="dask")
    with pytest.raises(UserError, match="backend = 'spark': must be one of local, dask"):
        loansim.run(BASELINE, set=SMALL, backend="spark")


def test_a_scheduler_without_workers_is_one_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import logging

    from loansim.experiment import cluster

    monkeypatch.setattr(cluster, "WORKER_WAIT_SECONDS", 1)
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=":0", silence_logs=logging.ERROR) as empty:
        code, _, stderr = run_cli("run", BASELINE, "--set", "portfolio.borrowers=300", "--scheduler", empty.scheduler_address,
                                  "--out", tmp_path / "r")
    assert code == 1
    assert f"the Dask scheduler at {empty.scheduler_address} has had no workers for 1 s" in stderr
    assert list(tmp_path.iterdir()) == []
