"""What a policy, and a rule that policies call, sees of a simulation: the ``Context``.

A ``Simulation`` is one, and is what the engine passes; but a function typed with
``Context`` may use only what is declared here, and the type checker holds it to that
(``mypy``, run by CI). Kept out of reach: the clock's own day buckets (late payers,
arrears paid on pay day, a span's recoveries), spans, the list of other policies (ask for
one by name with ``policy``), the recorder's month-end bookkeeping and the population's
month start and end. So a policy's signature says what it may touch:

- **read and change, through their methods**: ``loans`` (the book's money changes only
  through ``ledger``), ``borrowers`` (savings, scores and contract knowledge; the income
  side is read-only during a month, see ``loansim.borrowers.monthly``), ``population``
  (the month's draws: ``Draws``), ``recorder`` (the monthly series a policy adds:
  ``Series``), ``hooks`` and ``env`` (SimPy processes of its own), and ``deferral`` (the
  one policy that defers due dates' assessment, ``servicing.Deferral``);
- **read only**: ``today``, ``scenario``, ``months``, ``end_month``, ``book`` (the layout:
  cohorts, blocks, who holds which loan) and ``streams`` (keyed random draws: ``loansim.rng``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import simpy

    from loansim.borrowers import Borrowers
    from loansim.engine import Hooks
    from loansim.loans import Ledger, Loans
    from loansim.policies import Policy
    from loansim.portfolio import Book
    from loansim.rng import Streams
    from loansim.scenario import Scenario
    from loansim.servicing import Deferral


class Series(Protocol):
    """The monthly series a policy adds to ``monthly.csv`` (``metrics.Recorder``)."""

    counts: dict[str, np.ndarray]
    """Each series by day of the run so far (``declare`` makes one)."""

    def declare(self, *names: str, money: bool = False) -> None:
        """Add series `names` (in cents if `money`), zero until something is added."""
        ...

    def add(self, day: int, name: str, value: int) -> None:
        """Add `value` to series `name` on `day` (summed into the day's month)."""
        ...


class Draws(Protocol):
    """The month's draws, as a policy may use them (``borrowers.monthly.PopulationMonth``)."""

    @property
    def shocked(self) -> npt.NDArray[np.bool_]:
        """Per borrower: lost a job, took a pay cut or was hit by a shock this month (read-only)."""
        ...

    @property
    def forgets_avoided(self) -> dict[str, int]:
        """Due dates not forgotten thanks to each source of reminders so far."""
        ...

    @property
    def misreading(self) -> bool:
        """Whether any borrower misreads a contract (late notices only correct misreadings)."""
        ...

    def remind(self, source: str, ids: np.ndarray, month: int, keeps_forgetting: float) -> None:
        """Lower the chance that borrowers `ids` forget their due date in `month` (see its docstring)."""
        ...


class Context(Protocol):
    """What a policy sees of the simulation (this module's docstring)."""

    deferral: Deferral | None

    @property
    def today(self) -> int:
        """The day the clock is on (days since the run started)."""
        ...

    @property
    def scenario(self) -> Scenario: ...
    @property
    def months(self) -> int:
        """The run's horizon, in months."""
        ...

    @property
    def end_month(self) -> int:
        """The last month the run-off may reach (``run.lifetime``), or the horizon."""
        ...

    @property
    def borrowers(self) -> Borrowers: ...
    @property
    def loans(self) -> Loans: ...
    @property
    def book(self) -> Book: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def streams(self) -> Streams: ...
    @property
    def hooks(self) -> Hooks: ...
    @property
    def env(self) -> simpy.Environment: ...
    @property
    def recorder(self) -> Series: ...
    @property
    def population(self) -> Draws:
        """The month's draws; made after every policy's ``setup`` (which may move pay days,
        which it reads), so usable from hooks, not from ``setup``."""
        ...

    def policy(self, name: str) -> Policy[Any]:
        """The policy `name` of this run (enabled in the scenario), e.g. the one early warning offers."""
        ...
