"""ops/files.py: get and checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelreg import DirtyStateError, Registry

from ..conftest import Cli, Clock, FileMaker, Unchanged, assert_user_error, git


def test_checkout_restores_a_version_and_back(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"first"))
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"second"))
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    folder = repo / "models" / "m"
    result = cli.ok("-C", repo, "checkout", "m#production")
    assert "Checked out m v0.1.0" in result.stdout
    assert (folder / "model.pkl").read_bytes() == b"first"
    assert yaml.safe_load((folder / "model.yaml").read_text())["version"] == "0.1.0"
    # A second checkout from a checked-out version is allowed: nothing unregistered is lost.
    cli.ok("-C", repo, "checkout", "m@v0.2.0")
    assert (folder / "model.pkl").read_bytes() == b"second"
    assert git(repo, "status", "--porcelain") == ""


def test_checkout_a_version_with_other_files(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "a.bin").write_bytes(b"a")
    (export / "b.bin").write_bytes(b"b")
    cli.ok("-C", repo, "register", "m", export)
    cli.ok("-C", repo, "register", "m", files("c.bin", b"c"))
    folder = repo / "models" / "m"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitignore",
        "c.bin",
        "c.bin.dvc",
        "model.yaml",
    ]
    cli.ok("-C", repo, "checkout", "m@v0.1.0")
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitignore", "a.bin", "a.bin.dvc", "b.bin", "b.bin.dvc", "model.yaml",
    ]  # fmt: skip
    assert (folder / "b.bin").read_bytes() == b"b"


def test_get_writes_verified_files(cli: Cli, repo: Path, files: FileMaker, tmp_path: Path) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"the bytes"))
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    out = tmp_path / "deploy"
    result = cli.ok("-C", repo, "get", "m#production", "-o", out)
    assert "sha256 verified" in result.stdout
    assert (out / "model.pkl").read_bytes() == b"the bytes"
    assert sorted(p.name for p in out.iterdir()) == ["model.pkl"]


def test_get_of_a_folder_version_with_jobs(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    folder = files("a.bin", b"a").parent
    (folder / "sub").mkdir()
    for name in ("b.bin", "c.bin", "sub/d.bin"):
        (folder / name).write_bytes(name.encode())
    cli.ok("-C", repo, "register", "m", folder)
    out = tmp_path / "deploy"
    result = cli.ok("-C", repo, "get", "m@v0.1.0", "-o", out, "--jobs", "3")
    assert "4 file(s)" in result.stdout and "sha256 verified" in result.stdout
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.bin")} == {
        "a.bin": b"a", "b.bin": b"b.bin", "c.bin": b"c.bin", "sub/d.bin": b"sub/d.bin",
    }  # fmt: skip
    again = cli("-C", repo, "get", "m@v0.1.0", "-o", tmp_path / "other", "--jobs", "0")
    assert again.exit_code == 2 and "--jobs" in again.stderr, again
    assert not (tmp_path / "other").exists()


def test_checkout_and_register_keep_a_committed_model_card(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    root = registry.root
    registry.register("fr", [files()])
    registry.register("fr", [files()])
    card = root / "models" / "fr" / "README.md"
    card.write_text("# Model card\n")
    git(root, "add", "models/fr/README.md")
    git(root, "commit", "-qm", "model card")
    registry.checkout("fr@v0.1.0")
    assert card.read_text() == "# Model card\n"
    clock.tick()
    Registry(root).register("fr", [files()])
    assert "models/fr/README.md" in git(root, "ls-files", "models/fr").split()
    assert git(root, "status", "--porcelain") == ""


def test_checkout_refuses_an_untracked_file_where_the_version_writes(
    registry: Registry, files: FileMaker, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    root = registry.root
    registry.register("fr", [files("a.bin", b"a")])
    both = tmp_path / "both"
    both.mkdir()
    (both / "a.bin").write_bytes(b"a2")
    (both / "b.bin").write_bytes(b"b2")
    registry.register("fr", [both])
    registry.checkout("fr@v0.1.0")
    (root / "models" / "fr" / "b.bin").write_bytes(b"MINE")
    with assert_unchanged(root), pytest.raises(DirtyStateError, match=r"b\.bin exists"):
        registry.checkout("fr@v0.2.0")


def test_checkout_refuses_a_folder_in_the_way_and_changes_nothing(
    registry: Registry, tmp_path: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    registry.register("m", [files("weights", b"flat file")])
    nested = tmp_path / "nested"
    (nested / "weights").mkdir(parents=True)
    (nested / "weights" / "p.bin").write_bytes(b"part")
    registry.register("m", [nested])
    (registry.root / "models" / "m" / "weights" / "extra").write_bytes(b"user file")
    with assert_unchanged(registry.root), pytest.raises(DirtyStateError, match="in the way"):
        registry.checkout("m@v0.1.0")


def test_get_refuses_to_overwrite_a_different_file(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    registry.register("fr", [files("m.pkl", b"registered")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "m.pkl").write_bytes(b"3 days of GPU")
    with pytest.raises(DirtyStateError, match="exists and differs"):
        registry.get("fr@v0.1.0", out)
    assert (out / "m.pkl").read_bytes() == b"3 days of GPU"
    registry.get("fr@v0.1.0", out, force=True)
    assert (out / "m.pkl").read_bytes() == b"registered"
    registry.get("fr@v0.1.0", out)  # identical bytes: nothing to refuse


def test_previous_bytes_stay_retrievable_after_the_cache_was_cleared(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    import shutil

    registry.register("fr", [files("m.pkl", b"version one")])
    shutil.rmtree(registry.root / ".dvc" / "cache")
    registry.register("fr", [files("m.pkl", b"version two")])
    registry.get("fr@v0.1.0", tmp_path / "out")
    assert (tmp_path / "out" / "m.pkl").read_bytes() == b"version one"


def test_checkout_refuses_uncommitted_changes(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    manifest = populated / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text() + "# local note\n")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "checkout", "m@v0.1.0"), "uncommitted changes")


def test_checkout_refuses_modified_model_bytes(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    data = populated / "models" / "m" / "model.pkl"
    data.chmod(0o644)
    data.write_bytes(b"fine-tuned locally")
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "checkout", "m@v0.1.0"), "changes that are not registered"
        )


def test_checkout_over_a_deleted_manifest_is_refused(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    registry.register("m", [files()])
    (registry.root / "models" / "m" / "model.yaml").unlink()
    with pytest.raises(DirtyStateError):
        registry.checkout("m@v0.1.0")


def test_files_lists_the_manifest_and_local_files_finds_verified_bytes(
    registry: Registry, files: FileMaker
) -> None:
    from modelreg.errors import IntegrityError, UnknownFileError
    from modelreg.hashing import KnownDigests

    result = registry.register("m", files("w.bin", b"weights"))
    (artifact,) = result.manifest.artifacts
    listed = registry.files("m@v0.1.0")
    assert (listed.name, listed.version) == ("m", "0.1.0")
    assert [(f.path, f.size, f.sha256) for f in listed.files] == [
        ("w.bin", artifact.size, artifact.sha256)
    ]
    known = KnownDigests()
    (found,) = registry.local_files("m", ["w.bin"], known=known).files
    assert found.local.read_bytes() == b"weights" and found.sha256 == artifact.sha256
    with pytest.raises(UnknownFileError, match=r"has no file 'x\.bin'"):
        registry.local_files("m", ["x.bin"])
    # A corrupt cache object is repaired from the remote's good copy; with no good
    # copy anywhere, the bytes are refused.
    cache = found.local
    remote = registry.root.parent / "dvc-remote" / cache.relative_to(cache.parents[3])
    _spoil(cache)
    assert registry.local_files("m", known=known).files[0].local.read_bytes() == b"weights"
    _spoil(cache)
    _spoil(remote)
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        registry.local_files("m", known=known)


def _spoil(path: Path) -> None:
    path.chmod(0o644)
    path.write_bytes(b"weightz")
