"""The [policies.collections] table: stages (merged over the default sms, phone and field
visit), the order of the work queues, and legal action."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, Field, field_validator

from loansim.distributions import STRICT
from loansim.limits import MAX_AMOUNT, MAX_PRICE
from loansim.policies import PolicyParams
from loansim.scenario.messages import did_you_mean

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
