"""Replications and their execution: in this process, over the machine's cores, or on a
Dask cluster.

Replication ``r`` of a scenario draws every random number from streams keyed by
``(run.seed, r, process name, period)``, so its results are the same whichever process or
machine runs it, however many run at once and in whatever order they finish; results are
gathered in task order. A *task* is one replication of one scenario; ``run_tasks`` runs a
list of them on a backend (``BACKENDS``):

- ``local`` (default): one process per core (``experiment.local``), or this process with
  one worker;
- ``dask``: the workers of a Dask distributed cluster (``experiment.cluster``): the one
  whose scheduler is at ``scheduler``, or a local cluster of ``workers`` processes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

import numpy as np

from loansim.engine import RunResult, Simulation
from loansim.errors import UserError
from loansim.experiment import local
from loansim.loans import BOOK_TOTALS, totals_problems
from loansim.metrics import FROM_STATES, STATES, MeanCI95, mean_ci95, transition_rates
from loansim.scenario import Scenario

T = TypeVar("T")
Task = tuple[Scenario, int]
"""A scenario and the number of one of its replications."""
BACKENDS = ("local", "dask")

LEDGER_KEYS = (*BOOK_TOTALS, "operating_cost")


@dataclass
class Experiment:
    """Every replication of one scenario, with when and how it was run."""

    scenario: Scenario
    runs: list[RunResult]
    started_at: str
    wall_seconds: float
    workers: int

    def summary(self) -> dict[str, Any]:
        """Headline metrics with 95% confidence intervals across replications, the roll rates and the ledger."""
        names = self.runs[0].metrics.keys()
        metrics = {name: mean_ci95([run.metrics[name] for run in self.runs]) for name in names}
        policies = {
            name: {key: mean_ci95([run.policies[name][key] for run in self.runs]) for key in block}
            for name, block in self.runs[0].policies.items()
        }
        return {
            "scenario": self.scenario.name,
            "replications": len(self.runs),
            "metrics": metrics,
            "roll_rates": self.roll_rates(),
            "loss_distribution": loss_distribution([run.metrics["loss_rate"] for run in self.runs]),
            "policies": policies,
            "ledger": self.ledger_summary(),
            "definitions": DEFINITIONS,
        }

    def monthly_frame(self) -> Any:
        """The monthly series of every replication as one pandas DataFrame: one row per
        replication and month, columns ``replication`` and those of ``monthly.csv`` (money in
        currency units)."""
        import pandas as pd

        frames = [pd.DataFrame(run.monthly).assign(replication=run.replication) for run in self.runs]
        frame = pd.concat(frames, ignore_index=True)
        return frame[["replication", *[c for c in frame.columns if c != "replication"]]]

    def roll_rates(self) -> dict[str, dict[str, MeanCI95]]:
        """For each from-state that ever held a loan, the mean monthly transition rate to each
        state (``metrics.transition_rates``): its mean and 95% CI across replications."""
        rates = np.array([transition_rates(run.transitions) for run in self.runs])
        held = sum(run.transitions.sum(axis=(0, 2)) for run in self.runs)
        return {origin: {state: mean_ci95(rates[:, i, j]) for j, state in enumerate(STATES)}
                for i, origin in enumerate(FROM_STATES) if held[i] > 0}

    def ledger_summary(self) -> dict[str, Any]:
        """The ledger in integer cents, exact at any book size: each replication's totals and
        their sum, and whether every identity holds on exactly these numbers (and per loan)."""
        per_run = [{key: run.ledger[key] for key in LEDGER_KEYS} for run in self.runs]
        problems = [f"replication {run.replication}: {p}"
                    for run, totals in zip(self.runs, per_run) for p in [*run.ledger_problems, *totals_problems(totals)]]
        return {
            "balanced": not problems,
            "problems": problems,
            "cents": {
                "total": {key: sum(totals[key] for totals in per_run) for key in LEDGER_KEYS},
                "by_replication": [{"replication": run.replication, **totals} for run, totals in zip(self.runs, per_run)],
            },
        }


LOSS_QUANTILES = {"loss_rate_q50": 0.50, "loss_rate_q95": 0.95, "loss_rate_q99": 0.99, "loss_rate_q999": 0.999}


def loss_distribution(loss_rates: list[float]) -> dict[str, float | int | None]:
    """Quantiles and the 99% expected shortfall of the loss rate across replications.

    A tail figure needs replications beyond it: the q-quantile is given when at least
    1 / (1 - q) replications ran (q50: 2, q95: 20, q99: 100, q999: 1,000), else null. The
    99% expected shortfall is the mean of the worst floor(1% of replications), given from
    100 replications on. Quantiles interpolate linearly between replications (numpy's default).
    """
    x = np.sort(np.asarray(loss_rates, dtype=float))
    out: dict[str, float | int | None] = {"replications": int(x.size)}
    for key, q in LOSS_QUANTILES.items():
        out[key] = float(np.quantile(x, q)) if x.size >= round(1 / (1 - q)) else None
    worst = int(np.floor(0.01 * x.size + 1e-9))
    out["loss_rate_es99"] = float(x[-worst:].mean()) if worst >= 1 else None
    return out


DEFINITIONS = {
    "default_rate": "share of loans that reached lender.default_dpd days past due (90 by default) or were charged off",
    "charge_off_rate": "share of loans charged off (at lender.charge_off_dpd days past due)",
    "net_loss": "principal charged off minus recoveries received by the end of the run, currency units",
    "expected_net_loss": "net loss less the recoveries still pending at the end of the run (due after the horizon)",
    "loss_rate": "net loss / principal lent (principal disbursed plus interest capitalised into principal by a modification); at most 1",
    "missed_payment_rate": "scheduled due dates whose interest and principal due (instalment plus arrears) were not paid in full / scheduled due dates; unpaid fees alone do not count",
    "prepaid_or_repaid_rate": "share of loans repaid in full by the end of the run (there are no prepayments in this version)",
    "interest_income": "contract interest paid by borrowers, currency units",
    "fee_income": "fees and penalty charges paid by borrowers, currency units",
    "recoveries": "cash recovered on charged-off loans by the end of the run, currency units",
    "recoveries_pending": "recoveries due after the end of the run, currency units",
    "operating_cost": "policies' operating costs (messages, staff, legal action, interest waived), currency units",
    "net_income": "interest income + fee income - net loss - operating cost, currency units (before funding costs)",
    "approval_rate": "applications approved / applications decided (with origination on)",
    "cure_rate_30": "loans 30-59 days past due at a month end that are current at the next, summed over months / loans 30-59 days past due at those month ends, summed over months (roll_rates dpd_30_59 -> current; 0 in a replication with no such loan)",
    "roll_rate_30_60": "loans 30-59 days past due at a month end that are 60-89 days past due at the next, summed over months / loans 30-59 days past due at those month ends, summed over months (roll_rates dpd_30_59 -> dpd_60_89)",
    "roll_rate_60_90": "loans 60-89 days past due at a month end that are 90 or more days past due at the next, summed over months / loans 60-89 days past due at those month ends, summed over months (roll_rates dpd_60_89 -> dpd_90_plus)",
    "roll_rates": "mean monthly transition rates: from-state -> to-state -> mean and ci95 across replications; per replication, the loans in the from-state at a month end that are in the to-state at the next, summed over months / the loans in the from-state at those month ends, summed over months (0 in a replication where the from-state held no loan); only from-states that ever held a loan. States: current, dpd_1_29, dpd_30_59, dpd_60_89, dpd_90_plus (the buckets of monthly.csv: a loan inside a grace window is current), charged_off, repaid; from-state new: loans lent during the month, counted at its end; the book before month 1 counts as a month end at which every lent loan is current",
    "active_at_end_rate": "share of loans still open when the run ends",
    "delinquent_at_end_rate": "share of loans still open and past due when the run ends",
    "missed_payment_rate_<cause>": "missed due dates whose first applicable reason was <cause> (unwilling, forgot, misunderstood, cannot_pay) / scheduled due dates",
    "default_rate_<cause>": "share of loans that defaulted with <cause> as the reason for their latest miss (other: no miss recorded)",
    "<rate>_segment_<name>, <rate>_product_<name>": "the default, loss and missed-payment rates of one segment's or one product's loans",
    "missed_payments_per_loan": "missed due dates per loan",
    "months_in_arrears_per_borrower": "month-ends at which a borrower had a loan past due, per borrower",
    "fees_paid_per_loan": "fees and penalty charges paid per loan, currency units",
    "mean_credit_score": "mean credit score (300-850) at the end of the borrowers the lender lent to",
    "share_borrowers_stacking": "share of borrowers who took outside short-term credit",
    "outside_debt_taken_per_borrower": "outside credit taken per borrower, currency units",
    "outside_debt_outstanding": "outside debt still owed at the end, currency units",
    "outside_rollovers_per_borrower": "unmet outside repayments per borrower",
    "ledger": "integer cents: each replication's ledger totals (by_replication) and their sum over replications (total); balanced: every identity holds on these numbers and on every loan",
    "loss_distribution": "the loss rate across replications: quantiles loss_rate_q50, _q95, _q99, _q999 (each given when at least 1 / (1 - q) replications ran: 2, 20, 100, 1,000; else null; linear interpolation) and loss_rate_es99, the mean of the worst 1% (floor of 1% of replications, given from 100 on); with a stochastic economy it carries economy-wide risk",
    "ci95": "95% Student-t confidence interval of the mean across replications; null with one replication",
}




def run_experiment(scenario: Scenario, workers: int | None = None, progress: bool = True,
                   backend: str | None = None, scheduler: str | None = None) -> Experiment:
    """Run every replication of `scenario` on `backend` (default: local processes, `workers`
    of them, one per core by default)."""
    return run_experiments([scenario], workers, progress, backend, scheduler)[0]


def run_experiments(scenarios: list[Scenario], workers: int | None = None, progress: bool = True,
                    backend: str | None = None, scheduler: str | None = None) -> list[Experiment]:
    """Every replication of each scenario, all run as one batch of tasks (the workers stay
    busy from one scenario to the next); one ``Experiment`` per scenario. Each experiment's
    ``wall_seconds`` is the batch's."""
    tasks = [(scenario, r) for scenario in scenarios for r in range(scenario.run.replications)]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    runs, used = run_tasks(run_replication, tasks, workers=workers, backend=backend, scheduler=scheduler, progress=progress)
    wall = time.perf_counter() - t0
    experiments, start = [], 0
    for scenario in scenarios:
        n = scenario.run.replications
        experiments.append(Experiment(scenario, runs[start:start + n], started, wall, used))
        start += n
    return experiments


def run_replication(scenario: Scenario, replication: int, month_done: Callable[[int], None] | None = None) -> RunResult:
    """One replication, in this process; `month_done(month)` after each month of the run."""
    return Simulation(scenario, replication).run(progress=month_done)


def run_tasks(work: Callable[[Scenario, int, Callable[[int], None] | None], T], tasks: list[Task], *,
              workers: int | None = None, backend: str | None = None, scheduler: str | None = None,
              progress: bool = True, done: Callable[[int, T], None] | None = None,
              status: Callable[[], str] | None = None) -> tuple[list[T], int]:
    """``work(scenario, replication, month_done)`` for every task, on `backend`; returns the
    results in task order and the number of workers used. `done(i, result)` is called in
    this process as task ``i`` finishes (in whatever order they finish), and the progress
    bar then shows `status()` beside its count (e.g. the sweep points done). `work` must be a
    function importable by the workers (a module-level function of loansim, or of a module
    the workers can import)."""
    backend = check_backend(backend, scheduler, workers)
    used = max(1, min(len(tasks), workers or os.cpu_count() or 1))
    serial = backend == "local" and used == 1
    total = sum(scenario.run.months for scenario, _ in tasks) if serial else len(tasks)
    results: dict[int, T] = {}
    with _progress_bar(total, "month" if serial else "replication", progress) as bar:
        def finished(i: int, result: T) -> None:
            results[i] = result
            if done is not None:
                done(i, result)
            if status is not None:
                bar.set_postfix_str(status(), refresh=False)
            if not serial:
                bar.update(1)

        if backend == "dask":
            from loansim.experiment import cluster

            used = cluster.run_dask(work, tasks, scheduler, workers, finished)
        elif serial:
            local.run_serial(work, tasks, finished, lambda _month: bar.update(1))
        else:
            local.run_pool(work, tasks, used, finished)
    return [results[i] for i in range(len(tasks))], used


def check_backend(backend: str | None, scheduler: str | None, workers: int | None,
                  spelled: Callable[[str, Any], str] | None = None) -> str:
    """The backend to use (``dask`` when only a scheduler is given), or a ``UserError`` for a
    combination that cannot be honoured. `spelled(name, value)` writes an option as the user
    gave it (the command line's ``--workers 2``; by default the API's ``workers = 2``)."""
    spell = spelled or (lambda name, value: f"{name} = {value!r}")
    option = "--backend dask" if spelled else "backend='dask'"
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"{spell('workers', workers)}: must be >= 1 (a whole number)")
    if backend is None:
        backend = "dask" if scheduler else "local"
    if backend not in BACKENDS:
        raise UserError(f"{spell('backend', backend)}: must be one of {', '.join(BACKENDS)}")
    if backend == "local" and scheduler:
        raise UserError(f"{spell('scheduler', scheduler)}: a scheduler is for {option}, not local; "
                        f"use {option} (or leave the backend out)")
    if backend == "dask" and scheduler and workers is not None:
        raise UserError(f"{spell('workers', workers)}: with {'--scheduler' if spelled else 'a scheduler'} the cluster's own "
                        "workers run the replications; leave workers out (they set the size of a local cluster, without a scheduler)")
    return backend


def _progress_bar(total: int, unit: str, enabled: bool) -> Any:
    from tqdm import tqdm

    # Shown only on a terminal, and only once a run has lasted two seconds.
    return tqdm(total=total, unit=unit, delay=2.0, disable=None if enabled else True, leave=False)
