"""gitrepo.py: how git's own refusals and layouts reach the user."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import Cli, FileMaker, Unchanged, assert_user_error


def test_a_separate_git_dir_on_another_path(tmp_path: Path, files: FileMaker) -> None:
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(
        ["git", "init", "-q", f"--separate-git-dir={tmp_path / 'elsewhere.git'}", str(work)],
        check=True,
    )
    registry, _ = Registry.init(work, remote=str(tmp_path / "store"))
    registry.register("fr", [files()])
    assert registry.register("fr", [files()]).version == "0.2.0"


def test_not_a_git_repository(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["list"], ["show", "m"], ["history"], ["resolve", "m#production"]):
        assert_user_error(cli("-C", plain, *args), "not inside a git repository")
    assert list(plain.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the repository to another uid needs root")
def test_a_repository_owned_by_another_user(
    cli: Cli,
    populated: Path,
    files: FileMaker,
    assert_unchanged: Unchanged,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Git refuses it ("dubious ownership", root included): say that, with git's remedy,
    not "not inside a git repository (hint: run 'modelreg init')"."""
    monkeypatch.delenv("SUDO_UID", raising=False)  # git would trust the sudo user's repos
    owner = populated.stat()
    model = files()
    with assert_unchanged(populated):
        os.chown(populated, 12345, 12345)
        try:
            for args in (["list"], ["history", "m"], ["register", "m", model], ["init"]):
                result = cli("-C", populated, *args)
                assert_user_error(
                    result,
                    f"git refuses to work in {populated.resolve()}: it is owned by another user",
                    f"git config --global --add safe.directory {populated.resolve()}",
                )
                assert "modelreg init" not in result.stderr
        finally:
            os.chown(populated, owner.st_uid, owner.st_gid)


def test_publications_are_looked_for_in_packed_refs_only_as_far_as_needed(tmp_path: Path) -> None:
    """A show in a registry that never published starts no git process for the notes,
    and reads a sorted packed-refs only up to where the notes ref would be."""
    from modelreg.git.notes import OCI_NOTES, _packed_ref_named

    packed = tmp_path / "packed-refs"
    oid = "a" * 40
    tags = "".join(f"{oid} refs/tags/m{i}@v0.1.0\n^{'b' * 40}\n" for i in range(50))
    head = "# pack-refs with: peeled fully-peeled sorted \n"
    packed.write_text(head + f"{oid} refs/heads/main\n" + tags)
    assert not _packed_ref_named(packed, OCI_NOTES)
    packed.write_text(head + f"{oid} refs/heads/main\n{oid} {OCI_NOTES}\n" + tags)
    assert _packed_ref_named(packed, OCI_NOTES)
    # Not marked sorted (an old git, a hand edit): the whole file is read.
    packed.write_text("# pack-refs with: peeled \n" + tags + f"{oid} {OCI_NOTES}\n")
    assert _packed_ref_named(packed, OCI_NOTES)
    packed.write_text("# pack-refs with: peeled \n" + tags)
    assert not _packed_ref_named(packed, OCI_NOTES)
