"""Replications and their execution: serial or over the machine's cores.

Replication ``r`` of a scenario draws every random number from streams keyed by
``(run.seed, r, process name, period)``, so its results are the same whichever process
runs it and however many run at once; results are gathered in replication order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
from tqdm import tqdm

from loansim.engine import RunResult, Simulation
from loansim.errors import RunError, Stopped
from loansim.loans import BOOK_TOTALS, totals_problems
from loansim.metrics import FROM_STATES, STATES, mean_ci95, transition_rates
from loansim.scenario import Scenario

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

    def roll_rates(self) -> dict[str, dict[str, dict[str, Any]]]:
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
    """Replications over `workers` processes. On Ctrl-C (or SIGTERM, SIGHUP) or any failure
    the queued replications are cancelled and the workers stopped at once, not waited for.

    While the pool runs, the stop signals are held back from this process's threads
    (``_stop_signals_held``) and acted on between waits: an interrupt that struck while the
    main thread held a lock of the pool's bookkeeping would leave the pool's threads waiting
    for it, and Python waits for those threads at exit (a stopped run could hang there)."""
    n = scenario.run.replications
    results: dict[int, RunResult] = {}
    with _stop_signals_held() as stop_requested:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(os.getpid(),))
        try:
            with _progress_bar(n, "replication", progress) as bar:
                with _main_module_hidden(), _sigint_ignored():  # the workers start with Ctrl-C ignored
                    pending = {pool.submit(run_replication, scenario, r) for r in range(n)}
                while pending:
                    done, pending = wait(pending, timeout=STOP_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                    for future in done:
                        run = future.result()
                        results[run.replication] = run
                        bar.update(1)
                    stop_requested()
        except BrokenProcessPool:
            _stop(pool)
            raise RunError("a worker process stopped unexpectedly (the system may have run out of memory; "
                           "try fewer --workers or a smaller book); no results were written") from None
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
    return [results[r] for r in range(n)]


STOP_CHECK_SECONDS = 0.1
STOP_SIGNALS = tuple(sig for sig in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")) if sig is not None)


@contextmanager
def _stop_signals_held() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back from this thread and the threads it starts, and
    give a check that raises ``KeyboardInterrupt`` (Ctrl-C) or ``Stopped`` for one that
    arrived meanwhile. A signal still pending at the end is delivered then."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return

    def stop_requested() -> None:
        pending = signal.sigpending() & set(STOP_SIGNALS)
        if pending:
            info = signal.sigtimedwait(pending, 0)
            if info is not None:
                raise KeyboardInterrupt if info.si_signo == signal.SIGINT else Stopped(info.si_signo)

    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield stop_requested
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes are started, so that they start ignoring it.

    Ctrl-C on a terminal reaches the whole process group, workers included; stopping them
    is the main process's job. A spawned process does not inherit a blocked signal, but does
    inherit an ignored one, and Python then leaves it ignored; so a worker still importing
    loansim when Ctrl-C comes does not die with a traceback. (A Ctrl-C in these few
    milliseconds is lost.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While worker processes start, hide the main script from them.

    A spawned process imports the parent's main script (as ``__mp_main__``) unless it is
    guarded by ``if __name__ == "__main__"``; a plain script calling ``loansim.run`` would then
    start workers from each worker, and the pool breaks. A worker needs nothing from the
    script (replications run ``run_replication`` on a scenario, both importable from
    loansim), so it is not told of it: scripts need no guard. (A policy plug-in defined in
    the script itself, not in an importable module, is then unknown to the workers.)"""
    import __main__

    saved = {name: getattr(__main__, name) for name in ("__file__", "__spec__") if hasattr(__main__, name)}
    if "__file__" not in saved:  # an interactive session or a notebook: nothing to hide
        yield
        return
    del __main__.__file__
    __main__.__spec__ = None
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(__main__, name, value)


def _worker_start(parent: int) -> None:
    """In each worker: ignore Ctrl-C (the main process stops the workers; it is ignored from
    the start, ``_sigint_ignored``), and exit as soon as the main process is gone, however
    it ended (even SIGKILL)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="loansim-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


ORPHAN_CHECK_SECONDS = 0.5


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers now and cancel every queued replication.

    The workers go first, and the executor is told to shut down from a thread of its own,
    so the main thread never waits on the executor's locks (a run once hung there)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor has no public handle on them
    for process in processes:
        process.terminate()
    threading.Thread(target=pool.shutdown, kwargs={"wait": False, "cancel_futures": True}, daemon=True).start()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()

