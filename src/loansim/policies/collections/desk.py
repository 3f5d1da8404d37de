"""The collections desk: each day, every stage works the head of its queue.

*Who*: a stage's **work queue** holds the active loans whose days past due (DPD) have
reached its ``entry_dpd`` but not the next stage's, and that were not worked in the last
``recontact_days``, ordered by the ``prioritise`` rule. *What*: each day the stage's
collectors work ``collectors × actions_per_collector_per_day`` accounts from the head of its
queue. An action costs ``cost_per_action``; it reaches the borrower with ``contact_prob``;
a contacted borrower who has not chosen to stop paying and expects some money to pay with
(cash at hand, or income this month beyond essentials) promises to pay with
``promise_prob`` (``promises``). A contact alone changes nothing. Accounts beyond the day's
capacity wait: their DPD grows, they roll into the next stage, or they are charged off
without ever being worked.

The desk is one SimPy process that wakes every day, before the clock's steps (so it sees
the book as the previous day left it), and works every stage. Every day is a working day:
for a five-day week, scale ``actions_per_collector_per_day`` by 5/7. A stage's collectors
are identical and share one queue, so their day's work is one slice of it; one process per
collector would give the same outcome with more events.

Queues without scanning the book: a loan's DPD grows by one a day from a due day of its own
cohort, so the loans reaching the first stage's entry DPD on day ``t`` all belong to cohort
``(t - entry_dpd) mod 30`` (``servicing.reaching``, as for default and charge-off). Loans in
collections are either *waiting* (the queues) or *cooling off* after an action, filed by the
day they may be worked again; each day the desk re-reads only the waiting ones and those
whose cooling-off ends: those that cured (DPD below the first entry DPD), were repaid or
charged off leave collections, the others join the queue of their DPD's stage. An account
that cures and falls behind again while cooling off stays in the same spell. Draws use
``Streams.keyed_uniform`` with the day and the loan id, so an account's outcome does not
depend on which others are worked with it.

``prioritise = "cure_probability"`` ranks by a fixed logistic score of what a lender sees:
``p = 1 / (1 + exp(-z))``, ``z = 0.5 + 1.5 (score - 680) / 100 - DPD / 30 - 0.2 missed
- 0.3 ln(balance / 10,000)``, with the credit score in points, missed the loan's missed due
dates and balance everything owed (principal, past-due interest and fees), in currency units.
``"oldest"`` ranks by DPD and ``"largest_balance"`` by that balance; ties go to the lower
loan id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loansim import servicing
from loansim.loans import DAYS_PER_MONTH, days_past_due, to_cents
from loansim.policies.collections.promises import Promises
from loansim.state import Array, StateArrays, field

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

    from loansim.borrowers import Borrowers
    from loansim.context import Context
    from loansim.policies.collections import Collections


class DeskLoans(StateArrays):
    """The desk's state of each loan."""

    in_collections: Array[np.bool_] = field(False, "flag", "in a spell in collections (waiting or cooling off)")


class Desk:
    """The stages' queues and their daily work (module docstring)."""

    def __init__(self, policy: Collections, sim: Context) -> None:
        p = policy.params
        self.policy = policy
        self.prioritise, self.recontact_days = p.prioritise, p.recontact_days
        self.stages = list(p.stages.values())
        self.stage_names = list(p.stages)
        self.entry = [s.entry_dpd for s in self.stages]
        self.action_cents = [int(to_cents(s.cost_per_action)) for s in self.stages]
        self.capacity = [s.collectors * s.actions_per_collector_per_day for s in self.stages]
        # float32, as the draws are: a float32 draw compared with a Python float is compared
        # in float32, so an array of these gives the same outcomes as each stage's own value
        self.contact_prob = np.array([s.contact_prob for s in self.stages], dtype=np.float32)
        self.promise_prob = np.array([s.promise_prob for s in self.stages], dtype=np.float32)
        self.actions_series = [f"collections_actions_{name}" for name in self.stage_names]
        self.queue_series = [f"collections_queue_{name}" for name in self.stage_names]
        self.per_loan = DeskLoans(sim.loans.n)
        # Loans in collections either wait to be worked (some not yet worked in this spell), or
        # cool off after an action, filed by the day they may be worked again.
        self.waiting = np.empty(0, dtype=np.int64)
        self.unworked = np.empty(0, dtype=np.bool_)  # whether each waiting loan is yet to be worked in its spell
        self.cooling: dict[int, np.ndarray] = {}
        self.promises = Promises(len(self.stages))
        self.tally = {k: [0] * len(self.stages) for k in ("actions", "contacts", "promises", "queue_sum", "queue_max")}
        self.days = self.entered = self.never_worked = 0

    def start(self, sim: Context) -> None:
        """Open the desk: from today on it works every day, before the clock's steps."""
        sim.env.process(self._open(sim))

    def _open(self, sim: Context) -> ProcessGenerator:
        while True:
            self.work_day(sim, sim.today)
            yield sim.env.timeout(1)

    # ------------------------------------------------------------------ who

    def work_day(self, sim: Context, day: int) -> None:
        """Build each stage's queue for `day` and work as much of it as capacity allows;
        the accounts worked cool off for ``recontact_days``, the others wait."""
        ids, dpd, stage, unworked = self._update_waiting(sim, day)
        month_end = day % DAYS_PER_MONTH == DAYS_PER_MONTH - 1
        heads, rests = [], []
        for s in range(len(self.stages)):
            queue = np.flatnonzero(stage == s)
            self.tally["queue_sum"][s] += queue.size
            self.tally["queue_max"][s] = max(self.tally["queue_max"][s], queue.size)
            if month_end:
                sim.recorder.add(day, self.queue_series[s], queue.size)
            head, rest = self._head(sim, ids, dpd, queue, self.capacity[s])
            heads.append(head)
            rests.append(rest)
        rest = np.concatenate(rests)
        self.waiting, self.unworked = ids[rest], unworked[rest]
        worked = ids[np.concatenate(heads)]
        if worked.size:
            self.work(sim, day, worked, [head.size for head in heads])
            self.cooling[day + self.recontact_days] = worked
        self.days += 1

    def _update_waiting(self, sim: Context, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The accounts that may be worked on `day` (those waiting, those whose cooling-off
        ends today and those reaching the first entry DPD today), with their DPD, stage and
        whether they are yet to be worked in this spell; those that cured, closed or fell below
        the first entry DPD are in no stage (-1) and leave collections."""
        new = self._entering(sim, day)
        self.per_loan.in_collections[new] = True
        self.entered += new.size
        back = self.cooling.pop(day, new[:0])
        ids = np.concatenate([self.waiting, back, new])
        unworked = np.concatenate([self.unworked, np.zeros(back.size, dtype=np.bool_), np.ones(new.size, dtype=np.bool_)])
        oldest = sim.loans.oldest_unpaid_day[ids]  # the one read of the book per account and day
        # Closed loans carry no oldest unpaid day (charge-off, repayment and modification
        # clear it), so a loan with one is active.
        dpd = days_past_due(oldest, day)  # a closed loan counts as 0
        stage = np.full(ids.size, -1, dtype=np.int8)
        for entry in self.entry:
            stage += dpd >= entry
        leaving = stage < 0
        self.never_worked += int(np.count_nonzero(leaving & unworked))
        self.per_loan.in_collections[ids.compress(leaving)] = False
        return ids, dpd, stage, unworked

    def _entering(self, sim: Context, day: int) -> np.ndarray:
        """Loans reaching the first stage's entry DPD today that are not in collections."""
        ids = servicing.reaching(sim.book, day, self.entry[0])  # few: mostly loans already in collections
        return ids.compress(~self.per_loan.in_collections[ids])

    def _head(self, sim: Context, ids: np.ndarray, dpd: np.ndarray, queue: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`queue` (positions in `ids`) split into the `k` accounts the prioritisation rule
        puts first and the rest."""
        if queue.size <= k:
            return queue, queue[:0]
        if k == 0:
            return queue[:0], queue
        ids, dpd = ids[queue], dpd[queue]
        rule, L = self.prioritise, sim.loans
        if rule == "oldest":
            key = dpd
        else:
            balance = L.principal[ids] + L.interest_due[ids] + L.fees_due[ids]
            key = balance if rule == "largest_balance" else cure_probability(
                sim.borrowers.score[sim.book.holders(ids)], dpd, L.n_missed[ids], balance)
        first = np.zeros(queue.size, dtype=np.bool_)
        first[top(key, ids, k)] = True
        return queue.compress(first), queue.compress(~first)

    # ------------------------------------------------------------------ what

    def work(self, sim: Context, day: int, ids: np.ndarray, actions: list[int]) -> None:
        """Loans `ids` are worked today, the first ``actions[0]`` by the first stage, the next
        ``actions[1]`` by the second, and so on: book the cost, draw contacts and promises. The
        stages draw together, as a loan's draw depends on the day and its id alone."""
        t = self.tally
        self.policy.actions += ids.size
        self.policy.book_cost(sim, sum(n * cents for n, cents in zip(actions, self.action_cents, strict=True)))
        draw = sim.streams.keyed_uniform("policy.collections.contact", day, ids)
        contacted, contacts = select(ids, actions, draw < np.repeat(self.contact_prob, actions))
        # Only those who would promise if willing are checked for willingness: fewer reads.
        draw = sim.streams.keyed_uniform("policy.collections.promise", day, contacted)
        would, n_would = select(contacted, contacts, draw < np.repeat(self.promise_prob, contacts))
        promised, promises = select(would, n_would, can_promise(sim.borrowers, sim.book.holders(would)))
        for s, batch in enumerate(np.split(promised, np.cumsum(promises)[:-1])):
            t["actions"][s] += actions[s]
            t["contacts"][s] += contacts[s]
            t["promises"][s] += promises[s]
            if actions[s]:
                sim.recorder.add(day, self.actions_series[s], actions[s])
            if batch.size:
                self.promises.make(sim, day, self.stages[s].promise_days, s, batch)

    # ------------------------------------------------------------------ effect

    def report(self) -> dict[str, float]:
        """Per stage: actions, outcomes, cost, utilisation and queues (the policy's report)."""
        t, kept, collected, days = self.tally, self.promises.kept, self.promises.collected, max(self.days, 1)
        out: dict[str, float] = {}
        for s, name in enumerate(self.stage_names):
            offered = self.capacity[s] * self.days
            out |= {
                f"{name}_actions": float(t["actions"][s]),
                f"{name}_contacts": float(t["contacts"][s]),
                f"{name}_promises": float(t["promises"][s]),
                f"{name}_promises_kept": float(kept[s]),
                f"{name}_collected": collected[s] / 100,
                f"{name}_cost": t["actions"][s] * self.action_cents[s] / 100,
                f"{name}_utilisation": t["actions"][s] / offered if offered else 0.0,
                f"{name}_mean_queue": t["queue_sum"][s] / days,
                f"{name}_max_queue": float(t["queue_max"][s]),
            }
        return out


def can_promise(people: Borrowers, holders: np.ndarray) -> np.ndarray:
    """Mask of the borrowers `holders` (the holders of some loans) who would make a promise:
    those who have not chosen to stop paying and expect some money to pay with, cash at hand
    or income this month beyond their essentials (a borrower with neither has nothing to promise)."""
    expects = (people.savings[holders] > 0) | (people.income[holders] > people.essentials[holders])
    return expects & ~people.unwilling[holders]


def select(ids: np.ndarray, sizes: list[int], keep: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The `ids` that the mask `keep` keeps, and how many it keeps of each of the runs of
    `sizes` that `ids` is made of."""
    # ids.compress(keep) is ids[keep], several times faster when `keep` is irregular (no
    # branch to mispredict per element); this module uses it for every random mask.
    ends = np.cumsum(sizes)
    return ids.compress(keep), [int(np.count_nonzero(keep[end - size:end])) for size, end in zip(sizes, ends, strict=True)]


def top(key: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest values of `key` (ties go to the lower id), unordered."""
    if key.size <= k:
        return np.arange(key.size)
    kth = np.partition(key, key.size - k)[key.size - k]
    above = np.flatnonzero(key > kth)
    tied = np.flatnonzero(key == kth)
    tied = tied[np.argsort(ids[tied], kind="stable")[: k - above.size]]
    return np.concatenate([above, tied])


def cure_probability(score: np.ndarray, dpd: np.ndarray, n_missed: np.ndarray, balance_cents: np.ndarray) -> np.ndarray:
    """The lender's predicted chance that an account cures (module docstring)."""
    balance = np.maximum(balance_cents, 100) / 100
    z = 0.5 + 1.5 * (score - 680.0) / 100 - dpd / 30 - 0.2 * n_missed - 0.3 * np.log(balance / 10_000)
    return 1 / (1 + np.exp(-z))
