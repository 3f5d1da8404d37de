"""How big numbers may get: the budget that keeps every amount inside int64 cents.

Money on the book is int64 cents, so no amount, no per-loan cumulative figure and no sum
over the book may pass ``CENTS_LIMIT`` (2^63 - 1 ≈ 9.22e18 cents). Two layers keep it so.

**Static bounds** (``le=`` on every money and count key, and a hard cap on every draw of a
money distribution). They follow from the largest book and the longest run allowed::

    MAX_BORROWERS × MAX_MONTHS        = 3e7 × 1200            = 3.6e10 loan-months
    CENTS_LIMIT / 3.6e10              = 2.56e8 cents          = 2.56e6 units per loan-month

- ``MAX_PRICE`` (1e6 units): anything charged per action (a fee, the cost of an SMS, a call,
  a case, an application). One such charge on every loan every month of the longest run
  on the largest book is 3.6e10 × 1e8 cents = 3.6e18 cents, inside the limit.
- ``MAX_AMOUNT`` (1e7 units): a stock per loan or per borrower-month (principal lent, a
  monthly income, a shock's expense, the most owed to outside lenders, a fee cap). Lent on
  the largest book, 3e7 × 1e9 cents = 3e16 cents: 0.3% of the limit, leaving the rest for
  what grows from it over the run (interest, penalties, the lender's costs).
- ``MAX_MONTHS`` bounds every key counted in months or months of the run.

**The scenario's own budget** (``budget_problems``, checked before a run starts). What grows
from those amounts depends on several keys together (interest at ``apr`` for ``run.months``
and the run-off after it,
a fee every month on every loan, incomes compounding at ``annual_income_growth``, interest
capitalised as often as the policies can: ``Policy.capitalised_months``), so it
is checked for the scenario at hand: its worst case, every loan at the largest amount its
keys allow, every charge made as often as it can be, must stay within ``CENTS_LIMIT /
HEADROOM`` (headroom for the sums of several totals, e.g. payments = fees + interest +
principal). A scenario that fails is refused with the keys that make it fail; no run
starts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loansim.policies import PolicyParams
    from loansim.scenario.schema import Scenario

CENTS_LIMIT = 2**63 - 1  # the largest int64: every amount in cents stays at or below it
MAX_BORROWERS = 30_000_000  # portfolio.borrowers: the most that runs with one worker on 24 GiB (README, Memory and limits)
MAX_MONTHS = 1200  # run.months, and any key counted in months
MAX_LOANS = 2**31 - 1  # loans on the book, applicants' included (loan and borrower ids are int32)
MAX_PRICE = 1e6  # currency units per action: 1e8 cents × 3.6e10 loan-months = 3.6e18 <= CENTS_LIMIT
MAX_AMOUNT = 1e7  # currency units per loan or per borrower-month (draws are clipped to it)
HEADROOM = 4  # a scenario's worst-case total may use a quarter of CENTS_LIMIT
RUN_OFF_MONTHS = 120  # most months simulated after run.months to resolve every loan (run.lifetime)
ACTIONS_PER_MONTH = 30  # most actions one policy can take on one loan a month (one a day)


def fits(cents: float) -> bool:
    """Whether `cents` stays within the scenario budget (``CENTS_LIMIT / HEADROOM``)."""
    return math.isfinite(cents) and cents <= CENTS_LIMIT / HEADROOM


def most(dist: Any) -> float:
    """The largest value a distribution's draws can take (its support, or its hard cap)."""
    return min(dist.support()[1], dist.cap)


def n_loans(scenario: Scenario, policies: dict[str, PolicyParams]) -> tuple[int, int]:
    """The most borrowers and loans a scenario puts on the book (applicants included)."""
    from loansim.policies import REGISTRY

    per_borrower = max(len(s.products) for s in scenario.portfolio.segment_table().values())
    people = scenario.portfolio.borrowers
    for name, params in policies.items():
        people += REGISTRY[name].n_applicants(params, scenario)
    return people, people * per_borrower


def budget_problems(scenario: Scenario, policies: dict[str, PolicyParams]) -> list[tuple[str, Any, str]]:
    """What makes `scenario` (with its enabled `policies`) able to leave int64 cents, as
    (dotted key, value, what was expected); empty when its worst case fits."""
    from loansim.policies import REGISTRY

    problems = _borrower_problems(scenario)
    people, loans = n_loans(scenario, policies)
    if loans > MAX_LOANS:
        return problems + [("portfolio.borrowers", scenario.portfolio.borrowers,
                            f"the book would hold {loans:.3g} loans (applicants' included); must be at most {MAX_LOANS:.3g}")]
    months = scenario.run.simulated_months()
    products = scenario.portfolio.product_table()
    principal = max(most(p.principal) for p in products.values())
    rate = max(p.apr for p in products.values()) / 12
    compounding = min(months, sum(REGISTRY[name].capitalised_months(params, scenario) for name, params in policies.items()))
    capitalising = compounding > 0
    growth = _compound(rate, compounding)  # interest added to principal compounds; interest past due does not
    outstanding = principal * growth
    interest = outstanding * rate * months
    fees = cost = 0.0
    for name, params in policies.items():
        f, c = REGISTRY[name].most_per_loan(params, scenario, outstanding + interest)
        fees, cost = fees + f, cost + c
    per_loan = outstanding + interest + fees + cost
    if not fits(loans * per_loan * 100):
        keys = "portfolio.principal, apr, run.months" + (" and the policies' fees and costs" if fees + cost else "")
        why = (f"{loans:,} loans could each come to {per_loan:.3g} (principal, interest over {months} months"
               + (", capitalised" if capitalising else "") + (", fees and costs" if fees + cost else "")
               + f"), {loans * per_loan * 100:.3g} cents in all; must stay under {CENTS_LIMIT / HEADROOM:.3g} cents: "
               f"lower {keys}, or the number of borrowers")
        problems.append(("run.months", months, why))
    return problems


def _months(scenario: Scenario) -> str:
    """The months simulated, as a message names them."""
    run = scenario.run
    return f"run.months = {run.months}" + (f" and up to {RUN_OFF_MONTHS} months of run-off (run.lifetime)" if run.lifetime else "")


def _compound(monthly_rate: float, months: int) -> float:
    try:
        return (1 + monthly_rate) ** months
    except OverflowError:
        return math.inf


def _borrower_problems(scenario: Scenario) -> list[tuple[str, Any, str]]:
    """Income grown over the run, a borrower's cash and outside debt: they become cents
    (cash paid, outside debt, shock expenses summed over the book)."""
    b, e, months = scenario.borrowers, scenario.economy, scenario.run.simulated_months()
    problems = []
    years = months / 12
    growth = (1 + e.annual_income_growth) ** years if e.annual_income_growth > 0 else 1.0
    grown = b.income_monthly.mean() * growth
    if grown > MAX_AMOUNT:
        problems.append(("economy.annual_income_growth", e.annual_income_growth,
                         f"over {_months(scenario)} it multiplies incomes by {growth:.3g}, taking the mean monthly "
                         f"income ({b.income_monthly.mean():.6g}) to {grown:.3g}; must keep it at most {MAX_AMOUNT:g} "
                         "(lower the growth or the run's months)"))
        return problems
    stacking = b.stacking
    outside = stacking.max_balance * _compound(stacking.apr / 12 + stacking.rollover_fee_share, min(stacking.max_rollovers, months))
    principal = sum(most(p.principal) for p in scenario.portfolio.product_table().values())
    income = most(b.income_monthly) * growth + principal * b.loan_use.monthly_return
    saved = most(b.target_buffer_months if b.initial_savings_months is None else b.initial_savings_months)
    cash = income * (saved + months) + outside
    if not fits(cash * 100):
        problems.append(("economy.annual_income_growth", e.annual_income_growth,
                         f"over {_months(scenario)} a borrower's income (up to {most(b.income_monthly):g} a month, "
                         f"grown {growth:.3g}-fold) and outside debt could add up to {cash:.3g} in cash, "
                         f"beyond {CENTS_LIMIT / HEADROOM / 100:.3g}; lower the growth, the run's months or "
                         "borrowers.stacking's max_balance, apr and max_rollovers"))
    people = scenario.portfolio.borrowers
    if stacking.take_up_prob.support()[1] > 0 and not fits(people * outside * 100):
        problems.append(("borrowers.stacking.max_balance", stacking.max_balance,
                         f"with apr {stacking.apr:g}, rollover_fee_share {stacking.rollover_fee_share:g} and "
                         f"max_rollovers {stacking.max_rollovers}, {people:,} borrowers could owe {people * outside:.3g} "
                         "outside, beyond int64 cents; lower them"))
    for kind, shock in b.shocks.items():
        if not fits(people * most(shock.expense) * 100):
            problems.append((f"borrowers.shocks.{kind}.expense", most(shock.expense),
                             f"{people:,} borrowers hit at once could cost {people * most(shock.expense):.3g}, beyond int64 cents"))
    return problems
