"""ops/stages.py: promote, rollback and deprecate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.errors import GateError, InvalidReferenceError, PolicyError
from modelreg.tags import parse_message

from ..conftest import Cli, FileMaker, Showcase, Unchanged, git


def test_promote_and_rollback_write_new_tags_and_never_move_one(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    for _ in range(3):
        cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production", "-m", "first release")
    cli.ok("-C", repo, "promote", "m@0.2.0", "--to", "production")
    cli.ok("-C", repo, "promote", "m@v0.3.0", "--to", "production")
    tags_before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")

    result = cli.ok("-C", repo, "rollback", "m", "--stage", "production", "-m", "latency")
    assert "Rolled back m production from v0.3.0 to v0.2.0: tag m#production#4" in result.stdout
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.2.0\n"
    tags_after = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
    assert set(tags_before.splitlines()) < set(tags_after.splitlines())

    # A second rollback does not return to the version just rolled away from.
    cli.ok("-C", repo, "rollback", "m", "--stage", "production")
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.1.0\n"
    cli.ok("-C", repo, "rollback", "m", "--stage", "production", "--to", "0.3.0")
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.3.0\n"

    message = parse_message(git(repo, "tag", "-l", "--format=%(contents)", "m#production#4"))
    assert message.get("Event") == "rollback"
    assert message.get("Stage") == "production"
    assert message.get("Version") == "0.2.0"
    assert message.get("Previous") == "0.3.0"
    assert message.get("Reason") == "latency"
    assert git(repo, "rev-parse", "m#production#4^{commit}") == git(
        repo, "rev-parse", "m@v0.2.0^{commit}"
    )


def test_promote_to_the_current_holder_is_a_no_op(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "staging")
    again = cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "staging")
    assert "already holds staging" in again.stderr
    assert git(repo, "tag", "-l", "m#*").split() == ["m#staging#1"]


def test_deprecate_model_hides_it_and_deregister_drops_its_stage(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    cli.ok("-C", repo, "register", "old", files())
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production")

    out = cli.ok("-C", repo, "deprecate", "m@v0.2.0")
    assert "Deregistered m v0.2.0: tag m@v0.2.0!#3" in out.stdout
    assert "no longer holds production" in out.stderr
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.1.0\n"
    assert cli.ok("-C", repo, "resolve", "m@latest").stdout == "0.1.0\n"

    cli.ok("-C", repo, "deprecate", "old", "-m", "replaced by m")
    names = [m["name"] for m in json.loads(cli.ok("-C", repo, "list", "--json").stdout)["models"]]
    assert names == ["m"]
    every = json.loads(cli.ok("-C", repo, "list", "--all", "--json").stdout)["models"]
    assert [(m["name"], m["deprecated"]) for m in every] == [("m", False), ("old", True)]
    assert git(repo, "tag", "-l", "old@*").split() == ["old@deprecated#1", "old@v0.1.0"]


def test_promote_needs_a_version(cli: Cli, registry: Registry, files: FileMaker) -> None:
    registry.register("fr", [files()])
    result = cli("-C", registry.root, "promote", "fr", "--to", "production")
    assert result.exit_code == 1 and "promote takes a version" in result.stderr
    cli.ok("-C", registry.root, "promote", "fr@latest", "--to", "staging")
    cli.ok("-C", registry.root, "promote", "fr#staging", "--to", "production")


def test_promote_asks_for_a_version_not_a_bare_name(registry: Registry, files: FileMaker) -> None:
    """README: reads take NAME alone as the latest; promote, a write, wants it said."""
    registry.register("m", [files()])
    with pytest.raises(InvalidReferenceError, match="m@latest"):
        registry.promote("m", "staging")
    assert registry.show("m").version == "0.1.0"
    assert registry.promote("m@latest", "staging").version == "0.1.0"


def test_previews_say_what_the_gates_say_and_write_nothing(
    showcase: Showcase, assert_unchanged: Unchanged
) -> None:
    registry = showcase.registry
    with assert_unchanged(showcase.root):
        # ranker (in dev) needs team/fraud ~0.2.0: v0.3.0 in dev would break it
        refused = registry.promote_preview("team/fraud@v0.3.0", "dev")
        assert (refused.name, refused.event, refused.version, refused.stage) == (
            "team/fraud", "promote", "0.3.0", "dev",
        )  # fmt: skip
        assert refused.current == "0.2.0"
        assert [f.gate for f in refused.failures] == ["dependents"]
        assert refused.forceable
        fine = registry.promote_preview("team/fraud@v0.1.0", "staging")
        assert fine.failures == () and fine.current == "0.3.0"
        wrong = registry.promote_preview("embedder@v1.0.0", "qa")
        assert [f.gate for f in wrong.failures] == ["stage"] and not wrong.forceable
        back = registry.rollback_preview("team/fraud", "production", to="0.1.0")
        assert (back.event, back.version, back.current) == ("rollback", "0.1.0", "0.2.0")
        # what promote itself would say
        with pytest.raises(GateError):
            registry.promote("team/fraud@v0.3.0", "dev")
        with pytest.raises(PolicyError, match="no earlier version of team/fraud held production"):
            registry.rollback_preview("team/fraud", "production")


def test_unassign_leaves_the_stage_empty_earlier_holders_included(
    registry: Registry, files: FileMaker
) -> None:
    """GTO keeps each version's assignment until it is unassigned, so taking a stage
    away (what deleting an MLflow alias means) unassigns every holder it would fall
    back to, one tag each, and never moves one."""
    from modelreg.errors import PolicyError

    registry.register("m", [files(content=b"1")], version="1.0.0")
    registry.register("m", [files(content=b"2")], version="2.0.0")
    registry.promote("m@v1.0.0", "dev")
    registry.promote("m@v2.0.0", "dev")
    tags = set(git(registry.root, "tag", "--list").split())
    result = registry.unassign("m", "dev")
    assert (result.event, result.version, result.stage) == ("unassign", "2.0.0", "dev")
    assert result.notes  # v1.0.0 was unassigned too
    assert "dev" not in registry.list_models()[0].stages
    events = [(e.event, e.version) for e in registry.history("m")][-2:]
    assert events == [("unassign", "2.0.0"), ("unassign", "1.0.0")]
    assert tags < set(git(registry.root, "tag", "--list").split())  # only added
    with pytest.raises(PolicyError, match="nothing to unassign"):
        registry.unassign("m", "dev")


def test_every_event_names_the_bytes_of_its_versions_manifest(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    """The Manifest-Sha256 trailer is the sha256 of the committed manifest's bytes:
    read from git the first time, from the state cache after that, and from the
    bytes alone where the manifest does not parse (a version another tool tagged)."""
    import hashlib

    def trailer(tag: str) -> str | None:
        return parse_message(git(repo, "tag", "-l", "--format=%(contents)", tag)).get(
            "Manifest-Sha256"
        )

    cli.ok("-C", repo, "register", "m", files())
    committed = (repo / "models" / "m" / "model.yaml").read_bytes()  # as HEAD holds it
    expected = hashlib.sha256(committed).hexdigest()
    for stage in ("dev", "staging", "production"):  # the second and third: from the cache
        cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", stage)
    assert [trailer(f"m#{s}#{n}") for n, s in enumerate(["dev", "staging", "production"], 1)] == [
        expected
    ] * 3

    broken = b"name: m\nversion: [not, a, version\n"
    (repo / "models" / "m" / "model.yaml").write_bytes(broken)
    git(repo, "commit", "-qam", "a manifest another tool wrote")
    git(repo, "tag", "-a", "m@v0.9.0", "-m", "Register m v0.9.0")
    cli.ok("-C", repo, "promote", "m@v0.9.0", "--to", "dev")
    assert trailer("m#dev#4") == hashlib.sha256(broken).hexdigest()
