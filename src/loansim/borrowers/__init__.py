"""Borrowers as arrays, and the monthly rules that move their cash.

Each month, for the whole population at once (``loansim.engine`` calls these in order):

1. the economy: employment moves one step of a two-state Markov chain whose job-loss
   hazard follows the unemployment path; some borrowers take a permanent pay cut;
   incomes grow (``income``);
2. sudden shocks: illness, accidents, regional disasters cost money and can cut income
   for a spell (``shocks``);
3. income arrives: base income if employed, else the replacement share, less any
   income lost to a shock (``income``);
4. spending: essentials that cannot be cut, then repayments of outside short-term debt
   (``stacking``), then discretionary spending by a buffer-stock rule: each borrower aims
   at a target buffer of liquid savings, spends more above it and cuts back below it;
   over-spenders also spend a share of their cash, and literate borrowers budget for the
   coming instalment; savings absorb the rest (``spending``). What the loan itself was used for can add income or be lost (``loan_use``).

Income arrives on each borrower's pay day: until then this month's income, though budgeted
at the month's start, is not cash the borrower can pay with (``Borrowers.income_pending``).
Instalments are paid out of that cash on each loan's due day (``engine``); a borrower who
was short of cash may pay the arrears on the pay day (``pay_arrears_on_pay_day``).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from loansim.loans import DAYS_PER_MONTH, floor_cents
from loansim.rng import Streams
from loansim.scenario import Scenario
from loansim.scenario.schema import Misunderstanding
from loansim.state import Array, StateArrays, field


class Borrowers(StateArrays):
    """One row per borrower. Money fields are float64 currency units."""

    due_day: Array[np.int16] = field(0, "day of month", "day of the 30-day month all the borrower's loans are due")
    segment: Array[np.int16] = field(0, "id", "portfolio segment (position in [portfolio.segments])")
    base_income: Array[np.float64] = field(0.0, "currency/month", "monthly income when employed and well")
    income: Array[np.float64] = field(0.0, "currency/month", "income received this month")
    employed: Array[np.bool_] = field(True, "flag", "holds a job this month")
    job_loss_sensitivity: Array[np.float32] = field(1.0, "multiplier", "exposure to job loss relative to the average")
    region: Array[np.int16] = field(0, "id", "region, for shocks that hit a whole region")
    essentials: Array[np.float64] = field(0.0, "currency/month", "spending that cannot be cut")
    target_buffer: Array[np.float32] = field(0.0, "months of base income", "liquid savings the borrower aims to hold")
    overspender: Array[np.bool_] = field(False, "flag", "spends more the more cash is at hand")
    savings: Array[np.float64] = field(0.0, "currency", "cash held at the month's end if the month's spending goes as planned (this month's income counted)")
    month_spending: Array[np.float64] = field(0.0, "currency", "this month's discretionary spending, spent evenly over its days")
    pay_day: Array[np.int8] = field(0, "day of month", "day the month's income arrives")
    income_pending: Array[np.float64] = field(0.0, "currency", "this month's income, counted in savings but not cash before the pay day")
    literacy: Array[np.float32] = field(0.0, "0-1", "financial literacy")
    forget_prob: Array[np.float32] = field(0.0, "probability/month", "chance of forgetting a due date, before literacy")
    forget_notice_days: Array[np.int8] = field(1, "days", "how late a borrower who forgot a due date notices and pays")
    misreads: Array[np.int8] = field(0, "code", "0 understands the contract; 1 thinks the date later; 2 the instalment lower")
    misread_late_days: Array[np.int8] = field(0, "days", "how late a borrower who misreads the date pays")
    misread_paid_share: Array[np.float32] = field(1.0, "share", "share of the amount due paid by one who misreads the instalment")
    strategic_propensity: Array[np.float32] = field(0.0, "probability/month", "base chance of choosing to stop paying")
    unwilling: Array[np.bool_] = field(False, "flag", "has chosen to stop paying (strategic default)")
    score: Array[np.float32] = field(680.0, "points 300-850", "credit score")
    stacking_take_up: Array[np.float32] = field(0.0, "probability", "chance of borrowing outside when short at a due date")
    outside_balance: Array[np.float64] = field(0.0, "currency", "owed to outside short-term lenders")
    outside_taken: Array[np.float64] = field(0.0, "currency", "outside credit taken so far")
    outside_rollovers: Array[np.int16] = field(0, "count", "months the outside repayment was not met in full")
    months_in_arrears: Array[np.int16] = field(0, "months", "month-ends with at least one loan past due")
    loan_use: Array[np.int8] = field(0, "code", "0 consumption, 1 productive, 2 risky venture")
    applies_in_month: Array[np.int16] = field(-1, "month", "month an applicant applies for credit (origination); -1 for the book at the start")
    invested: Array[np.float64] = field(0.0, "currency", "borrowed money still at work in a productive or risky use")


MISREAD_DATE, MISREAD_AMOUNT = 1, 2


def generate_borrowers(scenario: Scenario, streams: Streams, application_months: np.ndarray | None = None) -> Borrowers:
    """Draw the population's attributes, each from its own named stream.

    The population is the book at the start plus one borrower per entry of
    `application_months` (applicants who apply in that month, drawn from the same model),
    at random places among them.
    """
    b = scenario.borrowers
    months = np.zeros(0, dtype=np.int16) if application_months is None else np.asarray(application_months)
    n = scenario.portfolio.borrowers + months.size
    people = Borrowers(n)
    if months.size:
        places = np.sort(streams.generator("population.applicants").permutation(n)[:months.size])
        people.applies_in_month[places] = months
        streams.place(borrower_is_applicant=people.applies_in_month >= 0)  # they draw from streams of their own
    people.base_income = streams.sample(b.income_monthly, "population.income", n)
    people.target_buffer = streams.sample(b.target_buffer_months, "population.target_buffer", n)
    people.forget_prob = streams.sample(b.monthly_forget_prob, "population.forget_prob", n)
    people.forget_notice_days = np.clip(np.rint(streams.sample(b.forget_notice_days, "population.forget_notice", n)), 1, 29)
    people.literacy = streams.sample(b.literacy, "population.literacy", n)
    people.job_loss_sensitivity = streams.sample(b.job_loss_sensitivity, "population.job_loss_sensitivity", n)
    people.essentials = streams.sample(b.essential_spending_share, "population.essentials", n) * people.base_income
    people.overspender = streams.uniform("population.overspender", 0, n) < b.overspender_share
    people.region = np.minimum(streams.uniform("population.region", 0, n) * b.regions, b.regions - 1).astype(np.int16)
    people.due_day = due_days(people.applies_in_month >= 0)
    draw_misreadings(people, b.misunderstanding, streams)
    people.strategic_propensity = streams.sample(b.strategic.monthly_prob, "population.strategic", n)
    people.stacking_take_up = streams.sample(b.stacking.take_up_prob, "population.stacking", n)
    people.score = np.clip(streams.sample(b.score.initial, "population.score", n), 300, 850)
    people.pay_day = np.clip(np.rint(streams.sample(b.pay_day, "population.pay_day", n)), 0, 29)
    if b.initial_savings_months is None:  # where the buffer rule keeps them: at their own month-end target
        months_saved = people.target_buffer + people.pay_day / DAYS_PER_MONTH
    else:
        months_saved = streams.sample(b.initial_savings_months, "population.savings", n)
    people.savings = months_saved * people.base_income
    if b.score.risk_weight > 0:  # the book among itself, applicants among themselves
        groups = [slice(None)] if streams.borrowers is None else [streams.borrowers.book, streams.borrowers.applicants]
        noise = streams.normal("population.score.noise", 0, n)
        for group in groups:
            people.score[group] = rank_by_risk(people, months_saved, b.score.risk_weight, noise, group)
    unemployed_share = initial_unemployment(scenario)
    people.employed = streams.uniform("population.employment", 0, n) >= unemployed_share
    return people


def due_days(applicant: np.ndarray) -> np.ndarray:
    """Each borrower's due day, in blocks, so that each day's borrowers are together: the
    book's spread evenly over the month as if there were no applicants, and each applicant
    on the day of the book's borrower before them (the first day before any)."""
    n = applicant.size
    book = np.flatnonzero(~applicant)
    days = np.zeros(n, dtype=np.int64)
    days[book] = (np.arange(book.size, dtype=np.int64) * DAYS_PER_MONTH) // max(book.size, 1)
    before = np.maximum.accumulate(np.where(applicant, -1, np.arange(n)))  # the book's borrower at or before each place
    return np.where(before >= 0, days[np.maximum(before, 0)], 0)


def rank_by_risk(people: Borrowers, months_saved: np.ndarray, weight: float, noise: np.ndarray,
                 ids: slice | np.ndarray = slice(None)) -> np.ndarray:
    """The drawn scores, handed out so that they rank borrowers by a mix of their risk traits
    and noise (a Gaussian copula with the score's own distribution as margin).

    The traits, each turned into normal scores by rank: months of savings, the target buffer
    (when savings do not simply start at it), literacy and income count for a borrower;
    essentials, forgetfulness and job-loss sensitivity against. The mix is
    ``weight × traits + sqrt(1 - weight²) × noise`` (`noise`: standard normals, one per
    borrower). Only borrowers `ids` are ranked, among themselves; returns their scores.
    """
    from scipy.special import ndtri

    def normal_scores(x: np.ndarray) -> np.ndarray:
        return ndtri((np.argsort(np.argsort(x, kind="stable"), kind="stable") + 0.5) / x.size)

    good: list[np.ndarray] = [months_saved[ids], people.literacy[ids], people.base_income[ids]]
    if not np.array_equal(months_saved[ids], people.target_buffer[ids]):
        good.append(people.target_buffer[ids])
    bad = [people.essentials[ids] / np.maximum(people.base_income[ids], 1e-9), people.forget_prob[ids],
           people.job_loss_sensitivity[ids]]
    traits = reduce(np.add, [normal_scores(np.asarray(x, dtype=float)) for x in good]) - reduce(np.add, [normal_scores(np.asarray(x, dtype=float)) for x in bad])
    traits = (traits - traits.mean()) / max(traits.std(), 1e-12)
    mix = weight * traits + np.sqrt(1 - weight ** 2) * noise[ids]
    ranks = np.argsort(np.argsort(mix, kind="stable"), kind="stable")
    return np.sort(people.score[ids])[ranks]


def count_months_in_arrears(people: Borrowers, holders: np.ndarray) -> None:
    """A month end at which borrowers `holders` have a loan past due: one more month in
    arrears each (a borrower listed once per late loan still counts once: fancy-index ``+=``
    adds once per distinct index)."""
    people.months_in_arrears[holders] += 1


def cash_cents(people: Borrowers, ids: slice | np.ndarray, day_of_month: int | np.ndarray) -> np.ndarray:
    """Cash the borrowers can pay with on `day_of_month`, in whole cents.

    Savings are what the month will end with; spending runs evenly through the month, and
    the discretionary part still to come may go to a payment instead (``pay_out``). Income
    whose pay day is still to come is not cash yet, except as far as it pays for the
    essentials still to come (those bills fall due after it arrives).
    """
    left = (DAYS_PER_MONTH - day_of_month) / DAYS_PER_MONTH
    cash = people.month_spending[ids] * left
    cash += people.savings[ids]
    waiting = people.pay_day[ids] > day_of_month
    if waiting.any():  # else no need to read income_pending (a cost on scattered ids)
        not_yet = np.maximum(people.income_pending[ids] - people.essentials[ids] * left, 0.0)
        cash -= not_yet * waiting
    return floor_cents(np.maximum(cash, 0.0, out=cash))


def pay_out(people: Borrowers, ids: slice | np.ndarray, amount: np.ndarray, day_of_month: int | np.ndarray) -> None:
    """Borrowers `ids` (distinct) pay `amount` (currency) on `day_of_month`: out of savings,
    and what savings do not hold out of the discretionary spending still to come this
    month, which falls by as much (``cash_cents`` never offers more than both)."""
    savings = people.savings[ids] - amount
    short = np.minimum(savings, 0.0)
    if short.any():
        people.month_spending[ids] += short * (DAYS_PER_MONTH / (DAYS_PER_MONTH - day_of_month))
        savings -= short
    people.savings[ids] = savings


def draw_misreadings(people: Borrowers, m: Misunderstanding, streams: Streams) -> None:
    """Mark the borrowers who misread their contract, and how."""
    n = people.n
    u = streams.uniform("population.misreads", 0, n)
    misreads = u < m.share
    reads_date = streams.uniform("population.misreads.kind", 0, n) < m.date_share
    people.misreads = np.where(misreads, np.where(reads_date, MISREAD_DATE, MISREAD_AMOUNT), 0)
    days = np.rint(streams.sample(m.late_days, "population.misreads.days", n))
    people.misread_late_days = np.clip(days, 1, 29)
    people.misread_paid_share = streams.sample(m.paid_share, "population.misreads.paid", n)


def initial_unemployment(scenario: Scenario) -> float:
    """The share unemployed at month 0: as given, the path's first month, or the chain's steady state."""
    e = scenario.economy
    if scenario.borrowers.initial_unemployment_share is not None:
        return scenario.borrowers.initial_unemployment_share
    if e.has_path():
        return e.starting_rate()
    loss, find = e.job_loss_prob(), e.monthly_job_finding_prob
    return loss / (loss + find) if loss + find > 0 else 0.0
