"""The memory a run needs, and a check, before it starts, that the machine has it.

A replication holds its whole population and book in memory as arrays, so its peak grows
linearly with the borrowers it simulates (the book plus the applicants policies bring,
``policies.BringsApplicants``) and with their loans; months add only monthly series,
which are small. Each worker process holds one replication at a time; the main process
gathers every replication's monthly series and writes the results, and with one worker it
runs the replications itself.

The coefficients come from peak resident memory (``VmHWM``) of one replication in a fresh
process, at 0.25, 1, 2 and 4 million borrowers, 36 months::

    python benchmarks/memory.py --scenario scenarios/<name>.toml --sizes 250000 1000000 2000000 4000000

    scenario          bytes per simulated borrower, least-squares over the four sizes
    bench-36m         476
    baseline          482
    all-policies      497   (each simulated borrower holds one loan)
    bench-full        514
    bench-policies    535   (every behaviour and every policy; the largest)
    products          616   (1.5 loans per borrower: 1,000,000 and 4,000,000 only)

A process that has imported loansim holds 115 MB before it simulates anything. End to end
(``loansim run scenarios/baseline.toml --set portfolio.borrowers=1000000``): one
replication with one worker peaked at 598 MB, two at 642 MB (results writing included);
over two workers the main process peaked at 153 MB and each worker at 571 MB. Months do
not matter (bench-36m at 2 million borrowers: 1,062 MB over 12 months, 1,064 MB over 36,
1,070 MB over 120). ``PER_LOAN`` is what products' extra half loan per borrower cost at
set-up, its peak; ``PER_BORROWER`` is bench-policies' figure less one loan, rounded up, so
the estimate covers every bundled scenario; ``MARGIN`` is added on top for the
allocator's slack and what the rest of the machine takes meanwhile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loansim.errors import UserError
from loansim.scenario import Scenario

PROCESS_BYTES = 160_000_000  # Python, numpy, scipy, pydantic, SimPy and loansim loaded
WRITER_BYTES = 60_000_000  # matplotlib and the results writer, in the main process
PER_BORROWER = 225  # each simulated borrower: the book's and the applicants
PER_LOAN = 315  # each loan, held or applied for
PER_REPLICATION_MONTH = 2_000  # one replication's monthly series, kept by the main process
MARGIN = 1.10

GB = 1e9


@dataclass(frozen=True)
class Estimate:
    """Peak memory of a run, in bytes: each worker process's, the main process's, in total."""

    workers: int
    per_worker: int
    main: int

    @property
    def total(self) -> int:
        """Every process at its peak at once: the main process, and each worker if there are several."""
        return self.main if self.workers == 1 else self.main + self.workers * self.per_worker


def effective_workers(replications: int, workers: int | None) -> int:
    """The worker processes a run uses: as many as asked (default: one per core), at
    most one per replication."""
    return max(1, min(replications, workers or os.cpu_count() or 1))


def loans_per_borrower(scenario: Scenario) -> float:
    """The mean number of loans a borrower holds: one of each product of the segment."""
    return sum(seg.share * len(seg.products) for seg in scenario.portfolio.segment_table().values())


def applicants(scenario: Scenario) -> int:
    """Borrowers that policies add to the population over the run (origination)."""
    from loansim.policies import REGISTRY

    return sum(REGISTRY[name].n_applicants(params, scenario) for name, params in scenario.policies.items())


def replication_bytes(scenario: Scenario, borrowers: int | None = None) -> int:
    """Peak memory one replication adds to a process, with `borrowers` in the book
    (default: the scenario's)."""
    n = (scenario.portfolio.borrowers if borrowers is None else borrowers) + applicants(scenario)
    return round(n * (PER_BORROWER + PER_LOAN * loans_per_borrower(scenario)))


def estimate(scenario: Scenario, workers: int | None = None, borrowers: int | None = None) -> Estimate:
    """Peak memory of running `scenario` over `workers` processes (default: one per core)."""
    w = effective_workers(scenario.run.replications, workers)
    gathered = PER_REPLICATION_MONTH * scenario.run.replications * scenario.run.months
    main = PROCESS_BYTES + WRITER_BYTES + gathered
    one = replication_bytes(scenario, borrowers)
    if w == 1:  # the main process runs every replication itself
        return Estimate(1, round(MARGIN * (main + one)), round(MARGIN * (main + one)))
    return Estimate(w, round(MARGIN * (PROCESS_BYTES + one)), round(MARGIN * main))


def estimate_bytes(scenario: Scenario, workers: int | None = None) -> int:
    """Peak memory of the whole run, every process together, in bytes."""
    return estimate(scenario, workers).total


def workers_that_fit(scenario: Scenario, available: int) -> int:
    """The most worker processes whose run fits in `available` bytes; 0 if not even one."""
    most = effective_workers(scenario.run.replications, scenario.run.replications)
    return max((w for w in range(1, most + 1) if estimate(scenario, w).total <= available), default=0)


def borrowers_that_fit(scenario: Scenario, workers: int, available: int) -> int:
    """The most borrowers (a round number) whose run over `workers` fits in `available` bytes."""
    at_zero = estimate(scenario, workers, borrowers=0).total
    per = (estimate(scenario, workers, borrowers=1_000_000).total - at_zero) / 1_000_000
    most = int((available - at_zero) / per) if available > at_zero else 0
    step = 10 ** max(len(str(most)) - 2, 0)  # two significant figures, rounded down
    return most // step * step


def check_fits(scenario: Scenario, workers: int | None = None) -> None:
    """Refuse, with what would fit, a run that needs more memory than the machine has available.

    Does nothing when the memory available cannot be found out.
    """
    available = available_bytes()
    need = estimate(scenario, workers)
    if available is None or need.total <= available:
        return
    n, extra = scenario.portfolio.borrowers, applicants(scenario)
    what = f" (with {extra:,} applicants as well)" if extra else ""
    per = f"about {need.per_worker / GB:.1f} GB per worker"
    if need.workers > 1:
        per += f" ({need.workers} workers together with the main process: {need.total / GB:.1f} GB)"
    fits = workers_that_fit(scenario, available)
    if fits:
        advice = (f"use --workers {fits} ({estimate(scenario, fits).total / GB:.1f} GB), or fewer borrowers "
                  f"(at most about {borrowers_that_fit(scenario, need.workers, available):,} with {need.workers} workers)")
    else:
        most = borrowers_that_fit(scenario, 1, available)
        advice = f"use fewer borrowers: at most about {most:,} with --workers 1" if most else \
            "even an empty book does not fit"
    raise UserError(f"portfolio.borrowers = {n:,}: a run{what} needs {per}, but this machine has "
                    f"{available / GB:.1f} GB of memory available; {advice}")


# ------------------------------------------------------------------ memory available

MEMINFO = Path("/proc/meminfo")
CGROUP_ROOT = Path("/sys/fs/cgroup")
NO_LIMIT = 1 << 60  # cgroup limits at or above this mean "no limit"


def available_bytes() -> int | None:
    """Memory this process can still use, in bytes: the kernel's estimate of memory
    available (``MemAvailable``), or what is left under a cgroup memory limit if that is
    lower; where neither can be read, the free physical memory; None if unknown."""
    candidates = []
    try:
        candidates.append(parse_meminfo(MEMINFO.read_text()))
    except OSError:
        pass
    for folder, files in _cgroup_folders():
        try:
            texts = [(folder / name).read_text() for name in files]
        except OSError:
            continue
        candidates.append(parse_cgroup(*texts))
    known = [c for c in candidates if c is not None]
    if known:
        return min(known)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def parse_meminfo(text: str) -> int | None:
    """``MemAvailable`` from the text of /proc/meminfo, in bytes; None if it is not there."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "MemAvailable":
            number, *unit = value.split()
            return int(number) * (1024 if unit == ["kB"] else 1)
    return None


def parse_cgroup(limit: str, usage: str, stat: str = "") -> int | None:
    """Memory left under a cgroup's limit, in bytes, from the text of its limit and usage
    files (v2: ``memory.max``, ``memory.current``; v1: ``memory.limit_in_bytes``,
    ``memory.usage_in_bytes``) and ``memory.stat``: the limit less the usage, less the part
    of the usage that is page cache the kernel can drop (inactive files). None without a limit."""
    limit = limit.strip()
    if limit == "max" or not limit.isdigit() or int(limit) >= NO_LIMIT:
        return None
    inactive = 0
    for line in stat.splitlines():
        key, _, value = line.partition(" ")
        if key in ("inactive_file", "total_inactive_file"):
            inactive = int(value)
    return max(int(limit) - (int(usage.strip()) - inactive), 0)


def _cgroup_folders() -> list[tuple[Path, tuple[str, str, str]]]:
    """This process's cgroup folders that may hold a memory limit, v2 and v1, each with
    the names of its limit, usage and statistics files."""
    v2 = ("memory.max", "memory.current", "memory.stat")
    v1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat")
    folders = [(CGROUP_ROOT, v2), (CGROUP_ROOT / "memory", v1)]  # a container's own cgroup
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            folders.append((CGROUP_ROOT / path.lstrip("/"), v2))
        elif "memory" in controllers.split(","):
            folders.append((CGROUP_ROOT / controllers / path.lstrip("/"), v1))
    return folders
