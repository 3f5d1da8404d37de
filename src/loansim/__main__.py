"""The ``loansim`` console script (and ``python -m loansim``).

The command line is imported here, inside the same handling of Ctrl-C as the command
itself, so an interruption while the program starts also ends with one line (status 130)
rather than a traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Import the command line and run it; Ctrl-C while importing stops it cleanly."""
    try:
        from loansim.cli import main as command
    except KeyboardInterrupt:
        print("loansim: interrupted; no results were written", file=sys.stderr)
        return 130
    return command()


if __name__ == "__main__":
    sys.exit(main())
