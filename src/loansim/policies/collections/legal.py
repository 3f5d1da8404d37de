"""Legal action on charged-off loans, with a limited number of cases in progress at once.

A loan charged off with at least ``legal.min_balance`` of principal is filed (at
``cost_per_case``, booked when filed) and joins a first-come-first-served line for one of
``legal.capacity`` slots; a case holds its slot ``duration_days`` and then recovers
``recovery_share`` of the principal charged off, on top of the lender's own recovery
(``[lender]``) and never more than was charged off in all. Cases still in line or in
progress at the horizon recover nothing.

Cases that start together hold their slots in one SimPy process; the line and the free
slots are arrays and a count. (A ``simpy.Resource`` request per case gives the same outcome
at about 10 µs a case: over a second a run at a million borrowers.)
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from loansim.loans import DAYS_PER_MONTH, round_cents, to_cents

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

    from loansim.context import Context
    from loansim.policies.collections import Collections


class LegalAction:
    """The line of cases filed and the slots hearing them."""

    def __init__(self, policy: Collections) -> None:
        self.policy = policy
        self.params = policy.params.legal
        self.free_slots = self.params.capacity
        self.line: deque[tuple[np.ndarray, int]] = deque()  # cases waiting for a slot, by filing day
        self.filed = self.started = self.completed = self.wait_days = self.recovered = 0

    def file_cases(self, sim: Context, day: int, ids: np.ndarray) -> None:
        """Loans charged off today with at least the minimum principal go to court: they
        join the end of the line for a slot."""
        legal = self.params
        cases = ids[sim.loans.principal_charged_off[ids] >= to_cents(legal.min_balance)]
        if cases.size == 0:
            return
        self.policy.book_cost(sim, cases.size * int(to_cents(legal.cost_per_case)))
        self.filed += cases.size
        self.line.append((cases, day))
        self._start_cases(sim)

    def _start_cases(self, sim: Context) -> None:
        """Cases at the head of the line take the free slots; those starting together are
        heard together, by one process."""
        now, starting = sim.today, []
        while self.free_slots and self.line:
            ids, filed = self.line[0]
            take = ids[: self.free_slots]
            if take.size == ids.size:
                self.line.popleft()
            else:
                self.line[0] = (ids[take.size:], filed)
            self.free_slots -= take.size
            self.wait_days += (now - filed) * take.size
            starting.append(take)
        if starting:
            ids = np.concatenate(starting)
            self.started += ids.size
            sim.env.process(self._hear(sim, ids))

    def _hear(self, sim: Context, ids: np.ndarray) -> ProcessGenerator:
        """The cases hold their slots for the duration, recover their share, and free the
        slots for the next cases in line."""
        legal = self.params
        yield sim.env.timeout(legal.duration_days)
        cents = round_cents(sim.loans.principal_charged_off[ids] * legal.recovery_share)
        self.recovered += int(sim.ledger.receive_recovery(ids, cents).sum())
        self.completed += ids.size
        self.free_slots += ids.size
        self._start_cases(sim)

    def record_open(self, sim: Context, month: int) -> None:
        """Legal cases open (waiting or in progress) at the month's end."""
        sim.recorder.add(month * DAYS_PER_MONTH, "collections_legal_open", self.filed - self.completed)

    def report(self) -> dict[str, float]:
        """Cases filed, completed, open and still waiting, their mean wait, recoveries and cost."""
        return {
            "legal_cases_filed": float(self.filed),
            "legal_cases_completed": float(self.completed),
            "legal_cases_open": float(self.filed - self.completed),
            "legal_cases_waiting": float(self.filed - self.started),
            "legal_mean_wait_days": self.wait_days / self.started if self.started else 0.0,
            "legal_recovered": self.recovered / 100,
            "legal_cost": self.filed * int(to_cents(self.params.cost_per_case)) / 100,
        }
