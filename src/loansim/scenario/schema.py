"""The scenario schema: typed, validated tables with units and defaults."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from loansim.distributions import STRICT, dist_in
from loansim.policies import PolicyParams


Probability = Field(ge=0, le=1)


MAX_MONEY = 1e9  # a sanity bound on mean amounts per loan or per month, currency units


class _Table(BaseModel):
    model_config = STRICT


class RunSettings(_Table):
    """How long, how often and with which seed to run."""

    seed: int = Field(default=1, ge=0, description="root seed of every random stream")
    months: int = Field(default=36, ge=1, le=1200, description="simulated months (30 days each)")
    replications: int = Field(default=1, ge=1, le=10_000, description="independent replications")


class Portfolio(_Table):
    """The loan book at the start: one amortising loan per borrower."""

    borrowers: int = Field(ge=1, le=50_000_000, description="number of borrowers (= loans)")
    principal: dist_in(0.0, above_low=True, max_mean=MAX_MONEY) = Field(description="amount lent per loan, currency units")  # type: ignore[valid-type]
    apr: float = Field(ge=0, le=10, description="annual percentage rate as a share (0.18 = 18%)")
    term_months: int = Field(ge=1, le=600, description="number of monthly instalments")


class BorrowerBehaviour(_Table):
    """How borrowers earn, spend, save and forget."""

    income_monthly: dist_in(0.0, max_mean=MAX_MONEY) = Field(description="base monthly income when employed, currency units")  # type: ignore[valid-type]
    unemployment_income_share: float = Field(default=0.3, ge=0, le=1, description="income while unemployed, as a share of base income")
    initial_unemployment_share: float | None = Field(default=None, ge=0, le=1, description="share unemployed at month 0; default: the employment chain's steady state")
    spending_share: dist_in(0.0, max_mean=100) = Field(default=0.8, description="habitual share of monthly income consumed")  # type: ignore[valid-type]
    spending_noise_sd: float = Field(default=0.0, ge=0, le=10, description="month-to-month noise on the spending share (standard deviation)")
    initial_savings_months: dist_in(0.0, max_mean=1200) = Field(default=1.0, description="savings at month 0, in months of base income")  # type: ignore[valid-type]
    monthly_forget_prob: dist_in(0.0, 1.0) = Field(default=0.0, description="chance of forgetting a due date, per borrower per month")  # type: ignore[valid-type]
    partial_payments: bool = Field(default=True, description="a borrower who cannot pay in full pays what savings allow")


class Economy(_Table):
    """Employment hazards (constant over the run in this version)."""

    monthly_job_loss_prob: float = Field(default=0.0, ge=0, le=1, description="chance an employed borrower loses the job in a month")
    monthly_job_finding_prob: float = Field(default=0.25, ge=0, le=1, description="chance an unemployed borrower finds a job in a month")


class Lender(_Table):
    """Delinquency, default, charge-off and recovery rules."""

    default_dpd: int = Field(default=90, ge=1, le=3650, description="days past due at which a loan counts as defaulted")
    charge_off_dpd: int = Field(default=120, ge=1, le=3650, description="days past due at which the loan is charged off")
    recovery_rate: dist_in(0.0, 1.0) = Field(default=0.0, description="share of charged-off principal recovered later, per loan")  # type: ignore[valid-type]
    recovery_delay_months: int = Field(default=6, ge=0, le=600, description="months from charge-off to recovery")

    @field_validator("charge_off_dpd")
    @classmethod
    def _charge_off_after_default(cls, value: int, info: ValidationInfo) -> int:
        default_dpd = info.data.get("default_dpd")
        if default_dpd is not None and value < default_dpd:
            raise ValueError(f"must be >= default_dpd ({default_dpd})")
        return value


class Scenario(_Table):
    """A fully resolved, validated scenario."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$",
                      description="names the results folder: letters, digits, spaces, '_', '-', '.'")
    description: str = ""
    run: RunSettings = RunSettings()
    portfolio: Portfolio
    borrowers: BorrowerBehaviour
    economy: Economy = Economy()
    lender: Lender = Lender()
    policies: dict[str, PolicyParams] = {}

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for manifests and for other processes)."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"policies"})
        data["policies"] = {name: p.model_dump(mode="json") for name, p in self.policies.items()}
        return data
