"""Function-length statistics of the package: how many functions, the median, 90th
percentile and longest body (lines, docstring excluded), and the longest ones.

    python scripts/function_lengths.py            # src/loansim
    python scripts/function_lengths.py --top 15
"""

from __future__ import annotations

import argparse
import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "loansim"


def body_lengths(root: Path) -> list[tuple[int, str]]:
    """(lines, where) of every function and method under `root`, its docstring left out."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                has_doc = len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                start = body[1].lineno if has_doc else body[0].lineno
                out.append((node.end_lineno - start + 1, f"{path.relative_to(root.parent)}:{node.lineno} {node.name}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=8, help="how many of the longest to list")
    args = parser.parse_args()
    lengths = body_lengths(ROOT)
    n = sorted(length for length, _ in lengths)
    print(f"functions {len(n)}, median {statistics.median(n):g}, 90th percentile {n[int(0.9 * len(n))]}, "
          f"longest {n[-1]}, over 30 lines {sum(x > 30 for x in n)}")
    for length, where in sorted(lengths, reverse=True)[: args.top]:
        print(f"{length:5} {where}")


if __name__ == "__main__":
    main()
