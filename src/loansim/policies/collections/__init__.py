"""Staged collections: SMS, phone calls, field visits and legal action, each with limited capacity.

The policy is the desk's daily work (``desk``: who is worked, and what an action does),
the promises to pay it obtains (``promises``), and legal action on charged-off loans
(``legal``), set by the ``[policies.collections]`` table (``params``). Accounts beyond the
day's capacity wait: their DPD grows, they roll into the next stage, or they are charged off
without ever being worked; a case beyond the legal capacity waits in line.

``report`` gives, per stage, actions, contacts, promises, promises kept (some payment
made), amount collected on promises, cost, utilisation (actions / capacity offered) and the
mean and largest queue (sampled daily, before the day's work); spells in collections
(``accounts_entered``) and those never worked before they cured, closed or the run ended;
legal cases filed, completed, open and still waiting at the end, their mean wait and
recoveries; and ``cost_per_unit_recovered``: the policy's cost over what promises collected
plus legal recoveries (0 when nothing was recovered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from loansim.limits import ACTIONS_PER_MONTH
from loansim.policies import Policy, PolicyParams, on_time_days, register
from loansim.policies.collections.desk import Desk, cure_probability, top
from loansim.policies.collections.legal import LegalAction
from loansim.policies.collections.params import DEFAULT_STAGES, CollectionsParams, Legal, Stage

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario

__all__ = ["DEFAULT_STAGES", "Collections", "CollectionsParams", "Legal", "Stage", "cure_probability", "top"]


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
        """Stages must start after any days in which a payment still counts as on time (a
        grace period), and before charge-off."""
        on_time = on_time_days(policies)
        charge_off = scenario.lender.charge_off_dpd
        problems = []
        for name, stage in params.stages.items():
            key = f"stages.{name}.entry_dpd"
            if stage.entry_dpd <= on_time[0]:
                problems.append((key, stage.entry_dpd, f"must be above the days in which policies.{on_time[1]} counts a payment "
                                                       f"as on time ({on_time[0]}): a payment within them is not late"))
            elif stage.entry_dpd >= charge_off:
                problems.append((key, stage.entry_dpd, f"must be below lender.charge_off_dpd ({charge_off}), or the stage never gets an account (enabled = false drops it)"))
        return problems

    def setup(self, sim: Context) -> None:
        """Open the desk and, when legal action is on, file cases at charge-off."""
        self.desk = Desk(self, sim)
        self.legal = LegalAction(self)
        sim.recorder.declare(*self.desk.queue_series, *self.desk.actions_series)
        sim.recorder.declare("collections_collected", money=True)
        if self.desk.stages:
            self.desk.start(sim)
        if self.params.legal.capacity > 0:
            sim.recorder.declare("collections_legal_open")
            sim.hooks.add("charged_off", self.legal.file_cases)
            sim.hooks.add("month_end", self.legal.record_open)

    def report(self, sim: Context) -> dict[str, float]:
        """Per stage: actions, outcomes, cost, utilisation and queues; spells in collections;
        legal cases; cost per unit recovered (module docstring)."""
        desk = self.desk
        collected = sum(desk.promises.collected)
        recovered = collected + self.legal.recovered
        cost = sim.ledger.cost_cents(self.name)
        return super().report(sim) | desk.report() | {
            "collected": collected / 100,
            "accounts_entered": float(desk.entered),
            "accounts_never_worked": float(desk.never_worked + np.count_nonzero(desk.unworked)),
        } | self.legal.report() | {"cost_per_unit_recovered": cost / recovered if recovered else 0.0}
