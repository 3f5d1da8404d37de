"""Outputs of a run: the results folder, plots and the HTML report.

``write_results`` and ``write_guarded`` are imported on first use: they bring in
matplotlib, which commands that write nothing (``--version``, ``validate``) do not need.
"""

from typing import Any

__all__ = ["write_guarded", "write_results"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from loansim.report import writer

        return getattr(writer, name)
    raise AttributeError(f"module 'loansim.report' has no attribute {name!r}")
