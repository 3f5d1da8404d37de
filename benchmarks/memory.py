"""Peak memory of one replication at several portfolio sizes, per million borrowers.

Each size runs in a fresh Python process (``Simulation(scenario).run()``, no results
written), so its peak resident memory is its own. Prints the peak after setting up the
population and book, the peak over the whole run, the memory a process holds before any
simulation (Python, numpy, loansim imported), and peak per million borrowers; with two
sizes or more, a least-squares line ``fixed + per borrower x n``, and what
``loansim.memory.estimate_bytes`` predicts for one worker.

    python benchmarks/memory.py                                  # bench-36m at 0.25M, 1M, 2M
    python benchmarks/memory.py --scenario scenarios/all-policies.toml --sizes 250000 1000000
    python benchmarks/memory.py --months 12                      # a shorter run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "bench-36m.toml"

CHILD = """
import json, resource, sys, time

def peak_bytes():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

from loansim.engine import Simulation
from loansim.memory import estimate_bytes
from loansim.scenario import load_scenario

overrides = [f"portfolio.borrowers={sys.argv[2]}", "run.replications=1"]
if sys.argv[3] != "-":
    overrides.append(f"run.months={sys.argv[3]}")
scenario = load_scenario(sys.argv[1], overrides)
base = peak_bytes()
t0 = time.perf_counter()
sim = Simulation(scenario)
setup = peak_bytes()
t1 = time.perf_counter()
result = sim.run()
t2 = time.perf_counter()
print(json.dumps({
    "borrowers": scenario.portfolio.borrowers, "population": sim.borrowers.n, "loans": sim.loans.n,
    "months": scenario.run.months, "base": base, "setup_peak": setup, "peak": peak_bytes(),
    "setup_s": t1 - t0, "run_s": t2 - t1, "estimate": estimate_bytes(scenario, 1),
    "balanced": not result.ledger_problems,
}))
"""


def measure(scenario: Path, borrowers: int, months: int | None) -> dict:
    """Run one size in a fresh process and return its peaks (bytes) and timings."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(borrowers), str(months or "-")],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def fit(rows: list[dict]) -> tuple[float, float]:
    """Least-squares ``peak = fixed + per_borrower x n`` (bytes, bytes per borrower)."""
    n = [r["borrowers"] for r in rows]
    y = [r["peak"] for r in rows]
    mean_n, mean_y = sum(n) / len(n), sum(y) / len(y)
    slope = sum((a - mean_n) * (b - mean_y) for a, b in zip(n, y)) / sum((a - mean_n) ** 2 for a in n)
    return mean_y - slope * mean_n, slope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000, 2_000_000])
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="workload (default: scenarios/bench-36m.toml)")
    parser.add_argument("--months", type=int, help="override run.months")
    args = parser.parse_args()
    mb = 1e6
    print(f"workload: {args.scenario.name}")
    print(f"{'borrowers':>10} {'simulated':>10} {'loans':>10} {'months':>6} {'base MB':>8} {'setup MB':>9} "
          f"{'peak MB':>8} {'MB per 1M':>9} {'estimate MB':>11} {'run s':>7}")
    rows = []
    for n in args.sizes:
        r = measure(args.scenario, n, args.months)
        rows.append(r)
        print(f"{n:>10,} {r['population']:>10,} {r['loans']:>10,} {r['months']:>6} {r['base'] / mb:>8.0f} "
              f"{r['setup_peak'] / mb:>9.0f} {r['peak'] / mb:>8.0f} {r['peak'] / mb / (n / 1e6):>9.0f} "
              f"{r['estimate'] / mb:>11.0f} {r['run_s']:>7.1f}{'' if r['balanced'] else '  LEDGER BROKEN'}")
    if len(rows) > 1:
        fixed, per = fit(rows)
        print(f"fit: peak = {fixed / mb:.0f} MB + {per:.0f} bytes per borrower")


if __name__ == "__main__":
    main()
