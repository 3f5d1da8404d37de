"""Execution on a Dask distributed cluster (``loansim[dask]``).

``run_dask`` connects to the scheduler at an address (``tcp://host:8786``), or starts a
local cluster of worker processes when none is given, submits one task per replication
and gathers the results as they finish. A task's result does not depend on which worker
runs it or when (``loansim.experiment``), so a cluster gives the same results as local
processes. The workers must run the same loansim version as this process: that is
checked first, as a cluster whose workers cannot import loansim, or import another
version of it, would fail or give other figures.

A lost worker's tasks are run again by the scheduler elsewhere; a task that keeps killing
its workers fails the run. On Ctrl-C, SIGTERM or SIGHUP the submitted tasks are
cancelled, and a local cluster is shut down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

from loansim.errors import RunError, UserError
from loansim.experiment.local import STOP_CHECK_SECONDS, main_module_hidden, stop_signals_held

CONNECT_SECONDS = 10
"""How long to try to reach a scheduler before giving up."""
WORKER_WAIT_SECONDS = 60
"""How long to wait for a scheduler with no workers to get one."""


def run_dask(work: Callable[..., Any], tasks: list[tuple[Any, int]], scheduler: str | None, workers: int | None,
             done: Callable[[int, Any], None]) -> int:
    """The tasks on the cluster at `scheduler` (or on a local cluster of `workers`
    processes), `done(i, result)` as each finishes; returns the number of workers."""
    distributed = _distributed()
    with stop_signals_held() as stop_requested, _client(distributed, scheduler, workers) as client:
        count = _check_workers(client, scheduler)
        futures = {client.submit(work, scenario, replication, None, pure=False): i
                   for i, (scenario, replication) in enumerate(tasks)}
        pending = distributed.as_completed(list(futures))
        try:
            while not pending.is_empty():
                for future in pending.next_batch(block=False):
                    try:
                        result = future.result()
                    except distributed.KilledWorker as exc:
                        raise RunError(f"a task stopped every Dask worker that ran it ({exc}); "
                                       "the workers may be running out of memory") from None
                    done(futures[future], result)
                stop_requested()
                if not pending.has_ready():
                    time.sleep(STOP_CHECK_SECONDS)
        except BaseException:
            client.cancel(list(futures))
            raise
    return count


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UserError("backend dask needs Dask's distributed scheduler, which is not installed; "
                        "install it with: pip install 'loansim[dask]'") from None
    return distributed


@contextmanager
def _client(distributed: Any, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a new local cluster of `workers`
    processes (one per core by default), closed (and the cluster shut down) at the end."""
    import logging

    if scheduler is None:
        with main_module_hidden():  # the cluster's worker processes are spawned too
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR)
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout=f"{CONNECT_SECONDS}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({reason}); give the address "
                        "the scheduler prints at start-up, e.g. tcp://10.0.0.5:8786, and check that it is running "
                        "and reachable from this machine") from None
    try:
        yield client
    finally:
        client.close()


def _check_workers(client: Any, scheduler: str | None) -> int:
    """The number of workers, once there is one, after checking that each runs this loansim."""
    from loansim import __version__

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (TimeoutError, OSError):
        raise RunError(f"the Dask scheduler at {scheduler} has had no workers for {WORKER_WAIT_SECONDS} s; "
                       "start some with: dask worker " + str(scheduler)) from None
    try:
        versions = client.run(_loansim_version)
    except Exception as exc:  # raised on a worker: most often, loansim is not installed there
        raise RunError(f"the Dask workers cannot import loansim ({exc}); install loansim {__version__} "
                       "where they run") from None
    other = {address: version for address, version in versions.items() if version != __version__}
    if other:
        address, version = next(iter(other.items()))
        raise RunError(f"the Dask worker at {address} runs loansim {version}, this is loansim {__version__}; "
                       "results would not be comparable: install the same version on every worker")
    return len(versions)


def _loansim_version() -> str:
    from loansim import __version__

    return __version__
