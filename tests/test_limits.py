"""Bounds that keep every amount inside int64 cents (``loansim.limits``).

The money and count keys are found by walking the schema and every policy's parameters, so
a new money key without a bound fails here.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from conftest import SCENARIOS, deep_update, run, TINY
from loansim.distributions import Bounds, _Dist
from loansim.errors import ScenarioError
from loansim.limits import (CENTS_LIMIT, HEADROOM, MAX_AMOUNT, MAX_BORROWERS, MAX_MONTHS, MAX_PRICE,
                            budget_problems)
from loansim.loans import floor_cents, ledger_errors, to_cents
from loansim.policies import REGISTRY
from loansim.scenario import load_scenario, validate_scenario
from loansim.scenario.schema import Scenario

NAME = "x"  # the name a table of named tables (shocks, stages) gets in these tests
NOT_COUNTS = {"seed"}  # whole numbers that count nothing


def _models(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    """Models (not distributions) in an annotation, and whether each is a table of named ones."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not issubclass(annotation, _Dist):
        return [(annotation, False)]
    if typing.get_origin(annotation) is dict:
        return [(m, True) for m, _ in _models(typing.get_args(annotation)[1])]
    return [found for arg in typing.get_args(annotation) for found in _models(arg)]


def _dist_bounds(annotation: Any) -> Bounds | None:
    if hasattr(annotation, "metadata") and hasattr(annotation, "annotation"):  # a field: pydantic lifts Annotated metadata
        return next((m for m in annotation.metadata if isinstance(m, Bounds)), None) or _dist_bounds(annotation.annotation)
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Bounds):
            return meta
    for arg in typing.get_args(annotation):
        if (found := _dist_bounds(arg)) is not None:
            return found
    return None


def _is_int(annotation: Any) -> bool:
    return annotation is int or (typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType"))
                                 and int in typing.get_args(annotation))


def walk(model: type[BaseModel], prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any, str]]:
    """(path, field, kind) for every money key ('money' or 'money_dist') and count key below `model`."""
    found = []
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        text = (field.description or "") + " " + name
        for sub, named in _models(field.annotation):
            found += walk(sub, (*path, NAME) if named else path)
        if "currency units" in text or "cents" in text:
            found.append((path, field, "money_dist" if _dist_bounds(field) else "money"))
        elif _is_int(field.annotation) and name not in NOT_COUNTS:
            found.append((path, field, "count"))
    return found


def all_keys() -> list[tuple[tuple[str, ...], Any, str]]:
    keys = walk(Scenario, ())
    for name, cls in sorted(REGISTRY.items()):
        keys += walk(cls.Params, ("policies", name))
    return keys


def le(field: Any) -> float:
    return min((m.le for m in field.metadata if hasattr(m, "le")), default=math.inf)


KEYS = all_keys()
MONEY = [k for k in KEYS if k[2].startswith("money")]


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def test_the_walk_finds_the_money_keys_we_know() -> None:
    names = {dotted(p) for p, _, _ in MONEY}
    for key in ("portfolio.principal", "borrowers.income_monthly", "borrowers.shocks.x.expense",
                "borrowers.stacking.max_balance", "policies.late_fee.flat_fee", "policies.late_fee.max_fees_per_loan",
                "policies.reminders.cost_per_sms", "policies.collections.stages.x.cost_per_action",
                "policies.collections.legal.cost_per_case", "policies.underwriting.cost_per_verification"):
        assert key in names
    assert len(MONEY) >= 20


@pytest.mark.parametrize("path,field,kind", KEYS, ids=[dotted(k[0]) for k in KEYS])
def test_every_money_and_count_key_has_a_finite_upper_bound(path, field, kind) -> None:
    if kind == "money_dist":
        bounds = _dist_bounds(field)
        assert math.isfinite(bounds.max_mean) and math.isfinite(bounds.cap), dotted(path)
    else:
        assert math.isfinite(le(field)), f"{dotted(path)} has no upper bound (le=)"


def test_the_budget_arithmetic() -> None:
    # One action at MAX_PRICE on every loan, every month of the longest run, largest book.
    assert MAX_PRICE * 100 * MAX_BORROWERS * MAX_MONTHS <= CENTS_LIMIT
    # Everything lent on the largest book at MAX_AMOUNT a loan uses under 1% of the budget.
    assert MAX_AMOUNT * 100 * MAX_BORROWERS <= CENTS_LIMIT / HEADROOM / 40
    for path, field, kind in MONEY:
        bound = _dist_bounds(field).cap if kind == "money_dist" else le(field)
        assert bound <= MAX_AMOUNT, dotted(path)


# --- each money key at its bound on a tiny book, and just above it -------------------------

SMALL = deep_update(TINY, {"run": {"months": 4}, "portfolio": {"borrowers": 300, "term_months": 6}})

# What a key needs around it to act at all (a shock needs a rate, a policy its companions).
NEEDS: dict[str, dict[str, Any]] = {
    "portfolio.products": {"portfolio": {"products": {NAME: {"principal": 500.0, "apr": 0.2, "term_months": 3}},
                                         "segments": {"all": {"share": 1.0, "products": ["loan", NAME]}}},
                           "borrowers": {"income_monthly": MAX_AMOUNT}},
    "borrowers.shocks": {"borrowers": {"shocks": {NAME: {"annual_rate": 6.0}}}},
    "borrowers.stacking": {"borrowers": {"stacking": {"take_up_prob": 0.5}}},
    "policies.collections.stages": {"policies": {"collections": {"stages": {NAME: {
        "entry_dpd": 1, "collectors": 10, "actions_per_collector_per_day": 100, "cost_per_action": 1.0,
        "contact_prob": 0.5, "promise_prob": 0.5, "promise_days": 3}}}}},
    "policies.collections.legal": {"lender": {"charge_off_dpd": 90},
                                   "policies": {"collections": {"legal": {"duration_days": 1, "min_balance": 0}}}},
    "policies.early_warning": {"policies": {"hardship_deferral": {}}},
}


def _nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    return out


def scenario_at(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = SMALL
    if path[0] == "policies":
        data = deep_update(data, {"policies": {path[1]: {}}})
    for prefix, needs in NEEDS.items():
        if dotted(path).startswith(prefix):
            data = deep_update(data, needs)
    if dotted(path) == "portfolio.principal":  # the top end of loans: incomes to match, so some pay
        data = deep_update(data, {"borrowers": {"income_monthly": MAX_AMOUNT}})
    return deep_update(data, _nested(path, value))


def bound(field: Any, kind: str) -> float:
    return _dist_bounds(field).max_mean if kind == "money_dist" else le(field)


# Priced actions whose count is the policy's ``actions``: cost = actions × price, to the cent,
# when the policy's other prices are 0.
EXACT_COST = {"policies.reminders.cost_per_sms": {"app": False},
              "policies.reminders.cost_per_app_message": {"app": True, "sms": False},
              "policies.clearer_terms.cost_per_loan": {},
              "policies.due_date_alignment.cost_per_borrower": {},
              "policies.early_warning.cost_per_outreach": {},
              "policies.education.cost_per_participant": {},
              "policies.restructuring.cost_per_modification": {},
              "policies.underwriting.cost_per_application": {}}


@pytest.mark.parametrize("path,field,kind", MONEY, ids=[dotted(k[0]) for k in MONEY])
def test_money_key_at_its_bound_runs_and_balances(path, field, kind) -> None:
    top = bound(field, kind)
    data = scenario_at(path, top)
    exact = dotted(path) in EXACT_COST
    if exact:
        others = {k: 0.0 for k in REGISTRY[path[1]].Params.model_fields if k.startswith("cost_") and k != path[-1]}
        data = deep_update(data, {"policies": {path[1]: {**others, **EXACT_COST[dotted(path)]}}})
    sim, result = run(validate_scenario(data))
    assert ledger_errors(sim.loans) == []
    totals = sim.ledger.totals()
    assert all(abs(v) < CENTS_LIMIT / HEADROOM for v in totals.values())
    assert sum(int(v) for v in sim.ledger.flows["operating_cost"]) == totals["operating_cost"]
    assert sum(int(v) for v in sim.ledger.flows["fees_billed"]) == totals["fees_billed"]
    if exact:
        policy = next(p for p in sim.policies if p.name == path[1])
        assert policy.actions > 0
        assert sim.ledger.cost_cents(path[1]) == policy.actions * int(to_cents(top))
    if dotted(path) == "policies.late_fee.flat_fee":
        policy = next(p for p in sim.policies if p.name == "late_fee")
        assert policy.actions > 0 and totals["fees_billed"] == policy.actions * int(to_cents(top))


@pytest.mark.parametrize("path,field,kind", MONEY, ids=[dotted(k[0]) for k in MONEY])
def test_money_key_just_above_its_bound_is_refused(path, field, kind) -> None:
    over = math.nextafter(bound(field, kind), math.inf) * (1 + 1e-9)
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(scenario_at(path, over))
    message = str(caught.value)
    assert f"{dotted(path)} = " in message
    assert ("must be <=" in message) or ("mean must be at most" in message)


COUNTS = [k for k in KEYS if k[2] == "count"]


@pytest.mark.parametrize("path,field,kind", COUNTS, ids=[dotted(k[0]) for k in COUNTS])
def test_count_key_just_above_its_bound_is_refused(path, field, kind) -> None:
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(scenario_at(path, int(le(field)) + 1))
    assert f"{dotted(path)} = {int(le(field)) + 1}: must be <= " in str(caught.value)


def test_the_documented_message_for_a_fee_above_its_bound() -> None:
    with pytest.raises(ScenarioError, match=r"^<scenario>: policies\.late_fee\.flat_fee = 1e\+300: must be <= 1000000$"):
        validate_scenario(deep_update(SMALL, {"policies": {"late_fee": {"flat_fee": 1e300}}}))


# --- what the keys do together -------------------------------------------------------------

def test_income_growth_over_a_long_run_is_refused_before_it_starts() -> None:
    overrides = ["portfolio.borrowers=300", "run.months=1200", "economy.annual_income_growth=1.0",
                 "portfolio.term_months=600"]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(SCENARIOS / "baseline.toml", overrides)
    message = str(caught.value)
    assert message.startswith("--set: economy.annual_income_growth = 1.0: over run.months = 1200")
    assert "and up to 120 months of run-off (run.lifetime) it multiplies incomes by 1.3e+33" in message


def test_income_growth_over_a_short_run_is_fine() -> None:
    load_scenario(SCENARIOS / "baseline.toml", ["run.months=120", "run.lifetime=false", "economy.annual_income_growth=1.0"])


def test_a_long_run_of_compounding_arrears_on_a_large_book_is_refused() -> None:
    data = deep_update(SMALL, {"run": {"months": 1200}, "portfolio": {"borrowers": MAX_BORROWERS, "apr": 10.0},
                               "policies": {"restructuring": {}}})
    with pytest.raises(ScenarioError, match=r"run\.months = 1200: .* loans could each come to"):
        validate_scenario(data)


def test_outside_debt_that_compounds_for_ever_is_refused() -> None:
    data = deep_update(SMALL, {"borrowers": {"stacking": {"take_up_prob": 0.5, "max_balance": MAX_AMOUNT, "apr": 20.0,
                                                          "max_rollovers": 1000}}, "run": {"months": 1200}})
    with pytest.raises(ScenarioError, match=r"borrowers\.stacking"):
        validate_scenario(data)


@pytest.mark.parametrize("months", [None, 1200])
def test_every_bundled_scenario_fits_its_budget(months: int | None) -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        scenario = load_scenario(path, [] if months is None else [f"run.months={months}"])
        assert budget_problems(scenario, scenario.policies) == [], path.name


def test_capitalised_months_count_what_the_policies_can_capitalise() -> None:
    from loansim.policies import REGISTRY

    scenario = validate_scenario(deep_update(SMALL, {"run": {"months": 120}, "policies": {
        "hardship_deferral": {"months": 3, "cooldown_months": 12, "max_dpd": 30, "interest": "capitalised"},
        "restructuring": {"max_modifications": 2, "cooldown_months": 6}}}))
    hardship, restructuring = scenario.policies["hardship_deferral"], scenario.policies["restructuring"]
    assert REGISTRY["hardship_deferral"].capitalised_months(hardship, scenario) == 10 * (1 + 3)  # 10 deferrals in 120 months
    assert REGISTRY["restructuring"].capitalised_months(restructuring, scenario) == 2 * (4 + 1)  # arrears up to charge-off at 120 DPD


def test_heavy_tailed_money_draws_are_capped() -> None:
    scenario = validate_scenario(deep_update(SMALL, {"borrowers": {"income_monthly": {"dist": "lognormal", "median": 1, "sigma": 5}}}))
    draws = scenario.borrowers.income_monthly.sample(np.random.default_rng(0), 1_000_000)
    assert draws.max() == MAX_AMOUNT
    assert scenario.borrowers.income_monthly.cap == MAX_AMOUNT


def test_an_amount_beyond_int64_cents_fails_loudly() -> None:
    with pytest.raises(OverflowError, match="does not fit in int64 cents"):
        to_cents(1e300)
    with pytest.raises(OverflowError):
        floor_cents(np.array([1.0, 1e17]))
