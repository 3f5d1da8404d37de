"""Clearer terms: plain-language contracts, so fewer borrowers misread the due date or the
instalment.

*Who*: the borrowers given the clearer contract (``share_of_loans`` of them, drawn once).
*What*: each of them who would have misread the contract reads it right with chance
``misunderstanding_reduction``. The contract is issued when the loan is lent, and costs
``cost_per_loan``: for the book at the start, at the start of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from loansim.limits import MAX_PRICE
from loansim.loans import NOT_LENT
from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.context import Context


class ClearerTermsParams(PolicyParams):
    share_of_loans: float = Field(default=1.0, ge=0, le=1, description="share of borrowers whose contracts are rewritten")
    misunderstanding_reduction: float = Field(default=0.7, ge=0, le=1, description="chance that a borrower who would misread the contract reads the clearer one right")
    cost_per_loan: float = Field(default=2.0, ge=0, le=MAX_PRICE, description="one-off cost per loan, currency units")


@register
class ClearerTerms(Policy[ClearerTermsParams]):
    """Plain-language contracts."""

    name = "clearer_terms"
    Params = ClearerTermsParams
    spans_days = True  # it acts before the run, and when loans are lent (at a month's start)

    def setup(self, sim: Context) -> None:
        people, p = sim.borrowers, self.params
        self.misreading_before = int(np.count_nonzero(people.misreads))
        given = sim.streams.uniform("policy.clearer_terms.reach", 0, people.n) < p.share_of_loans
        reads_right = sim.streams.uniform("policy.clearer_terms.effect", 0, people.n) < p.misunderstanding_reduction
        people.misreads[given & reads_right] = 0
        self.misreading_after = int(np.count_nonzero(people.misreads))
        self.given = given
        self.issue(sim, np.flatnonzero(sim.loans.status != NOT_LENT))
        sim.hooks.add("lent", lambda sim, day, ids: self.issue(sim, ids))

    def issue(self, sim: Context, ids: np.ndarray) -> None:
        """Loans `ids` are lent: book the cost of the clearer contracts among them."""
        loans = int(np.count_nonzero(self.given[sim.book.holders(ids)]))
        self.actions += loans
        self.book_priced(sim, loans, self.params.cost_per_loan)

    def report(self, sim: Context) -> dict[str, float]:
        return {**super().report(sim), "loans_rewritten": float(self.actions),
                "borrowers_misreading_without": float(self.misreading_before),
                "borrowers_misreading_with": float(self.misreading_after)}
