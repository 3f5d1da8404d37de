"""Clearer terms: plain-language contracts, so fewer borrowers misread the due date or the
instalment.

*Who*: the borrowers given the clearer contract (``share_of_loans`` of them, drawn once).
*What*: each of them who would have misread the contract reads it right with chance
``misunderstanding_reduction``. The contract is issued at origination, so the whole cost,
``cost_per_loan`` for each of the borrower's loans, is booked at the start of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from loansim.policies import Policy, PolicyParams, register

if TYPE_CHECKING:
    from loansim.engine import Simulation


class ClearerTermsParams(PolicyParams):
    share_of_loans: float = Field(default=1.0, ge=0, le=1, description="share of borrowers whose contracts are rewritten")
    misunderstanding_reduction: float = Field(default=0.7, ge=0, le=1, description="chance that a borrower who would misread the contract reads the clearer one right")
    cost_per_loan: float = Field(default=2.0, ge=0, description="one-off cost per loan, currency units")


@register
class ClearerTerms(Policy):
    """Plain-language contracts."""

    name = "clearer_terms"
    Params = ClearerTermsParams
    params: ClearerTermsParams

    def setup(self, sim: Simulation) -> None:
        people, p = sim.borrowers, self.params
        self.misreading_before = int(np.count_nonzero(people.misreads))
        given = sim.streams.uniform("policy.clearer_terms.reach", 0, people.n) < p.share_of_loans
        reads_right = sim.streams.uniform("policy.clearer_terms.effect", 0, people.n) < p.misunderstanding_reduction
        people.misreads[given & reads_right] = 0
        self.misreading_after = int(np.count_nonzero(people.misreads))
        loans = np.count_nonzero(given[sim.loans.borrower])
        self.actions = int(loans)
        self.book_cost(sim, round(100 * p.cost_per_loan) * loans)

    def report(self, sim: Simulation) -> dict[str, float]:
        return {**super().report(sim), "loans_rewritten": float(self.actions),
                "borrowers_misreading_without": float(self.misreading_before),
                "borrowers_misreading_with": float(self.misreading_after)}
