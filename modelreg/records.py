"""Frozen dataclasses that cost half as much to define: for the modules every read loads.

Every command pays for defining the classes it imports, and a frozen dataclass
compiles six methods from source when its class is made: ~0.6 ms a class here,
~15 ms of a ``resolve`` that loads some 25 of them (a third of its own time).
The modules a read loads declare theirs as::

    @dataclass(frozen=True, eq=False, repr=False)
    class Resolved(Record): ...

They are still frozen dataclasses (``fields``, ``replace`` and ``asdict`` work,
assigning a field raises ``FrozenInstanceError``); :class:`Record` gives them
the ``__eq__``, ``__hash__`` and ``__repr__`` the dataclass would have generated
(the same fields compared, hashed and shown, honouring ``field(compare=False,
hash=False, repr=False)``), written once instead of compiled for each class.
``tests/test_records.py`` checks they behave as the generated ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any

_Getter = Callable[[Any], tuple[Any, ...]]


class _Plan:
    """Which fields a record class compares, hashes and shows (worked out on first use)."""

    __slots__ = ("compared", "hashed", "shown")

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        self.compared = _getter([f.name for f in fields if f.compare])
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        self.hashed = _getter(hashed)
        self.shown = tuple(f.name for f in fields if f.repr)


def _getter(names: list[str]) -> _Getter:
    if len(names) > 1:
        return attrgetter(*names)  # a tuple, built in C
    if names:
        one = attrgetter(names[0])
        return lambda item: (one(item),)
    return lambda _item: ()


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    found = _PLANS.get(cls)
    if found is None:
        found = _PLANS[cls] = _Plan(cls)
    return found


class Record:
    """The equality, hash and text of a frozen dataclass declared with ``eq=False,
    repr=False``: those of the tuple of its fields, as the generated ones are."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = _plan(self.__class__).compared
        return bool(compared(self) == compared(other))

    def __hash__(self) -> int:
        return hash(_plan(self.__class__).hashed(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _plan(self.__class__).shown)
        return f"{self.__class__.__qualname__}({shown})"
