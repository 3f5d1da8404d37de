"""Throughput and memory of the bench-36m workload at several portfolio sizes.

Each size runs in a fresh Python process, so its peak resident memory is its own. The
timed part is the simulation (``Simulation.run``: 36 months of billing, payments,
delinquency, default and recording); setting up the population is reported separately.

    python benchmarks/throughput.py                      # 10k, 100k and 1M borrowers
    python benchmarks/throughput.py --sizes 10000 --repeat 3
    python benchmarks/throughput.py --end-to-end         # and the whole command, as a user runs it

With ``--end-to-end`` each size is also run as ``loansim run`` (one replication, one
process, a results folder written to a temporary directory): ``cli s`` is that command's
wall time, start-up, imports and results folder included, and ``cli/run`` its ratio to the
engine's own time.

It first times a fixed numpy kernel (``reference_ms``: the kind of work the engine does,
on arrays of a million, in 30 day-sized pieces). The same code's throughput varies with the
machine, and on a shared virtual machine from one sitting to the next by a factor of two
or more; the kernel's time, measured in the same sitting, says how fast the machine was,
so figures from different sittings can be compared (throughput × kernel ms is roughly
constant for the same code).

Borrower-months count the book's borrowers (``portfolio.borrowers``) over the run's months.
``people`` is how many borrowers the run simulates: more than the book when a policy brings
applicants (bench-policies' underwriting brings 240,000, 10,000 a month for two years,
whatever the book's size).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "bench-36m.toml"

CHILD = """
import json, resource, sys, time
from loansim.engine import Simulation
from loansim.scenario import load_scenario

scenario = load_scenario(sys.argv[1], [f"portfolio.borrowers={sys.argv[2]}"])
t0 = time.perf_counter()
sim = Simulation(scenario)
t1 = time.perf_counter()
result = sim.run()
t2 = time.perf_counter()
print(json.dumps({
    "setup_s": t1 - t0, "run_s": t2 - t1, "months": scenario.run.months,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "default_rate": result.metrics["default_rate"], "balanced": not result.ledger_problems,
    "people": sim.borrowers.n,
}))
"""


def reference_ms(n: int = 1_000_000, repeat: int = 5) -> float:
    """Best time, in ms, of a fixed kernel: for each of 30 slices of arrays of `n`, billing-
    and payment-like integer and float arithmetic, a mask, a gather and a scatter."""
    rng = np.random.default_rng(0)
    principal = rng.integers(100_000, 3_000_000, n)
    rate = np.full(n, 0.015)
    paid = np.zeros(n, dtype=np.int64)
    savings = rng.normal(4_000, 1_000, n)
    scattered = np.sort(rng.choice(n, n // 20, replace=False))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for day in range(30):
            s = slice(day * n // 30, (day + 1) * n // 30)
            interest = (principal[s] * rate[s] + 0.5).astype(np.int64)
            due = np.minimum(interest + 30_000, principal[s])
            cash = np.floor(np.maximum(savings[s], 0.0) * 100).astype(np.int64)
            pay = np.where(cash >= due, due, cash)
            paid[s] += pay
            savings[s] -= pay / 100
            late = np.flatnonzero(pay < due)
            paid[s][late] += 1
            ids = scattered[day::30]
            savings[ids] += principal[ids] * 1e-4
        best = min(best, time.perf_counter() - t0)
    return 1000 * best


def measure(scenario: Path, borrowers: int) -> dict:
    """Run one size in a fresh process and return its timings and peak memory."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(borrowers)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def end_to_end(scenario: Path, borrowers: int) -> float:
    """Wall seconds of ``loansim run`` on one size, as a user runs it (results folder included)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "loansim.cli", "run", str(scenario), "--set", f"portfolio.borrowers={borrowers}",
                        "--replications", "1", "--workers", "1", "--quiet", "--out", str(Path(tmp) / "out")],
                       check=True, capture_output=True, text=True)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest is reported")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="workload (default: scenarios/bench-36m.toml)")
    parser.add_argument("--end-to-end", action="store_true", help="also time `loansim run` on each size (start-up, imports, results folder)")
    args = parser.parse_args()
    print(f"machine reference: {reference_ms():.1f} ms (a fixed numpy kernel, benchmarks/throughput.py:reference_ms; lower is faster)")
    print(f"workload: {args.scenario.name}")
    print(f"{'borrowers':>10} {'months':>6} {'setup s':>8} {'run s':>7} {'borrower-months/s':>18} {'peak MB':>8} {'default':>8} ledger {'people':>9}"
          + ("   cli s  cli/run" if args.end_to_end else ""))
    for n in args.sizes:
        best = min((measure(args.scenario, n) for _ in range(args.repeat)), key=lambda r: r["run_s"])
        rate = n * best["months"] / best["run_s"]
        line = (f"{n:>10,} {best['months']:>6} {best['setup_s']:>8.2f} {best['run_s']:>7.2f} {rate / 1e6:>16.1f} M "
                f"{best['peak_rss_mb']:>8.0f} {100 * best['default_rate']:>7.2f}% {'ok' if best['balanced'] else 'BROKEN':<6} {best['people']:>9,}")
        if args.end_to_end:
            cli = min(end_to_end(args.scenario, n) for _ in range(args.repeat))
            line += f" {cli:>7.2f} {cli / best['run_s']:>7.1f}x"
        print(line)


if __name__ == "__main__":
    main()
