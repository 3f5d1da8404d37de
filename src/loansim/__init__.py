"""loansim: agent-based, discrete-event simulation of a consumer-loan portfolio.

The Python API (``loansim.api``): ``load``, ``run``, ``compare``, ``stress``, ``sweep``; imported on first use, so
``import loansim`` stays light.
"""

from typing import Any

__version__ = "0.1.0"
"""The package's version, read by pyproject.toml (``[tool.setuptools.dynamic]``): one
place to change, and no package metadata to read at start-up (about 50 ms)."""

__all__ = ["__version__", "compare", "load", "run", "stress", "sweep"]

API = frozenset({"load", "run", "compare", "stress", "sweep", "Results", "Comparison", "Stress", "Sweep"})


def __getattr__(name: str) -> Any:
    if name in API:
        from loansim import api

        return getattr(api, name)
    raise AttributeError(f"module 'loansim' has no attribute {name!r}")

