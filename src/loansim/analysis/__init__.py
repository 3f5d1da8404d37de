"""The analyses built on replications: ``compare`` (paired differences under common random
numbers), ``stress`` (one book through macro scenarios, by quarter) and ``sweep`` (grids and
samples of parameter points, resumable). Each turns ``RunResult``s into rows; the Python API
(``loansim.api``) and the commands (``loansim.cli``) plan and run them, and ``loansim.report``
writes their folders."""
