"""registry.py: the library API: what a Python caller gets, and what a failed write
leaves behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from modelreg import ManifestError, PolicyError, Registry, UnknownModelError, VersionExistsError
from modelreg.cli import cli_words
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


def test_a_failed_init_in_a_plain_folder_leaves_no_repository_behind(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / ".modelreg.yaml").write_text("- a list, not a mapping\n")
    assert_user_error(cli("-C", folder, "init"), "must be a mapping")
    assert [p.name for p in folder.iterdir()] == [".modelreg.yaml"]  # no .git, no .dvc


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_register_refuses_a_metric_that_is_not_a_finite_number(
    registry: Registry, files: FileMaker, value: float
) -> None:
    # YAML would write .nan/.inf and read them back: refused before any work.
    with pytest.raises(ManifestError, match=r"metric auc=.*: not a finite number"):
        registry.register("m", [files()], metrics={"auc": value})
    assert registry.list_models() == []
    assert not (registry.root / "models" / "m").exists()


def test_a_doctor_report_with_something_left_to_repair_is_a_failure() -> None:
    from modelreg.results import DoctorFinding, DoctorReport

    left = DoctorFinding("leftover", ".git/modelreg/x", "a temporary file", repaired=False)
    assert DoctorReport(()).failure() is None
    found = DoctorReport((left,)).failure()
    assert found is not None and found.message == "doctor found 1 problem(s)"
    # The library names the operation's parameter; the CLI says its flag.
    assert found.remedy is not None and found.remedy.param == "repair"
    assert cli_words(found)[1] == "run 'modelreg doctor --repair'"
    repairing = DoctorReport((left,), repair=True).failure()
    assert repairing is not None and repairing.hint is None


def test_two_registries_in_one_process_take_paths_from_the_callers_directory(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the process's own directory: neither registry's

    def refuse(path: object) -> None:
        raise AssertionError(f"the library changed the process's directory to {path}")

    monkeypatch.setattr(os, "chdir", refuse)
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "model.pkl").write_bytes(b"weights one\n")
    (work / "data" / "train.csv").write_bytes(b"a,b\n")
    one, _ = Registry.init(tmp_path / "one", remote=str(tmp_path / "store-one"))
    two, made = Registry.init("two", remote="store-two", cwd=tmp_path)
    assert two.root == tmp_path / "two"
    assert made.remote_url == str((tmp_path / "store-two").resolve())

    one.register("team/fraud", "model.pkl", data="data/train.csv", cwd=work)
    (work / "model.pkl").write_bytes(b"weights two\n")
    two.register("team/fraud", ["model.pkl"], version="2.0.0", cwd=work)

    # get's default folder is named after the model, in the caller's directory.
    got = one.get("team/fraud@v0.1.0", cwd=tmp_path / "deploy-one")
    assert got.directory == tmp_path / "deploy-one" / "fraud"
    assert (got.directory / "model.pkl").read_bytes() == b"weights one\n"
    fetched = two.get("team/fraud@v2.0.0", "out", cwd=tmp_path / "deploy-two")
    assert (fetched.directory / "model.pkl").read_bytes() == b"weights two\n"
    assert fetched.directory == tmp_path / "deploy-two" / "out"
    lineage = one.show("team/fraud").manifest.lineage  # type: ignore[union-attr]
    assert lineage is not None and [d.path for d in lineage.data] == [
        str(work / "data" / "train.csv")
    ]
    assert [m.latest for m in one.list_models()] == ["0.1.0"]
    assert [m.latest for m in two.list_models()] == ["2.0.0"]
    assert Path.cwd() == elsewhere and list(elsewhere.iterdir()) == []


def test_every_read_answer_carries_its_warnings(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    registry.register("m", [files()])
    git(registry.root, "tag", "m@v9.9.9", "HEAD")  # lightweight: shaped like an event, not one
    skipped = (
        "skipped 1 tag(s) shaped like registry events that cannot be read as one "
        "(lightweight or malformed): m@v9.9.9"
    )
    fresh = Registry(registry.root)
    assert fresh.list_models().warnings == (skipped,)
    assert fresh.show("m").warnings == (skipped,)
    assert fresh.resolve("m@latest").warnings == (skipped,)
    assert fresh.history("m").warnings == (skipped,)
    assert fresh.get("m@v0.1.0", cwd=tmp_path).warnings == (skipped,)
    # Asked again, the answer says it once: nothing piles up on the registry.
    assert fresh.show("m").warnings == (skipped,)
    git(registry.root, "tag", "-d", "m@v9.9.9")
    assert Registry(registry.root).list_models().warnings == ()
