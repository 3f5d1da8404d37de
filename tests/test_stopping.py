"""Stopping a run and sharing a results folder: Ctrl-C, SIGTERM and SIGKILL of a parallel
run, runs killed mid-write, two runs into one folder, files put into it during a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SCENARIOS
from loansim import cli
from loansim.report import folder
from test_cli import RESULT_FILES, TINY_RUN, assert_user_error, run_cli

BASELINE = SCENARIOS / "baseline.toml"
LONG_PARALLEL_RUN = ["--set", "portfolio.borrowers=20000", "--replications", "400", "--workers", "2", "--quiet"]

posix_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_long_run(out: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """A parallel run of many replications, once both workers are busy; and the workers."""
    proc = subprocess.Popen([sys.executable, "-m", "loansim.cli", "run", str(BASELINE), *LONG_PARALLEL_RUN, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        workers = {pid for pid in children(proc.pid) if "spawn_main" in _cmdline(pid)}
        time.sleep(0.1)
    assert len(workers) == 2, "the workers did not start"
    time.sleep(3)  # well into the replications
    assert proc.poll() is None
    return proc, workers


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


def wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


@posix_only
@pytest.mark.parametrize(("signum", "code", "line"), [
    (signal.SIGINT, 130, "loansim: interrupted; no results were written"),
    (signal.SIGTERM, 128 + signal.SIGTERM, "loansim: stopped by SIGTERM; no results were written"),
], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_a_parallel_run_at_once(tmp_path: Path, signum: int, code: int, line: str) -> None:
    proc, workers = start_long_run(tmp_path / "x")
    sent = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C on a terminal reaches the whole process group
    else:
        proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    # The run had a minute or more to go; it stops within seconds (10: a loaded machine once
    # took just over 5 to end the workers).
    assert time.monotonic() - sent < 10
    assert proc.returncode == code
    assert stderr.strip() == line
    assert wait_gone(workers, 10) == set()
    assert list(tmp_path.iterdir()) == []  # no results, no temporary folder, no lock


@posix_only
def test_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    proc, workers = start_long_run(tmp_path / "x")
    proc.kill()
    proc.communicate(timeout=30)
    assert wait_gone(workers, 5) == set()


def test_what_a_killed_run_left_is_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "x"
    stale_tmp = tmp_path / ".x.tmp-abcd1234"
    stale_tmp.mkdir()
    (stale_tmp / "summary.json").write_text("{}", encoding="utf-8")
    legacy = tmp_path / ".x.k2j4h5g6"  # an earlier version's temporary folder
    legacy.mkdir()
    (legacy / "manifest.json").write_text("{}", encoding="utf-8")
    keep = tmp_path / ".x.notes"  # not loansim's: left alone
    keep.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    (tmp_path / ".x.lock").write_text(f"{dead}\n{os.uname().nodename}\n2026-01-01T00:00:00+00:00\n", encoding="utf-8")
    code, _, stderr = run_cli("run", BASELINE, *TINY_RUN, "--workers", "1", "--out", out)
    assert code == 0, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.notes", "x"]
    assert {p.name for p in out.iterdir()} == RESULT_FILES


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with folder.OutLock(out):  # this process is the first run, still going
        stderr = assert_user_error(["run", BASELINE, *TINY_RUN, "--workers", "1", "--out", out], tmp_path,
                                   f"--out {out}: another loansim run (process {os.getpid()}, started ",
                                   "is writing this folder")
    assert "wait for it to finish or choose another folder" in stderr
    assert not out.exists()


def test_files_put_into_the_folder_during_a_run_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x"
    from loansim import api, experiment

    real = api.run_experiments

    def run_and_meddle(*args: object, **kwargs: object) -> list[experiment.Experiment]:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        out.mkdir()
        (out / "notes.txt").write_text("mine", encoding="utf-8")
        return result

    monkeypatch.setattr(api, "run_experiments", run_and_meddle)
    code, _, stderr = run_cli("run", BASELINE, *TINY_RUN, "--workers", "1", "--out", out)
    assert code == 2
    assert f"--out {out}: while the run was going, notes.txt appeared there" in stderr
    assert f"the results were written to {tmp_path / 'x-2'} instead" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert {p.name for p in (tmp_path / "x-2").iterdir()} == RESULT_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x", "x-2"]


@pytest.mark.usefixtures("broken_pool")
def test_a_lost_worker_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    code, stdout, stderr = run_cli("run", BASELINE, *TINY_RUN, "--workers", "2", "--out", tmp_path / "x")
    assert code == cli.EXIT_RUN_ERROR
    assert stderr.startswith("loansim: error: a worker process stopped unexpectedly")
    assert stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_result_files_are_those_the_writer_writes() -> None:
    from loansim.report import comparison, stress, writer

    run = {"manifest.json", "summary.json", "monthly.csv", "monthly_mean.csv", "monthly.parquet", "roll_rates.csv",
           "report.html", "vintages.csv", "vintages.png", *writer.PLOTS}
    assert run | set(comparison.FILES) | set(stress.FILES) == folder.RESULT_FILES


def test_ctrl_c_while_the_program_starts_ends_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while the command line is imported, or while it reads its arguments."""
    import loansim.__main__
    from loansim import cli

    class Interrupt:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "loansim.cli":
                raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.delitem(sys.modules, "loansim.cli")
        patch.setattr(sys, "meta_path", [Interrupt(), *sys.meta_path])
        assert loansim.__main__.main() == 130
    assert capsys.readouterr().err == "loansim: interrupted; no results were written\n"

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_parser", interrupted)
    assert cli.main(["--version"]) == 130
    assert capsys.readouterr().err == "loansim: interrupted; no results were written\n"
