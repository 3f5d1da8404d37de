"""Agent state as a structure of arrays, declared once.

Each container lists its fields with dtype, unit and meaning in one ``FIELDS`` table
(as Covasim's ``PeopleMeta`` or Starsim's ``define_states``); the arrays are created
together, all of length ``n``, and no other attribute can be set afterwards, so a typo
such as ``loans.princpal = ...`` fails loudly instead of creating a new array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Field:
    """One per-agent attribute: its dtype, the value new agents start with, its unit."""

    dtype: type | str
    default: float | int | bool = 0
    unit: str = ""
    doc: str = ""


class StateArrays:
    """Base for containers of equal-length per-agent arrays declared in ``FIELDS``."""

    FIELDS: ClassVar[dict[str, Field]] = {}

    def __init__(self, n: int) -> None:
        object.__setattr__(self, "n", int(n))
        for name, spec in self.FIELDS.items():
            object.__setattr__(self, name, np.full(n, spec.default, dtype=spec.dtype))

    def __setattr__(self, name: str, value: object) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        array = np.asarray(value, dtype=self.FIELDS[name].dtype)
        if array.shape != (self.n,):
            raise ValueError(f"{type(self).__name__}.{name} must have shape ({self.n},)")
        object.__setattr__(self, name, array)

    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(getattr(self, name).nbytes for name in self.FIELDS)
