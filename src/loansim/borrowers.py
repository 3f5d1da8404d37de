"""Borrowers as arrays: income, employment, spending habit, savings, forgetfulness.

Each month, for the whole population at once:

1. employment moves one step of a two-state Markov chain (job loss / job finding);
2. income is the base income if employed, else a replacement share of it;
3. spending is the borrower's habitual share of income plus month-to-month noise;
4. savings absorb the difference (consumption cannot take savings below zero).

Instalments are then paid out of savings on each loan's due day (``engine``).
"""

from __future__ import annotations

import numpy as np

from loansim.rng import Streams
from loansim.scenario import Scenario
from loansim.state import Field, StateArrays


class Borrowers(StateArrays):
    """One row per borrower. Money fields are float64 currency units."""

    FIELDS = {
        "base_income": Field(np.float64, 0.0, "currency/month", "monthly income when employed"),
        "income": Field(np.float64, 0.0, "currency/month", "income received this month"),
        "employed": Field(np.bool_, True, "flag", "holds a job this month"),
        "spending_habit": Field(np.float64, 0.0, "share", "habitual share of income consumed"),
        "savings": Field(np.float64, 0.0, "currency", "cash available to pay instalments"),
        "forget_prob": Field(np.float32, 0.0, "probability/month", "chance of forgetting a due date"),
    }


def generate_borrowers(scenario: Scenario, streams: Streams) -> Borrowers:
    """Draw the population's attributes, each from its own named stream."""
    b = scenario.borrowers
    n = scenario.portfolio.borrowers
    people = Borrowers(n)
    people.base_income = b.income_monthly.sample(streams.generator("population.income"), n)
    people.spending_habit = b.spending_share.sample(streams.generator("population.spending_habit"), n)
    people.forget_prob = b.monthly_forget_prob.sample(streams.generator("population.forget_prob"), n)
    months_saved = b.initial_savings_months.sample(streams.generator("population.savings"), n)
    people.savings = months_saved * people.base_income
    unemployed_share = initial_unemployment(scenario)
    people.employed = streams.uniform("population.employment", 0, n) >= unemployed_share
    return people


def initial_unemployment(scenario: Scenario) -> float:
    """The share unemployed at month 0: as given, or the chain's steady state."""
    if scenario.borrowers.initial_unemployment_share is not None:
        return scenario.borrowers.initial_unemployment_share
    loss, find = scenario.economy.monthly_job_loss_prob, scenario.economy.monthly_job_finding_prob
    return loss / (loss + find) if loss + find > 0 else 0.0


def step_employment(people: Borrowers, u: np.ndarray, job_loss_prob: float, job_finding_prob: float) -> None:
    """One month of the employment chain, driven by uniform draws `u` (one per borrower)."""
    people.employed = np.where(people.employed, u >= job_loss_prob, u < job_finding_prob)


def receive_income(people: Borrowers, unemployment_income_share: float) -> None:
    """This month's income: base income if employed, else the replacement share."""
    share = np.where(people.employed, 1.0, unemployment_income_share)
    np.multiply(people.base_income, share, out=people.income)


def spend_and_save(people: Borrowers, noise: np.ndarray) -> None:
    """Consume the habitual share of income (plus `noise`); savings absorb the rest."""
    share = np.maximum(people.spending_habit + noise, 0.0)
    people.savings += people.income * (1.0 - share)
    np.maximum(people.savings, 0.0, out=people.savings)
