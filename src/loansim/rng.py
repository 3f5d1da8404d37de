"""Named random streams: one generator per random process, month and replication.

Every random process draws from a generator derived from the root seed, the
replication index, a stable hash of the process name and the period (month or day):
``SeedSequence(root_seed, spawn_key=(replication, crc32(name), period))``. Draws are
whole-population arrays of fixed shape, so a policy that changes who is active, or a
process that is switched on, never shifts anybody else's numbers: two scenarios that
differ only in a policy see the same income and spending shocks (common random numbers).
Nothing in loansim draws from a global generator.

A draw that recurs every period (``recurring=True``: the month's spending
noise, forgetting, ...) is also made for the next period ahead of time, on a background
thread, while the simulation works through the days between: numpy fills arrays of random
numbers without holding the interpreter lock, so on a machine with a spare core these draws
cost the simulation nothing. An array depends only on its key, so results are the same
with or without the head start.
"""

from __future__ import annotations

import os
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

_THREAD = "loansim-ahead"
_AHEAD: tuple[int, ThreadPoolExecutor] | None = None  # (process id, one background thread)


def ahead() -> ThreadPoolExecutor:
    """The background thread that does work ahead of time (one per process, first in, first
    out): recurring draws here, the population's next income side in ``borrowers.monthly``.
    Work sent to it must not wait on other work sent to it; draws it makes are made in turn."""
    global _AHEAD
    if _AHEAD is None or _AHEAD[0] != os.getpid():
        _AHEAD = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix=_THREAD))
    return _AHEAD[1]


def stable_hash(name: str) -> int:
    """A hash of `name` that is the same in every process and Python version."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of independent generators keyed by (process name, period)."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = int(seed)
        self.replication = int(replication)
        self._ahead: dict[tuple[str, str, int, int], Future] = {}  # recurring draws made ahead

    def generator(self, name: str, period: int = 0) -> np.random.Generator:
        """The generator for random process `name` in `period` (a month or a day)."""
        key = (self.replication, stable_hash(name), int(period))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=key)))

    def uniform(self, name: str, period: int, n: int, recurring: bool = False) -> np.ndarray:
        """`n` uniform draws on [0, 1) as float32 (enough for comparing to probabilities);
        with `recurring`, next period's are drawn ahead (module docstring)."""
        return self._whole("uniform", name, period, n, recurring)

    def normal(self, name: str, period: int, n: int, recurring: bool = False) -> np.ndarray:
        """`n` standard normal draws as float32; with `recurring`, as for ``uniform``."""
        return self._whole("normal", name, period, n, recurring)

    def _whole(self, kind: str, name: str, period: int, n: int, recurring: bool) -> np.ndarray:
        if threading.current_thread().name.startswith(_THREAD):  # work done ahead draws in turn: waiting on
            return self._draw(kind, name, period, n)              # its own thread would never end
        ready = self._ahead.pop((kind, name, period, n), None)
        draws = ready.result() if ready is not None else self._draw(kind, name, period, n)
        if recurring:
            self._ahead[(kind, name, period + 1, n)] = ahead().submit(self._draw, kind, name, period + 1, n)
        return draws

    def _draw(self, kind: str, name: str, period: int, n: int) -> np.ndarray:
        rng = self.generator(name, period)
        return rng.random(n, dtype=np.float32) if kind == "uniform" else rng.standard_normal(n, dtype=np.float32)

    def subset(self, name: str, period: int, among: np.ndarray | int, prob: float) -> np.ndarray:
        """Each of the ids `among` (or of ``range(among)``) chosen with probability `prob`,
        independently; sorted.

        Draws the number chosen (binomial) and then which (a uniform random subset): the
        same distribution as one draw per id, at a cost that grows with the number chosen.
        """
        rng = self.generator(name, period)
        size = among if isinstance(among, int) else among.size
        chosen = np.sort(rng.choice(size, size=rng.binomial(size, prob), replace=False, shuffle=False))
        return chosen if isinstance(among, int) else among[chosen]

    def keyed_uniform(self, name: str, period: int, ids: np.ndarray) -> np.ndarray:
        """One uniform draw on [0, 1) per id in `ids` (float32), a function of (stream, period,
        id) alone: an agent's draw does not depend on which other agents draw with it.

        For processes that act on a few agents chosen by the simulation itself (accounts a
        collector works today, applicants who reach a decision), where a whole-population
        array per period would cost more than the work. A SplitMix64 finaliser of the id,
        keyed by the stream's seed; passes the usual uniformity checks at these sizes.
        """
        key = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stable_hash(name), int(period)))
        x = np.asarray(ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key.generate_state(1, np.uint64)[0])
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
