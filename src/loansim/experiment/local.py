"""Local execution: tasks in this process, or over a pool of worker processes.

The pool spawns its workers (``spawn``, not ``fork``: a forked worker would inherit the
main process's threads and locks), hides the main script from them so that a plain script
needs no ``if __name__ == "__main__"`` guard, and stops them at once on Ctrl-C, SIGTERM,
SIGHUP or a failure; a worker exits as soon as the main process is gone, however it ended.
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
from typing import Any, Callable

from loansim.errors import RunError, Stopped


def run_serial(work: Callable[..., Any], tasks: list[tuple[Any, int]], done: Callable[[int, Any], None],
               month_done: Callable[[int], None]) -> None:
    """Each task in turn in this process; `month_done` after each simulated month."""
    for i, (scenario, replication) in enumerate(tasks):
        done(i, work(scenario, replication, month_done))


def run_pool(work: Callable[..., Any], tasks: list[tuple[Any, int]], workers: int, done: Callable[[int, Any], None]) -> None:
    """The tasks over `workers` processes, `done(i, result)` as each finishes. On Ctrl-C (or
    SIGTERM, SIGHUP) or any failure the queued tasks are cancelled and the workers stopped
    at once, not waited for.

    While the pool runs, the stop signals are held back from this process's threads
    (``stop_signals_held``) and acted on between waits: an interrupt that struck while the
    main thread held a lock of the pool's bookkeeping would leave the pool's threads waiting
    for it, and Python waits for those threads at exit (a stopped run could hang there)."""
    with stop_signals_held() as stop_requested:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(os.getpid(),))
        try:
            with main_module_hidden(), _sigint_ignored():  # the workers start with Ctrl-C ignored
                pending = {pool.submit(work, scenario, replication): i for i, (scenario, replication) in enumerate(tasks)}
            while pending:
                finished, _ = wait(pending, timeout=STOP_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(pending.pop(future), future.result())
                stop_requested()
        except BrokenProcessPool:
            _stop(pool)
            raise RunError("a worker process stopped unexpectedly (the system may have run out of memory; "
                           "try fewer --workers or a smaller book)") from None
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()


STOP_CHECK_SECONDS = 0.1
STOP_SIGNALS = tuple(sig for sig in (getattr(signal, name, None) for name in ("SIGINT", "SIGTERM", "SIGHUP")) if sig is not None)


@contextmanager
def stop_signals_held() -> Iterator[Callable[[], None]]:
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
def main_module_hidden() -> Iterator[None]:
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

