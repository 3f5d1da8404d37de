"""loansim: agent-based, discrete-event simulation of a consumer-loan portfolio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loansim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["__version__"]

from loansim.policies import import_builtin_policies  # noqa: E402

import_builtin_policies()
