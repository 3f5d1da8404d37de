"""Command line: ``loansim run SCENARIO`` and ``loansim validate FILE…``.

A mistake in user input (a bad scenario file, a wrong ``--set``, an unusable ``--out``)
prints one clear message and exits with status 2, without a traceback and without
writing any results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from loansim import __version__
from loansim.errors import UserError
from loansim.scenario import Scenario, load_scenario

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``loansim`` console script."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except UserError as exc:
        print(f"loansim: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("loansim: interrupted; no results were written", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loansim", description="Simulate a consumer-loan portfolio.")
    parser.add_argument("--version", action="version", version=f"loansim {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and write its results folder")
    run.add_argument("scenario", type=Path, help="scenario file (TOML)")
    run.add_argument("--seed", type=int, help="root seed (overrides run.seed)")
    run.add_argument("--replications", type=int, metavar="R", help="independent replications (overrides run.replications)")
    run.add_argument("--out", type=Path, metavar="DIR", help="results folder (default: results/<scenario name>)")
    run.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                     help="override a scenario key, e.g. --set portfolio.borrowers=2000 (repeatable)")
    run.add_argument("--workers", type=int, metavar="N", help="processes for replications (default: one per core)")
    run.add_argument("--quiet", action="store_true", help="print no progress and no summary")
    run.set_defaults(command=cmd_run)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE")
    validate.set_defaults(command=cmd_validate)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """Load, run and write results; print the headline metrics."""
    from loansim.experiment import run_experiment
    from loansim.report import write_results

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    if args.replications is not None:
        overrides.append(f"run.replications={args.replications}")
    scenario = load_scenario(args.scenario, overrides)
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be >= 1")
    out = args.out if args.out is not None else Path("results") / scenario.name
    _check_out(out)
    experiment = run_experiment(scenario, workers=args.workers, progress=not args.quiet)
    try:
        write_results(out, experiment, {"scenario_file": str(args.scenario), "overrides": overrides})
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the results folder: {exc.strerror or exc}") from None
    if not args.quiet:
        _print_summary(scenario, experiment.summary(), out, experiment.wall_seconds)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each file; report every bad one; exit 2 if any is bad."""
    problems = []
    for path in args.files:
        try:
            scenario = load_scenario(path)
            print(f"{path}: ok ({scenario.name}: {scenario.portfolio.borrowers:,} borrowers, "
                  f"{scenario.run.months} months, policies: {', '.join(scenario.policies) or 'none'})")
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        raise UserError("\n".join(problems))
    return 0


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    for parent in out.resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--out {out}: {parent} is not a folder")
            break


def _print_summary(scenario: Scenario, summary: dict, out: Path, wall: float) -> None:
    print(f"{scenario.name}: {scenario.portfolio.borrowers:,} borrowers x {scenario.run.months} months x "
          f"{scenario.run.replications} replication(s) in {wall:.1f} s")
    for name in ("default_rate", "charge_off_rate", "loss_rate", "missed_payment_rate", "net_loss", "interest_income", "fee_income"):
        m = summary["metrics"][name]
        rate = name.endswith("_rate")
        fmt = (lambda v: f"{100 * v:6.2f}%") if rate else (lambda v: f"{v:,.0f}")
        ci = "" if m["ci95"] is None else f"  (95% CI {fmt(m['ci95'][0]).strip()} to {fmt(m['ci95'][1]).strip()})"
        print(f"  {name:<22} {fmt(m['mean'])}{ci}")
    balanced = "balances to the cent" if summary["ledger"]["balanced"] else "DOES NOT BALANCE"
    print(f"  ledger {balanced}")
    print(f"results: {out}/")


if __name__ == "__main__":
    sys.exit(main())
