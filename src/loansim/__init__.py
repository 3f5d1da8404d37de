"""loansim: agent-based, discrete-event simulation of a consumer-loan portfolio.

The Python API (``loansim.api``): ``load``, ``run``, ``compare``, ``stress``, ``sweep``; imported on first use, so
``import loansim`` stays light.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("loansim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["__version__", "compare", "load", "run", "stress", "sweep"]

API = frozenset({"load", "run", "compare", "stress", "sweep", "Results", "Comparison", "Stress", "Sweep"})


def __getattr__(name: str) -> Any:
    if name in API:
        from loansim import api

        return getattr(api, name)
    raise AttributeError(f"module 'loansim' has no attribute {name!r}")

