"""registering.py: the register transaction: its sources, the next version, placing the
bytes, and every step undone on failure."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import DirtyStateError, Registry
from modelreg.errors import GitError, InputPathError, StorageError
from modelreg.gitrepo import GitRepo
from modelreg.hashing import Digests
from modelreg.storage import Storage

from .conftest import Cli, FileMaker, Unchanged, assert_user_error, git


def _fail_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise GitError("simulated: cannot create tag")

    monkeypatch.setattr(GitRepo, "create_tag", fail)


def test_failed_register_keeps_an_in_place_file_with_symlink_cache(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, assert_unchanged: Unchanged
) -> None:
    root = registry.root
    subprocess.run(
        [sys.executable, "-m", "dvc", "config", "cache.type", "symlink"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    git(root, "commit", "-qam", "symlink cache")
    folder = root / "models" / "fr"
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(b"precious, only copy")
    _fail_tag(monkeypatch)
    with assert_unchanged(root), pytest.raises(GitError):
        Registry(root).register("fr", [folder / "w.bin"])
    assert not (folder / "w.bin").is_symlink()
    assert (folder / "w.bin").read_bytes() == b"precious, only copy"


def test_register_neither_commits_nor_deletes_a_users_own_dvc_files(
    registry: Registry, files: FileMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = registry.root
    registry.register("fr", [files()])
    calib = root / "models" / "fr" / "calib"
    calib.mkdir()
    (calib / "t.csv").write_text("a,b\n")
    subprocess.run(
        [sys.executable, "-m", "dvc", "add", "models/fr/calib/t.csv"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    git(root, "reset", "-q")  # the user's own DVC-tracked file, not committed yet
    registry.register("fr", [files()])
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert not [p for p in committed if "calib" in p]
    _fail_tag(monkeypatch)
    with pytest.raises(GitError):
        Registry(root).register("fr", [files()])
    assert (calib / "t.csv.dvc").exists() and (calib / ".gitignore").exists()


def test_a_file_named_like_a_glob_is_itself(registry: Registry, files: FileMaker) -> None:
    weird = files("*.bin", b"star")
    result = registry.register("fr", [weird])
    assert [a.path for a in result.manifest.artifacts] == ["*.bin"]
    assert git(registry.root, "status", "--porcelain") == ""


def test_known_digests_are_taken_without_reading_the_bytes_again(
    registry: Registry, files: FileMaker
) -> None:
    source = files("model.bin", b"x" * 100)
    # Believed as given (the caller computed them from these bytes): not re-read.
    said = Digests(100, "a" * 64, "b" * 32)
    result = registry.register("fr", source, known_digests={source: said})
    (artifact,) = result.manifest.artifacts
    assert (artifact.sha256, artifact.md5, artifact.size) == ("a" * 64, "b" * 32, 100)
    # A file whose size is not the one given is hashed after all.
    other = files("model.bin", b"y" * 50)
    result = registry.register("gb", other, known_digests={other: said})
    (artifact,) = result.manifest.artifacts
    assert artifact.sha256 == hashlib.sha256(b"y" * 50).hexdigest()
    assert artifact.md5 == hashlib.md5(b"y" * 50).hexdigest()
    assert git(registry.root, "status", "--porcelain") == ""


def test_a_registration_vouches_for_its_objects_and_no_store_stops_it(
    repo: Path, cli: Cli, files: FileMaker
) -> None:
    """The objects a registration wrote are vouched for in the repository's store
    (one line each, the sha256 computed as they were written); a store that cannot
    be written (here its folder is a file) costs the vouching, never the version."""
    data = b"weights\n" * 512
    cli.ok("-C", repo, "register", "m", files("w.bin", data))
    md5 = hashlib.md5(data).hexdigest()
    stored = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    st = stored.stat()
    store = repo / ".git" / "modelreg-server" / "known-digests"
    assert store.read_text() == (
        f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} "
        f"{hashlib.sha256(data).hexdigest()}\n"
    )
    store.unlink()
    store.parent.rmdir()
    store.parent.write_text("not a folder\n")
    cli.ok("-C", repo, "register", "m", files("w.bin", b"other weights\n"))
    assert Registry(repo).show("m").version == "0.2.0"
    assert store.parent.read_text() == "not a folder\n"


def test_register_after_checking_out_a_version_with_more_files(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    both = tmp_path / "both"
    both.mkdir()
    (both / "a.bin").write_bytes(b"a")
    (both / "b.bin").write_bytes(b"b")
    registry.register("fr", [both])
    registry.register("fr", [files("a.bin", b"a only")])
    registry.checkout("fr@v0.1.0")
    assert registry.register("fr", [files("c.bin", b"c")]).version == "0.3.0"
    assert git(registry.root, "status", "--porcelain") == ""


def test_symlinks_leaving_a_registered_folder_are_refused(
    registry: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w")
    (folder / "gitcfg").symlink_to(registry.root / ".git" / "config")
    with pytest.raises(InputPathError, match="outside"):
        registry.register("fr", [folder])
    (folder / "gitcfg").unlink()
    (folder / "dangling").symlink_to(folder / "nothing")
    with pytest.raises(InputPathError, match="a symlink to nothing"):
        registry.register("fr", [folder])
    (folder / "dangling").unlink()
    (folder / "alias.bin").symlink_to(folder / "w.bin")
    result = registry.register("fr", [folder])
    assert [a.path for a in result.manifest.artifacts] == ["alias.bin", "w.bin"]
    assert os.path.islink(folder / "alias.bin")


@pytest.mark.parametrize("version", ["0.2.0", "v0.1.0"])
def test_registering_an_existing_version(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged, version: str
) -> None:
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", version),
            "already registered",
        )


def test_registering_a_deregistered_version_number_again(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    cli.ok("-C", populated, "deprecate", "m@v0.1.0")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", "0.1.0"),
            "already registered",
        )


@pytest.mark.parametrize(
    ("version", "existing"), [("0.2.0+build.5", "v0.2.0"), ("v0.1.0+sha.1", "v0.1.0")]
)
def test_registering_a_version_of_equal_precedence(
    cli: Cli,
    populated: Path,
    files: FileMaker,
    assert_unchanged: Unchanged,
    version: str,
    existing: str,
) -> None:
    """1.0.0 and 1.0.0+build.5 order the same: which is latest would be a coin toss
    (and modelreg and GTO toss differently)."""
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", version),
            f"same SemVer precedence as the registered {existing}",
        )


def test_missing_path_and_empty_directory(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", tmp_path / "missing.pkl"),
            "no such file or directory",
        )
        assert_user_error(cli("-C", populated, "register", "m", empty), "no files to register")


def test_two_files_with_one_name(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    a, b = files("w.bin"), files("w.bin")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "register", "m", a, b), "both be stored as 'w.bin'")


def test_registering_files_from_inside_git_dir(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", populated / ".git" / "HEAD"), ".git"
        )


def test_register_refuses_uncommitted_changes_to_the_model_folder(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    manifest = populated / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("auc", "auc") + "# hand edit\n")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "register", "m", model), "uncommitted changes")


def test_register_refuses_to_overwrite_unregistered_bytes(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    data = populated / "models" / "m" / "model.pkl"
    data.chmod(0o644)
    data.write_bytes(b"edited in place, never registered")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model), "changes that are not registered"
        )


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
    vouched = (registry.root / ".git" / "modelreg-server" / "known-digests").read_text()
    with assert_unchanged(registry.root), pytest.raises(type(exception), match="simulated"):
        registry.register("m", [new_model])
    # Nothing vouched for: the object the failed registration wrote is gone.
    assert (registry.root / ".git" / "modelreg-server" / "known-digests").read_text() == vouched
    cache = sorted(p.name for p in (registry.root / ".dvc" / "cache").rglob("*") if p.is_file())
    assert len(cache) == 1, "the new version's object was removed from the cache"
    monkeypatch.undo()
    assert Registry(registry.root).register("m", [new_model]).version == "0.2.0"


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
