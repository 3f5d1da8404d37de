"""A self-contained ``report.html``: headline metrics, ledger, policies and the plots inline."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from loansim.experiment import Experiment
from loansim.loans import cents_text
from loansim.metrics import STATES

BORROWER = ("_per_loan", "_per_borrower", "mean_credit_score", "outside_", "share_borrowers")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


def describe_economy(scenario: Any) -> str:
    """The economy a scenario ran in, in words, from its resolved keys (so a report says what
    ran, whatever its description says and however the keys were set)."""
    e = scenario.economy
    start = f"from {100 * e.initial_unemployment:.1f}% unemployment"
    if e.stochastic is not None and e.stochastic.enabled:
        around = e.stochastic.around
        where = "the two-regime model alone" if around is None else f"around the path {_path_words(around)}"
        return f"stochastic economy {start}, a path per replication: {where}"
    if e.unemployment_path is not None:
        return f"unemployment path {_path_words(e.unemployment_path)} {start}"
    return f"constant job-loss chance {100 * (e.monthly_job_loss_prob or 0):.2f}% a month"


def _path_words(path: Any) -> str:
    if isinstance(path, str):
        return repr(path)
    if isinstance(path, (int, float)):
        return f"flat at {100 * path:.1f}%"
    return f"of {len(path)} monthly rates, {100 * min(path):.1f}% to {100 * max(path):.1f}%"


def render_report(experiment: Experiment, summary: dict[str, Any], folder: Path, overrides: list[str] | None = None) -> str:
    """The report as one HTML string; plots are read from `folder` and embedded."""
    s = experiment.scenario
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>loansim: {html.escape(s.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(s.name)}</h1>",
        f"<p>{html.escape(s.description)}</p>" if s.description else "",
        f"<p><b>Economy:</b> {html.escape(describe_economy(s))}.</p>",
        f"<p><b>Overrides:</b> {html.escape('; '.join(overrides))} (the description above is the file's)</p>" if overrides else "",
        f"<p class='note'>{s.portfolio.borrowers:,} borrowers, {s.run.months} months, "
        f"{s.run.replications} replication(s), seed {s.run.seed}; run {html.escape(experiment.started_at)} "
        f"in {experiment.wall_seconds:.1f} s.</p>",
    ]
    for title, block in _groups(summary["metrics"]).items():
        if block:
            parts += [f"<h2>{title}</h2>", _metrics_table(block)]
    parts.append("<p class='note'>Default = reached the default DPD (90 days past due by default) or charged off. "
                 "Intervals are 95% Student-t confidence intervals of the mean across replications.</p>")
    parts += ["<h2>Roll rates (mean monthly transition rates)</h2>", _roll_rate_table(summary["roll_rates"]), ROLL_RATE_NOTE]
    for name in ("delinquency.png", "default_and_loss.png", "missed_by_cause.png"):
        parts.append(_image(folder, name))
    if (folder / "vintages.png").is_file():  # loans lent over time
        parts += ["<h2>Vintage curves</h2>", _image(folder, "vintages.png"),
                  "<p class='note'>Loans grouped by the month they were lent (vintages.csv has every vintage and month on "
                  "book); later vintages are drawn lighter.</p>"]
    parts += ["<h2>Loss distribution across replications</h2>", _loss_table(summary["loss_distribution"]),
              _image(folder, "loss_distribution.png")]
    parts += [f"<h2>Ledger (summed over the {len(experiment.runs)} replication(s), currency units)</h2>",
              _ledger_table(summary["ledger"])]
    for name, block in summary["policies"].items():
        parts += [f"<h2>Policy: {html.escape(name)}</h2>", _metrics_table(block)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _image(folder: Path, name: str) -> str:
    data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
    return f"<p><img alt='{name}' src='data:image/png;base64,{data}'></p>"


def _loss_table(block: dict[str, Any]) -> str:
    rows = ["<table><tr><th>loss rate</th><th>value</th></tr>"]
    for name, value in block.items():
        if name != "replications":
            shown = "– (too few replications)" if value is None else f"{100 * value:.2f}%"
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{shown}</td></tr>")
    rows.append("</table><p class='note'>A q-quantile is shown from 1 / (1 − q) replications on (q99: 100, q999: 1,000); "
                "the 99% expected shortfall (mean of the worst 1%) from 100 on.</p>")
    return "\n".join(rows)


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> str:
    rows = ["<table><tr><th>metric</th><th>mean</th><th>95% CI</th></tr>"]
    for name, m in metrics.items():
        ci = "–" if m["ci95"] is None else f"{_num(name, m['ci95'][0])} … {_num(name, m['ci95'][1])}"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{_num(name, m['mean'])}</td><td>{ci}</td></tr>")
    return "\n".join(rows) + "</table>"


ROLL_RATE_NOTE = (
    "<p class='note'>Each row: of the loans in that state at a month end, the share in each state at the next month "
    "end (row new: of the loans lent during a month, the share in each state at its end). Per replication, the loans "
    "that moved are summed over months and divided by the from-state's loans summed over months; the table shows the "
    "mean across replications. States are month-end snapshots with the delinquency buckets of monthly.csv (days past "
    "due; a loan inside a grace window is current); the book before the first month counts as a month end at which "
    "every lent loan is current. Rows of states that never held a loan are left out.</p>")


def _roll_rate_table(roll_rates: dict[str, dict[str, dict[str, Any]]]) -> str:
    rows = ["<table><tr><th>from / to</th>" + "".join(f"<th>{html.escape(s)}</th>" for s in STATES) + "</tr>"]
    for origin, to in roll_rates.items():
        cells = "".join(f"<td>{100 * to[s]['mean']:.2f}%</td>" for s in STATES)
        rows.append(f"<tr><td>{html.escape(origin)}</td>{cells}</tr>")
    return "\n".join(rows) + "</table>"


def _ledger_table(ledger: dict[str, Any]) -> str:
    rows = ["<table><tr><th>account</th><th>amount</th></tr>"]
    for name, cents in ledger["cents"]["total"].items():
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{cents_text(cents, grouped=True)}</td></tr>")
    status = "balances to the cent" if ledger["balanced"] else "DOES NOT BALANCE: " + "; ".join(ledger["problems"])
    rows.append(f"<tr><td>identity</td><td>{html.escape(status)}</td></tr>")
    return "\n".join(rows) + "</table>"


def _groups(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Headline metrics, rates by cause, by segment and product, and borrower-side outcomes."""
    groups: dict[str, dict[str, dict[str, Any]]] = {
        "Headline metrics": {}, "By cause": {}, "By segment and product": {}, "Borrower-side outcomes": {}}
    for name, m in metrics.items():
        if "_segment_" in name or "_product_" in name:
            groups["By segment and product"][name] = m
        elif any(part in name for part in BORROWER):
            groups["Borrower-side outcomes"][name] = m
        elif name.startswith(("missed_payment_rate_", "default_rate_")):
            groups["By cause"][name] = m
        else:
            groups["Headline metrics"][name] = m
    return groups


def _num(name: str, value: float) -> str:
    if "_rate" in name or name.startswith("share_"):
        return f"{100 * value:.2f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
