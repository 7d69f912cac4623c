"""records.py: a Record behaves as the frozen dataclass it stands in for."""

from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelreg.records import Record

PACKAGE = Path(__file__).resolve().parent.parent / "modelreg"


@dataclass(frozen=True, eq=False, repr=False)
class Lean(Record):
    name: str
    size: int
    tags: tuple[str, ...] = ()
    note: str = field(default="", compare=False)
    labels: tuple[tuple[str, str], ...] = field(default=(), hash=False)
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class Generated:
    name: str
    size: int
    tags: tuple[str, ...] = ()
    note: str = field(default="", compare=False)
    labels: tuple[tuple[str, str], ...] = field(default=(), hash=False)
    secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class One(Record):
    value: int


@dataclass(frozen=True, eq=False, repr=False)
class Empty(Record):
    pass


values = st.tuples(
    st.text(max_size=5),
    st.integers(),
    st.tuples(st.text(max_size=3)),
    st.text(max_size=3),
    st.tuples(st.tuples(st.text(max_size=2), st.text(max_size=2))),
    st.text(max_size=3),
)


@given(values, values)
def test_equality_hash_and_text_are_the_generated_ones(
    a: tuple[object, ...], b: tuple[object, ...]
) -> None:
    lean_a, lean_b = Lean(*a), Lean(*b)  # type: ignore[arg-type]
    gen_a, gen_b = Generated(*a), Generated(*b)  # type: ignore[arg-type]
    assert (lean_a == lean_b) == (gen_a == gen_b)
    assert hash(lean_a) == hash(gen_a)
    assert repr(lean_a) == repr(gen_a).replace("Generated(", "Lean(", 1)
    assert lean_a == Lean(*a) and hash(lean_a) == hash(Lean(*a))  # type: ignore[arg-type]


def test_a_record_is_still_a_frozen_dataclass() -> None:
    item = Lean("m", 1, note="why")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.size = 2  # type: ignore[misc]
    assert dataclasses.replace(item, size=2) == Lean("m", 2)
    assert dataclasses.asdict(One(3)) == {"value": 3}
    assert [f.name for f in dataclasses.fields(One)] == ["value"]
    assert One(3) == One(3) and One(3) != One(4) and hash(One(3)) == hash((3,))
    assert repr(One(3)) == "One(value=3)" and repr(Empty()) == "Empty()"
    assert Empty() == Empty() and hash(Empty()) == hash(())
    assert One(3) != Lean("m", 3) and One(3) != (3,)  # another class is never equal
    assert {Lean("m", 1, note="a"), Lean("m", 1, note="b")} == {Lean("m", 1)}


def _record_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "Record" for base in node.bases
            ):
                found.append((f"{path.relative_to(PACKAGE)}:{node.name}", node))
    return found


def test_every_record_is_declared_frozen_and_leaves_eq_and_repr_to_record() -> None:
    classes = _record_classes()
    assert len(classes) >= 20  # the read path's classes are records
    for where, node in classes:
        [decorator] = [
            d
            for d in node.decorator_list
            if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "dataclass"
        ]
        said = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords}
        assert said.get("frozen") is True, where
        assert said.get("eq") is False and said.get("repr") is False, where
        assert "order" not in said and "unsafe_hash" not in said, where
