"""The library API: what a Python caller gets, and what a failed write leaves behind."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg import (
    DirtyStateError,
    ManifestError,
    PolicyError,
    Registry,
    UnknownModelError,
    VersionExistsError,
)
from modelreg.errors import GitError, InvalidReferenceError, StorageError
from modelreg.gitrepo import GitRepo
from modelreg.results import EventResult, ModelSummary, RegisterResult
from modelreg.storage import Storage

from .conftest import Clock, FileMaker, git

Unchanged = Callable[[Path], object]


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


def test_register_a_version_with_a_dependency(registry: Registry, files: FileMaker) -> None:
    registry.register("embedder", [files()], version="2.1.0")
    result = registry.register("classifier", [files()], dependencies=["embedder@>=2.0.0,<3.0.0"])
    assert [(d.name, d.version) for d in result.manifest.dependencies] == [
        ("embedder", ">=2.0.0,<3.0.0")
    ]
    refused = r"no registered version of embedder satisfies '\^3\.0\.0'"
    with pytest.raises(PolicyError, match=refused):
        registry.register("classifier", [files()], dependencies=["embedder@^3.0.0"])
    loose = registry.register(
        "classifier", [files()], dependencies=["embedder@^3.0.0"], allow_unresolved=True
    )
    assert loose.version == "0.2.0"


def test_register_records_lineage(registry: Registry, files: FileMaker, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    result = registry.register("m", [files()], data=[data], code_commit="3f2a9c1")
    lineage = result.manifest.lineage
    assert lineage is not None
    assert lineage.code_commit == "3f2a9c1"
    assert lineage.data[0].path == str(data.resolve())
    assert lineage.data[0].md5 == hashlib.md5(b"a,b\n1,2\n").hexdigest()


def test_errors_are_typed(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    with pytest.raises(UnknownModelError):
        registry.show("nope")
    with pytest.raises(VersionExistsError):
        registry.register("m", [files()], version="0.1.0")
    with pytest.raises(PolicyError):
        registry.promote("m@v0.1.0", "qa")


@pytest.mark.parametrize(
    ("where", "exception"),
    [
        ("create_tag", GitError("simulated: cannot create tag")),
        ("advance_head", GitError("simulated: cannot move HEAD")),
        ("commit_paths", GitError("simulated: cannot write the commit")),
        ("add", StorageError("simulated: dvc add failed")),
    ],
)
def test_a_register_that_fails_at_any_step_leaves_everything_as_it_was(
    registry: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
    where: str,
    exception: Exception,
) -> None:
    registry.register("m", [files("model.pkl", b"first")])
    (registry.root / "notes.txt").write_text("user's unstaged work\n")

    def fail(*args: object, **kwargs: object) -> object:
        raise exception

    owner = Storage if where == "add" else GitRepo
    monkeypatch.setattr(owner, where, fail)
    new_model = files("model.pkl", b"second")
    with assert_unchanged(registry.root), pytest.raises(type(exception), match="simulated"):
        registry.register("m", [new_model])
    cache = sorted(p.name for p in (registry.root / ".dvc" / "cache").rglob("*") if p.is_file())
    assert len(cache) == 1, "the new version's object was removed from the cache"
    monkeypatch.undo()
    assert Registry(registry.root).register("m", [new_model]).version == "0.2.0"


def test_a_promote_whose_tag_fails_writes_nothing(
    registry: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
) -> None:
    registry.register("m", [files()])

    def fail(*args: object, **kwargs: object) -> object:
        raise GitError("simulated: disk full")

    monkeypatch.setattr(GitRepo, "create_tag", fail)
    with assert_unchanged(registry.root), pytest.raises(GitError):
        registry.promote("m@v0.1.0", "production")


def test_tag_counter_collision_takes_the_next_number(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    commit = git(registry.root, "rev-parse", "HEAD").strip()
    # Another writer's tag appears with the counter this one is about to use.
    registry.state(refresh=True)
    git(registry.root, "tag", "-a", "m#dev#1", "-m", "another writer", commit)
    stale = registry.state()  # modelreg read the tags before the other write
    assert stale.model("m") is not None and stale.model("m").max_counter == 0  # type: ignore[union-attr]
    result = registry.promote("m@v0.1.0", "staging")
    assert result.tag == "m#staging#2"


def test_checkout_over_a_deleted_manifest_is_refused(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    registry.register("m", [files()])
    (registry.root / "models" / "m" / "model.yaml").unlink()
    with pytest.raises(DirtyStateError):
        registry.checkout("m@v0.1.0")


def test_show_of_a_corrupt_manifest_names_the_file(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    manifest = registry.root / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("schema: 1", "schema: 1\nextra: true"))
    git(registry.root, "commit", "-qam", "hand edit")
    git(registry.root, "tag", "-a", "m@v5.0.0", "-m", "by hand")
    with pytest.raises(ManifestError, match=r"models/m/model.yaml:extra: unknown key"):
        Registry(registry.root).show("m@v5.0.0")


def test_register_after_checking_out_an_older_version(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files("model.pkl", b"one")])
    registry.register("m", [files("model.pkl", b"two")])
    registry.checkout("m@v0.1.0")
    result = registry.register("m", [files("model.pkl", b"three")])
    assert result.version == "0.3.0"
    folder = registry.root / "models" / "m"
    assert (folder / "model.pkl").read_bytes() == b"three"
    assert git(registry.root, "status", "--porcelain") == ""
    assert Registry(registry.root).show("m@v0.1.0").manifest is not None


def test_a_failed_register_after_checkout_leaves_the_checked_out_version(
    registry: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
) -> None:
    registry.register("m", [files("model.pkl", b"one")])
    registry.register("m", [files("model.pkl", b"two")])
    registry.checkout("m@v0.1.0")

    def fail(*args: object, **kwargs: object) -> object:
        raise GitError("simulated: cannot create tag")

    monkeypatch.setattr(GitRepo, "create_tag", fail)
    new_model = files("model.pkl", b"three")
    with assert_unchanged(registry.root), pytest.raises(GitError):
        registry.register("m", [new_model])
    assert (registry.root / "models" / "m" / "model.pkl").read_bytes() == b"one"


def test_register_refuses_staged_changes_in_the_model_folder(
    registry: Registry, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    registry.register("m", [files()])
    manifest = registry.root / "models" / "m" / "model.yaml"
    original = manifest.read_text()
    manifest.write_text(original + "# staged note\n")
    git(registry.root, "add", "models/m/model.yaml")
    manifest.write_text(original)  # the work tree matches HEAD, the index does not
    new_model = files()
    with assert_unchanged(registry.root), pytest.raises(DirtyStateError, match="uncommitted"):
        registry.register("m", [new_model])


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


def test_register_takes_one_path_as_well_as_a_list(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    """A single path (str or Path) is one file, not a sequence of its letters."""
    one = registry.register("base", str(files("model.pkl", b"one")))
    assert [a.path for a in one.manifest.artifacts] == ["model.pkl"]
    clock.tick()
    two = registry.register("m", files("weights.bin", b"two"), dependencies="base@^0.1.0")
    assert [a.path for a in two.manifest.artifacts] == ["weights.bin"]
    assert [d.name for d in two.manifest.dependencies] == ["base"]


def test_promote_asks_for_a_version_not_a_bare_name(registry: Registry, files: FileMaker) -> None:
    """README: reads take NAME alone as the latest; promote, a write, wants it said."""
    registry.register("m", [files()])
    with pytest.raises(InvalidReferenceError, match="m@latest"):
        registry.promote("m", "staging")
    assert registry.show("m").version == "0.1.0"
    assert registry.promote("m@latest", "staging").version == "0.1.0"


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
    assert found.hint == "run 'modelreg doctor --repair'"
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
