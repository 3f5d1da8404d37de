"""Replications and their execution: serial or over the machine's cores.

Replication ``r`` of a scenario draws every random number from streams keyed by
``(run.seed, r, process name, period)``, so its results are the same whichever process
runs it and however many run at once; results are gathered in replication order.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from tqdm import tqdm

from loansim.engine import RunResult, Simulation
from loansim.metrics import mean_ci95
from loansim.scenario import Scenario

LEDGER_KEYS = (
    "disbursed", "principal_repaid", "principal_charged_off", "principal_outstanding", "recoveries",
    "recoveries_pending",
    "interest_billed", "interest_paid", "interest_written_off", "capitalised", "interest_outstanding",
    "fees_billed", "fees_paid", "fees_written_off", "fees_outstanding", "operating_cost",
)


@dataclass
class Experiment:
    """Every replication of one scenario, with when and how it was run."""

    scenario: Scenario
    runs: list[RunResult]
    started_at: str
    wall_seconds: float
    workers: int

    def summary(self) -> dict[str, Any]:
        """Headline metrics with 95% confidence intervals across replications, and the ledger."""
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
            "policies": policies,
            "ledger": self.ledger_summary(),
            "definitions": DEFINITIONS,
        }

    def ledger_summary(self) -> dict[str, Any]:
        """Ledger totals in currency units: mean over replications, each replication, and checks."""
        per_run = [{key: run.ledger[key] / 100 for key in LEDGER_KEYS} for run in self.runs]
        mean = {key: float(np.mean([r[key] for r in per_run])) for key in LEDGER_KEYS}
        problems = [f"replication {run.replication}: {p}" for run in self.runs for p in run.ledger_problems]
        return {**mean, "balanced": not problems, "problems": problems, "by_replication": per_run}


DEFINITIONS = {
    "default_rate": "share of loans that reached lender.default_dpd days past due (90 by default) or were charged off",
    "charge_off_rate": "share of loans charged off (at lender.charge_off_dpd days past due)",
    "net_loss": "principal charged off minus recoveries received by the end of the run, currency units",
    "expected_net_loss": "net loss less the recoveries still pending at the end of the run (due after the horizon)",
    "loss_rate": "net loss / principal disbursed",
    "missed_payment_rate": "scheduled due dates whose interest and principal due (instalment plus arrears) were not paid in full / scheduled due dates; unpaid fees alone do not count",
    "prepaid_or_repaid_rate": "share of loans repaid in full by the end of the run (there are no prepayments in this version)",
    "interest_income": "contract interest paid by borrowers, currency units",
    "fee_income": "fees and penalty charges paid by borrowers, currency units",
    "recoveries": "cash recovered on charged-off loans by the end of the run, currency units",
    "recoveries_pending": "recoveries due after the end of the run, currency units",
    "operating_cost": "policies' operating costs (messages, staff, legal action, interest waived), currency units",
    "net_income": "interest income + fee income - net loss - operating cost, currency units (before funding costs)",
    "approval_rate": "applications approved / applications decided (with origination on)",
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
    "ci95": "95% Student-t confidence interval of the mean across replications; null with one replication",
}


def run_experiment(scenario: Scenario, workers: int | None = None, progress: bool = True) -> Experiment:
    """Run every replication of `scenario`, over `workers` processes (default: one per core)."""
    n = scenario.run.replications
    workers = max(1, min(n, workers or os.cpu_count() or 1))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    if workers == 1:
        runs = _run_serial(scenario, progress)
    else:
        runs = _run_parallel(scenario, workers, progress)
    return Experiment(scenario, runs, started, time.perf_counter() - t0, workers)


def run_replication(scenario: Scenario, replication: int) -> RunResult:
    """One replication, in this process."""
    return Simulation(scenario, replication).run()


def _progress_bar(total: int, unit: str, enabled: bool) -> tqdm:
    # Shown only on a terminal, and only once a run has lasted two seconds.
    return tqdm(total=total, unit=unit, delay=2.0, disable=None if enabled else True, leave=False)


def _run_serial(scenario: Scenario, progress: bool) -> list[RunResult]:
    n, months = scenario.run.replications, scenario.run.months
    runs = []
    with _progress_bar(n * months, "month", progress) as bar:
        for r in range(n):
            runs.append(Simulation(scenario, r).run(progress=lambda _month: bar.update(1)))
    return runs


def _run_parallel(scenario: Scenario, workers: int, progress: bool) -> list[RunResult]:
    n = scenario.run.replications
    results: dict[int, RunResult] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool, \
            _progress_bar(n, "replication", progress) as bar:
        futures = [pool.submit(run_replication, scenario, r) for r in range(n)]
        for future in as_completed(futures):
            run = future.result()
            results[run.replication] = run
            bar.update(1)
    return [results[r] for r in range(n)]
