"""What a policy sees of a simulation: the ``Context`` (``loansim.context``).

The type checker holds a policy to it, and the one member that does not exist yet while the
policies are set up says so when a setup reaches for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TINY
from loansim.context import Context
from loansim.engine import Simulation
from loansim.policies import Policy, PolicyParams
from loansim.scenario import validate_scenario

EXAMPLE_POLICY = ROOT / "examples" / "loansim-annual-fee" / "loansim_annual_fee.py"

PEEKING_POLICY = '''
from loansim.context import Context
from loansim.policies import Policy, PolicyParams


class Peeks(Policy[PolicyParams]):
    name = "peeks"

    def setup(self, sim: Context) -> None:
        sim.hooks.add("day_start", self.look)

    def look(self, sim: Context, day: int) -> None:
        sim.late_payments.take(day)  # the clock's own day bucket
        sim.population.start(0)  # the population's month start is the engine's
'''


def type_check(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(cache), str(path)],
                          capture_output=True, text=True, env=env, cwd=path.parent)


def test_the_type_checker_holds_a_policy_to_the_context(tmp_path: Path) -> None:
    example = type_check(EXAMPLE_POLICY, tmp_path / "cache")
    assert example.returncode == 0, example.stdout  # the README's example uses only the Context
    peeking = tmp_path / "peeking.py"
    peeking.write_text(PEEKING_POLICY, encoding="utf-8")
    result = type_check(peeking, tmp_path / "cache")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f'{peeking.name}:13: error: "Context" has no attribute "late_payments"  [attr-defined]',
        f'{peeking.name}:14: error: "Draws" has no attribute "start"  [attr-defined]',
    ]


def test_a_simulation_has_every_member_of_the_context() -> None:
    sim = Simulation(validate_scenario(TINY))
    members = set(Context.__annotations__) | {n for n in vars(Context) if not n.startswith("_")}
    assert {"today", "loans", "ledger", "streams", "hooks", "population", "policy"} <= members
    assert [name for name in sorted(members) if not hasattr(sim, name)] == []


class ReadsPopulationInSetup(Policy[PolicyParams]):
    name = "reads_population"

    def setup(self, sim: Context) -> None:
        sim.population.shocked


def test_the_population_in_a_setup_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from loansim.policies import REGISTRY

    REGISTRY["late_fee"]  # the built-in one is loaded first, so that it does not replace ours
    monkeypatch.setitem(REGISTRY, "late_fee", ReadsPopulationInSetup)
    scenario = validate_scenario({**TINY, "policies": {"late_fee": {}}})
    with pytest.raises(RuntimeError, match=r"sim.population is made after every policy's setup .* use it from a hook"):
        Simulation(scenario)
