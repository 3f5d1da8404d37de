"""An account fee every year on each active loan: a policy for loansim from a package of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from loansim.loans import ACTIVE, to_cents
from loansim.policies import Policy, PolicyParams

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario


class AnnualFeeParams(PolicyParams):
    """The keys of the scenario's [policies.annual_fee] table (units in the names)."""

    fee: float = Field(default=30.0, ge=0, le=1_000, description="fee per active loan, currency units")
    every_months: int = Field(default=12, ge=1, le=120, description="months between fees")


class AnnualFee(Policy[AnnualFeeParams]):
    """Charge every active loan the fee at the start of every `every_months`-th month."""

    name = "annual_fee"
    Params = AnnualFeeParams
    spans_days = True  # it acts at a month's start only: small books may step several days at once

    @classmethod
    def most_per_loan(cls, params: AnnualFeeParams, scenario: Scenario, owed: float) -> tuple[float, float]:
        """The most fees (and operating cost) one loan can be charged over the run."""
        return params.fee * (scenario.run.simulated_months() // params.every_months), 0.0

    def setup(self, sim: Context) -> None:
        sim.hooks.add("month_start", self.charge)

    def charge(self, sim: Context, month: int) -> None:
        """Who: the loans active at this month's start; what: the fee, through the ledger."""
        if month == 0 or month % self.params.every_months:
            return
        ids = np.flatnonzero(sim.loans.status == ACTIVE)
        sim.ledger.charge_fee(ids, to_cents(self.params.fee))
        self.actions += ids.size

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "fees_charged": float(self.actions)}
