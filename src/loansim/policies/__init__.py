"""Lender policies as plug-ins.

A policy is a small class with a ``name``, a validated ``Params`` model (the keys of its
``[policies.<name>]`` table, units in their names) and a ``setup(sim)`` method that
registers the policy's hooks with the engine (see ``loansim.engine`` for the hooks and
the order in which they run) or starts SimPy processes of its own. Its ``sim``, in setup
and in every hook, is a ``loansim.context.Context``: what a policy may use of the
simulation, which the type checker holds it to. It keeps *who* (an
eligibility rule returning loan ids) apart from *what* (an action on those loans), changes
the book only through ``sim.ledger`` and books its own operating cost there.

Two rules about the population a policy meets at once:

- **The month's draws** (who forgets a due date, who chooses to stop paying, ...) belong to
  ``sim.population`` (``borrowers.monthly.PopulationMonth``), drawn at each month's start; a
  policy changes them through its methods, e.g. ``sim.population.remind(...)`` lowers
  the chance of forgetting a due date, whenever in the month the reminder is sent.
- **The income side is read-only during a month**: employment, base income, essentials,
  income, invested sums and shock spells. Next month's is worked out from it on a
  background thread meanwhile, so a write fails with ``ValueError: assignment destination is
  read-only``; policies act on savings, scores, loans and the month's draws instead.

Adding a policy is adding one module to this package and decorating its class with
``@register``; the engine knows no policy by name. A policy of another package is found
through the entry point group ``loansim.policies`` (``ENTRY_POINTS``): its name is the
policy's ``name`` and its object the ``Policy`` class, e.g. in that package's
``pyproject.toml``::

    [project.entry-points."loansim.policies"]
    annual_fee = "loansim_annual_fee:AnnualFee"

(the README's "Writing a policy" gives the whole example).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, Field

import numpy as np

from loansim.distributions import STRICT

if TYPE_CHECKING:
    from loansim.context import Context
    from loansim.scenario import Scenario


class PolicyParams(BaseModel):
    """Base for policy parameter tables: unknown keys, wrong types and inf/nan are errors."""

    model_config = STRICT

    enabled: bool = Field(default=True, description="false switches off a policy a scenario inherits through extends")


P = TypeVar("P", bound=PolicyParams)


class Policy(Generic[P]):
    """Base class of lender policies; `P` is the policy's parameter table (``Params``)."""

    name: ClassVar[str]
    Params: ClassVar[type[PolicyParams]] = PolicyParams
    spans_days: ClassVar[bool] = False
    """Whether the clock may deal with several days' due dates in one step while this policy
    is on (``loansim.spans``): true only for a policy that acts on no day of its own (no
    ``day_start``, ``day_end`` or ``charged_off`` hook, no actor process, no lending but at
    a month's start) and whose ``before_due`` and ``missed`` hooks work loan by loan, taking
    `day` as the first day of the span (``Cohort.today`` gives each loan's)."""

    def __init__(self, params: P) -> None:
        self.params: P = params
        self.actions = 0  # number of times the policy acted (fees charged, messages sent, ...)
        self._priced = 0.0  # cost of priced actions so far, exact, in cents (``book_priced``)

    @classmethod
    def check(cls, params: P, scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
        """Problems with `params` given the rest of the scenario and the other enabled
        `policies`, as (key, value, what was expected); none by default."""
        return []

    @classmethod
    def on_time_days(cls, params: P) -> int:
        """Days after a due date within which this policy makes a payment count as on time
        (a grace period, ``servicing.Deferral``); none by default."""
        return 0

    @classmethod
    def n_applicants(cls, params: P, scenario: Scenario) -> int:
        """How many applicants the policy brings to the book (``application_months``); none by default."""
        return 0

    @classmethod
    def capitalised_months(cls, params: P, scenario: Scenario) -> int:
        """The most months of interest the policy can add to one loan's principal over the
        run (``Ledger.modify``, ``capitalise_interest``): balances compound that often at
        most (the scenario's budget, ``loansim.limits``). None by default."""
        return 0

    @classmethod
    def most_per_loan(cls, params: P, scenario: Scenario, owed: float) -> tuple[float, float]:
        """The most fees and operating cost (currency units) the policy can charge one loan
        over the run, when the loan owes at most `owed` in principal and interest: the
        scenario's budget (``loansim.limits``). By default every ``cost_*`` key is paid once
        a month on every loan, and no fees."""
        prices = [v for k, v in params if k.startswith("cost_") and isinstance(v, float)]
        return 0.0, sum(prices) * scenario.run.simulated_months()

    def setup(self, sim: Context) -> None:
        """Register hooks or start processes; called once before the run starts."""

    def report(self, sim: Context) -> dict[str, float]:
        """The policy's own figures for ``summary.json``, in currency units and counts
        (the same keys in every replication)."""
        return {"actions": float(self.actions), "cost": sim.ledger.cost_cents(self.name) / 100}

    def book_cost(self, sim: Context, cents: int) -> None:
        """Book operating cost (a total, in cents) to this policy."""
        sim.ledger.book_cost(self.name, int(cents))

    def book_priced(self, sim: Context, count: int, price: float) -> None:
        """Book `count` actions at `price` (currency units, may be below a cent): the total
        booked so far is always the exact running total rounded to the cent."""
        booked = round(self._priced)
        self._priced += count * price * 100
        self.book_cost(sim, round(self._priced) - booked)


@runtime_checkable
class BringsApplicants(Protocol):
    """A policy that brings applicants to the book (underwriting's origination): the engine
    adds them to the population, with their loans not yet lent."""

    def application_months(self, scenario: Scenario) -> np.ndarray:
        """The month each applicant applies in."""
        ...


@runtime_checkable
class AddsPortfolioMetrics(Protocol):
    """A policy that makes portfolio-level metrics meaningful (``approval_rate``): they join
    the headline metrics."""

    def portfolio_metrics(self, sim: Context) -> dict[str, float]:
        """The metrics, by name."""
        ...


@runtime_checkable
class OffersModification(Protocol):
    """A policy that modifies loans when offered from outside (hardship deferral,
    restructuring): early warning's outreach passes on those who take it up."""

    def offer(self, sim: Context, ids: np.ndarray) -> int:
        """Offer loans `ids` the modification; returns how many were granted it."""
        ...


class Registry(dict[str, "type[Policy[Any]]"]):
    """Policy classes by name. The built-in policies register themselves as their modules
    are imported, which happens when the registry is read (not when loansim is imported, so
    ``loansim --version`` and ``import loansim`` stay quick): looking one name up imports
    the module of that name (``policies/<name>.py``) alone, so checking a scenario imports
    only the policies it uses; listing the registry imports them all."""

    _loaded = False

    def _ready(self) -> None:
        if not self._loaded:
            self._loaded = True
            import_builtin_policies()
            load_plugins(self)

    def _find(self, name: object) -> None:
        """Import the built-in module named `name`, if any, unless it is registered already;
        a name that is not built in loads every policy, installed plug-ins included."""
        if self._loaded or super().__contains__(name) or not isinstance(name, str) or not name.isidentifier():
            return
        import importlib

        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
        if not super().__contains__(name):  # registered under another module's name
            self._ready()

    def __getitem__(self, name: str) -> type[Policy[Any]]:
        self._find(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self._find(name)
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._ready()
        return super().__iter__()

    def __len__(self) -> int:
        self._ready()
        return super().__len__()

    def get(self, name: str, default: Any = None) -> Any:
        self._find(name)
        return super().get(name, default)

    def keys(self) -> Any:
        self._ready()
        return super().keys()

    def values(self) -> Any:
        self._ready()
        return super().values()

    def items(self) -> Any:
        self._ready()
        return super().items()


REGISTRY: Registry = Registry()


def register(cls: type[Policy[P]]) -> type[Policy[P]]:
    """Class decorator that makes a policy available to scenario files by its name."""
    if dict.__contains__(REGISTRY, cls.name):
        raise ValueError(f"policy {cls.name!r} is registered twice")
    REGISTRY[cls.name] = cls
    return cls


ENTRY_POINTS = "loansim.policies"
"""The entry point group through which other packages provide policies."""


def on_time_days(policies: dict[str, PolicyParams]) -> tuple[int, str]:
    """The most days after a due date in which a payment counts as on time under the enabled
    `policies` (``Policy.on_time_days``), and the policy that gives them ("" if none)."""
    return max(((REGISTRY[name].on_time_days(params), name) for name, params in policies.items()), default=(0, ""))


def load_plugins(registry: Registry) -> None:
    """Register the policies other installed packages provide (``ENTRY_POINTS``): each entry
    point names a ``Policy`` class whose ``name`` is the entry point's name."""
    from importlib.metadata import entry_points

    from loansim.errors import PluginError

    for point in entry_points(group=ENTRY_POINTS):
        where = f"the {ENTRY_POINTS} entry point {point.name!r} = {point.value!r}" + (
            f" of the package {point.dist.name}" if point.dist is not None else "")
        try:
            cls = point.load()
        except Exception as exc:  # a plug-in's own bug or missing dependency: say whose
            raise PluginError(f"{where} cannot be loaded: {type(exc).__name__}: {exc}; "
                              "reinstall that package or uninstall it") from exc
        if not (isinstance(cls, type) and issubclass(cls, Policy)):
            raise PluginError(f"{where} is {cls!r}, not a subclass of loansim.policies.Policy")
        if getattr(cls, "name", None) != point.name:
            raise PluginError(f"{where} gives a policy named {getattr(cls, 'name', None)!r}; "
                              "the entry point's name must be the policy's name")
        known = dict.get(registry, point.name)
        if known is None:
            dict.__setitem__(registry, point.name, cls)
        elif known is not cls:
            raise PluginError(f"{where} gives a policy {point.name!r}, but loansim already has one of that name "
                              f"({known.__module__}.{known.__qualname__}); rename the plug-in's policy")


def import_builtin_policies() -> None:
    """Import every module of this package: built-in policies register themselves.

    Called once, when ``REGISTRY`` is first read, by when the rest of loansim is imported,
    so that policy modules may import it (and it this module) freely.
    """
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
