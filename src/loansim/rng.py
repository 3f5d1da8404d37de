"""Named random streams: one generator per random process, month and replication.

Every random process draws from a generator derived from the root seed, the
replication index, a stable hash of the process name and the period (month or day):
``SeedSequence(root_seed, spawn_key=(replication, crc32(name), period))``. Draws are
whole-population arrays of fixed shape, so a policy that changes who is active, or a
process that is switched on, never shifts anybody else's numbers: two scenarios that
differ only in a policy see the same income and spending shocks (common random numbers).
Nothing in loansim draws from a global generator.

Applicants (borrowers who apply during the run, ``policies.underwriting``) sit among the
book's borrowers in the population arrays, but draw from streams of their own (the
process name with ``#applicants``): every per-borrower or per-loan draw is made for the
book from the process's stream as if there were no applicants, and for the applicants from
theirs (``Layout``, ``split``). A book with applicants is then, borrower for borrower, the
book without them, so a comparison of underwriting with a scenario without it is paired.

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
from typing import Any, Callable

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


APPLICANTS = "#applicants"
"""Suffix of the stream names applicants draw from."""


class Layout:
    """Which positions of a population (borrowers, or loans) belong to the book and which to
    applicants; `identity` numbers them as if the applicants came after the book."""

    def __init__(self, applicant: np.ndarray) -> None:
        self.applicant = np.asarray(applicant, dtype=np.bool_)
        self.n = self.applicant.size
        self.book = np.flatnonzero(~self.applicant)
        self.applicants = np.flatnonzero(self.applicant)
        self.identity = np.empty(self.n, dtype=np.int64)
        self.identity[self.book] = np.arange(self.book.size)
        self.identity[self.applicants] = self.book.size + np.arange(self.applicants.size)


Pair = tuple[np.random.Generator, np.random.Generator | None]
"""A process's generator for the book, and the applicants' (None without applicants)."""


class Streams:
    """Factory of independent generators keyed by (process name, period)."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = int(seed)
        self.replication = int(replication)
        self._ahead: dict[tuple[str, str, int, int], Future[np.ndarray]] = {}  # recurring draws made ahead
        self.borrowers: Layout | None = None  # set when there are applicants (``place``)
        self.loans: Layout | None = None

    def place(self, borrower_is_applicant: np.ndarray | None = None, loan_is_applicant: np.ndarray | None = None) -> None:
        """Tell the streams where applicants sit among the borrowers, or among the loans."""
        if borrower_is_applicant is not None and np.any(borrower_is_applicant):
            self.borrowers = Layout(borrower_is_applicant)
        if loan_is_applicant is not None and np.any(loan_is_applicant):
            self.loans = Layout(loan_is_applicant)

    def pair(self, name: str, period: int = 0) -> Pair:
        """The generators of process `name` in `period`: the book's, and the applicants'."""
        book = self.generator(name, period)
        return book, (self.generator(name + APPLICANTS, period) if self.borrowers is not None else None)

    def split(self, rngs: Pair, who: int | np.ndarray, draw: Callable[[np.random.Generator, int], np.ndarray],
              of: str = "borrowers") -> np.ndarray:
        """`draw(generator, size)` for everyone (`who` an int: the population's size) or for
        the sorted positions `who` (of borrowers, or of loans), the book's part from the
        book's generator and the applicants' from theirs; without applicants, simply
        ``draw(book generator, size)``."""
        layout = self.borrowers if of == "borrowers" else self.loans
        size = who if isinstance(who, (int, np.integer)) else len(who)
        if layout is None or rngs[1] is None:
            return draw(rngs[0], int(size))
        applicant = layout.applicant if isinstance(who, (int, np.integer)) else layout.applicant[who]
        book = draw(rngs[0], int(size - np.count_nonzero(applicant)))
        out = np.empty(int(size), dtype=book.dtype)
        out[~applicant] = book
        out[applicant] = draw(rngs[1], int(np.count_nonzero(applicant)))
        return out

    def sample(self, dist: Any, name: str, who: int | np.ndarray, period: int = 0, of: str = "borrowers") -> np.ndarray:
        """Draws of distribution `dist` (``loansim.distributions``) for `who`, from `name`'s streams (``split``)."""
        return self.split(self.pair(name, period), who, dist.sample, of)

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
        def draw(rng: np.random.Generator, size: int) -> np.ndarray:
            return rng.random(size, dtype=np.float32) if kind == "uniform" else rng.standard_normal(size, dtype=np.float32)

        if self.borrowers is not None and n == self.borrowers.n:  # the whole population: the book's, the applicants'
            return self.split(self.pair(name, period), n, draw)
        return draw(self.generator(name, period), n)

    def subset(self, name: str, period: int, among: np.ndarray | int, prob: float) -> np.ndarray:
        """Each of the ids `among` (or of ``range(among)``) chosen with probability `prob`,
        independently; sorted.

        Draws the number chosen (binomial) and then which (a uniform random subset): the
        same distribution as one draw per id, at a cost that grows with the number chosen.
        """
        book, applicants = self.pair(name, period)
        if self.borrowers is None or applicants is None:
            chosen = self._positions(book, among if isinstance(among, int) else among.size, prob)
            return chosen if isinstance(among, int) else among[chosen]
        ids = np.arange(among) if isinstance(among, int) else np.asarray(among)
        applicant = self.borrowers.applicant[ids]
        mine, theirs = ids[~applicant], ids[applicant]
        return np.sort(np.concatenate([mine[self._positions(book, mine.size, prob)],
                                       theirs[self._positions(applicants, theirs.size, prob)]]))

    @staticmethod
    def _positions(rng: np.random.Generator, size: int, prob: float) -> np.ndarray:
        """Positions among `size` chosen with probability `prob` each, sorted."""
        return np.sort(rng.choice(size, size=rng.binomial(size, prob), replace=False, shuffle=False))

    def keyed_uniform(self, name: str, period: int, ids: np.ndarray) -> np.ndarray:
        """One uniform draw on [0, 1) per id in `ids` (float32), a function of (stream, period,
        id) alone: an agent's draw does not depend on which other agents draw with it.

        For processes that act on a few agents chosen by the simulation itself (accounts a
        collector works today, applicants who reach a decision), where a whole-population
        array per period would cost more than the work. A SplitMix64 finaliser of the id,
        keyed by the stream's seed; passes the usual uniformity checks at these sizes.
        `ids` are loan ids: with applicants, a loan is keyed by its ``Layout.identity``, so
        the book's loans draw as they would without applicants.
        """
        if self.loans is not None:
            ids = self.loans.identity[ids]
        key = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stable_hash(name), int(period)))
        x = np.asarray(ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key.generate_state(1, np.uint64)[0])
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        return (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
