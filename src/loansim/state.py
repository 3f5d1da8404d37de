"""Agent state as a structure of arrays, declared once and typed.

A container declares each per-agent array as an annotated class attribute, its dtype in the
annotation and its start value, unit and meaning in ``field`` (as Starsim's
``define_states``)::

    class Loans(StateArrays):
        principal: Array[np.int64] = field(0, "cents", "principal outstanding, billed or not")

Type checkers and editors then know every field and its dtype (reading one gives an
``NDArray[np.int64]``; assigning takes anything array-like), and ``FIELDS`` lists them
for code that walks them all (memory estimates, tests). The arrays are created together,
all of length ``n``, and no other attribute can be set afterwards, so a typo such as
``loans.princpal = ...`` fails loudly instead of creating a new array; an assignment is
converted to the field's dtype and must have the length ``n``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=np.generic)


if TYPE_CHECKING:
    class Array(Generic[T]):
        """The type of a field as type checkers see it (a descriptor): reading it gives an
        array of dtype `T`, assigning it takes anything array-like."""

        def __get__(self, obj: object, owner: Any) -> npt.NDArray[T]: ...
        def __set__(self, obj: object, value: npt.ArrayLike) -> None: ...
else:
    class Array(Generic[T]):
        """A field's annotation, ``Array[np.int64]``: its dtype, read by ``StateArrays``. Only
        an annotation: at run time a field is a plain numpy array on the instance, and an
        assignment is converted to `T` (``StateArrays.__setattr__``); type checkers see it as a
        descriptor whose reading gives an array of dtype `T`."""


@dataclass(frozen=True)
class Field:
    """One per-agent array: its dtype (from the annotation), the value new agents start
    with, its unit and its meaning."""

    dtype: type
    default: float | int | bool = 0
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class _Declared:
    """A field as written in the class body, before its dtype is read from the annotation."""

    default: float | int | bool
    unit: str
    doc: str


def field(default: float | int | bool, unit: str, doc: str) -> Any:
    """Declare a per-agent array of a ``StateArrays`` container (module docstring): its
    start value, unit and meaning; its dtype is the annotation's (``Array[np.int64]``)."""
    return _Declared(default, unit, doc)


class StateArrays:
    """Base for containers of equal-length per-agent arrays (module docstring)."""

    FIELDS: ClassVar[dict[str, Field]] = {}
    n: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls)
        fields = dict(cls.FIELDS)
        for name, value in list(vars(cls).items()):
            if isinstance(value, _Declared):
                dtype = typing.get_args(hints[name])[0]  # Array[X]
                fields[name] = Field(dtype, value.default, value.unit, value.doc)
                delattr(cls, name)  # the instance's array is the attribute
        cls.FIELDS = fields

    def __init__(self, n: int) -> None:
        object.__setattr__(self, "n", int(n))
        for name, spec in self.FIELDS.items():
            object.__setattr__(self, name, np.full(n, spec.default, dtype=spec.dtype))

    def __setattr__(self, name: str, value: object) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        array: np.ndarray = np.asarray(value, dtype=self.FIELDS[name].dtype)
        if array.shape != (self.n,):
            raise ValueError(f"{type(self).__name__}.{name} must have shape ({self.n},)")
        object.__setattr__(self, name, array)

    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(getattr(self, name).nbytes for name in self.FIELDS)
