"""The memory estimate, the check before a run, and reading the memory available."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import SCENARIOS
from loansim import memory
from loansim.cli import main
from loansim.scenario import Scenario, load_scenario

BASELINE = SCENARIOS / "baseline.toml"


def scenario(borrowers: int, replications: int = 4, file: Path = BASELINE) -> Scenario:
    return load_scenario(file, [f"portfolio.borrowers={borrowers}", f"run.replications={replications}"])


def test_estimate_grows_linearly_with_borrowers() -> None:
    sizes = [1_000_000, 2_000_000, 3_000_000]
    per_worker = [memory.estimate(scenario(n), 2).per_worker for n in sizes]
    assert per_worker[0] < per_worker[1] < per_worker[2]
    assert per_worker[2] - per_worker[1] == pytest.approx(per_worker[1] - per_worker[0], abs=2)


def test_estimate_grows_linearly_with_workers() -> None:
    s = scenario(1_000_000, replications=8)
    totals = [memory.estimate_bytes(s, w) for w in (2, 3, 4)]
    per_worker = memory.estimate(s, 2).per_worker
    assert totals[1] - totals[0] == per_worker and totals[2] - totals[1] == per_worker
    assert memory.estimate_bytes(s, 1) < totals[0]


def test_applicants_and_extra_loans_count() -> None:
    plain = memory.replication_bytes(scenario(100_000))
    assert memory.replication_bytes(scenario(100_000, file=SCENARIOS / "underwriting.toml")) > plain
    assert memory.replication_bytes(scenario(100_000, file=SCENARIOS / "products.toml")) > plain


@pytest.mark.parametrize("workers", [None, 1, 2, 64])
def test_effective_workers_as_the_experiment_resolves_them(workers: int | None) -> None:
    for replications in (1, 2, 8):
        expected = max(1, min(replications, workers or os.cpu_count() or 1))
        assert memory.effective_workers(replications, workers) == expected


def run_cli(tmp_path: Path, borrowers: int, workers: int, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    out = tmp_path / "out"
    code = main(["run", str(BASELINE), "--set", f"portfolio.borrowers={borrowers}", "--replications", "4",
                 "--workers", str(workers), "--out", str(out), "--quiet"])
    assert not out.exists() and not list(tmp_path.iterdir())
    return code, capsys.readouterr().err


def test_a_run_too_big_for_its_workers_is_refused_with_the_workers_that_fit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    s = scenario(2_000_000)
    available = (memory.estimate_bytes(s, 2) + memory.estimate_bytes(s, 3)) // 2  # 2 workers fit, not 3
    monkeypatch.setattr(memory, "available_bytes", lambda: available)
    code, err = run_cli(tmp_path, 2_000_000, 4, capsys)
    assert code == 2
    assert "portfolio.borrowers = 2,000,000" in err and "Traceback" not in err
    gb = memory.estimate(s, 4)
    assert f"{gb.per_worker / 1e9:.1f} GB per worker" in err and f"{gb.total / 1e9:.1f} GB" in err
    assert f"{available / 1e9:.1f} GB of memory available" in err
    workers = int(re.search(r"use --workers (\d+)", err).group(1))
    assert workers == 2 and memory.estimate_bytes(s, workers) <= available < memory.estimate_bytes(s, workers + 1)


def test_a_run_too_big_for_one_worker_is_told_how_many_borrowers_fit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    s = scenario(20_000_000)
    available = memory.estimate_bytes(s, 1) // 2
    monkeypatch.setattr(memory, "available_bytes", lambda: available)
    code, err = run_cli(tmp_path, 20_000_000, 1, capsys)
    assert code == 2 and "portfolio.borrowers = 20,000,000" in err and "--workers 1" in err
    most = int(re.search(r"at most about ([\d,]+)", err).group(1).replace(",", ""))
    assert 0 < most < 20_000_000
    assert memory.estimate_bytes(scenario(most), 1) <= available


def test_a_run_that_fits_or_an_unknown_machine_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario(1_000_000)
    monkeypatch.setattr(memory, "available_bytes", lambda: memory.estimate_bytes(s, 2))
    memory.check_fits(s, 2)
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    memory.check_fits(scenario(10_000_000), 2)


MEMINFO = """MemTotal:       24684092 kB
MemFree:        23243472 kB
MemAvailable:   24038628 kB
Buffers:           40756 kB
"""


def test_meminfo_gives_memory_available() -> None:
    assert memory.parse_meminfo(MEMINFO) == 24038628 * 1024
    assert memory.parse_meminfo("MemTotal: 1000 kB\n") is None


def test_cgroup_limit_less_usage_less_droppable_cache() -> None:
    assert memory.parse_cgroup("max\n", "123456\n") is None  # v2, no limit
    assert memory.parse_cgroup("9223372036854771712\n", "5000\n") is None  # v1, no limit
    assert memory.parse_cgroup("8000000000\n", "3000000000\n", "anon 2000000000\nfile 1000000000\ninactive_file 600000000\n") \
        == 5_600_000_000  # v2
    assert memory.parse_cgroup("8000000000\n", "3000000000\n", "cache 900000000\ntotal_inactive_file 400000000\n") \
        == 5_400_000_000  # v1
    assert memory.parse_cgroup("1000\n", "5000\n") == 0


def test_available_memory_is_the_lower_of_meminfo_and_a_cgroup_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "meminfo").write_text(MEMINFO)
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "memory.max").write_text("4000000000\n")
    (cgroup / "memory.current").write_text("1000000000\n")
    (cgroup / "memory.stat").write_text("inactive_file 0\n")
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(memory, "CGROUP_ROOT", cgroup)
    assert memory.available_bytes() == 3_000_000_000
    (cgroup / "memory.max").write_text("max\n")
    assert memory.available_bytes() == 24038628 * 1024
