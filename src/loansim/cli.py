"""Command line: ``loansim run SCENARIO`` and ``loansim validate FILE…``.

A mistake in user input (a bad scenario file, a wrong ``--set``, an unusable ``--out``)
prints one clear message and exits with status 2, without a traceback and without
writing any results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from loansim import __version__
from loansim.errors import UserError
from loansim.memory import check_fits
from loansim.scenario import Scenario, load_scenario, load_scenario_and_files

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``loansim`` console script."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except UserError as exc:
        for line in str(exc).splitlines():
            print(f"loansim: error: {line}", file=sys.stderr)
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
    run.add_argument("--out", type=Path, metavar="DIR",
                     help="results folder (default: results/<scenario name>, plus +key=value for each override); "
                          "an existing folder is replaced only if it holds an earlier loansim result")
    run.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                     help="override a scenario key, e.g. --set portfolio.borrowers=2000 (repeatable)")
    run.add_argument("--workers", type=int, metavar="N", help="processes for replications (default: one per core)")
    run.add_argument("--quiet", action="store_true", help="print no progress and no summary")
    run.set_defaults(command=cmd_run)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("files", type=Path, nargs="+", metavar="FILE", help="scenario files (TOML) to check")
    validate.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", dest="overrides",
                          help="check with these overrides applied, as `loansim run` would (repeatable)")
    validate.set_defaults(command=cmd_validate)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    """Load, run and write results; print the headline metrics."""
    from loansim.experiment import run_experiment
    from loansim.report import write_results

    overrides = _overrides(args)
    scenario, files = load_scenario_and_files(args.scenario, overrides)
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be >= 1")
    check_fits(scenario, args.workers)
    out = args.out if args.out is not None else Path("results") / folder_name(scenario.name, overrides)
    _check_out(out, args.scenario)
    experiment = run_experiment(scenario, workers=args.workers, progress=not args.quiet)
    source = {"scenario_file": str(args.scenario), "extends_chain": files,
              "overrides": [f"{label} {item}" for label, item in overrides]}
    try:
        write_results(out, experiment, source)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the results folder: {exc.strerror or exc}") from None
    if not args.quiet:
        _print_summary(scenario, experiment.summary(), out, experiment.wall_seconds)
    return 0


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


def _check_out(out: Path, scenario_file: Path) -> None:
    """Refuse a results folder that could not be written, or whose replacement would lose
    anything that is not an earlier loansim result."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        manifest = out / "manifest.json"
        try:
            earlier = "loansim_version" in json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = False
        if not earlier:
            raise UserError(f"--out {out}: the folder holds files that are not a loansim results folder "
                            "(no loansim manifest.json), and writing results would replace them; "
                            "choose a new or empty folder")
    if scenario_file.resolve().is_relative_to(out.resolve()):
        raise UserError(f"--out {out}: the folder holds the scenario file {scenario_file}; choose another folder")
    for parent in out.resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--out {out}: {parent} is not a folder")
            break


def _print_summary(scenario: Scenario, summary: dict, out: Path, wall: float) -> None:
    print(f"{scenario.name}: {scenario.portfolio.borrowers:,} borrowers x {scenario.run.months} months x "
          f"{scenario.run.replications} replication(s) in {wall:.1f} s")
    for name in ("default_rate", "charge_off_rate", "loss_rate", "missed_payment_rate", "net_loss",
                 "interest_income", "fee_income", "active_at_end_rate", "delinquent_at_end_rate"):
        m = summary["metrics"][name]
        fmt = (lambda v: f"{100 * v:.2f}%") if name.endswith("_rate") else (lambda v: f"{v:,.0f}")
        ci = "" if m["ci95"] is None else f"  (95% CI {fmt(m['ci95'][0])} to {fmt(m['ci95'][1])})"
        print(f"  {name:<24}{fmt(m['mean']):>16}{ci}")
    balanced = "balances to the cent" if summary["ledger"]["balanced"] else "DOES NOT BALANCE"
    print(f"  ledger {balanced}")
    longest = max(p.term_months for p in scenario.portfolio.product_table().values())
    needed = longest + -(-scenario.lender.default_dpd // 30)
    if scenario.run.months < needed:
        print(f"  note: the run ends before the longest loans ({longest} months) can mature and reach default "
              f"({needed} months); rates count what happened within the run")
    print(f"results: {out}/")


if __name__ == "__main__":
    sys.exit(main())
