"""deps.py: dependencies between models: resolution, conflicts, cycles, dependents
(the promotion gates built on them are in test_gates.py)."""

from __future__ import annotations

from modelreg import Registry
from modelreg.deps import Status

from .conftest import Clock, FileMaker


def test_resolution_picks_the_highest_version_in_range(stack: Registry) -> None:
    tree = stack.deps("classifier@v1.2.0")
    assert tree.ok
    [embedder] = tree.root.children
    assert (embedder.name, embedder.range, embedder.version) == (
        "text-embedder",
        ">=2.0.0,<3.0.0",
        "2.3.1",
    )
    [tokenizer] = embedder.children
    assert (tokenizer.name, tokenizer.version) == ("tokenizer", "1.4.0")
    assert stack.deps("classifier").root.children[0].version == "3.0.0"  # latest: v1.3.0


def test_resolution_against_a_stage(stack: Registry, clock: Clock) -> None:
    tree = stack.deps("classifier@v1.2.0", stage="production")
    assert not tree.ok
    assert tree.root.children[0].status is Status.NO_HOLDER
    for ref in ("tokenizer@v1.4.0", "text-embedder@v2.3.1"):
        clock.tick()
        stack.promote(ref, "production")
    tree = stack.deps("classifier@v1.2.0", stage="production")
    assert tree.ok
    assert [n.version for n in tree.root.walk()] == ["1.2.0", "2.3.1", "1.4.0"]
    held = stack.deps("classifier@v1.3.0", stage="production").root.children[0]
    assert held.status is Status.STAGE_UNSATISFIED
    assert "production holds text-embedder v2.3.1, which is not ^3.0.0" in held.detail


def test_missing_models_and_unsatisfiable_ranges(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    registry.register("base", [files()], version="1.0.0")
    registry.register(
        "app", [files()], dependencies=["ghost@^1.0.0", "base@^2.0.0"], allow_unresolved=True
    )
    tree = registry.deps("app")
    assert [(n.name, n.status) for n in tree.root.children] == [
        ("ghost", Status.MISSING),
        ("base", Status.UNSATISFIED),
    ]
    assert not tree.ok


def test_conflicting_ranges_on_one_model(registry: Registry, files: FileMaker) -> None:
    registry.register("tok", [files()], version="1.5.0")
    registry.register("tok", [files()], version="2.1.0")
    registry.register("enc", [files()], version="1.0.0", dependencies=["tok@^1.0.0"])
    registry.register("app", [files()], dependencies=["enc@^1.0.0", "tok@^2.0.0"])
    tree = registry.deps("app")
    [conflict] = tree.conflicts
    assert conflict.name == "tok"
    assert set(conflict.wanted) == {("app@v0.1.0", "^2.0.0"), ("enc@v1.0.0", "^1.0.0")}
    assert not tree.ok
    # Compatible ranges on one model are not a conflict.
    registry.register("app2", [files()], dependencies=["enc@^1.0.0", "tok@>=1.0.0"])
    assert registry.deps("app2").conflicts == ()


def test_cycles_are_found(registry: Registry, files: FileMaker) -> None:
    registry.register("a", [files()], version="1.0.0", dependencies=["b@^1.0.0"],
                      allow_unresolved=True)  # fmt: skip
    registry.register("b", [files()], version="1.0.0", dependencies=["a@^1.0.0"])
    tree = registry.deps("a")
    assert tree.cycles == (("a", "b", "a"),)
    assert tree.root.children[0].children[0].status is Status.CYCLE
    assert not tree.ok


def test_reverse_dependencies(stack: Registry, clock: Clock) -> None:
    found = stack.dependents("text-embedder")
    assert [(d.name, d.version, d.range, d.satisfied_by) for d in found] == [
        ("classifier", "1.2.0", ">=2.0.0,<3.0.0", "2.3.1"),
        ("classifier", "1.3.0", "^3.0.0", "3.0.0"),
    ]
    clock.tick()
    stack.promote("tokenizer@v1.4.0", "production")
    clock.tick()
    stack.promote("text-embedder@v2.3.1", "production")
    by_stage = stack.dependents("text-embedder", stage="production")
    assert [(d.version, d.satisfied_by) for d in by_stage] == [("1.2.0", "2.3.1"), ("1.3.0", None)]
    assert stack.dependents("classifier") == []


# --- gates ---------------------------------------------------------------------------


def test_trees_and_dependents_that_do_not_resolve_are_failures_any_face_can_raise() -> None:
    from modelreg.deps import Conflict, Dependent, Node, Tree, unsatisfied

    missing = Node("gone", None, "^1.0.0", Status.MISSING)
    ok = Node("m", "1.0.0", None, Status.ROOT)
    assert Tree(ok, None, (), ()).failure("m") is None
    broken = Tree(Node("m", "1.0.0", None, Status.ROOT, children=(missing,)), None, (), ())
    conflict = Conflict("e", (("a", "^1"), ("b", "^2")))
    failure = Tree(broken.root, None, (conflict,), ()).failure("m@v1.0.0")
    assert failure is not None and failure.message == "m@v1.0.0: 2 dependency problem(s)"
    fine = Dependent("a", "1.0.0", "^1.0.0", (), "1.2.0")
    assert unsatisfied("e", [fine]) is None
    lost = unsatisfied("e", [fine, Dependent("b", "1.0.0", "^9.0.0", (), None)])
    assert lost is not None and lost.message == "1 version(s) depending on e are not satisfied"
