"""The Python API, for scripts and notebooks: load, run, compare, stress and sweep scenarios.

    import loansim
    results = loansim.run("scenarios/baseline.toml", set={"portfolio.borrowers": 5_000}, replications=4)
    results.summary                 # a DataFrame: one row per metric, mean, ci_low, ci_high
    results.monthly                 # one row per replication and month
    results.write("results/my-run") # the usual results folder

    comparison = loansim.compare("scenarios/baseline.toml", "scenarios/reminders.toml")
    comparison.differences          # paired differences from the base, with 95% intervals

    stressed = loansim.stress("scenarios/baseline.toml", ["baseline", "adverse", "severely-adverse"])
    stressed.measure("loss_rate_annualised")   # quarter x scenario

    swept = loansim.sweep("scenarios/late-fee.toml", grid={"policies.late_fee.flat_fee": [0, 20, 40]})
    swept.points                    # one row per point: each figure's mean and 95% interval

Everything the command line checks is checked here too: a bad file or value raises
``loansim.errors.UserError`` (``ScenarioError`` for a scenario) with the same one-paragraph
message. Replications run over the machine's cores by default, from a plain script (no
``if __name__ == "__main__"`` guard needed) or from Jupyter alike.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from loansim.analysis.compare import Row, check_pairable, paired_rows
from loansim.analysis.sweep import Sweep
from loansim.errors import UserError
from loansim.experiment import Experiment, check_backend, run_experiments
from loansim.memory import check_fits
from loansim.macro import BUILT_IN_PATHS
from loansim.scenario import Scenario, load_scenario_and_files
from loansim.scenario.messages import did_you_mean

Source = str | Path | Scenario


Override = tuple[str, str]
"""Where an override came from (``set``, ``--set``, ``--seed`` …) and ``"key.path=value"``."""
Planned = tuple[str, Scenario, dict[str, Any]]
"""A scenario to run: its label, the scenario, and where it came from (for the manifest)."""


def load(path: str | Path, set: Mapping[str, Any] | None = None) -> Scenario:  # noqa: A002 - the CLI's word
    """The scenario in `path`, with the keys in `set` overridden (``{"portfolio.borrowers": 5000}``),
    validated as ``loansim run`` validates it."""
    return _resolve(path, overrides_from(set))[0]


def run(scenario: Source, *, set: Mapping[str, Any] | None = None, replications: int | None = None,  # noqa: A002
        seed: int | None = None, workers: int | None = None, backend: str | None = None,
        scheduler: str | None = None, progress: bool = False) -> Results:
    """Run every replication of `scenario` (a file, or a scenario from ``load``) and return
    its ``Results``. `set`, `replications` and `seed` override the scenario's keys. The
    replications run on `backend`: ``"local"`` processes (the default; `workers` of them,
    one per core by default) or ``"dask"``, the cluster whose scheduler is at `scheduler`
    (e.g. ``"tcp://10.0.0.5:8786"``), or a local Dask cluster of `workers` processes
    without one; the results are the same. `progress` shows a progress bar."""
    resolved, source = _resolve(scenario, overrides_from(set, replications, seed))
    return run_planned([(resolved.name, resolved, source)], Backend(workers, backend, scheduler), progress)[0]


def compare(base: Source, *others: Source, set: Mapping[str, Any] | None = None,  # noqa: A002
            replications: int | None = None, seed: int | None = None, workers: int | None = None,
            backend: str | None = None, scheduler: str | None = None, progress: bool = False) -> Comparison:
    """Run `base` and each of `others` on the same seeds and replications and return their
    paired ``Comparison``. `set`, `replications` and `seed` apply to every scenario;
    `workers`, `backend` and `scheduler` are as for ``run``."""
    if not others:
        raise UserError("compare: give at least two scenarios, a base and one to compare with it")
    planned = plan_comparison([base, *others], overrides_from(set, replications, seed))
    return Comparison([label for label, _, _ in planned], run_planned(planned, Backend(workers, backend, scheduler), progress))


def stress(book: str | Path, scenarios: list[str | Path] | tuple[str | Path, ...] | None = None, *,
           paths: Mapping[str, list[float]] | None = None, quarters: int = 9,
           set: Mapping[str, Any] | None = None, replications: int | None = None,  # noqa: A002
           seed: int | None = None, workers: int | None = None, backend: str | None = None,
           scheduler: str | None = None, progress: bool = False) -> Stress:
    """Run the book in file `book` through each stress scenario (``loansim.analysis.stress``): names of
    built-in paths or ``"baseline"`` (the book as it is), scenario files, and `paths`
    (label → monthly unemployment rates), over `quarters` quarters; returns the ``Stress``
    with each quarter's figures and their paired differences from the first scenario.
    `workers`, `backend` and `scheduler` are as for ``run``."""
    if not isinstance(quarters, int) or quarters < 1 or quarters > 400:
        raise UserError(f"quarters = {quarters!r}: must be a whole number from 1 to 400")
    _, planned = plan_stress(book, scenarios, paths, quarters, overrides_from(set, replications, seed))
    return Stress([label for label, _, _ in planned], run_planned(planned, Backend(workers, backend, scheduler), progress), quarters)


def sweep(scenario: str | Path, *, grid: Mapping[str, Any] | None = None,
          ranges: Mapping[str, tuple[float, float]] | None = None, sample: int | None = None,
          method: str | None = None, out: str | Path | None = None, set: Mapping[str, Any] | None = None,  # noqa: A002
          replications: int | None = None, seed: int | None = None, workers: int | None = None,
          backend: str | None = None, scheduler: str | None = None, progress: bool = False) -> Sweep:
    """Run the scenario in file `scenario` at many parameter points and return the ``Sweep``.

    Points are a full `grid` (key → list of values: every combination) or a `sample` of
    that many points in `ranges` (key → (low, high)) by `method` ``"lhs"`` (default) or
    ``"sobol"``. Every point runs the same seed and replications (paired). With `out`, the
    sweep is stored there as it goes and its tables and charts written at the end
    (``loansim sweep --out``): calling again with the same `out` runs only what is missing.
    `set`, `replications`, `seed`, `workers`, `backend` and `scheduler` are as for ``run``."""
    from loansim.analysis.sweep import parse_grid, parse_ranges

    if not isinstance(scenario, (str, Path)):
        raise UserError(f"{scenario!r}: sweep takes a scenario file's path (its points are that file with keys set)")
    items = []
    for key, values in (grid or {}).items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise UserError(f"grid: {key} = {values!r}: expected a list of values, e.g. {{{key!r}: [0, 20, 40]}}")
        items.append(f"{key}=" + ",".join(toml_value(v, key) for v in values))
    bounds = []
    for key, pair in (ranges or {}).items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise UserError(f"ranges: {key} = {pair!r}: expected (low, high), e.g. {{{key!r}: (0.01, 0.1)}}")
        bounds.append(f"{key}={toml_value(pair[0], key)}:{toml_value(pair[1], key)}")
    return run_sweep(scenario, overrides_from(set, replications, seed), parse_grid(items), parse_ranges(bounds),
                     sample, method, None if out is None else Path(out), Backend(workers, backend, scheduler), progress)


def run_sweep(path: str | Path, overrides: list[Override], grid: dict[str, list[str]], ranges: dict[str, Any],
              sample: int | None, method: str | None, out: Path | None, backend: Backend, progress: bool) -> Sweep:
    """Plan the sweep and run what its store (in `out`) lacks; with `out`, hold the folder's
    lock throughout and write the sweep's tables and charts there at the end."""
    from loansim.analysis.sweep import Sweep, plan_sweep, run_points
    from loansim.report import sweep as report

    chosen, keys, points, source = plan_sweep(path, overrides, grid, ranges, sample, method)
    backend.check()
    replications = points[0].scenario.run.replications
    if out is None:
        return Sweep(chosen, keys, points, run_points(points, replications, None, backend, progress), source)
    with report.held(out, path):
        plan = report.plan_of(Sweep(chosen, keys, points, None, source), replications)
        store = report.Store(out / report.STORE, begin=lambda: report.begin(out, plan))
        result = Sweep(chosen, keys, points, run_points(points, replications, store, backend, progress), source)
        report.write_sweep(out, result)
    return result


def plan_comparison(sources: list[Source], overrides: list[Override]) -> list[Planned]:
    """Every scenario to compare, with the `overrides` applied, labelled by name; refused
    unless they can be paired (``comparison.check_pairable``)."""
    resolved = [_resolve(source, overrides) for source in sources]
    labels = unique_labels([scenario.name for scenario, _ in resolved])
    check_pairable([src.get("scenario_file") or label for label, (_, src) in zip(labels, resolved)],
                   [scenario for scenario, _ in resolved])
    return [(label, scenario, src) for label, (scenario, src) in zip(labels, resolved)]


def plan_stress(book: str | Path, scenarios: list[str | Path] | tuple[str | Path, ...] | None,
                paths: Mapping[str, list[float]] | None, quarters: int, overrides: list[Override]) -> tuple[Scenario, list[Planned]]:
    """The book with the `overrides` and the stress horizon, and each stress scenario to run
    (``analysis.stress``), labelled; refused unless they can be paired."""
    from loansim.analysis import stress as st

    overrides = [*overrides, ("--quarters", f"run.months={3 * quarters}"), ("--quarters", "run.lifetime=false")]
    base, source = _resolve(book, overrides)
    planned: list[Planned] = []
    for item in scenarios if scenarios is not None else st.DEFAULT_SCENARIOS:
        text = str(item)
        if text == st.BOOK:
            planned.append((text, st.book_itself(base), source))
        elif text in BUILT_IN_PATHS:
            planned.append((text, st.with_path(base, text, text), source))
        elif text.endswith(".toml") or Path(text).is_file():
            scenario, src = _resolve(text, overrides)
            planned.append((scenario.name, scenario, src))
        else:
            known = ", ".join([st.BOOK, *BUILT_IN_PATHS])
            raise UserError(f"--scenarios: {text!r}{did_you_mean(text, [st.BOOK, *BUILT_IN_PATHS])} is neither a built-in "
                            f"scenario ({known}) nor a scenario file (.toml)")
    for label, rates in (paths or {}).items():
        planned.append((label, st.with_path(base, label, list(rates)), source))
    if not planned:
        raise UserError("stress: give at least one scenario")
    labels = unique_labels([label for label, _, _ in planned])
    check_pairable(labels, [scenario for _, scenario, _ in planned])
    return base, [(label, scenario, src) for label, (_, scenario, src) in zip(labels, planned)]


@dataclass(frozen=True)
class Backend:
    """Where replications run (``experiment.run_tasks``): `backend` ``"local"`` or ``"dask"``,
    `workers` processes, a Dask `scheduler`'s address."""

    workers: int | None = None
    backend: str | None = None
    scheduler: str | None = None

    def check(self, spelled: Any = None) -> Backend:
        """This backend, or a ``UserError`` for options that cannot be honoured together
        (``experiment.check_backend``; `spelled` writes an option as the user gave it)."""
        check_backend(self.backend, self.scheduler, self.workers, spelled)
        return self


def run_planned(planned: list[Planned], backend: Backend, progress: bool) -> list[Results]:
    """Check that each scenario fits in memory, then run every replication of them all as
    one batch on `backend`."""
    backend.check()
    if not backend.scheduler:  # replications run on this machine (a remote cluster's memory is its own)
        for _, scenario, _ in planned:
            check_fits(scenario, backend.workers)
    if progress and len(planned) > 1:
        print(f"running {', '.join(label for label, _, _ in planned)}", file=sys.stderr)
    experiments = run_experiments([scenario for _, scenario, _ in planned], backend.workers, progress,
                                  backend.backend, backend.scheduler)
    return [Results(experiment, source) for experiment, (_, _, source) in zip(experiments, planned)]


@dataclass
class Results:
    """Every replication of one scenario: tables for analysis, and ``write`` for the folder."""

    experiment: Experiment
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> Scenario:
        return self.experiment.scenario

    @cached_property
    def summary_dict(self) -> dict[str, Any]:
        """``summary.json``'s content."""
        return self.experiment.summary()

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per headline metric: its mean across replications and the 95% interval."""
        return _ci_frame(self.summary_dict["metrics"], "metric")

    @cached_property
    def policies(self) -> pd.DataFrame:
        """One row per policy figure (policy, figure): mean and 95% interval."""
        frames = [_ci_frame(block, "figure").assign(policy=name) for name, block in self.summary_dict["policies"].items()]
        if not frames:
            return pd.DataFrame(columns=["mean", "ci_low", "ci_high"], index=pd.MultiIndex.from_tuples([], names=["policy", "figure"]))
        return pd.concat(frames).reset_index().set_index(["policy", "figure"])

    @cached_property
    def roll_rates(self) -> pd.DataFrame:
        """One row per (from_state, to_state): the mean monthly transition rate and its 95% interval."""
        rows = [{"from_state": origin, "to_state": state, **_ci(value)}
                for origin, block in self.summary_dict["roll_rates"].items() for state, value in block.items()]
        return pd.DataFrame(rows).set_index(["from_state", "to_state"])

    @cached_property
    def vintages(self) -> pd.DataFrame:
        """Vintage curves: one row per replication, vintage (month lent) and month on book
        (``metrics.vintage_curves``; money in currency units)."""
        from loansim.metrics import VINTAGE_COLUMNS

        frames = [pd.DataFrame(run.vintages, columns=list(VINTAGE_COLUMNS)).assign(replication=run.replication)
                  for run in self.experiment.runs]
        frame = pd.concat(frames, ignore_index=True)
        for money in ("principal_lent", "cum_charged_off", "cum_recoveries"):
            frame[money] = frame[money] / 100
        frame["cum_default_rate"] = frame["cum_defaults"] / frame["loans"].clip(lower=1)
        frame["cum_net_loss_rate"] = (frame["cum_charged_off"] - frame["cum_recoveries"]) / frame["principal_lent"].clip(lower=1e-9)
        return frame[["replication", *[c for c in frame.columns if c != "replication"]]]

    @cached_property
    def monthly(self) -> pd.DataFrame:
        """The monthly series: one row per replication and month (``monthly.csv``)."""
        return self.experiment.monthly_frame()

    def write(self, folder: str | Path) -> Path:
        """Write the results folder (as ``loansim run --out folder``) and return its path."""
        from loansim.report import write_guarded

        return write_guarded(Path(folder), self.experiment, self.source)


@dataclass
class Comparison:
    """Scenarios run on the same seeds, and the paired differences of each from the first."""

    labels: list[str]
    results: list[Results]

    @property
    def base(self) -> Results:
        return self.results[0]

    @cached_property
    def rows(self) -> list[Row]:
        return paired_rows(self.labels, [r.experiment for r in self.results])

    @cached_property
    def table(self) -> pd.DataFrame:
        """Every figure of every scenario (metrics, and policy figures as ``policy:<name>``):
        its mean and 95% interval, and for the other scenarios the paired difference from the
        base (mean, 95% interval from the per-replication differences, relative change, and
        whether the interval excludes 0)."""
        return pd.DataFrame([vars(row) for row in self.rows])

    @property
    def differences(self) -> pd.DataFrame:
        """The rows of ``table`` with a paired difference, indexed by (scenario, kind, name)."""
        t = self.table
        return t[t["difference"].notna()].set_index(["scenario", "kind", "name"])

    def write(self, folder: str | Path) -> Path:
        """Write the comparison folder (as ``loansim compare --out folder``) and return its path."""
        from loansim.report.comparison import write_comparison_guarded

        return write_comparison_guarded(Path(folder), self)


@dataclass
class Stress:
    """One book through several macro scenarios: figures by quarter, paired with the first scenario."""

    labels: list[str]
    results: list[Results]
    quarters: int

    @cached_property
    def rows(self) -> list[Any]:
        from loansim.analysis.stress import stress_rows

        return stress_rows(self.labels, [r.experiment.runs for r in self.results], self.quarters)

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per scenario, quarter and measure: mean, 95% interval, and the paired
        difference from the first scenario with its interval."""
        return pd.DataFrame([vars(row) for row in self.rows])

    def measure(self, name: str) -> pd.DataFrame:
        """One measure's means as a quarter × scenario table."""
        t = self.table
        return t[t["measure"] == name].pivot(index="quarter", columns="scenario", values="mean")[self.labels]

    def write(self, folder: str | Path) -> Path:
        """Write the stress folder (as ``loansim stress --out folder``) and return its path."""
        from loansim.report.stress import write_stress_guarded

        return write_stress_guarded(Path(folder), self)


def unique_labels(names: list[str]) -> list[str]:
    """Scenario names as labels, made unique with ``#2``, ``#3`` where names repeat."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def overrides_from(set: Mapping[str, Any] | None, replications: int | None = None,  # noqa: A002
                   seed: int | None = None) -> list[tuple[str, str]]:
    """``set``, `replications` and `seed` as overrides for ``load_scenario`` (values as TOML)."""
    if set is not None and not isinstance(set, Mapping):
        raise UserError(f"set = {set!r}: expected a mapping of KEY.PATH to value, e.g. {{'portfolio.borrowers': 2000}}")
    out = [("set", f"{key}={toml_value(value, key)}") for key, value in (set or {}).items()]
    if seed is not None:
        out.append(("seed", f"run.seed={toml_value(seed, 'seed')}"))
    if replications is not None:
        out.append(("replications", f"run.replications={toml_value(replications, 'replications')}"))
    return out


def toml_value(value: Any, key: str) -> str:
    """A Python value as a TOML value: numbers, booleans, text, lists and tables of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UserError(f"set: {key} = {value!r}: a scenario value must be a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v, key) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v, key)}" for k, v in value.items()) + "}"
    try:  # numpy scalars
        return toml_value(value.item(), key)
    except AttributeError:
        raise UserError(f"set: {key} = {value!r}: not a value a scenario can hold "
                        "(numbers, true/false, text, lists and tables of them)") from None


def _resolve(scenario: Source, overrides: list[Override]) -> tuple[Scenario, dict[str, Any]]:
    """A scenario from a file, with `overrides` applied, or one already loaded; and where it
    came from (for the manifest)."""
    if isinstance(scenario, Scenario):
        if overrides:
            raise UserError("set, replications and seed apply to scenario files; for a loaded scenario, "
                            "pass them to loansim.load instead")
        return scenario, {"scenario_file": None, "extends_chain": [], "overrides": []}
    if not isinstance(scenario, (str, Path)):
        raise UserError(f"{scenario!r}: expected a scenario file's path or a scenario from loansim.load")
    loaded, files = load_scenario_and_files(scenario, overrides)
    return loaded, {"scenario_file": str(scenario), "extends_chain": files,
                    "overrides": [f"{label} {item}" for label, item in overrides]}


def _ci(value: dict[str, Any]) -> dict[str, float | None]:
    ci = value.get("ci95") or [None, None]
    return {"mean": value["mean"], "ci_low": ci[0], "ci_high": ci[1]}


def _ci_frame(block: dict[str, dict[str, Any]], index: str) -> pd.DataFrame:
    frame = pd.DataFrame([{index: name, **_ci(value)} for name, value in block.items()], columns=[index, "mean", "ci_low", "ci_high"])
    return frame.set_index(index)
