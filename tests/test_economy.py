"""The stochastic economy, relative built-in paths, job finding in downturns, and the loss
distribution across replications."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, make_scenario, run
from loansim import macro
from loansim.cli import main
from loansim.engine import Simulation
from loansim.errors import ScenarioError
from loansim.experiment import loss_distribution
from loansim.rng import Streams

PATHED = {"monthly_job_loss_prob": None}
STOCHASTIC = {**PATHED, "stochastic": {}}


def path_of(scenario, replication: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    return run(scenario, replication)[1].monthly["unemployment_rate_path"]


# ------------------------------------------------------------------ relative built-in paths

@pytest.mark.parametrize("name", list(macro.BUILT_IN_PATHS))
@pytest.mark.parametrize("start", [0.01, 0.035, 0.05, 0.08, 0.3])
def test_a_built_in_path_starts_where_the_economy_starts_and_never_improves_first(name: str, start: float) -> None:
    path = macro.unemployment_path(name, 36, start)
    assert path[0] == start
    assert np.all(path[:13] >= start)


def test_severely_adverse_adds_five_and_a_half_points_at_month_18() -> None:
    path = macro.unemployment_path("severely-adverse", 36, 0.05)
    assert path.argmax() == 18 and path[18] == pytest.approx(0.105)
    assert macro.unemployment_path("adverse", 36, 0.05).max() == pytest.approx(0.08)
    assert macro.unemployment_path("mild-recession", 36, 0.05).max() == pytest.approx(0.07)
    assert np.all(macro.unemployment_path("steady", 36, 0.06) == 0.06)


def test_a_scenario_s_built_in_path_starts_at_its_initial_unemployment() -> None:
    scenario = make_scenario(run={"months": 6}, portfolio={"borrowers": 200},
                             economy={**PATHED, "unemployment_path": "adverse", "initial_unemployment": 0.07})
    path = path_of(scenario)
    assert path[0] == 0.07 and np.all(np.diff(path) > 0)


def test_a_listed_path_stays_absolute() -> None:
    scenario = make_scenario(run={"months": 4}, portfolio={"borrowers": 200},
                             economy={**PATHED, "unemployment_path": [0.04, 0.06], "initial_unemployment": 0.1})
    assert path_of(scenario).tolist() == [0.04, 0.06, 0.06, 0.06]


# ------------------------------------------------------------------ the stochastic path

def test_policies_see_the_same_economy_and_replications_differ() -> None:
    base = make_scenario(run={"months": 12}, portfolio={"borrowers": 300}, economy=STOCHASTIC)
    reminded = make_scenario(run={"months": 12}, portfolio={"borrowers": 300}, economy=STOCHASTIC,
                             policies={"reminders": {"days_before_due": 3}})
    paths = [path_of(base, r) for r in range(3)]
    for r in range(3):
        assert np.array_equal(paths[r], path_of(reminded, r))
    assert not np.array_equal(paths[0], paths[1]) and not np.array_equal(paths[1], paths[2])


def test_the_path_is_reproducible_and_a_longer_run_extends_it() -> None:
    short = path_of(make_scenario(run={"months": 6}, portfolio={"borrowers": 200}, economy=STOCHASTIC), 1)
    again = path_of(make_scenario(run={"months": 6}, portfolio={"borrowers": 200}, economy=STOCHASTIC), 1)
    longer = path_of(make_scenario(run={"months": 12}, portfolio={"borrowers": 200}, economy=STOCHASTIC), 1)
    assert np.array_equal(short, again)
    assert np.array_equal(short, longer[:6])
    other_seed = path_of(make_scenario(run={"months": 6, "seed": 12}, portfolio={"borrowers": 200}, economy=STOCHASTIC), 1)
    assert not np.array_equal(short, other_seed)


def test_the_population_follows_the_drawn_path() -> None:
    scenario = make_scenario(run={"months": 24}, portfolio={"borrowers": 20_000}, economy=STOCHASTIC)
    result = run(scenario, 2)[1]
    assert result.monthly["unemployment_rate_path"][0] == 0.05
    assert np.max(np.abs(result.monthly["unemployment_share"] - result.monthly["unemployment_rate_path"])) < 0.01


def test_deviations_around_a_path_start_on_it_and_stray_from_it() -> None:
    economy = {**PATHED, "stochastic": {"around": "severely-adverse"}}
    scenario = make_scenario(run={"months": 36}, portfolio={"borrowers": 200}, economy=economy)
    target = macro.unemployment_path("severely-adverse", 36)[:36]
    gaps = [path_of(scenario, r) - target for r in range(4)]
    assert all(g[0] == 0 for g in gaps)
    assert 0.001 < np.mean([np.abs(g[12:]).mean() for g in gaps]) < 0.03


def test_stochastic_rates_stay_in_the_valid_range() -> None:
    wild = {"expansion_volatility_pp": 5.0, "recession_volatility_pp": 5.0, "mean_reversion": 0.0}
    normals = Streams(3).generator(macro.STREAM).standard_normal((50, 121, 2))
    rates, _ = macro.regime_paths(0.05, normals, 0.5, (0.9, 0.9), (0.0, 0.0), (0.05, 0.05), 0.0, 0.05)
    assert rates.min() >= macro.MIN_RATE and rates.max() <= macro.MAX_RATE and rates.std() > 0.03
    scenario = make_scenario(run={"months": 24}, portfolio={"borrowers": 200}, economy={**PATHED, "stochastic": wild})
    path = path_of(scenario)
    assert path.min() >= macro.MIN_RATE and path.max() <= macro.MAX_RATE


def test_reflection_folds_back_from_the_bounds() -> None:
    assert macro.reflect(np.array([0.005, 0.31, 0.05, -0.57])).tolist() == pytest.approx([0.015, 0.29, 0.05, 0.01])


def test_the_first_regime_can_be_set() -> None:
    normals = np.random.default_rng(0).standard_normal((400, 2, 2))
    _, recession = macro.regime_paths(0.05, normals, 1.0, (1.0, 1.0), (0.0, 0.0), (0.0, 0.0), 0.0, 0.05)
    assert recession.all()
    _, expansion = macro.regime_paths(0.05, normals, 0.0, (1.0, 1.0), (0.0, 0.0), (0.0, 0.0), 0.0, 0.05)
    assert not expansion.any()


# Historical statistics of the US rate, January 1948 - December 2019 (data/us-unemployment-monthly.csv),
# as printed by scripts/estimate_unemployment.py: months in NBER recessions; percentiles 5, 50, 95, 99
# of the change over 24 months (points); the peak rise within 36 months, mean and 99th percentile (points).
HISTORY = {"recession_share": 0.141, "change_24m": [-2.1, -0.5, 3.0, 4.86], "rise_36m_mean": 1.31, "rise_36m_q99": 5.4}


def test_the_estimated_model_reproduces_us_unemployment_s_asymmetry_and_recessions() -> None:
    e = macro.ESTIMATED
    stay = (e["expansion_stay_prob"], e["recession_stay_prob"])
    normals = np.random.default_rng(7).standard_normal((400, 864, 2))
    rates, recession = macro.regime_paths(
        0.034, normals, macro.long_run_recession_share(*stay), stay,
        (e["expansion_mean_change_pp"] / 100, e["recession_mean_change_pp"] / 100),
        (e["expansion_volatility_pp"] / 100, e["recession_volatility_pp"] / 100), e["mean_reversion"], e["mean_reversion_level"])
    pp = 100 * rates
    assert recession.mean() == pytest.approx(HISTORY["recession_share"], abs=0.03)
    changes = (pp[:, 24:] - pp[:, :-24]).ravel()
    q5, q50, q95, q99 = np.percentile(changes, [5, 50, 95, 99])
    assert abs(q95) > 1.3 * abs(q5)  # rises fast, falls slowly: the right tail is the long one
    assert np.allclose([q5, q50, q95, q99], HISTORY["change_24m"], atol=0.5)
    n = pp.shape[1] - 36
    rise = (np.max(np.stack([pp[:, h:h + n] for h in range(1, 37)]), axis=0) - pp[:, :n]).ravel()
    assert rise.mean() == pytest.approx(HISTORY["rise_36m_mean"], abs=0.3)
    assert np.percentile(rise, 99) == pytest.approx(HISTORY["rise_36m_q99"], abs=1.0)


@pytest.mark.slow
def test_the_estimation_script_reproduces_the_written_parameters() -> None:
    spec = importlib.util.spec_from_file_location("estimate_unemployment", ROOT / "scripts" / "estimate_unemployment.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _, rates = script.load()
    params, _, _ = script.fit_regimes(rates)
    params.update(script.fit_deviation(rates))
    for key, value in macro.ESTIMATED.items():
        assert params[key] == pytest.approx(value, abs=5e-4), key


# ------------------------------------------------------------------ job finding in downturns

def test_job_finding_falls_as_unemployment_rises() -> None:
    f = macro.job_finding_prob(0.28, np.array([0.05, 0.10, 0.025, 0.0]), 0.05, -0.7)
    assert f[0] == 0.28 and f[1] == pytest.approx(0.28 * 2 ** -0.7) and f[1] < 0.18
    assert f[2] > 0.28 and f[3] == pytest.approx(0.28 * 5 ** 0.7)
    assert macro.job_finding_prob(0.9, 0.01, 0.05, -2.0) == 1.0


def test_slower_job_finding_in_a_downturn_means_fewer_job_losses_and_longer_spells() -> None:
    def stress(elasticity: float, seed: int):  # type: ignore[no-untyped-def]
        economy = {**PATHED, "unemployment_path": "severely-adverse", "job_finding_unemployment_elasticity": elasticity}
        sim = Simulation(make_scenario(run={"months": 24, "seed": seed}, portfolio={"borrowers": 4000}, economy=economy))
        employed: list[np.ndarray] = []
        result = sim.run(progress=lambda _month: employed.append(sim.borrowers.employed.copy()))
        e = np.array(employed)
        return sim, result, int(np.count_nonzero(e[:-1] & ~e[1:])), float((~e).sum() / max(np.count_nonzero(~e.all(axis=0)), 1))

    for seed in (1, 2, 3):
        (flat_sim, flat, flat_losses, flat_months), (slow_sim, slow, slow_losses, slow_months) = stress(0.0, seed), stress(-0.7, seed)
        assert np.all(slow.monthly["job_finding_prob"][1:] < flat.monthly["job_finding_prob"][1:])
        assert slow_losses < flat_losses          # the same path with fewer, longer spells
        assert slow_months > flat_months          # months unemployed per borrower ever unemployed
    for month in range(1, 24):  # the same people employed: slower finding needs a lower hazard to keep to the path
        employed = np.ones(4000, dtype=np.bool_)
        employed[:200] = False
        assert slow_sim.population.job_loss_hazards(month, employed) < flat_sim.population.job_loss_hazards(month, employed)


def test_without_a_path_job_finding_stays_constant() -> None:
    sim, result = run(make_scenario(run={"months": 4}, portfolio={"borrowers": 200}))
    assert "job_finding_prob" not in result.monthly and np.all(sim.population.job_finding == 0.25)


# ------------------------------------------------------------------ loss distribution

@pytest.mark.parametrize(("n", "given"), [
    (1, []), (2, ["loss_rate_q50"]), (19, ["loss_rate_q50"]), (20, ["loss_rate_q50", "loss_rate_q95"]),
    (99, ["loss_rate_q50", "loss_rate_q95"]), (100, ["loss_rate_q50", "loss_rate_q95", "loss_rate_q99", "loss_rate_es99"]),
    (1000, ["loss_rate_q50", "loss_rate_q95", "loss_rate_q99", "loss_rate_q999", "loss_rate_es99"]),
])
def test_tail_figures_need_enough_replications(n: int, given: list[str]) -> None:
    block = loss_distribution(list(np.linspace(0, 1, n)))
    assert block["replications"] == n
    assert sorted(k for k, v in block.items() if v is not None and k != "replications") == sorted(given)


def test_expected_shortfall_is_the_mean_of_the_worst_one_percent() -> None:
    losses = list(np.arange(300) / 1000)
    block = loss_distribution(losses)
    assert block["loss_rate_es99"] == pytest.approx(np.mean([0.297, 0.298, 0.299]))
    assert block["loss_rate_q50"] == pytest.approx(0.1495)
    assert block["loss_rate_q99"] <= block["loss_rate_es99"]


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize(("economy", "message"), [
    ({"stochastic": {"recession_stay_prob": 1.2}}, "economy.stochastic.recession_stay_prob = 1.2: must be <= 1"),
    ({"stochastic": {"expansion_stay_prob": -0.1}}, "economy.stochastic.expansion_stay_prob = -0.1: must be >= 0"),
    ({"stochastic": {"recession_volatility_pp": -0.2}}, "economy.stochastic.recession_volatility_pp = -0.2: must be >= 0"),
    ({"initial_unemployment": 0.5, "stochastic": {}}, "economy.initial_unemployment = 0.5: must be <= 0.3"),
    ({"initial_unemployment": 0.0}, "economy.initial_unemployment = 0.0: must be >= 0.01"),
    ({"stochastic": {"around": "armageddon"}}, 'economy.stochastic.around = "armageddon": unknown path; built-in paths are: steady'),
    ({"stochastic": {"around": [0.05, 0.4]}}, "economy.stochastic.around = [0.05, 0.4]: unemployment rates must be shares within the stochastic economy range [0.01, 0.3]"),
    ({"stochastic": {"expansion_mean_change_pp": 1.0}}, "economy.stochastic: the model's long-run mean rate"),
    ({"stochastic": {"expansion_stay_prob": 1.0, "recession_stay_prob": 1.0}}, "are both 1: the regimes never switch"),
    ({"initial_unemployment": 0.25, "stochastic": {"around": "pandemic-spike"}}, "reaches 0.362, above the stochastic economy range"),
    ({"unemployment_path": 0.05, "stochastic": {}}, "economy.stochastic: cannot be combined with economy.unemployment_path"),
    ({"stochastic": {"initial_regime": "boom"}}, "economy.stochastic.initial_regime = \"boom\": must be 'long-run', 'expansion' or 'recession'"),
])
def test_bad_economy_input_is_one_line_naming_the_key(economy: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(economy={**PATHED, **economy})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_stochastic_economy_and_a_constant_hazard_cannot_both_be_set() -> None:
    with pytest.raises(ScenarioError, match="economy.stochastic: cannot be combined with economy.monthly_job_loss_prob"):
        make_scenario(economy={"stochastic": {}})


def test_switched_off_stochastic_economy_leaves_the_path(tmp_path: Path) -> None:
    scenario = make_scenario(run={"months": 3}, portfolio={"borrowers": 200},
                             economy={**PATHED, "unemployment_path": 0.06, "stochastic": {"enabled": False}})
    assert path_of(scenario).tolist() == [0.06, 0.06, 0.06]


def test_bad_economy_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "s.toml"
    file.write_text(f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
                    "[economy.stochastic]\nexpansion_volatility_pp = -1\n", encoding="utf-8")
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err
    assert "economy.stochastic.expansion_volatility_pp = -1: must be >= 0" in err
