"""The scenario schema: typed, validated tables with units and defaults."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from loansim import macro
from loansim.distributions import STRICT, dist_in
from loansim.limits import MAX_AMOUNT, MAX_BORROWERS, MAX_MONTHS, RUN_OFF_MONTHS
from loansim.policies import PolicyParams


class _Table(BaseModel):
    model_config = STRICT


class RunSettings(_Table):
    """How long, how often and with which seed to run."""

    seed: int = Field(default=1, ge=0, description="root seed of every random stream")
    months: int = Field(default=36, ge=1, le=MAX_MONTHS, description="simulated months (30 days each)")
    replications: int = Field(default=1, ge=1, le=10_000, description="independent replications")
    lifetime: bool = Field(default=True, description="after run.months, keep simulating (no new applications) until every loan is repaid or charged off, at most RUN_OFF_MONTHS more, for the lifetime figures")

    def simulated_months(self) -> int:
        """The most months a replication can simulate: the run, and the run-off if any."""
        return self.months + (RUN_OFF_MONTHS if self.lifetime else 0)


NAME = r"^[a-z][a-z0-9_]*$"


def named_tables(tables: dict[str, Any]) -> dict[str, Any]:
    """Check the names of a table of named tables (they become stream names and columns)."""
    for name in tables:
        if not re.match(NAME, name):
            raise ValueError(f"name {name!r} must be lower-case letters, digits and '_', starting with a letter")
    return tables


class Product(_Table):
    """A loan product: amount, price and term."""

    principal: dist_in(0.0, above_low=True, max_mean=MAX_AMOUNT, cap=MAX_AMOUNT) = Field(description="amount lent per loan, currency units (draws above MAX_AMOUNT are set to it)")  # type: ignore[valid-type]
    apr: float = Field(ge=0, le=10, description="annual percentage rate as a share (0.18 = 18%)")
    term_months: int = Field(ge=1, le=600, description="number of monthly instalments")


class Segment(_Table):
    """A group of borrowers and the products each of them holds."""

    share: float = Field(gt=0, le=1, description="share of borrowers in the segment")
    products: list[str] = Field(min_length=1, description="products each borrower in the segment holds, one loan each")


class Portfolio(_Table):
    """The loan book at the start.

    ``principal``, ``apr`` and ``term_months`` define a product called ``loan``; named
    ``[portfolio.products]`` add more. Without ``[portfolio.segments]`` every borrower holds
    one ``loan``; with them, each segment's borrowers hold one loan of each product it lists.
    """

    borrowers: int = Field(ge=1, le=MAX_BORROWERS, description="number of borrowers (at most the most that runs, with one worker, on a machine with 24 GiB of memory; loansim.memory checks each run against the machine it runs on)")
    products: dict[str, Product] = Field(default={}, description="more loan products by name")
    segments: dict[str, Segment] = Field(default={}, description="borrower segments by name")
    payment_order: list[str] | None = Field(default=None, description="order in which a borrower short of cash pays their loans; default: 'loan', then [portfolio.products] in order")
    principal: dist_in(0.0, above_low=True, max_mean=MAX_AMOUNT, cap=MAX_AMOUNT) | None = Field(default=None, description="amount lent per loan of the product 'loan', currency units (draws above MAX_AMOUNT are set to it)")  # type: ignore[valid-type]
    apr: float | None = Field(default=None, ge=0, le=10, description="annual percentage rate of 'loan' as a share (0.18 = 18%)")
    term_months: int | None = Field(default=None, ge=1, le=600, description="number of monthly instalments of 'loan'")

    @field_validator("principal", "apr", "term_months")
    @classmethod
    def _required_without_segments(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and not info.data.get("segments") and "segments" in info.data:
            raise ValueError("is required but missing (or give [portfolio.products] and [portfolio.segments])")
        return value

    @field_validator("products", "segments")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        return named_tables(value)

    @field_validator("segments")
    @classmethod
    def _segments_fit(cls, value: dict[str, Segment]) -> dict[str, Segment]:
        for name, segment in value.items():
            if len(set(segment.products)) < len(segment.products):
                raise ValueError(f"segment {name!r} lists a product twice")
        total = sum(seg.share for seg in value.values())
        if value and abs(total - 1) > 1e-9:
            raise ValueError(f"segment shares must add up to 1 (they add up to {total:g})")
        return value

    @model_validator(mode="after")
    def _products_fit(self) -> Portfolio:
        given = [k for k in ("principal", "apr", "term_months") if getattr(self, k) is not None]
        if 0 < len(given) < 3:
            missing = next(k for k in ("principal", "apr", "term_months") if getattr(self, k) is None)
            raise ValueError(f"portfolio.{missing} is required: principal, apr and term_months together define the product 'loan'")
        if given and "loan" in self.products:
            raise ValueError("the product name 'loan' is taken by portfolio.principal, apr and term_months")
        known = self.product_table(ordered=False)
        for name, segment in self.segment_table().items():
            unknown = [p for p in segment.products if p not in known]
            if unknown:
                raise ValueError(f"segment {name!r} holds unknown product {unknown[0]!r}; products are: {', '.join(known)}")
        if self.payment_order is not None and sorted(self.payment_order) != sorted(known):
            raise ValueError(f"portfolio.payment_order must list every product once: {', '.join(known)}")
        return self

    def product_table(self, ordered: bool = True) -> dict[str, Product]:
        """Every product by name, in payment order."""
        table = dict(self.products)
        if self.principal is not None and self.apr is not None and self.term_months is not None:  # all three or none (_products_fit)
            table = {"loan": Product(principal=self.principal, apr=self.apr, term_months=self.term_months), **table}
        if ordered and self.payment_order is not None:
            table = {name: table[name] for name in self.payment_order}
        return table

    def segment_table(self) -> dict[str, Segment]:
        """Segments; without any, one segment "all" whose borrowers each hold one 'loan'."""
        return self.segments or {"all": Segment(share=1.0, products=["loan"])}


class Shock(_Table):
    """One kind of sudden shock (illness, accident, disaster, ...)."""

    annual_rate: float = Field(ge=0, le=100, description="events per borrower per year (per region per year if regional)")
    expense: dist_in(0.0, max_mean=MAX_AMOUNT, cap=MAX_AMOUNT) = Field(default=0.0, description="cost of one event, currency units (draws above MAX_AMOUNT are set to it)")  # type: ignore[valid-type]
    income_loss_share: float = Field(default=0.0, ge=0, le=1, description="share of income lost while the spell lasts")
    income_loss_months: dist_in(0.0, max_mean=600, cap=MAX_MONTHS) = Field(default=0.0, description="length of the income-loss spell, months (rounded)")  # type: ignore[valid-type]
    regional: bool = Field(default=False, description="events hit a whole region at once")
    regional_hit_share: float = Field(default=1.0, ge=0, le=1, description="share of a hit region's borrowers affected")


class Misunderstanding(_Table):
    """Borrowers who misread their contract until a first late notice corrects them."""

    share: float = Field(default=0.0, ge=0, le=1, description="share of borrowers who misread their contract")
    date_share: float = Field(default=0.5, ge=0, le=1, description="share of those who think the due date is later (the rest think the instalment is lower)")
    late_days: dist_in(1.0, 29.0) = Field(default={"dist": "uniform", "low": 5, "high": 20}, description="how many days late those who misread the date pay")  # type: ignore[valid-type]
    paid_share: dist_in(0.0, 1.0) = Field(default=0.6, description="share of the amount due paid by those who think the instalment is lower")  # type: ignore[valid-type]


class Strategic(_Table):
    """Unwillingness to pay: strategic default, apart from inability to pay."""

    monthly_prob: dist_in(0.0, 1.0) = Field(default=0.0, description="base monthly chance a borrower chooses to stop paying")  # type: ignore[valid-type]
    arrears_multiplier: float = Field(default=1.0, ge=0, le=100, description="chance × (1 + this × instalments in arrears)")
    size_multiplier: float = Field(default=1.0, ge=0, le=100, description="chance × (1 + this × principal lent / annual income at origination, counted up to 10)")


class CreditScore(_Table):
    """Credit score on the 300-850 scale, moved by payment history."""

    initial: dist_in(300.0, 850.0) = Field(default={"dist": "normal", "mean": 680, "sd": 60, "low": 300, "high": 850}, description="score at month 0, points")  # type: ignore[valid-type]
    risk_weight: float = Field(default=0.0, ge=0, le=1, description="how far the initial score ranks borrowers by their risk traits (savings, spending, essentials, forgetfulness, literacy, job risk, income): 0 = not at all, 1 = exactly")
    on_time_points: float = Field(default=3.0, ge=0, le=550, description="points for a payment in full, scaled by (850 - score) / 550")
    utilisation_points: float = Field(default=40.0, ge=0, le=550, description="points per unit fall in utilisation (principal outstanding / lent), scaled likewise")
    miss_points: float = Field(default=35.0, ge=0, le=550, description="points lost per instalment behind at a miss, scaled by (score - 300) / 550")
    default_points: float = Field(default=80.0, ge=0, le=550, description="points lost at default, scaled likewise")


class Stacking(_Table):
    """Outside short-term credit taken to make a payment (loan stacking and rollover)."""

    take_up_prob: dist_in(0.0, 1.0) = Field(default=0.0, description="chance a borrower short at a due date borrows the shortfall outside, per borrower")  # type: ignore[valid-type]
    max_balance: float = Field(default=1000.0, ge=0, le=MAX_AMOUNT, description="most a borrower can owe outside lenders, currency units")
    apr: float = Field(default=1.0, ge=0, le=20, description="outside lenders' annual rate as a share (1.0 = 100%)")
    term_months: int = Field(default=3, ge=1, le=60, description="months over which outside debt is repaid (re-amortised each month)")
    rollover_fee_share: float = Field(default=0.1, ge=0, le=1, description="fee on an unmet outside repayment, as a share of the unmet part")
    max_rollovers: int = Field(default=2, ge=0, le=1000, description="unmet outside repayments after which outside lenders stop lending to the borrower")


class LoanUse(_Table):
    """What the loan is used for: consumption, a productive use, or a risky venture."""

    productive_share: float = Field(default=0.0, ge=0, le=1, description="share of loans put to a productive use that supports income")
    risky_share: float = Field(default=0.0, ge=0, le=1, description="share of loans put into a risky venture")
    monthly_return: float = Field(default=0.02, ge=0, le=1, description="income per month from a productive or risky use, as a share of the sum still invested")
    risky_monthly_loss_prob: float = Field(default=0.05, ge=0, le=1, description="chance a month that a risky venture fails")
    risky_loss_share: dist_in(0.0, 1.0) = Field(default={"dist": "uniform", "low": 0.3, "high": 1.0}, description="share of the sum still invested lost when a venture fails")  # type: ignore[valid-type]

    @field_validator("risky_share")
    @classmethod
    def _shares_fit(cls, value: float, info: ValidationInfo) -> float:
        productive = info.data.get("productive_share")
        if productive is not None and productive + value > 1:
            raise ValueError(f"productive_share ({productive:g}) + risky_share must be <= 1")
        return value


class BorrowerBehaviour(_Table):
    """How borrowers earn, spend, save and forget."""

    income_monthly: dist_in(0.0, max_mean=MAX_AMOUNT, cap=MAX_AMOUNT) = Field(description="base monthly income when employed, currency units (draws above MAX_AMOUNT are set to it)")  # type: ignore[valid-type]
    unemployment_income_share: float = Field(default=0.3, ge=0, le=1, description="income while unemployed, as a share of base income")
    initial_unemployment_share: float | None = Field(default=None, ge=0, le=1, description="share unemployed at month 0; default: the path's first month, or the employment chain's steady state")
    job_loss_sensitivity: dist_in(0.0, max_mean=100) = Field(default=1.0, description="exposure to job loss relative to the average borrower")  # type: ignore[valid-type]
    regions: int = Field(default=1, ge=1, le=100_000, description="number of regions borrowers are spread over (for regional shocks)")
    essential_spending_share: dist_in(0.0, max_mean=10) = Field(default=0.0, description="spending that cannot be cut, as a share of base income")  # type: ignore[valid-type]
    target_buffer_months: dist_in(0.0, max_mean=MAX_MONTHS, cap=MAX_MONTHS) = Field(default={"dist": "lognormal", "median": 1.0, "sigma": 0.7}, description="liquid savings the borrower aims to hold, in months of base income (buffer-stock saving; draws above MAX_MONTHS are set to it)")  # type: ignore[valid-type]
    buffer_adjustment: float = Field(default=0.3, gt=0, le=1, description="share of the gap between cash on hand and the target buffer that a month's spending closes (spending rises above the target, falls below it)")
    arrears_priority: float = Field(default=0.0, ge=0, le=1, description="share of their arrears that borrowers behind ring-fence before discretionary spending (at least their literacy): catching up after a late notice")
    spending_noise_sd: float = Field(default=0.0, ge=0, le=10, description="month-to-month noise on discretionary spending, as a share of base income (standard deviation)")
    overspender_share: float = Field(default=0.0, ge=0, le=1, description="share of borrowers who spend more the more cash they hold")
    overspend_share_of_savings: float = Field(default=0.1, ge=0, le=1, description="share of savings an over-spender spends each month, on top of the buffer rule")
    initial_savings_months: dist_in(0.0, max_mean=MAX_MONTHS, cap=MAX_MONTHS) | None = Field(default=None, description="savings at month 0, in months of base income; default: each borrower's own target buffer (draws above MAX_MONTHS are set to it)")  # type: ignore[valid-type]
    forget_notice_days: dist_in(1.0, 29.0) = Field(default={"dist": "uniform", "low": 2, "high": 15}, description="days after a forgotten due date until the borrower notices (a statement, a late notice) and pays what cash allows (rounded)")  # type: ignore[valid-type]
    literacy: dist_in(0.0, 1.0) = Field(default=0.0, description="financial literacy in [0, 1]: cuts forgetting, protects payments from discretionary spending")  # type: ignore[valid-type]
    monthly_forget_prob: dist_in(0.0, 1.0) = Field(default=0.0, description="chance of forgetting a due date, per borrower per month, before literacy")  # type: ignore[valid-type]
    partial_payments: bool = Field(default=True, description="a borrower who cannot pay in full pays what savings allow")
    pay_day: dist_in(0.0, 29.0) = Field(default=0.0, description="day of the 30-day month the month's income arrives (rounded); 0 = with the month's start")  # type: ignore[valid-type]
    pay_arrears_on_pay_day: bool = Field(default=False, description="a borrower who could not pay a due date for want of cash pays the arrears on the next pay day")
    shocks: dict[str, Shock] = Field(default={}, description="sudden shocks by name")
    misunderstanding: Misunderstanding = Misunderstanding()
    strategic: Strategic = Strategic()
    score: CreditScore = CreditScore()
    stacking: Stacking = Stacking()
    loan_use: LoanUse = LoanUse()

    @field_validator("shocks")
    @classmethod
    def _shock_names(cls, value: dict[str, Shock]) -> dict[str, Shock]:
        return named_tables(value)


PATH_HELP = "a built-in path's name, one rate, or a list of monthly rates"
_EST = macro.ESTIMATED
_RANGE = f"[{macro.MIN_RATE:g}, {macro.MAX_RATE:g}]"


def check_path(value: str | float | list[float] | None, low: float = 0.0, high: float = 1.0) -> str | float | list[float] | None:
    """A path as written: a known built-in name, or rates within [`low`, `high`] (high excluded when 1)."""
    if isinstance(value, str) and value not in macro.BUILT_IN_PATHS:
        raise ValueError(f"unknown path; built-in paths are: {', '.join(macro.BUILT_IN_PATHS)}")
    if isinstance(value, list) and not value:
        raise ValueError("must list at least one monthly rate")
    rates = [value] if isinstance(value, float) else value if isinstance(value, list) else []
    if high >= 1 and any(not low <= r < 1 for r in rates):
        raise ValueError("unemployment rates must be shares in [0, 1)")
    if high < 1 and any(not low <= r <= high for r in rates):
        raise ValueError(f"unemployment rates must be shares within the stochastic economy range {_RANGE}")
    return value


class Stochastic(_Table):
    """A random unemployment path for each replication (``loansim.macro``): the two-regime
    model alone, from ``economy.initial_unemployment``, or AR(1) deviations around a path.
    Defaults: estimated on the US rate, 1948-2019 (``macro.ESTIMATED``)."""

    enabled: bool = Field(default=True, description="false switches off a stochastic economy a scenario inherits through extends")
    around: str | float | list[float] | None = Field(default=None, description=f"{PATH_HELP} to add random deviations to; none: the two-regime model alone")
    initial_regime: Literal["long-run", "expansion", "recession"] = Field(default="long-run", description="month 0's regime: drawn with the chain's long-run shares, or as given")
    expansion_stay_prob: float = Field(default=_EST["expansion_stay_prob"], ge=0, le=1, description="chance an expansion lasts another month")
    recession_stay_prob: float = Field(default=_EST["recession_stay_prob"], ge=0, le=1, description="chance a recession lasts another month")
    expansion_mean_change_pp: float = Field(default=_EST["expansion_mean_change_pp"], ge=-5, le=5, description="mean monthly change of the rate in expansion, percentage points")
    recession_mean_change_pp: float = Field(default=_EST["recession_mean_change_pp"], ge=-5, le=5, description="mean monthly change of the rate in recession, percentage points")
    expansion_volatility_pp: float = Field(default=_EST["expansion_volatility_pp"], ge=0, le=5, description="standard deviation of the monthly change in expansion, percentage points")
    recession_volatility_pp: float = Field(default=_EST["recession_volatility_pp"], ge=0, le=5, description="standard deviation of the monthly change in recession, percentage points")
    mean_reversion: float = Field(default=_EST["mean_reversion"], ge=0, le=1, description="share of the gap to mean_reversion_level closed each month")
    mean_reversion_level: float = Field(default=_EST["mean_reversion_level"], ge=macro.MIN_RATE, le=macro.MAX_RATE, description="the rate the pull is towards, share")
    deviation_persistence: float = Field(default=_EST["deviation_persistence"], ge=0, le=1, description="AR(1) coefficient of the monthly deviation from the path (with around)")
    deviation_volatility_pp: float = Field(default=_EST["deviation_volatility_pp"], ge=0, le=5, description="standard deviation of the deviation's monthly shock, percentage points (with around)")

    @field_validator("around")
    @classmethod
    def _around(cls, value: str | float | list[float] | None) -> str | float | list[float] | None:
        return check_path(value, macro.MIN_RATE, macro.MAX_RATE)

    @model_validator(mode="after")
    def _can_produce_valid_rates(self) -> Stochastic:
        if self.around is not None:
            return self
        stay_e, stay_r = self.expansion_stay_prob, self.recession_stay_prob
        if self.initial_regime == "long-run" and stay_e == 1 and stay_r == 1:
            raise ValueError("expansion_stay_prob and recession_stay_prob are both 1: the regimes never switch, so there are "
                             "no long-run shares to draw month 0's regime from; set initial_regime = \"expansion\" or \"recession\"")
        if self.mean_reversion > 0 and stay_e + stay_r < 2:
            share = macro.long_run_recession_share(stay_e, stay_r)
            drift = ((1 - share) * self.expansion_mean_change_pp + share * self.recession_mean_change_pp) / 100
            mean = self.mean_reversion_level + drift / self.mean_reversion
            if not macro.MIN_RATE <= mean <= macro.MAX_RATE:
                raise ValueError(f"the model's long-run mean rate, mean_reversion_level + long-run mean change / mean_reversion "
                                 f"= {mean:.3g}, lies outside the valid range {_RANGE}: the rate would sit at a bound; "
                                 "make the mean changes smaller or mean_reversion larger")
        return self


class Economy(_Table):
    """Unemployment, job finding, pay cuts and income growth."""

    monthly_job_loss_prob: float | None = Field(default=None, ge=0, le=1, description="constant chance an employed borrower loses the job in a month (without a path)")
    monthly_job_finding_prob: float = Field(default=0.25, ge=0, le=1, description="chance an unemployed borrower finds a job in a month, at the path's starting unemployment")
    unemployment_path: str | float | list[float] | None = Field(default=None, description=f"monthly unemployment rate: {PATH_HELP}")
    initial_unemployment: float = Field(default=macro.DEFAULT_INITIAL_UNEMPLOYMENT, ge=macro.MIN_RATE, le=macro.MAX_RATE, description="unemployment rate at month 0, share: where built-in paths and the stochastic economy start")
    job_finding_unemployment_elasticity: float = Field(default=macro.DEFAULT_JOB_FINDING_ELASTICITY, ge=-10, le=10, description="job-finding chance scales with (unemployment / starting unemployment) to this power")
    monthly_pay_cut_prob: float = Field(default=0.0, ge=0, le=1, description="chance an employed borrower's base income is cut for good, per month, at the path's starting unemployment")
    pay_cut_share: dist_in(0.0, 1.0) = Field(default=0.1, description="share of base income lost in a pay cut")  # type: ignore[valid-type]
    pay_cut_unemployment_elasticity: float = Field(default=1.0, ge=0, le=10, description="pay-cut chance scales with (unemployment / starting unemployment) to this power")
    annual_income_growth: float = Field(default=0.0, ge=-0.5, le=1, description="yearly growth of base incomes and of the cost of essentials, as a share")
    stochastic: Stochastic | None = Field(default=None, description="a random unemployment path per replication")

    @field_validator("unemployment_path")
    @classmethod
    def _path(cls, value: str | float | list[float] | None, info: ValidationInfo) -> str | float | list[float] | None:
        if value is None:
            return value
        if info.data.get("monthly_job_loss_prob") is not None:
            raise ValueError("cannot be combined with economy.monthly_job_loss_prob (the path sets the job-loss hazard); keep one of them")
        return check_path(value)

    @field_validator("stochastic")
    @classmethod
    def _stochastic(cls, value: Stochastic | None, info: ValidationInfo) -> Stochastic | None:
        if value is None or not value.enabled:
            return value
        if info.data.get("monthly_job_loss_prob") is not None:
            raise ValueError("cannot be combined with economy.monthly_job_loss_prob (the stochastic path sets the job-loss "
                             "hazard); keep one of them, or set economy.stochastic.enabled = false")
        if info.data.get("unemployment_path") is not None:
            raise ValueError("cannot be combined with economy.unemployment_path (the stochastic economy draws the path); "
                             "give the path as economy.stochastic.around, or set economy.stochastic.enabled = false")
        start = info.data.get("initial_unemployment")
        if isinstance(value.around, str) and start is not None:
            highest = float(macro.unemployment_path(value.around, 600, start).max())
            if highest > macro.MAX_RATE:
                raise ValueError(f"around = {value.around!r} from economy.initial_unemployment = {start:g} reaches {highest:.3g}, "
                                 f"above the stochastic economy range {_RANGE}; start lower or give the path as a list")
        return value

    @model_validator(mode="after")
    def _pay_cuts_need_a_starting_rate(self) -> Economy:
        if self.has_path() and self.monthly_pay_cut_prob > 0 and self.pay_cut_unemployment_elasticity > 0:
            if self.starting_rate() <= 0:
                raise ValueError("pay cuts scale with unemployment relative to the path's first month, "
                                 "so the path must start above 0 (or set pay_cut_unemployment_elasticity = 0)")
        return self

    def stochastic_on(self) -> bool:
        """Whether each replication draws its own unemployment path."""
        return self.stochastic is not None and self.stochastic.enabled

    def has_path(self) -> bool:
        """Whether unemployment follows a path (given or drawn) rather than a constant hazard."""
        return self.unemployment_path is not None or self.stochastic_on()

    def starting_rate(self) -> float:
        """The path's rate at month 0 (the same in every replication)."""
        if self.stochastic_on():
            around = self.stochastic.around  # type: ignore[union-attr]
            return self.initial_unemployment if around is None else macro.first_rate(around, self.initial_unemployment)
        assert self.unemployment_path is not None
        return macro.first_rate(self.unemployment_path, self.initial_unemployment)

    def job_loss_prob(self) -> float:
        """The constant job-loss hazard used without a path."""
        return self.monthly_job_loss_prob or 0.0


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
        data["policies"] = {name: p.model_dump(mode="json", exclude={"enabled"}) for name, p in self.policies.items()}
        return data
