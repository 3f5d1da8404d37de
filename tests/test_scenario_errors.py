"""Every documented scenario input error is caught, and its message says where and why."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SCENARIOS, TINY, deep_update, make_scenario
from loansim.errors import ScenarioError, UserError
from loansim.policies import REGISTRY
from loansim.scenario import Scenario, load_scenario

DIST_NAMES = "fixed, uniform, normal, lognormal, beta"


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and "dist" not in value


def to_toml(data: dict[str, Any], table: str = "") -> str:
    """TOML text for `data`; tables with a `dist` key are written inline."""
    lines = [f"[{table}]"] if table else []
    lines += [f"{k} = {_inline(v)}" for k, v in data.items() if not _is_table(v)]
    lines += [to_toml(v, f"{table}.{k}" if table else k) for k, v in data.items() if _is_table(v)]
    return "\n".join(lines) + "\n"


def write(folder: Path, name: str, content: str | dict[str, Any]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else to_toml(content), encoding="utf-8")
    return path


def tiny_file(folder: Path, filename: str = "s.toml", /, **changes: Any) -> Path:
    return write(folder, filename, deep_update(TINY, changes))


def without(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    *parents, leaf = dotted.split(".")
    node = out
    for part in parents:
        node = node[part]
    del node[leaf]
    return out


def error_of(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides or [])
    return str(info.value)


# ------------------------------------------------------------------ valid files


def test_tiny_scenario_written_as_toml_loads_like_make_scenario(tmp_path: Path) -> None:
    assert load_scenario(tiny_file(tmp_path)) == make_scenario()


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_bundled_scenario_validates(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem
    assert scenario.description


def test_scenario_error_is_a_user_error() -> None:
    assert issubclass(ScenarioError, UserError)


# ------------------------------------------------------------------ unknown keys


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"borowers": 1}, "borowers = 1: unknown key (did you mean 'borrowers'?); expected one of: borrowers, description,"),
        ({"portfolio": {"borowers": 1}}, "portfolio.borowers = 1: unknown key (did you mean 'borrowers'?); expected one of: apr, borrowers, payment_order, principal, products, segments, term_months"),
        ({"run": {"month": 12}}, "run.month = 12: unknown key (did you mean 'months'?)"),
        ({"policies": {"late_fee": {"flat_fe": 3}}}, "policies.late_fee.flat_fe = 3: unknown key (did you mean 'flat_fee'?); expected one of: enabled, flat_fee, max_fees_per_loan, penalty_monthly_rate"),
        ({"borrowers": {"income_monthly": {"dist": "lognormal", "median": 3500, "sigma": 0.4, "median_": 1}}},
         "borrowers.income_monthly.median_ = 1: unknown key (did you mean 'median'?); expected one of: dist, median, sigma"),
        ({"borrowers": {"income_monthly": {"dist": "normal", "mean": 3500, "sd": 9, "low": 0, "hgh": 1}}},
         "borrowers.income_monthly.hgh = 1: unknown key (did you mean 'high'?)"),
    ],
    ids=["top-level", "table", "run-table", "policy-table", "lognormal-table", "normal-table"],
)
def test_unknown_key_names_it_and_suggests_the_near_miss(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    path = tiny_file(tmp_path, **changes)
    assert error_of(path).startswith(f"{path}: {expected}")


def test_unknown_key_in_distribution_with_misspelt_required_key(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, borrowers={"income_monthly": {"dist": "lognormal", "median_": 3500, "sigma": 0.4}})
    message = error_of(path)
    assert f"{path}: borrowers.income_monthly.median_ = 3500: unknown key (did you mean 'median'?)" in message
    assert f"{path}: borrowers.income_monthly.median: is required but missing" in message


def test_unknown_key_far_from_any_name_has_no_hint(tmp_path: Path) -> None:
    message = error_of(tiny_file(tmp_path, portfolio={"xyzzy": 1}))
    assert "portfolio.xyzzy = 1: unknown key; expected one of: apr, borrowers, payment_order, principal, products, segments, term_months" in message
    assert "did you mean" not in message


# ------------------------------------------------------------------ wrong types


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"run": {"months": 1.5}}, "run.months = 1.5: must be a whole number"),
        ({"portfolio": {"borrowers": "many"}}, 'portfolio.borrowers = "many": must be a whole number'),
        ({"portfolio": {"apr": "high"}}, 'portfolio.apr = "high": must be a number'),
        ({"borrowers": {"partial_payments": "maybe"}}, 'borrowers.partial_payments = "maybe": must be true or false'),
        ({"name": 5}, "name = 5: must be a string"),
        ({"name": ""}, 'name = "": must not be empty'),
        ({"borrowers": {"income_monthly": True}}, "borrowers.income_monthly = true: must be"),
        ({"portfolio": {"principal": [1, 2]}}, "portfolio.principal = [1, 2]: must be"),
        ({"economy": "bad"}, 'economy = "bad": must be a table'),
        ({"portfolio": {"payment_order": "loan"}}, 'portfolio.payment_order = "loan": must be a list'),
        ({"policies": {"late_fee": 3}}, "policies.late_fee = 3: must be a table of the policy's parameters"),
        ({"policies": 3}, "policies = 3: must be a table of [policies.<name>] tables"),
    ],
    ids=["float-for-int", "word-for-int", "word-for-float", "word-for-bool", "int-for-str", "empty-name",
         "bool-for-dist", "list-for-dist", "scalar-for-table", "scalar-for-list", "scalar-policy", "scalar-policies"],
)
def test_wrong_type_is_reported(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    path = tiny_file(tmp_path, **changes)
    assert f"{path}: {expected}" in error_of(path)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"portfolio": {"borrowers": "100"}}, 'portfolio.borrowers = "100": must be a whole number'),
        ({"run": {"seed": "7"}}, 'run.seed = "7": must be a whole number'),
        ({"portfolio": {"apr": True}}, "portfolio.apr = true: must be a number"),
        ({"portfolio": {"borrowers": True}}, "portfolio.borrowers = true: must be a whole number"),
        ({"borrowers": {"partial_payments": "yes"}}, 'borrowers.partial_payments = "yes": must be true or false'),
    ],
    ids=["string-for-int", "string-for-seed", "bool-for-float", "bool-for-int", "string-for-bool"],
)
def test_wrong_type_is_not_coerced(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    path = tiny_file(tmp_path, **changes)
    assert f"{path}: {expected}" in error_of(path)


def test_string_for_distribution_says_a_number_is_accepted(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, borrowers={"income_monthly": "3000"})
    message = error_of(path)
    assert f'{path}: borrowers.income_monthly = "3000": must be' in message
    assert "number" in message


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"portfolio": {"apr": -0.1}}, "portfolio.apr = -0.1: must be >= 0"),
        ({"portfolio": {"apr": 11}}, "portfolio.apr = 11: must be <= 10"),
        ({"economy": {"monthly_job_loss_prob": 1.5}}, "economy.monthly_job_loss_prob = 1.5: must be <= 1"),
        ({"economy": {"monthly_job_finding_prob": -0.5}}, "economy.monthly_job_finding_prob = -0.5: must be >= 0"),
        ({"borrowers": {"unemployment_income_share": 2}}, "borrowers.unemployment_income_share = 2: must be <= 1"),
        ({"portfolio": {"term_months": 0}}, "portfolio.term_months = 0: must be >= 1"),
        ({"portfolio": {"borrowers": 0}}, "portfolio.borrowers = 0: must be >= 1"),
        ({"run": {"months": 1201}}, "run.months = 1201: must be <= 1200"),
        ({"run": {"seed": -1}}, "run.seed = -1: must be >= 0"),
        ({"lender": {"recovery_delay_months": -1}}, "lender.recovery_delay_months = -1: must be >= 0"),
        ({"policies": {"late_fee": {"flat_fee": -5}}}, "policies.late_fee.flat_fee = -5: must be >= 0"),
        ({"policies": {"late_fee": {"penalty_monthly_rate": 1.5}}}, "policies.late_fee.penalty_monthly_rate = 1.5: must be <= 1"),
        ({"portfolio": {"principal": 0}}, "portfolio.principal = 0: values must lie in (0, inf]"),
        ({"borrowers": {"income_monthly": {"dist": "lognormal", "median": -1, "sigma": 0.4}}}, "borrowers.income_monthly.median = -1: must be > 0"),
        ({"borrowers": {"income_monthly": {"dist": "normal", "mean": 1, "sd": -1, "low": 0}}}, "borrowers.income_monthly.sd = -1: must be >= 0"),
        ({"borrowers": {"target_buffer_months": -0.5}}, "borrowers.target_buffer_months = -0.5: values must lie in [0, inf]"),
        ({"borrowers": {"buffer_adjustment": 0}}, "borrowers.buffer_adjustment = 0: must be > 0"),
        ({"borrowers": {"arrears_priority": 1.5}}, "borrowers.arrears_priority = 1.5: must be <= 1"),
        ({"borrowers": {"forget_notice_days": 40}}, "borrowers.forget_notice_days = 40: values must lie in [1, 29]"),
        ({"policies": {"restructuring": {"out_of_work_accept_prob": 1.5}}},
         "policies.restructuring.out_of_work_accept_prob = 1.5: must be <= 1"),
    ],
    ids=["negative-apr", "huge-apr", "prob-above-1", "prob-below-0", "share-above-1", "zero-term", "zero-borrowers",
         "too-many-months", "negative-seed", "negative-delay", "negative-fee", "penalty-above-1", "zero-principal",
         "negative-median", "negative-sd", "negative-target-buffer", "zero-adjustment", "priority-above-1",
         "notice-beyond-a-month", "out-of-work-acceptance-above-1"],
)
def test_value_out_of_range(tmp_path: Path, changes: dict[str, Any], expected: str) -> None:
    path = tiny_file(tmp_path, **changes)
    assert f"{path}: {expected}" in error_of(path)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"portfolio": {"principal": float("inf")}}, "portfolio.principal = inf"),
        ({"borrowers": {"income_monthly": float("nan")}}, "borrowers.income_monthly = nan"),
        ({"borrowers": {"spending_noise_sd": float("inf")}}, "borrowers.spending_noise_sd = inf"),
        ({"policies": {"late_fee": {"flat_fee": float("inf")}}}, "policies.late_fee.flat_fee = inf"),
    ],
    ids=["inf-principal", "nan-income", "inf-noise", "inf-fee"],
)
def test_non_finite_number_is_rejected(tmp_path: Path, changes: dict[str, Any], key: str) -> None:
    path = tiny_file(tmp_path, **changes)
    assert f"{path}: {key}: " in error_of(path)


# ------------------------------------------------------------------ distributions


def test_unclipped_normal_probability_is_rejected(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, borrowers={"monthly_forget_prob": {"dist": "normal", "mean": 0.05, "sd": 0.01}})
    message = error_of(path)
    assert message.startswith(f'{path}: borrowers.monthly_forget_prob = {{dist = "normal", mean = 0.05, sd = 0.01}}: values must lie in [0, 1]')
    assert "normal distribution gives values in [-inf, inf]" in message


def test_clipped_normal_probability_is_accepted(tmp_path: Path) -> None:
    clipped = {"dist": "normal", "mean": 0.05, "sd": 0.01, "low": 0, "high": 1}
    scenario = load_scenario(tiny_file(tmp_path, borrowers={"monthly_forget_prob": clipped}))
    assert scenario.borrowers.monthly_forget_prob.support() == (0, 1)


def test_beta_scaled_beyond_one_for_a_probability_is_rejected(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, lender={"recovery_rate": {"dist": "beta", "a": 2, "b": 2, "low": 0, "high": 1.5}})
    message = error_of(path)
    assert message.startswith(f"{path}: lender.recovery_rate = {{")
    assert "values must lie in [0, 1]" in message


def test_unknown_distribution_name(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, borrowers={"income_monthly": {"dist": "gamma", "k": 2}})
    assert f'{path}: borrowers.income_monthly = {{dist = "gamma", k = 2}}: dist must be one of: {DIST_NAMES}' in error_of(path)


def test_distribution_table_without_dist(tmp_path: Path) -> None:
    data = deep_update(TINY, {})
    data["borrowers"]["income_monthly"] = {"median": 3500, "sigma": 0.4}
    path = write(tmp_path, "s.toml", data)
    expected = f"{path}: borrowers.income_monthly = {{median = 3500, sigma = 0.4}}: a distribution needs a number or a table with a dist key"
    assert expected in error_of(path)


def test_uniform_with_high_below_low(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, borrowers={"income_monthly": {"dist": "uniform", "low": 5000, "high": 1000}})
    message = error_of(path)
    assert f"{path}: borrowers.income_monthly = " in message
    assert "high (1000.0) must be >= low (5000.0)" in message


def test_charge_off_before_default_is_rejected(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, lender={"default_dpd": 90, "charge_off_dpd": 60})
    message = error_of(path)
    assert message == f"{path}: lender.charge_off_dpd = 60: must be >= default_dpd (90)"


def test_charge_off_at_default_is_accepted(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_file(tmp_path, lender={"default_dpd": 60, "charge_off_dpd": 60}))
    assert (scenario.lender.default_dpd, scenario.lender.charge_off_dpd) == (60, 60)


# ------------------------------------------------------------------ missing keys, policies


@pytest.mark.parametrize("dotted", ["portfolio.borrowers", "portfolio.apr", "borrowers.income_monthly", "portfolio"])
def test_missing_required_key(tmp_path: Path, dotted: str) -> None:
    path = write(tmp_path, "s.toml", without(TINY, dotted))
    assert f"{path}: {dotted}: is required but missing" in error_of(path)


def test_unknown_policy_suggests_the_near_miss(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, policies={"late_fees": {}})
    assert error_of(path) == (f"{path}: policies.late_fees = {{}}: unknown policy (did you mean 'late_fee'?); "
                              f"known policies: {', '.join(sorted(REGISTRY))}")


def test_empty_policy_table_enables_it_with_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(tiny_file(tmp_path, policies={"late_fee": {}}))
    assert scenario.to_dict()["policies"] == {"late_fee": {"flat_fee": 25.0, "penalty_monthly_rate": 0.0, "max_fees_per_loan": None}}


def test_every_problem_in_a_file_is_reported(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, portfolio={"apr": -0.1, "term_months": 0}, economy={"monthly_job_loss_prob": 1.5, "typo": 1},
                     policies={"late_fee": {"flat_fee": -5}, "reminder": {}})
    lines = error_of(path).splitlines()
    assert len(lines) == 6
    assert all(line.startswith(f"{path}: ") for line in lines)
    for expected in ("portfolio.apr = -0.1", "portfolio.term_months = 0", "economy.monthly_job_loss_prob = 1.5",
                     "economy.typo = 1", "policies.late_fee.flat_fee = -5", "policies.reminder = {}"):
        assert sum(expected in line for line in lines) == 1, expected


# ------------------------------------------------------------------ files and extends


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", "[portfolio\nborrowers = 1\n")
    message = error_of(path)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in message


def test_duplicate_table_is_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", to_toml(TINY) + "[portfolio]\napr = 0.2\n")
    assert error_of(path).startswith(f"{path}: not valid TOML: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert error_of(path) == f"{path}: no such scenario file"


def test_folder_is_not_a_scenario_file(tmp_path: Path) -> None:
    assert error_of(tmp_path) == f"{tmp_path}: is a folder, not a scenario file"


def test_extends_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "child.toml", 'extends = "nope.toml"\n')
    assert error_of(path) == f'{path}: extends = "nope.toml": no such scenario file'


def test_extends_cycle(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", 'extends = "b.toml"\n' + to_toml(TINY))
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    message = error_of(a)
    assert message == f'{b}: extends = "a.toml": cycle of extends (a.toml -> b.toml -> a.toml)'


def test_extends_self(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", 'extends = "s.toml"\n' + to_toml(TINY))
    assert error_of(path) == f'{path}: extends = "s.toml": cycle of extends (s.toml -> s.toml)'


@pytest.mark.parametrize("value", ["3", '["a.toml"]', "true", '{file = "a.toml"}'])
def test_extends_must_be_a_string(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, "s.toml", f"extends = {value}\n" + to_toml(TINY))
    message = error_of(path)
    assert message.startswith(f"{path}: extends = ")
    assert message.endswith(": must be a file name (a string)")
    assert "\n" not in message


def test_invalid_toml_in_parent_names_the_parent(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.toml", "portfolio = \n")
    child = write(tmp_path, "child.toml", 'extends = "parent.toml"\n')
    message = error_of(child)
    assert message.startswith(f"{parent}: not valid TOML: ")


def test_chain_of_extends_resolves_relative_to_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "base/a.toml", deep_update(TINY, {"description": "from a", "run": {"months": 30}}))
    write(tmp_path, "mid/b.toml", 'extends = "../base/a.toml"\n'
          + to_toml({"run": {"months": 12, "seed": 5}, "portfolio": {"apr": 0.2}, "borrowers": {"income_monthly": 3000}}))
    c = write(tmp_path, "c.toml", 'extends = "mid/b.toml"\n' + to_toml({"run": {"seed": 99}, "portfolio": {"apr": 0.25}}))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = load_scenario(c)
    assert s.name == "c"
    assert s.description == "from a"
    assert (s.run.seed, s.run.months, s.portfolio.apr) == (99, 12, 0.25)
    assert s.portfolio.borrowers == TINY["portfolio"]["borrowers"]
    assert s.portfolio.term_months == TINY["portfolio"]["term_months"]
    assert s.to_dict()["borrowers"]["income_monthly"] == {"dist": "fixed", "value": 3000.0}
    assert s.borrowers.spending_noise_sd == TINY["borrowers"]["spending_noise_sd"]


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (3000, {"dist": "fixed", "value": 3000.0}),
        ({"dist": "beta", "a": 2, "b": 5, "low": 1000, "high": 9000}, {"dist": "beta", "a": 2.0, "b": 5.0, "low": 1000.0, "high": 9000.0}),
        ({"dist": "uniform", "low": 1000, "high": 2000}, {"dist": "uniform", "low": 1000.0, "high": 2000.0}),
    ],
    ids=["fixed-number", "beta", "uniform"],
)
def test_child_distribution_replaces_the_parent_one_whole(tmp_path: Path, child: Any, expected: dict[str, Any]) -> None:
    write(tmp_path, "a.toml", TINY)
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n' + to_toml({"borrowers": {"income_monthly": child}}))
    assert load_scenario(b).to_dict()["borrowers"]["income_monthly"] == expected


def test_child_table_without_dist_merges_into_parent_distribution(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", TINY)
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n[borrowers.income_monthly]\nsigma = 0.1\n')
    assert load_scenario(b).to_dict()["borrowers"]["income_monthly"] == {"dist": "lognormal", "median": 3500.0, "sigma": 0.1}


def test_child_names_itself_not_after_parent(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", TINY)
    assert load_scenario(write(tmp_path, "what-if.toml", 'extends = "a.toml"\n')).name == "what-if"
    assert load_scenario(write(tmp_path, "named.toml", 'extends = "a.toml"\nname = "mine"\n')).name == "mine"


def test_errors_name_the_file_that_set_the_value(tmp_path: Path) -> None:
    a = tiny_file(tmp_path, "a.toml", portfolio={"apr": -0.1})
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n' + to_toml({"portfolio": {"term_months": 0}, "run": {"months": 12}}))
    c = write(tmp_path, "c.toml", 'extends = "b.toml"\n' + to_toml({"economy": {"monthly_job_loss_prob": 2}}))
    lines = error_of(c).splitlines()
    assert any(line.startswith(f"{a}: portfolio.apr = -0.1: must be >= 0") for line in lines)
    assert any(line.startswith(f"{b}: portfolio.term_months = 0: must be >= 1") for line in lines)
    assert any(line.startswith(f"{c}: economy.monthly_job_loss_prob = 2: must be <= 1") for line in lines)
    assert len(lines) == 3


def test_parent_distribution_error_names_the_parent(tmp_path: Path) -> None:
    a = tiny_file(tmp_path, "a.toml", borrowers={"monthly_forget_prob": {"dist": "normal", "mean": 0.05, "sd": 0.01}})
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n[borrowers]\nspending_noise_sd = 0.01\n')
    assert error_of(b).startswith(f"{a}: borrowers.monthly_forget_prob = ")


def test_child_value_overriding_a_bad_parent_value_is_clean(tmp_path: Path) -> None:
    tiny_file(tmp_path, "a.toml", portfolio={"apr": -0.1})
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n[portfolio]\napr = 0.1\n')
    assert load_scenario(b).portfolio.apr == 0.1


def test_parent_charge_off_error_names_the_parent(tmp_path: Path) -> None:
    a = tiny_file(tmp_path, "a.toml", lender={"default_dpd": 90, "charge_off_dpd": 60})
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n[lender]\nrecovery_rate = 0.1\n')
    assert error_of(b) == f"{a}: lender.charge_off_dpd = 60: must be >= default_dpd (90)"


# ------------------------------------------------------------------ --set


def test_set_overrides_a_value(tmp_path: Path) -> None:
    s = load_scenario(tiny_file(tmp_path), ["portfolio.borrowers=2000", "run.months = 6"])
    assert (s.portfolio.borrowers, s.run.months) == (2000, 6)
    assert s.portfolio.apr == TINY["portfolio"]["apr"]


def test_set_wins_over_every_file_in_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", TINY)
    b = write(tmp_path, "b.toml", 'extends = "a.toml"\n[portfolio]\napr = 0.3\n')
    assert load_scenario(b, ["portfolio.apr=0.05"]).portfolio.apr == 0.05


def test_set_bare_word_is_a_string(tmp_path: Path) -> None:
    assert load_scenario(tiny_file(tmp_path), ["name=test"]).name == "test"


def test_set_whole_distribution_replaces_it(tmp_path: Path) -> None:
    s = load_scenario(tiny_file(tmp_path), ['borrowers.income_monthly={dist="normal", mean=3000, sd=500, low=0}'])
    assert s.to_dict()["borrowers"]["income_monthly"] == {"dist": "normal", "mean": 3000.0, "sd": 500.0, "low": 0.0, "high": None}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("portfolio.borrowers=abc", '--set: portfolio.borrowers = "abc": must be a whole number'),
        ("portfolio.borrowers=1.5", "--set: portfolio.borrowers = 1.5: must be a whole number"),
        ("portfolio.apr=-1", "--set: portfolio.apr = -1: must be >= 0"),
        ("portfolio.borowers=3", "--set: portfolio.borowers = 3: unknown key (did you mean 'borrowers'?)"),
        ("portfolio=3", "--set: portfolio = 3: must be a table"),
        ("borrowers.income_monthly.sigma=-3", "--set: borrowers.income_monthly.sigma = -3: must be >= 0"),
    ],
)
def test_set_value_is_checked_and_blamed_on_set(tmp_path: Path, override: str, expected: str) -> None:
    assert expected in error_of(tiny_file(tmp_path), [override])


def test_bad_value_from_set_does_not_blame_the_file(tmp_path: Path) -> None:
    path = tiny_file(tmp_path)
    message = error_of(path, ["economy.monthly_job_loss_prob=1.5"])
    assert message.startswith("--set: economy.monthly_job_loss_prob = 1.5: must be <= 1")
    assert str(path) not in message


def test_set_creating_a_policy_table_enables_it_with_defaults(tmp_path: Path) -> None:
    path = tiny_file(tmp_path)
    assert load_scenario(path).policies == {}
    s = load_scenario(path, ["policies.late_fee.penalty_monthly_rate=0.02"])
    assert s.to_dict()["policies"] == {"late_fee": {"flat_fee": 25.0, "penalty_monthly_rate": 0.02, "max_fees_per_loan": None}}


def test_set_merges_into_an_existing_policy_table(tmp_path: Path) -> None:
    path = tiny_file(tmp_path, policies={"late_fee": {"flat_fee": 10, "max_fees_per_loan": 50}})
    s = load_scenario(path, ["policies.late_fee.flat_fee=40"])
    assert s.to_dict()["policies"]["late_fee"] == {"flat_fee": 40.0, "penalty_monthly_rate": 0.0, "max_fees_per_loan": 50.0}


@pytest.mark.parametrize("override", ["portfolio.borrowers", "=3", "portfolio..apr=1", ".apr=1", "portfolio.=1"])
def test_malformed_set(tmp_path: Path, override: str) -> None:
    assert error_of(tiny_file(tmp_path), [override]) == f"--set {override!r}: expected KEY.PATH=VALUE, e.g. --set portfolio.borrowers=2000"


def test_set_sub_key_under_a_scalar(tmp_path: Path) -> None:
    path = tiny_file(tmp_path)
    assert error_of(path, ["portfolio.apr.x=1"]) == f"--set portfolio.apr.x: portfolio.apr = 0.18 in {path} is a value, not a table"


def test_set_charge_off_below_default_blames_set(tmp_path: Path) -> None:
    path = tiny_file(tmp_path)
    message = error_of(path, ["lender.charge_off_dpd=30"])
    assert message == "--set: lender.charge_off_dpd = 30: must be >= default_dpd (90)"


def test_set_unknown_policy_blames_set(tmp_path: Path) -> None:
    message = error_of(tiny_file(tmp_path), ["policies.late_fees.flat_fee=40"])
    assert "policies.late_fees = {flat_fee = 40}: unknown policy (did you mean 'late_fee'?)" in message
    assert message.startswith("--set")


def test_enabled_false_switches_off_an_inherited_policy(tmp_path: Path) -> None:
    parent = tiny_file(tmp_path, policies={"late_fee": {"flat_fee": 30}})
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{parent.name}"\nname = "child"\n[policies.late_fee]\nenabled = false\n', encoding="utf-8")
    assert load_scenario(parent).policies.keys() == {"late_fee"}
    assert load_scenario(child).policies == {}
