"""Staged collections: SMS, phone calls, field visits and legal action, each with limited capacity.

*Who*: a stage's **work queue** holds the active loans whose days past due (DPD) have
reached its ``entry_dpd`` but not the next stage's, and that were not worked in the last
``recontact_days``, ordered by the ``prioritise`` rule. *What*: each day the stage's
collectors work ``collectors × actions_per_collector_per_day`` accounts from the head of its
queue. An action costs ``cost_per_action``; it reaches the borrower with ``contact_prob``;
a contacted borrower who has not chosen to stop paying and expects some money to pay
with (cash at hand, or income this month beyond essentials) promises to pay with
``promise_prob``, and ``promise_days`` later (or on their pay day, if this month's income
is still to come then) pays what their cash allows on everything due. A contact alone changes nothing. Accounts beyond the day's capacity wait: their DPD
grows, they roll into the next stage, or they are charged off without ever being worked.

*Legal*: a loan charged off with at least ``legal.min_balance`` of principal is filed (at
``cost_per_case``, booked when filed) and joins a first-come-first-served line for one of
``legal.capacity`` slots; a case holds its slot ``duration_days`` and then recovers
``recovery_share`` of the principal charged off, on top of the lender's own recovery
(``[lender]``) and never more than was charged off in all. Cases still in line or in
progress at the horizon recover nothing.

Discrete events, and why capacity and waiting are real:

- the **desk** is one SimPy process that wakes every day, before the clock's steps (so it
  sees the book as the previous day left it), and works every stage. Every day is a working
  day: for a five-day week, scale ``actions_per_collector_per_day`` by 5/7. A stage's
  collectors are identical and share one queue, so their day's work is one slice of it;
  one process per collector would give the same outcome with more events.
- **promises** falling due on the same day are kept by one SimPy process that waits until
  then (a loan promised twice pays once).
- **legal cases** that start together hold their slots in one SimPy process; the line and
  the free slots are arrays and a count. (A ``simpy.Resource`` request per case gives the
  same outcome at about 10 µs a case: over a second a run at a million borrowers.)

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

``report`` gives, per stage, actions, contacts, promises, promises kept (some payment
made), amount collected on promises, cost, utilisation (actions / capacity offered) and the
mean and largest queue (sampled daily, before the day's work); spells in collections
(``accounts_entered``) and those never worked before they cured, closed or the run ended;
legal cases filed, completed, open and still waiting at the end, their mean wait and
recoveries; and ``cost_per_unit_recovered``: the policy's cost over what promises collected
plus legal recoveries (0 when nothing was recovered). Amounts collected on promises include
what some borrowers would have paid later anyway.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field, field_validator

from loansim import servicing
from loansim.distributions import STRICT
from loansim.limits import ACTIONS_PER_MONTH, MAX_AMOUNT, MAX_PRICE
from loansim.loans import CHARGED_OFF, DAYS_PER_MONTH, days_past_due, round_cents, to_cents
from loansim.policies import Policy, PolicyParams, register
from loansim.scenario.messages import did_you_mean

if TYPE_CHECKING:
    from loansim.engine import Simulation
    from loansim.scenario import Scenario

PRIORITIES = ("oldest", "largest_balance", "cure_probability")
STAGE_NAME = r"^[a-z][a-z0-9_]*$"

DEFAULT_STAGES: dict[str, dict[str, Any]] = {
    "sms": {"entry_dpd": 5, "collectors": 1, "actions_per_collector_per_day": 1000, "cost_per_action": 0.05,
            "contact_prob": 0.7, "promise_prob": 0.15, "promise_days": 5},
    "phone": {"entry_dpd": 30, "collectors": 2, "actions_per_collector_per_day": 60, "cost_per_action": 4.0,
              "contact_prob": 0.45, "promise_prob": 0.4, "promise_days": 7},
    "field_visit": {"entry_dpd": 60, "collectors": 1, "actions_per_collector_per_day": 8, "cost_per_action": 35.0,
                    "contact_prob": 0.7, "promise_prob": 0.5, "promise_days": 7},
}


class Stage(BaseModel):
    """One stage of the collections process; a stage of a default name takes that stage's
    values for the keys it does not set."""

    model_config = STRICT

    enabled: bool = Field(default=True, description="false drops the stage (a default or inherited one)")
    entry_dpd: int = Field(ge=1, le=3650, description="days past due at which accounts enter this stage's queue")
    collectors: int = Field(ge=0, le=1_000_000, description="collectors (or automated senders) working the stage; 0 = stage off")
    actions_per_collector_per_day: int = Field(ge=0, le=10_000_000, description="accounts one collector works a day")
    cost_per_action: float = Field(ge=0, le=MAX_PRICE, description="cost of one action (message, call, visit), currency units, rounded to the cent")
    contact_prob: float = Field(ge=0, le=1, description="chance an action reaches the borrower")
    promise_prob: float = Field(ge=0, le=1, description="chance a contacted borrower (not one who chose to stop paying) promises to pay")
    promise_days: int = Field(ge=0, le=365, description="days from the promise to the payment")


class Legal(BaseModel):
    """Legal action on charged-off loans."""

    model_config = STRICT

    capacity: int = Field(default=200, ge=0, le=10_000_000, description="cases in progress at once; 0 = no legal action")
    duration_days: int = Field(default=180, ge=0, le=3650, description="days a case holds its slot before it recovers")
    cost_per_case: float = Field(default=600.0, ge=0, le=MAX_PRICE, description="cost of filing one case, currency units")
    recovery_share: float = Field(default=0.25, ge=0, le=1, description="share of the principal charged off that a completed case recovers")
    min_balance: float = Field(default=3000.0, ge=0, le=MAX_AMOUNT, description="file only loans charged off with at least this much principal, currency units")


class CollectionsParams(PolicyParams):
    prioritise: str = Field(default="oldest", description="order of each work queue: oldest, largest_balance or cure_probability")
    recontact_days: int = Field(default=7, ge=1, le=3650, description="days from an action on an account until it can be worked again (1 = the next day)")
    stages: dict[str, Stage] = Field(default={}, description="stages by name, worked in order of entry_dpd; merged over the default sms, phone and field_visit")
    legal: Legal = Legal()

    @field_validator("prioritise")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in PRIORITIES:
            raise ValueError(f"unknown rule{did_you_mean(value, PRIORITIES)}; expected one of: {', '.join(PRIORITIES)}")
        return value

    @field_validator("stages", mode="before")
    @classmethod
    def _over_defaults(cls, value: Any) -> Any:
        """Stages given in the file change the default stages key by key, or add stages."""
        if not isinstance(value, dict):
            return value  # rejected as "must be a table"
        merged: dict[str, Any] = {name: dict(stage) for name, stage in DEFAULT_STAGES.items()}
        for name, table in value.items():
            merged[name] = {**merged.get(name, {}), **table} if isinstance(table, dict) else table
        return merged

    @field_validator("stages")
    @classmethod
    def _ordered(cls, value: dict[str, Stage]) -> dict[str, Stage]:
        for name in value:
            if not re.match(STAGE_NAME, name):
                raise ValueError(f"stage name {name!r} must be lower-case letters, digits and '_', starting with a letter")
            if name == "legal":
                raise ValueError("the stage name 'legal' is taken by [policies.collections.legal]")
        ordered = dict(sorted(((k, v) for k, v in value.items() if v.enabled), key=lambda item: item[1].entry_dpd))
        names = list(ordered)
        for a, b in pairwise(names):
            if ordered[a].entry_dpd == ordered[b].entry_dpd:
                raise ValueError(f"stages {a!r} and {b!r} both have entry_dpd = {ordered[a].entry_dpd}; each stage needs its own")
        return ordered


@register
class Collections(Policy[CollectionsParams]):
    """Staged, capacity-limited collections with a prioritised work queue, and legal action."""

    name = "collections"
    Params = CollectionsParams

    @classmethod
    def most_per_loan(cls, params: CollectionsParams, scenario: Scenario, owed: float) -> tuple[float, float]:
        """At most one action a day on a loan (``recontact_days`` >= 1), at the dearest stage's
        price, and one legal case."""
        per_action = max((s.cost_per_action for s in params.stages.values()), default=0.0)
        return 0.0, per_action * ACTIONS_PER_MONTH * scenario.run.simulated_months() + params.legal.cost_per_case

    @classmethod
    def check(cls, params: CollectionsParams, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        """Stages must start after any grace period and before charge-off."""
        grace = getattr(policies.get("grace"), "days", 0)
        charge_off = scenario.lender.charge_off_dpd
        problems = []
        for name, stage in params.stages.items():
            key = f"stages.{name}.entry_dpd"
            if stage.entry_dpd <= grace:
                problems.append((key, stage.entry_dpd, f"must be above policies.grace.days ({grace}): a payment inside the grace period is not late"))
            elif stage.entry_dpd >= charge_off:
                problems.append((key, stage.entry_dpd, f"must be below lender.charge_off_dpd ({charge_off}), or the stage never gets an account (enabled = false drops it)"))
        return problems

    # ------------------------------------------------------------------ setup

    def setup(self, sim: Simulation) -> None:
        """Start the desk and, when legal action is on, file cases at charge-off."""
        p = self.params
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
        self.in_collections = np.zeros(sim.loans.n, dtype=np.bool_)
        # Loans in collections either wait to be worked (some not yet worked in this spell), or
        # cool off after an action, filed by the day they may be worked again.
        self.waiting = np.empty(0, dtype=np.int64)
        self.unworked = np.empty(0, dtype=np.bool_)  # whether each waiting loan is yet to be worked in its spell
        self.cooling: dict[int, np.ndarray] = {}
        self.promises: dict[int, list[tuple[int, np.ndarray]]] = {}  # by the day they fall due
        self.tally = {k: [0] * len(self.stages) for k in
                      ("actions", "contacts", "promises", "kept", "collected", "queue_sum", "queue_max")}
        self.days = self.entered = self.never_worked = 0
        self.filed = self.started = self.completed = self.wait_days = self.recovered = 0
        sim.recorder.declare(*self.queue_series, *self.actions_series)
        sim.recorder.declare("collections_collected", money=True)
        if self.stages:
            sim.env.process(self._desk(sim))
        self.free_slots = p.legal.capacity
        self.line: deque[tuple[np.ndarray, int]] = deque()  # cases waiting for a slot, by filing day
        if p.legal.capacity > 0:
            sim.recorder.declare("collections_legal_open")
            sim.hooks.add("charged_off", self.file_cases)
            sim.hooks.add("month_end", self._record_legal)

    # ------------------------------------------------------------------ who

    def _desk(self, sim: Simulation):
        """The collections desk: each day, every stage works the head of its queue."""
        while True:
            self.work_day(sim, sim.today)
            yield sim.env.timeout(1)

    def work_day(self, sim: Simulation, day: int) -> None:
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
            self.cooling[day + self.params.recontact_days] = worked
        self.days += 1

    def _update_waiting(self, sim: Simulation, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The accounts that may be worked on `day` (those waiting, those whose cooling-off
        ends today and those reaching the first entry DPD today), with their DPD, stage and
        whether they are yet to be worked in this spell; those that cured, closed or fell below
        the first entry DPD are in no stage (-1) and leave collections."""
        new = self._entering(sim, day)
        self.in_collections[new] = True
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
        self.in_collections[ids.compress(leaving)] = False
        return ids, dpd, stage, unworked

    def _entering(self, sim: Simulation, day: int) -> np.ndarray:
        """Loans reaching the first stage's entry DPD today that are not in collections."""
        ids = servicing.reaching(sim, day, self.entry[0])  # few: mostly loans already in collections
        return ids.compress(~self.in_collections[ids])

    def _head(self, sim: Simulation, ids: np.ndarray, dpd: np.ndarray, queue: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`queue` (positions in `ids`) split into the `k` accounts the prioritisation rule
        puts first and the rest."""
        if queue.size <= k:
            return queue, queue[:0]
        if k == 0:
            return queue[:0], queue
        ids, dpd = ids[queue], dpd[queue]
        rule, L = self.params.prioritise, sim.loans
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

    def work(self, sim: Simulation, day: int, ids: np.ndarray, actions: list[int]) -> None:
        """Loans `ids` are worked today, the first ``actions[0]`` by the first stage, the next
        ``actions[1]`` by the second, and so on: book the cost, draw contacts and promises. The
        stages draw together, as a loan's draw depends on the day and its id alone."""
        t = self.tally
        self.actions += ids.size
        self.book_cost(sim, sum(n * cents for n, cents in zip(actions, self.action_cents, strict=True)))
        draw = sim.streams.keyed_uniform("policy.collections.contact", day, ids)
        contacted, contacts = select(ids, actions, draw < np.repeat(self.contact_prob, actions))
        # Only those who would promise if willing are checked for willingness: fewer reads.
        draw = sim.streams.keyed_uniform("policy.collections.promise", day, contacted)
        would, n_would = select(contacted, contacts, draw < np.repeat(self.promise_prob, contacts))
        promised, promises = select(would, n_would, self.can_promise(sim, would))
        for s, batch in enumerate(np.split(promised, np.cumsum(promises)[:-1])):
            t["actions"][s] += actions[s]
            t["contacts"][s] += contacts[s]
            t["promises"][s] += promises[s]
            if actions[s]:
                sim.recorder.add(day, self.actions_series[s], actions[s])
            if batch.size:
                due = self.promise_day(sim, day, self.stages[s].promise_days, batch)
                for when in np.unique(due).tolist():
                    self._expect_payment(sim, when, s, batch[due == when])

    def promise_day(self, sim: Simulation, day: int, days: int, ids: np.ndarray) -> np.ndarray:
        """The day each borrower of loans `ids`, promising on `day`, will pay: `days` later,
        or on this month's pay day if that comes later still (one promises the pay packet)."""
        pay_day = sim.borrowers.pay_day[sim.book.holders(ids)].astype(np.int64)
        month_start = day - day % DAYS_PER_MONTH
        waiting = month_start + pay_day > day  # this month's income still to come
        return np.where(waiting, np.maximum(day + days, month_start + pay_day), day + days)

    def can_promise(self, sim: Simulation, ids: np.ndarray) -> np.ndarray:
        """Mask of the borrowers of loans `ids` who would make a promise: those who have not
        chosen to stop paying and expect some money to pay with, cash at hand or income this
        month beyond their essentials (a borrower with neither has nothing to promise)."""
        people, holders = sim.borrowers, sim.book.holders(ids)
        expects = (people.savings[holders] > 0) | (people.income[holders] > people.essentials[holders])
        return expects & ~people.unwilling[holders]

    def _expect_payment(self, sim: Simulation, due: int, s: int, ids: np.ndarray) -> None:
        """Loans `ids` promised in stage `s` are to be paid on day `due`; the promises of
        every stage falling due on a day are kept together, by one process."""
        batches = self.promises.get(due)
        if batches is None:
            self.promises[due] = batches = []
            sim.env.process(self._keep_promises(sim, due))
        batches.append((s, ids))

    def _keep_promises(self, sim: Simulation, due: int):
        """On day `due`, borrowers who promised pay what their cash allows on what is due."""
        yield sim.env.timeout(due - sim.today)
        batches = self.promises.pop(due)
        ids, first = np.unique(np.concatenate([batch for _, batch in batches]), return_index=True)
        stage = np.concatenate([np.full(batch.size, s, dtype=np.int64) for s, batch in batches])[first]
        settled = (sim.loans.oldest_unpaid_day[ids] < 0) & (sim.loans.status[ids] != CHARGED_OFF)  # paid up since
        paid = servicing.pay_what_cash_allows(sim, ids, sim.today)  # a loan promised twice pays once
        kept = np.bincount(stage.compress((paid > 0) | settled), minlength=len(self.stages))
        collected = np.zeros(len(self.stages), dtype=np.int64)
        np.add.at(collected, stage, paid)
        for s in range(len(self.stages)):
            self.tally["kept"][s] += int(kept[s])
            self.tally["collected"][s] += int(collected[s])
        sim.recorder.add(due, "collections_collected", int(paid.sum()))

    # ------------------------------------------------------------------ legal

    def file_cases(self, sim: Simulation, day: int, ids: np.ndarray) -> None:
        """Loans charged off today with at least the minimum principal go to court: they
        join the end of the line for a slot."""
        legal = self.params.legal
        cases = ids[sim.loans.principal_charged_off[ids] >= to_cents(legal.min_balance)]
        if cases.size == 0:
            return
        self.book_cost(sim, cases.size * int(to_cents(legal.cost_per_case)))
        self.filed += cases.size
        self.line.append((cases, day))
        self._start_cases(sim)

    def _start_cases(self, sim: Simulation) -> None:
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

    def _hear(self, sim: Simulation, ids: np.ndarray):
        """The cases hold their slots for the duration, recover their share, and free the
        slots for the next cases in line."""
        legal = self.params.legal
        yield sim.env.timeout(legal.duration_days)
        cents = round_cents(sim.loans.principal_charged_off[ids] * legal.recovery_share)
        self.recovered += int(sim.ledger.receive_recovery(ids, cents).sum())
        self.completed += ids.size
        self.free_slots += ids.size
        self._start_cases(sim)

    def _record_legal(self, sim: Simulation, month: int) -> None:
        """Legal cases open (waiting or in progress) at the month's end."""
        sim.recorder.add(month * DAYS_PER_MONTH, "collections_legal_open", self.filed - self.completed)

    # ------------------------------------------------------------------ effect

    def report(self, sim: Simulation) -> dict[str, float]:
        """Per stage: actions, outcomes, cost, utilisation and queues; spells in collections;
        legal cases; cost per unit recovered (module docstring)."""
        t, days = self.tally, max(self.days, 1)
        out = super().report(sim)
        for s, name in enumerate(self.stage_names):
            offered = self.capacity[s] * self.days
            out |= {
                f"{name}_actions": float(t["actions"][s]),
                f"{name}_contacts": float(t["contacts"][s]),
                f"{name}_promises": float(t["promises"][s]),
                f"{name}_promises_kept": float(t["kept"][s]),
                f"{name}_collected": t["collected"][s] / 100,
                f"{name}_cost": t["actions"][s] * self.action_cents[s] / 100,
                f"{name}_utilisation": t["actions"][s] / offered if offered else 0.0,
                f"{name}_mean_queue": t["queue_sum"][s] / days,
                f"{name}_max_queue": float(t["queue_max"][s]),
            }
        collected = sum(t["collected"])
        recovered = collected + self.recovered
        cost = sim.ledger.cost_cents(self.name)
        return out | {
            "collected": collected / 100,
            "accounts_entered": float(self.entered),
            "accounts_never_worked": float(self.never_worked + np.count_nonzero(self.unworked)),
            "legal_cases_filed": float(self.filed),
            "legal_cases_completed": float(self.completed),
            "legal_cases_open": float(self.filed - self.completed),
            "legal_cases_waiting": float(self.filed - self.started),
            "legal_mean_wait_days": self.wait_days / self.started if self.started else 0.0,
            "legal_recovered": self.recovered / 100,
            "legal_cost": self.filed * int(to_cents(self.params.legal.cost_per_case)) / 100,
            "cost_per_unit_recovered": cost / recovered if recovered else 0.0,
        }


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
