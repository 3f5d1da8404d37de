"""Policies from other installed packages, found through the ``loansim.policies`` entry points.

The package is the README's example (``examples/loansim-annual-fee``), installed into a
temporary directory as an installer would: its module and a ``.dist-info`` folder whose
``entry_points.txt`` names the policy (what ``importlib.metadata`` reads).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, TINY, deep_update
from loansim.engine import Simulation
from loansim.errors import PluginError
from loansim.policies import REGISTRY
from loansim.scenario import validate_scenario

EXAMPLE = ROOT / "examples" / "loansim-annual-fee"


def install(site: Path, entry_point: str = "annual_fee = loansim_annual_fee:AnnualFee") -> Path:
    """Install the example package into `site`, with `entry_point` as its policy."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "loansim_annual_fee.py", site)
    info = site / "loansim_annual_fee-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: loansim-annual-fee\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[loansim.policies]\n{entry_point}\n", encoding="utf-8")
    return site


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The registry reads installed plug-ins again; what the test registers is removed after."""
    monkeypatch.setattr(REGISTRY, "_loaded", False)
    yield
    for name, cls in list(dict.items(REGISTRY)):
        if not cls.__module__.startswith("loansim.policies."):
            dict.__delitem__(REGISTRY, name)
    sys.modules.pop("loansim_annual_fee", None)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> Path:
    site = install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_an_installed_policy_is_found_by_name_and_runs(installed: Path) -> None:
    months = {**TINY["run"], "months": 30}
    with_fee = validate_scenario(deep_update(TINY, {"run": months, "policies": {"annual_fee": {"fee": 30}}}))
    assert "annual_fee" in REGISTRY and REGISTRY["annual_fee"].__module__ == "loansim_annual_fee"
    sim = Simulation(with_fee)
    result = sim.run()
    without = Simulation(validate_scenario(deep_update(TINY, {"run": months}))).run()
    charged = result.policies["annual_fee"]["fees_charged"]
    assert charged > 0  # the active loans at the starts of months 12 and 24
    assert result.ledger["fees_billed"] == 3000 * charged
    assert result.ledger_problems == [] and without.ledger["fees_billed"] == 0
    assert result.metrics["fee_income"] > without.metrics["fee_income"]
    assert sim.spans is not None  # it acts at a month's start only, as it declares


def test_an_installed_policy_is_validated_like_a_built_in_one(installed: Path) -> None:
    with pytest.raises(Exception, match=r"policies\.annual_fee\.every_months = 0"):
        validate_scenario(deep_update(TINY, {"policies": {"annual_fee": {"every_months": 0}}}))


@pytest.mark.parametrize("entry_point, message", [
    ("annual_fee = loansim_no_such_module:AnnualFee", "cannot be loaded: ModuleNotFoundError"),
    ("annual_fee = loansim_annual_fee:AnnualFeeParams", "not a subclass of loansim.policies.Policy"),
    ("yearly_fee = loansim_annual_fee:AnnualFee", "gives a policy named 'annual_fee'"),
    ("late_fee = loansim_annual_fee:AnnualFee", "gives a policy named 'annual_fee'"),
])
def test_a_broken_plug_in_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None,
                                             entry_point: str, message: str) -> None:
    monkeypatch.syspath_prepend(str(install(tmp_path / "site", entry_point)))
    with pytest.raises(PluginError, match="the loansim.policies entry point") as caught:
        validate_scenario(deep_update(TINY, {"policies": {"annual_fee": {}}}))
    assert message in str(caught.value) and "loansim-annual-fee" in str(caught.value)


def test_a_plug_in_may_not_take_a_built_in_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> None:
    site = install(tmp_path / "site", "late_fee = loansim_annual_fee:AnnualFee")
    (site / "loansim_annual_fee.py").write_text(
        (site / "loansim_annual_fee.py").read_text(encoding="utf-8").replace('name = "annual_fee"', 'name = "late_fee"'), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError, match="loansim already has one of that name"):
        validate_scenario(deep_update(TINY, {"policies": {"no_such_policy": {}}}))


def test_the_command_line_runs_an_installed_policy_and_reports_a_broken_one(tmp_path: Path) -> None:
    site = install(tmp_path / "site")
    scenario = tmp_path / "fee.toml"
    scenario.write_text('extends = "{}"\n[run]\nmonths = 13\nreplications = 2\n[portfolio]\nborrowers = 500\n'
                        "[policies.annual_fee]\nfee = 12.5\n".format((ROOT / "scenarios" / "baseline.toml").as_posix()),
                        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(site)}
    cli = [sys.executable, "-m", "loansim"]
    done = subprocess.run([*cli, "run", str(scenario), "--out", str(tmp_path / "out"), "--quiet", "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    charged = summary["policies"]["annual_fee"]["fees_charged"]["mean"] * 2  # over both replications
    assert charged > 0 and summary["ledger"]["balanced"]
    assert summary["ledger"]["cents"]["total"]["fees_billed"] >= 1250 * charged  # with the baseline's late fees

    (site / "loansim_annual_fee.py").write_text("raise ImportError('numpy too old for this plug-in')\n", encoding="utf-8")
    done = subprocess.run([*cli, "validate", str(scenario)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("loansim: error: the loansim.policies entry point 'annual_fee'")
    assert "ImportError: numpy too old for this plug-in" in done.stderr and "Traceback" not in done.stderr
