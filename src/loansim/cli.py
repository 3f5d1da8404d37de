"""Command line: ``loansim run``, ``compare``, ``stress``, ``sweep`` and ``validate``.

A mistake in user input (a bad scenario file, a wrong ``--set``, an unusable ``--out``)
prints one clear message and exits with status 2, without a traceback and without
writing any results. Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a run within moments, with
one line and no traceback (status 130, or 128 + the signal's number), writing nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from loansim import __version__
from loansim.errors import RunError, Stopped, UserError

if TYPE_CHECKING:
    from loansim.scenario import Scenario

DEFAULT_STRESS = ("baseline", "adverse", "severely-adverse")
BUILT_IN_PATH_NAMES = ("steady", "mild-recession", "adverse", "severely-adverse", "pandemic-spike")  # loansim.macro.BUILT_IN_PATHS

EXIT_USER_ERROR = 2
EXIT_RUN_ERROR = 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line (the ``loansim`` console script, ``loansim.__main__``)."""
    try:
        args = _parser().parse_args(argv)
        with _stop_signals_interrupt():
            return args.command(args)
    except UserError as exc:
        for line in str(exc).splitlines():
            print(f"loansim: error: {line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except RunError as exc:
        print(f"loansim: error: {exc}", file=sys.stderr)
        return EXIT_RUN_ERROR
    except Stopped as exc:
        print(f"loansim: stopped by {signal.Signals(exc.signum).name}; no results were written", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("loansim: interrupted; no results were written", file=sys.stderr)
        return 130


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise ``Stopped`` as Ctrl-C raises
    KeyboardInterrupt, so the same clean-up runs: workers stopped, temporary files removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kinds = [sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig is not None]

    def stop(signum: int, _frame: Any) -> None:
        raise Stopped(signum)

    before = {sig: signal.signal(sig, stop) for sig in kinds}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loansim", description="Simulate a consumer-loan portfolio.")
    parser.add_argument("--version", action="version", version=f"loansim {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    _running_options(run, "a scenario key", "results folder (default: results/<scenario name>, plus +key=value for each "
                     "override); an existing folder is replaced only if it holds an earlier loansim result", "summary")
    run.set_defaults(command=cmd_run)

    compare = sub.add_parser("compare", help="run scenarios on the same seeds and report paired differences from the first")
    compare.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO",
                         help="scenario files (TOML): the base, then one or more to compare with it")
    _running_options(compare, "a key in every scenario compared",
                     "comparison folder (default: results/<base>-vs-<other>…, plus +key=value for each override)", "table")
    compare.set_defaults(command=cmd_compare)

    stress = sub.add_parser("stress", help="run one book through macro scenarios and report losses by quarter")
    stress.add_argument("book", type=Path, metavar="BOOK", help="the book's scenario file (TOML)")
    stress.add_argument("--scenarios", default=",".join(DEFAULT_STRESS), metavar="NAME|FILE,…",
                        help="comma-separated: baseline (the book as it is), built-in paths "
                             f"({', '.join(BUILT_IN_PATH_NAMES)}) or scenario files (default: %(default)s)")
    stress.add_argument("--path", action="append", default=[], metavar="LABEL=R1,R2,…",
                        help="a scenario of monthly unemployment rates (shares), e.g. --path spike=0.05,0.09,0.12 (repeatable)")
    stress.add_argument("--quarters", type=int, default=9, metavar="N", help="quarters to report (default: %(default)s)")
    _running_options(stress, "a key of the book (and of every scenario file)",
                     "stress folder (default: results/stress-<book>, plus +key=value for each override)", "table")
    stress.set_defaults(command=cmd_stress)

    sweep = sub.add_parser("sweep", help="run a scenario at a grid or a sample of parameter points (resumable)")
    sweep.add_argument("scenario", type=Path, metavar="SCENARIO", help="scenario file (TOML)")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY.PATH=V1,V2,…",
                       help="a key and its values; several --grid make a full grid of every combination (repeatable)")
    sweep.add_argument("--sample", type=int, metavar="N", help="draw N points in the --range box instead of a grid")
    sweep.add_argument("--range", action="append", default=[], metavar="KEY.PATH=LO:HI", dest="ranges",
                       help="a key's range for --sample; whole-number bounds give whole numbers (repeatable)")
    sweep.add_argument("--method", choices=("lhs", "sobol"),
                       help="how --sample draws: a Latin hypercube (default) or a scrambled Sobol sequence (N a power of 2)")
    _running_options(sweep, "a key at every point", "sweep folder (default: results/sweep-<scenario>, plus +key=value "
                     "for each override); rerunning into it computes only the points it lacks", "table")
    sweep.set_defaults(command=cmd_sweep)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE", help="scenario files (TOML) to check")
    validate.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                          help="check with these overrides applied, as `loansim run` would (repeatable)")
    validate.set_defaults(command=cmd_validate)
    return parser


def _running_options(command: argparse.ArgumentParser, what_set_overrides: str, out_help: str, printed: str) -> None:
    """The options every command that runs scenarios takes."""
    command.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    command.add_argument("--replications", type=int, metavar="R", help="independent replications (overrides run.replications)")
    command.add_argument("--out", type=Path, metavar="DIR", help=out_help)
    command.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                         help=f"override {what_set_overrides}, e.g. --set portfolio.borrowers=2000 (repeatable)")
    command.add_argument("--workers", type=int, metavar="N",
                         help="processes for replications (default: one per core; with --backend dask and no "
                              "--scheduler, the local cluster's)")
    command.add_argument("--backend", choices=("local", "dask"),
                         help="where replications run: local processes (default) or a Dask cluster (pip install 'loansim[dask]')")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="the Dask scheduler's address, e.g. tcp://10.0.0.5:8786 (implies --backend dask; "
                              "without it, --backend dask starts a local cluster)")
    command.add_argument("--quiet", action="store_true", help=f"print no progress and no {printed}")


def _backend(args: argparse.Namespace) -> Any:
    """The backend the options ask for (``api.Backend``), checked."""
    from loansim.api import Backend

    return Backend(args.workers, args.backend, args.scheduler).check(spelled=lambda name, value: f"--{name} {value}")


def cmd_run(args: argparse.Namespace) -> int:
    """Load, run and write results; print the headline metrics."""
    from loansim.api import run_planned
    from loansim.report import write_results
    from loansim.scenario import load_scenario_and_files

    overrides = _overrides(args)
    scenario, files = load_scenario_and_files(args.scenario, overrides)
    backend = _backend(args)
    out = args.out if args.out is not None else Path("results") / folder_name(scenario.name, overrides)
    source = {"scenario_file": str(args.scenario), "extends_chain": files,
              "overrides": [f"{label} {item}" for label, item in overrides]}
    experiment = _output(out, [args.scenario], lambda: run_planned([(scenario.name, scenario, source)], backend, not args.quiet)[0].experiment,
                         lambda experiment: write_results(out, experiment, source))
    if not args.quiet:
        _print_summary(scenario, experiment.summary(), out, experiment.wall_seconds)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run every scenario on the same seeds; write and print their paired differences."""
    from loansim.api import Comparison, plan_comparison, run_planned
    from loansim.report.comparison import write_comparison

    if len(args.scenarios) < 2:
        raise UserError(f"compare {args.scenarios[0]}: give at least two scenario files, the base and one to compare with it")
    overrides = _overrides(args)
    planned = plan_comparison(list(args.scenarios), overrides)
    backend = _backend(args)
    labels = [label for label, _, _ in planned]
    out = args.out if args.out is not None else Path("results") / folder_name("-vs-".join(labels), overrides)
    comparison = _output(out, list(args.scenarios), lambda: Comparison(labels, run_planned(planned, backend, not args.quiet)),
                         lambda c: write_comparison(out, c))
    if not args.quiet:
        _print_comparison(comparison, out)
    return 0


def cmd_stress(args: argparse.Namespace) -> int:
    """Run the book through each stress scenario; write and print the quarterly figures."""
    from loansim.api import Stress, plan_stress, run_planned
    from loansim.report.stress import write_stress
    from loansim.analysis.stress import parse_rates

    items = [item.strip() for item in args.scenarios.split(",") if item.strip()]
    paths = {}
    for entry in args.path:
        label, sep, rates = entry.partition("=")
        if not sep or not label.strip():
            raise UserError(f"--path {entry!r}: expected LABEL=R1,R2,…, e.g. --path spike=0.05,0.09,0.12")
        paths[label.strip()] = parse_rates(label.strip(), rates)
    if args.quarters < 1 or args.quarters > 400:
        raise UserError(f"--quarters {args.quarters}: must be from 1 to 400")
    overrides = _overrides(args)
    book, planned = plan_stress(args.book, items, paths, args.quarters, overrides)
    backend = _backend(args)
    labels = [label for label, _, _ in planned]
    out = args.out if args.out is not None else Path("results") / folder_name(f"stress-{book.name}", overrides)
    files = [args.book, *(Path(i) for i in items if i.endswith(".toml"))]
    result = _output(out, files, lambda: Stress(labels, run_planned(planned, backend, not args.quiet), args.quarters),
                     lambda r: write_stress(out, r))
    if not args.quiet:
        _print_stress(result, out)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the sweep's missing points into its folder; write and print the points' figures.
    An interrupted sweep keeps what it finished: rerunning the command completes it."""
    from loansim.analysis.sweep import parse_grid, parse_ranges
    from loansim.api import run_sweep
    from loansim.scenario import load_scenario

    grid, ranges = parse_grid(args.grid), parse_ranges(args.ranges)
    overrides = _overrides(args)
    backend = _backend(args)
    out = args.out if args.out is not None else \
        Path("results") / folder_name(f"sweep-{load_scenario(args.scenario, overrides).name}", overrides)
    try:
        result = run_sweep(args.scenario, overrides, grid, ranges, args.sample, args.method, out, backend, not args.quiet)
    except (KeyboardInterrupt, Stopped, RunError) as exc:
        return _sweep_stopped(exc, out)
    if not args.quiet:
        _print_sweep(result, out)
    return 0


def _sweep_stopped(exc: BaseException, out: Path) -> int:
    """Say why a sweep stopped and what it stored (rerunning completes it); its exit status."""
    if isinstance(exc, KeyboardInterrupt):
        how, status = "interrupted", 130
    elif isinstance(exc, Stopped):
        how, status = f"stopped by {signal.Signals(exc.signum).name}", 128 + exc.signum
    else:
        how, status = f"error: {exc}", EXIT_RUN_ERROR
    stored = len(list((out / "points").glob("*/r*.json"))) if (out / "points").is_dir() else 0
    print(f"loansim: {how}; {stored} finished replication(s) are stored in {out}/points; run the same command again "
          "to compute only the rest", file=sys.stderr)
    return status


def _print_sweep(result: Any, out: Path) -> None:
    from loansim.report.comparison import figure_text

    points = result.points
    names = [n for n in ("default_rate", "loss_rate", "missed_payment_rate", "net_income") if n in points.columns]
    replications = int(result.rows["replication"].nunique())
    print(f"sweep of {result.scenario.name}: {len(points)} point(s) x {replications} paired replication(s), "
          f"seed {result.scenario.run.seed}")
    widths = [max(12, len(k.split(".")[-1]) + 2) for k in result.keys]
    print("  " + "".join(f"{k.split('.')[-1]:>{w}}" for k, w in zip(result.keys, widths)) + "".join(f"{n:>22}" for n in names))
    for _, row in points.head(40).iterrows():
        print("  " + "".join(f"{_short(row[k]):>{w}}" for k, w in zip(result.keys, widths))
              + "".join(f"{figure_text(n, row[n]):>22}" for n in names))
    if len(points) > 40:
        print(f"  … {len(points) - 40} more in sweep_points.csv")
    print(f"results: {out}/")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_stress(result: Any, out: Path) -> None:
    from loansim.analysis.stress import SEP

    labels = result.labels
    base = result.results[0].scenario
    print(f"stress test of {base.name.split(SEP)[0]}: {', '.join(labels)}; {result.quarters} quarters, "
          f"{base.run.replications} paired replication(s), seed {base.run.seed}")
    rates = result.measure("loss_rate_annualised")
    unemployment = result.measure("unemployment_rate") if "unemployment_rate" in set(result.table["measure"]) else None
    print("  annualised net charge-off rate by quarter (unemployment rate)")
    print("  " + "quarter".ljust(9) + "".join(f"{label:>24}" for label in labels))
    for q in rates.index:
        cells = [f"{100 * rates.loc[q, label]:.2f}%" + ("" if unemployment is None else f" ({100 * unemployment.loc[q, label]:.1f}%)")
                 for label in labels]
        print(f"  Q{q:<8}" + "".join(f"{cell:>24}" for cell in cells))
    cumulative = result.measure("cumulative_loss_rate").iloc[-1]
    print("  cumulative loss rate at the end: " + ", ".join(f"{label} {100 * cumulative[label]:.2f}%" for label in labels))
    print(f"results: {out}/")


def _print_comparison(comparison: Any, out: Path) -> None:
    from loansim.report.comparison import KEY_METRICS, figure_text

    base = comparison.base.scenario
    labels = comparison.labels
    print(f"{' vs '.join(labels)}: {base.run.replications} paired replication(s), seed {base.run.seed}, {base.run.months} months")
    by_key = {(r.scenario, r.name): r for r in comparison.rows if r.kind == "metric"}
    for label in labels[1:]:
        print(f"  {label} − {labels[0]} (paired difference, 95% CI; * : the interval excludes 0)")
        for name in KEY_METRICS:
            row, base_row = by_key.get((label, name)), by_key.get((labels[0], name))
            if row is None or base_row is None or row.difference is None:
                continue
            ci = "" if row.difference_ci_low is None else \
                f"  [{figure_text(name, row.difference_ci_low, True)}, {figure_text(name, row.difference_ci_high, True)}]"
            mark = " *" if row.significant else ""
            print(f"    {name:<22}{figure_text(name, base_row.mean):>16} -> {figure_text(name, row.mean):>16}  "
                  f"{figure_text(name, row.difference, True):>12}{ci}{mark}")
    print(f"results: {out}/")


def _output(out: Path, files: list[Path], compute: Callable[[], Any], write: Callable[[Any], Any]) -> Any:
    """Check the folder `out` (it must not hold the scenario `files`), and hold its lock from
    before `compute()` until `write(result)` has put the result there; returns the result."""
    from loansim.report.folder import OutLock, check_out

    try:
        check_out(out, *files)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot use the folder: {exc.strerror or exc}") from None
    lock = OutLock(out)
    with _writing(out):
        lock.acquire()
    try:
        try:
            result = compute()
        except RunError as exc:
            raise RunError(f"{exc}; no results were written") from None
        with _writing(out):
            write(result)
    finally:
        lock.release()
    return result


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """An OS error while writing `out` (or its lock) is the user's to mend: one line, exit 2."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the results folder: {exc.strerror or exc}") from None


def _overrides(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Every override with the option it came from, in the order they apply."""
    overrides = [("--set", item) for item in args.overrides]
    if getattr(args, "seed", None) is not None:
        overrides.append(("--seed", f"run.seed={args.seed}"))
    if getattr(args, "replications", None) is not None:
        overrides.append(("--replications", f"run.replications={args.replications}"))
    return overrides


def folder_name(name: str, overrides: list[tuple[str, str]]) -> str:
    """The default results folder: the scenario's name, plus what was overridden.

    ``baseline`` alone; ``baseline+flat_fee=40+seed=7`` with overrides, so a what-if never
    replaces the plain run's results. Long names are cut and made unique with a hash.
    """
    parts = [name]
    for _, item in overrides:
        key, _, value = item.partition("=")
        parts.append(f"{key.strip().split('.')[-1]}={re.sub(r'[^A-Za-z0-9._-]+', '_', value.strip())}")
    folder = "+".join(parts)
    if len(folder) > 100:
        digest = hashlib.sha1(folder.encode()).hexdigest()[:8]
        folder = f"{folder[:90]}-{digest}"
    return folder


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file (with any --set overrides); report every bad one; exit 2 if any is bad."""
    from loansim.scenario import load_scenario

    problems = []
    for path in args.files:
        try:
            scenario = load_scenario(path, _overrides(args))
            print(f"{path}: ok ({scenario.name}: {scenario.portfolio.borrowers:,} borrowers, "
                  f"{scenario.run.months} months, policies: {', '.join(scenario.policies) or 'none'})")
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        raise UserError("\n".join(problems))
    return 0


def _print_summary(scenario: Scenario, summary: dict[str, Any], out: Path, wall: float) -> None:
    print(f"{scenario.name}: {scenario.portfolio.borrowers:,} borrowers x {scenario.run.months} months x "
          f"{scenario.run.replications} replication(s) in {wall:.1f} s")
    names = ("default_rate", "charge_off_rate", "loss_rate", "missed_payment_rate", "net_loss",
             "interest_income", "fee_income", "active_at_end_rate", "delinquent_at_end_rate", "cure_rate_30",
             "roll_rate_30_60", "roll_rate_60_90", "lifetime_default_rate", "lifetime_loss_rate")
    for name in (n for n in names if n in summary["metrics"]):
        m = summary["metrics"][name]
        fmt: Callable[[float], str] = (lambda v: f"{100 * v:.2f}%") if "_rate" in name else (lambda v: f"{v:,.0f}")
        ci = "" if m["ci95"] is None else f"  (95% CI {fmt(m['ci95'][0])} to {fmt(m['ci95'][1])})"
        print(f"  {name:<24}{fmt(m['mean']):>16}{ci}")
    balanced = "balances to the cent" if summary["ledger"]["balanced"] else "DOES NOT BALANCE"
    print(f"  ledger {balanced}")
    longest = max(p.term_months for p in scenario.portfolio.product_table().values())
    needed = longest + -(-scenario.lender.default_dpd // 30)
    if scenario.run.months < needed:
        after = ("; lifetime_* follow every loan to its end" if scenario.run.lifetime
                 else " (set run.lifetime = true for lifetime figures)")
        print(f"  note: the run ends before the longest loans ({longest} months) can mature and reach default "
              f"({needed} months); rates count what happened within the run{after}")
    print(f"results: {out}/")


if __name__ == "__main__":
    sys.exit(main())
