"""Dependencies between models: resolution, conflicts, cycles, dependents, and the
promotion gates built on them. Real git and DVC; each gate refuses, then passes once
its cause is fixed; --force is recorded in the tag."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.deps import Status
from modelreg.errors import GateError, PolicyError
from modelreg.tags import parse_message

from .conftest import Cli, Clock, FileMaker, git


@pytest.fixture
def stack(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    """tokenizer <- text-embedder <- classifier, each in two versions."""

    def reg(name: str, version: str, *deps: str) -> None:
        clock.tick()
        registry.register(name, [files()], version=version, dependencies=deps)

    reg("tokenizer", "1.4.0")
    reg("tokenizer", "2.0.0")
    reg("text-embedder", "2.3.1", "tokenizer@^1.2.0")
    reg("text-embedder", "3.0.0", "tokenizer@^2.0.0")
    reg("classifier", "1.2.0", "text-embedder@>=2.0.0,<3.0.0")
    reg("classifier", "1.3.0", "text-embedder@^3.0.0")
    return Registry(registry.root)


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


def test_deps_cli_output_and_exit_codes(cli: Cli, stack: Registry) -> None:
    ok = cli("-C", stack.root, "deps", "classifier@v1.2.0")
    assert ok.exit_code == 0, ok
    assert ok.stdout.splitlines() == [
        "classifier v1.2.0",
        "└── text-embedder >=2.0.0,<3.0.0 → v2.3.1",
        "    └── tokenizer ^1.2.0 → v1.4.0",
    ]
    data = json.loads(cli.ok("-C", stack.root, "deps", "classifier@v1.2.0", "--json").stdout)
    assert data["ok"] is True
    assert data["tree"]["dependencies"][0]["dependencies"][0]["version"] == "1.4.0"
    refused = cli("-C", stack.root, "deps", "classifier", "--stage", "production")
    assert refused.exit_code == 1
    assert "no version of text-embedder holds production" in refused.stdout
    assert refused.stderr.strip() == "modelreg: error: classifier: 1 dependency problem(s)"
    reverse = cli.ok("-C", stack.root, "deps", "tokenizer", "--reverse", "--json")
    assert [d["name"] for d in json.loads(reverse.stdout)["dependents"]] == [
        "text-embedder",
        "text-embedder",
    ]


# --- gates ---------------------------------------------------------------------------


def test_gate_dependencies_must_be_in_the_stage(stack: Registry, clock: Clock) -> None:
    with pytest.raises(
        GateError, match=re.escape("needs text-embedder >=2.0.0,<3.0.0 in production")
    ) as e:
        stack.promote("classifier@v1.2.0", "production")
    assert [f.gate for f in e.value.failures] == ["dependencies"]
    clock.tick()
    stack.promote("tokenizer@v1.4.0", "production")
    clock.tick()
    stack.promote("text-embedder@v2.3.1", "production")  # its own dependency is there now
    clock.tick()
    assert stack.promote("classifier@v1.2.0", "production").tag == "classifier#production#1"


def test_gate_a_stage_holder_must_satisfy_the_range(stack: Registry, clock: Clock) -> None:
    for ref in ("tokenizer@v1.4.0", "text-embedder@v2.3.1"):
        clock.tick()
        stack.promote(ref, "production")
    with pytest.raises(
        GateError, match=re.escape("production holds text-embedder v2.3.1, which is not")
    ):
        stack.promote("classifier@v1.3.0", "production")


def test_gate_dependents_keep_their_dependencies(stack: Registry, clock: Clock) -> None:
    for ref in ("tokenizer@v1.4.0", "text-embedder@v2.3.1", "classifier@v1.2.0"):
        clock.tick()
        stack.promote(ref, "production")
    # text-embedder 3.0.0 would break classifier 1.2.0 (and needs tokenizer 2 itself).
    with pytest.raises(GateError) as refused:
        stack.promote("text-embedder@v3.0.0", "production")
    assert {f.gate for f in refused.value.failures} == {"dependencies", "dependents"}
    messages = [f.message for f in refused.value.failures]
    assert any("classifier v1.2.0 holds production and needs text-embedder" in m for m in messages)
    assert "(and 1 more gate(s))" in str(refused.value)
    # Rolling a dependency back is checked against its dependents too.
    clock.tick()
    stack.promote("tokenizer@v2.0.0", "staging")
    with pytest.raises(GateError, match=re.escape("text-embedder v2.3.1 holds production")):
        stack.promote("tokenizer@v2.0.0", "production")


def test_gate_rollback_is_checked_against_dependents(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    registry.register("tok", [files()], version="1.0.0")
    registry.register("tok", [files()], version="1.1.0")
    registry.register("enc", [files()], version="1.0.0", dependencies=["tok@>=1.1.0"])
    for ref in ("tok@v1.0.0", "tok@v1.1.0", "enc@v1.0.0"):
        clock.tick()
        registry.promote(ref, "production")
    with pytest.raises(
        GateError, match=re.escape("enc v1.0.0 holds production and needs tok >=1.1.0")
    ):
        registry.rollback("tok", "production")
    clock.tick()
    registry.deprecate("enc@v1.0.0")  # the dependent leaves production
    clock.tick()
    assert registry.rollback("tok", "production").version == "1.0.0"


def test_gate_promotion_order(repo: Path, files: FileMaker, clock: Clock) -> None:
    (repo / ".modelreg.yaml").write_text(
        "stages: [dev, staging, production]\npromotion_order: true\n"
    )
    git(repo, "commit", "-qam", "promotion order")
    registry = Registry(repo)
    registry.register("m", [files()])
    with pytest.raises(GateError, match="must hold staging before production"):
        registry.promote("m@v0.1.0", "production")
    with pytest.raises(GateError, match="must hold dev before staging"):
        registry.promote("m@v0.1.0", "staging")
    for stage in ("dev", "staging", "production"):
        clock.tick()
        registry.promote("m@v0.1.0", stage)
    assert registry.resolve("m#production").version == "0.1.0"


def test_gate_unknown_stage(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    with pytest.raises(GateError, match="'prod' is not a stage of this registry") as refused:
        registry.promote("m@v0.1.0", "prod")
    # --force cannot override this gate, so the hint must not offer it.
    assert "override with --force" not in (refused.value.hint or "")
    assert ".modelreg.yaml" in (refused.value.hint or "")
    with pytest.raises(GateError, match="'prod' is not a stage"):
        registry.promote("m@v0.1.0", "prod", force=True, message="really")
    (registry.root / ".modelreg.yaml").write_text("stages: [dev, prod]\n")
    git(registry.root, "commit", "-qam", "add the prod stage")
    assert Registry(registry.root).promote("m@v0.1.0", "prod").tag == "m#prod#1"


def test_force_overrides_and_is_recorded(stack: Registry, clock: Clock) -> None:
    with pytest.raises(PolicyError, match="--force needs a reason"):
        stack.promote("classifier@v1.2.0", "production", force=True)
    clock.tick()
    result = stack.promote(
        "classifier@v1.2.0", "production", force=True, message="hotfix, deps follow"
    )
    text = git(stack.root, "tag", "-l", "--format=%(contents)", result.tag or "")
    message = parse_message(text)
    assert message.get("Forced") == "dependencies"
    assert message.get("Reason") == "hotfix, deps follow"
    assert stack.resolve("classifier#production").version == "1.2.0"


def test_force_through_the_cli(cli: Cli, stack: Registry) -> None:
    refused = cli("-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production")
    assert refused.exit_code == 1
    assert "--force -m REASON" in refused.stderr
    forced = cli(
        "-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production",
        "--force", "-m", "incident 42",
    )  # fmt: skip
    assert forced.exit_code == 0, forced
    assert "gate 'dependencies' refuses" in forced.stderr
    assert "Promoted classifier v1.2.0 to production" in forced.stdout


def test_register_refuses_an_unknown_licence(registry: Registry, files: FileMaker) -> None:
    from modelreg.errors import ManifestError

    with pytest.raises(ManifestError, match="did you mean MIT"):
        registry.register("m", [files()], license="MITT")
    assert registry.register("m", [files()], license="Apache-2.0 OR MIT").version == "0.1.0"


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
