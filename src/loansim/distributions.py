"""Distributions written in scenario files as tables, and sampling from them.

``income_monthly = {dist = "lognormal", median = 4000, sigma = 0.4}``; a bare number is
shorthand for ``{dist = "fixed", value = ...}``. Each field that takes a distribution
states the range its values must lie in (``dist_in(0, 1)`` for a probability), and a
distribution whose support leaves that range is rejected when the file is loaded, not
clipped silently when it is sampled.

Money (and what multiplies it) is the one exception, because its amounts become int64
cents: a money field also states a hard cap (``dist_in(..., cap=MAX_AMOUNT)``), and every
draw above the cap is set to the cap. A distribution with an unbounded tail (a log-normal,
a normal without ``high``) may keep it; a cap far beyond any real amount (``loansim.limits``)
changes no draw a real scenario makes, but keeps a single extreme draw from leaving int64.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import TYPE_CHECKING, Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator


STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False, validate_default=True)
"""Model settings for everything read from a scenario file: unknown keys, values of the
wrong type (no "100" for 100, no true for 1) and non-finite numbers are all errors."""


class _Dist(BaseModel):
    model_config = STRICT
    if TYPE_CHECKING:
        dist: str  # each distribution's name, a Literal of its own
    _cap: float = PrivateAttr(default=math.inf)  # draws above it are set to it (set by ``dist_in``)

    @property
    def cap(self) -> float:
        """The hard cap on draws (inf: none)."""
        return self._cap

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` independent draws as float64, none above the hard cap."""
        draws = self._sample(rng, n)
        if self._cap < self.support()[1]:
            np.minimum(draws, self._cap, out=draws)
        return draws

    @model_validator(mode="after")
    def _bounds_ordered(self) -> _Dist:
        low, high = getattr(self, "low", None), getattr(self, "high", None)
        if low is not None and high is not None and high < low:
            raise ValueError(f"high ({high}) must be >= low ({low})")
        return self

    @abstractmethod
    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can produce."""

    @abstractmethod
    def mean(self) -> float:
        """The distribution's expected value."""

    @abstractmethod
    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` independent draws as float64, before the cap."""


class Fixed(_Dist):
    """Always `value`."""

    dist: Literal["fixed"]
    value: float

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def mean(self) -> float:
        return self.value

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class Uniform(_Dist):
    """Uniform on [`low`, `high`]."""

    dist: Literal["uniform"]
    low: float
    high: float

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def mean(self) -> float:
        return (self.low + self.high) / 2

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class Normal(_Dist):
    """Normal with `mean` and standard deviation `sd`, optionally clipped to [`low`, `high`]."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean")
    sd: float = Field(ge=0)
    low: float | None = None
    high: float | None = None

    model_config = ConfigDict(**STRICT, populate_by_name=True)

    @property
    def _bounds(self) -> tuple[float, float]:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low, high

    def support(self) -> tuple[float, float]:
        low, high = self._bounds
        if self.sd == 0:
            value = min(max(self.mean_, low), high)
            return (value, value)
        return (low, high)

    def mean(self) -> float:
        # Mean of the clipped normal (values outside are moved to the bounds).
        mu, sd = self.mean_, self.sd
        lo, hi = self._bounds
        if sd == 0:
            return min(max(mu, lo), hi)
        a, b = (lo - mu) / sd, (hi - mu) / sd
        inside = mu * (_normal_cdf(b) - _normal_cdf(a)) + sd * (_normal_pdf(a) - _normal_pdf(b))
        below = lo * _normal_cdf(a) if math.isfinite(lo) else 0.0
        above = hi * _normal_cdf(-b) if math.isfinite(hi) else 0.0
        return float(inside + below + above)

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.clip(rng.normal(self.mean_, self.sd, n), *self._bounds)


class LogNormal(_Dist):
    """Log-normal with the given `median` and `sigma` (standard deviation of the log)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0, le=5)

    def support(self) -> tuple[float, float]:
        # The support is the open interval (0, inf): its smallest value is above zero.
        return (self.median, self.median) if self.sigma == 0 else (math.ulp(0.0), math.inf)

    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, n)


class Beta(_Dist):
    """Beta(`a`, `b`), scaled from [0, 1] to [`low`, `high`]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def mean(self) -> float:
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)

    def _sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, n)


DIST_NAMES = ("fixed", "uniform", "normal", "lognormal", "beta")


def _number_is_fixed(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    if not isinstance(value, (dict, _Dist)):
        raise ValueError('must be a number or a distribution table such as {dist = "lognormal", median = 4000, sigma = 0.4}')
    return value


Dist = Annotated[
    Union[Fixed, Uniform, Normal, LogNormal, Beta],
    Field(discriminator="dist"),
    BeforeValidator(_number_is_fixed),
]


class Bounds:
    """What ``dist_in`` allows above: the largest mean and the hard cap on draws (money
    fields state both; a test walks the schema for them)."""

    def __init__(self, max_mean: float, cap: float) -> None:
        self.max_mean, self.cap = max_mean, cap


def dist_in(low: float = -math.inf, high: float = math.inf, *, above_low: bool = False,
            max_mean: float = math.inf, cap: float = math.inf) -> object:
    """A distribution type whose every value lies in [`low`, `high`] (in (`low`, `high`] if
    `above_low`), whose mean is at most `max_mean` (a bound for money), and whose draws
    are set to `cap` where they would be above it (a hard cap for money, ``loansim.limits``)."""
    interval = f"{'(' if above_low else '['}{low:g}, {high:g}]"

    def check(d: _Dist) -> _Dist:
        lo, hi = d.support()
        if lo < low or (above_low and lo == low) or hi > high:
            hint = "; clip it with low and high" if d.dist == "normal" else ""
            raise ValueError(
                f"values must lie in {interval}, but this {d.dist} distribution "
                f"gives values in [{lo:.6g}, {hi:.6g}]{hint}"
            )
        if d.mean() > max_mean:
            raise ValueError(f"mean must be at most {max_mean:g}, but this {d.dist} distribution has mean {d.mean():.6g}")
        d._cap = cap
        return d

    return Annotated[Dist, AfterValidator(check), Bounds(max_mean, cap)]


def _normal_cdf(x: float) -> float:
    """Standard normal distribution function (math only: scipy.stats takes a second to import)."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _normal_pdf(x: float) -> float:
    """Standard normal density (0 at ±inf)."""
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0
