"""Money as written is exact at any size: the ledger in summary.json is integer cents, the
identities are checked on exactly those numbers, and monthly money columns are the cents."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import SCENARIOS, make_scenario
from loansim.experiment import run_experiment
from loansim.loans import cents_text, totals_problems
from loansim.report import write_results
from loansim.scenario import load_scenario

HUGE = 2**62  # cents: far beyond what float64 holds to the cent


@pytest.mark.parametrize(("cents", "text", "grouped"), [
    (0, "0.00", "0.00"), (5, "0.05", "0.05"), (-5, "-0.05", "-0.05"), (123456789, "1234567.89", "1,234,567.89"),
    (HUGE + 1, "46116860184273879.05", "46,116,860,184,273,879.05"),
])
def test_cents_text_is_exact(cents: int, text: str, grouped: str) -> None:
    assert cents_text(cents) == text
    assert cents_text(cents, grouped=True) == grouped


def _huge_book(tmp_path: Path) -> Path:
    """A real small run whose ledger and monthly flows are then pushed to 2**62 cents."""
    experiment = run_experiment(make_scenario(run={"months": 4, "replications": 2}), workers=1, progress=False)
    for run in experiment.runs:
        for key in ("disbursed", "principal_outstanding"):  # the principal identity still holds
            run.ledger[key] += HUGE
        run.monthly_cents["disbursed"][0] += HUGE
    out = tmp_path / "x"
    write_results(out, experiment, {})
    return out


def test_identities_hold_on_the_written_numbers_of_a_huge_book(tmp_path: Path) -> None:
    ledger = json.loads((_huge_book(tmp_path) / "summary.json").read_text(encoding="utf-8"))["ledger"]
    assert ledger["balanced"] is True
    for totals in [ledger["cents"]["total"], *ledger["cents"]["by_replication"]]:
        assert totals["disbursed"] + totals["capitalised"] == (
            totals["principal_repaid"] + totals["principal_charged_off"] + totals["principal_outstanding"])
    assert ledger["cents"]["total"]["disbursed"] > 2 * HUGE


def test_monthly_money_is_written_from_its_cents(tmp_path: Path) -> None:
    with (_huge_book(tmp_path) / "monthly.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    first = rows[0]["disbursed"]
    units, cents = first.split(".")
    assert len(cents) == 2 and int(units) * 100 + int(cents) > HUGE
    assert all(len(row["interest_paid"].split(".")[1]) == 2 for row in rows)


def test_a_cent_off_is_not_balanced() -> None:
    totals = {"disbursed": HUGE, "capitalised": 0, "principal_repaid": 1, "principal_charged_off": 0,
              "principal_outstanding": HUGE - 1, "interest_billed": 10, "interest_paid": 10, "interest_written_off": 0,
              "interest_outstanding": 0, "fees_billed": 0, "fees_paid": 0, "fees_written_off": 0, "fees_outstanding": 0,
              "recoveries": 0, "recoveries_pending": 0}
    assert totals_problems(totals) == []
    totals["principal_outstanding"] -= 1
    assert totals_problems(totals) == ["principal: off by 1 cents"]
    totals["recoveries"] = 5
    assert "recoveries (received and pending) exceed principal charged off" in totals_problems(totals)


def test_a_corrupted_replication_makes_the_summary_unbalanced(tmp_path: Path) -> None:
    experiment = run_experiment(make_scenario(run={"months": 3, "replications": 2}), workers=1, progress=False)
    experiment.runs[1].ledger["fees_paid"] += 1
    ledger = experiment.summary()["ledger"]
    assert ledger["balanced"] is False
    assert ledger["problems"] == ["replication 1: fees: off by -1 cents"]


def test_loss_rate_counts_capitalised_interest_as_lent() -> None:
    scenario = load_scenario(SCENARIOS / "restructuring.toml", ["portfolio.borrowers=3000", "run.months=24", "run.lifetime=false"])
    run = run_experiment(scenario, workers=1, progress=False).runs[0]
    t = run.ledger
    assert t["capitalised"] > 0
    assert run.metrics["loss_rate"] == (t["principal_charged_off"] - t["recoveries"]) / (t["disbursed"] + t["capitalised"])
    assert 0 < run.metrics["loss_rate"] <= 1
