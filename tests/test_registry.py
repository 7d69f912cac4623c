"""registry.py: the library API: what a Python caller gets, and what a failed write
leaves behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from modelreg import PolicyError, Registry, UnknownModelError, VersionExistsError
from modelreg.results import EventResult, ModelSummary, RegisterResult

from .conftest import Cli, Clock, FileMaker, Unchanged, assert_user_error, git


def test_the_api_returns_frozen_dataclasses(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    result = registry.register(
        "m", [files()], metrics={"auc": 0.9}, labels={"team": "risk"}, description="d"
    )
    assert isinstance(result, RegisterResult)
    assert (result.name, result.version, result.tag) == ("m", "0.1.0", "m@v0.1.0")
    assert result.manifest.metrics == {"auc": 0.9}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.version = "9.9.9"  # type: ignore[misc]
    clock.tick()
    promoted = registry.promote("m@v0.1.0", "staging", message="smoke test passed")
    assert isinstance(promoted, EventResult)
    assert (promoted.tag, promoted.previous, promoted.changed) == ("m#staging#1", None, True)
    [summary] = registry.list_models()
    assert summary == ModelSummary("m", "0.1.0", {"staging": "0.1.0"}, 1, False)
    assert registry.get_model("m#staging").version == "0.1.0"
    assert registry.resolve("m@latest").commit == git(registry.root, "rev-parse", "HEAD").strip()
    [first, second] = registry.history("m")
    assert (first.event, second.event, second.reason) == ("register", "assign", "smoke test passed")


def test_errors_are_typed(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    with pytest.raises(UnknownModelError):
        registry.show("nope")
    with pytest.raises(VersionExistsError):
        registry.register("m", [files()], version="0.1.0")
    with pytest.raises(PolicyError):
        registry.promote("m@v0.1.0", "qa")


def test_rollback_deprecate_push_and_pull_through_the_api(
    registry: Registry, files: FileMaker, clock: Clock, tmp_path: Path
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    for content in (b"a", b"b"):
        registry.register("m", [files("w.bin", content)])
        clock.tick()
    registry.promote("m@v0.1.0", "production")
    clock.tick()
    registry.promote("m@v0.2.0", "production")
    clock.tick()
    back = registry.rollback("m", "production", message="canary failed")
    assert (back.event, back.version, back.previous) == ("rollback", "0.1.0", "0.2.0")
    clock.tick()
    gone = registry.deprecate("m@v0.2.0")
    assert (gone.event, gone.tag) == ("deregister", "m@v0.2.0!#4")
    pushed = registry.push()
    # The bytes reached the local-folder DVC remote at register; push sends the events.
    assert (pushed.tags, pushed.objects, pushed.branch) == (6, 0, "main")

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    clone = Registry(other)
    pulled = clone.pull()
    assert pulled.objects == 1  # the bytes of the version in the work tree
    assert (other / "models" / "m" / "w.bin").read_bytes() == b"b"
    assert clone.resolve("m#production").version == "0.1.0"
    clock.tick()
    clone.deprecate("m", message="replaced", push=True)
    assert registry.pull().tags == 1
    assert Registry(registry.root).list_models() == []


def test_registry_not_initialised(
    cli: Cli, tmp_path: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    with assert_unchanged(plain):
        assert_user_error(cli("-C", plain, "register", "m", files()), "modelreg init")
