"""Outputs of a run: the results folder, plots and the HTML report."""

from loansim.report.writer import write_guarded, write_results

__all__ = ["write_guarded", "write_results"]
