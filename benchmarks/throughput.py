"""Throughput and memory of the bench-36m workload at several portfolio sizes.

Each size runs in a fresh Python process, so its peak resident memory is its own. The
timed part is the simulation (``Simulation.run``: 36 months of billing, payments,
delinquency, default and recording); setting up the population is reported separately.

    python benchmarks/throughput.py                      # 10k, 100k and 1M borrowers
    python benchmarks/throughput.py --sizes 10000 --repeat 3
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
}))
"""


def measure(scenario: Path, borrowers: int) -> dict:
    """Run one size in a fresh process and return its timings and peak memory."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(scenario), str(borrowers)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest is reported")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="workload (default: scenarios/bench-36m.toml)")
    args = parser.parse_args()
    print(f"workload: {args.scenario.name}")
    print(f"{'borrowers':>10} {'months':>6} {'setup s':>8} {'run s':>7} {'borrower-months/s':>18} {'peak MB':>8} {'default':>8} ledger")
    for n in args.sizes:
        best = min((measure(args.scenario, n) for _ in range(args.repeat)), key=lambda r: r["run_s"])
        rate = n * best["months"] / best["run_s"]
        print(f"{n:>10,} {best['months']:>6} {best['setup_s']:>8.2f} {best['run_s']:>7.2f} {rate / 1e6:>16.1f} M "
              f"{best['peak_rss_mb']:>8.0f} {100 * best['default_rate']:>7.2f}% {'ok' if best['balanced'] else 'BROKEN'}")


if __name__ == "__main__":
    main()
