"""ops/sync.py: push and pull. Clones that just work: a team of clones over one bare
remote, tried as a new user would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelreg import Registry
from modelreg.errors import GitError

from ..conftest import Cli, FileMaker, Unchanged, git


def _team(cli: Cli, tmp_path: Path, files: FileMaker) -> tuple[Path, Path, Path]:
    """A bare remote, clone A (registered m v1.0.0 and v1.1.0, pushed) and clone B."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", "--remote", tmp_path / "store", cwd=a)
    git(a, "remote", "add", "origin", str(bare))
    cli.ok("-C", a, "register", "m", files("model.pkl", b"one"), "--version", "1.0.0")
    cli.ok("-C", a, "register", "m", files("model.pkl", b"two"), "--version", "1.1.0")
    cli.ok("-C", a, "push")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    return bare, a, b


def _remote_holder(cli: Cli, bare: Path, stage: str) -> str:
    return cli.ok("resolve", f"m#{stage}", "--repo", bare).stdout.strip()


def test_promote_push_decides_on_the_remotes_current_state(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    bare, a, b = _team(cli, tmp_path, files)
    cli.ok("-C", a, "promote", "m@v1.0.0", "--to", "staging", "--push")
    cli.ok("-C", b, "pull")
    cli.ok("-C", b, "promote", "m@v1.1.0", "--to", "staging", "--push")
    # A has not pulled: locally v1.0.0 still holds staging, the remote says v1.1.0.
    result = cli.ok("-C", a, "promote", "m@v1.0.0", "--to", "staging", "--push")
    assert "nothing to do" not in result.stdout + result.stderr
    assert result.exit_code == 0 and "staging" in result.stdout
    assert _remote_holder(cli, bare, "staging") == "1.0.0"


def test_rollback_and_deprecate_push_decide_on_the_remote(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    bare, a, b = _team(cli, tmp_path, files)
    cli.ok("-C", a, "promote", "m@v1.0.0", "--to", "production", "--push")
    cli.ok("-C", b, "pull")
    cli.ok("-C", b, "promote", "m@v1.1.0", "--to", "production", "--push")
    # A's stale view has one production holder and nothing to roll back to; the remote
    # has two: the rollback gives production back to v1.0.0.
    rolled = cli.ok("-C", a, "rollback", "m", "--stage", "production", "--push")
    assert "v1.0.0" in rolled.stdout
    assert _remote_holder(cli, bare, "production") == "1.0.0"
    # B deprecates and pushes; A (stale) deregistering a version sees the deprecation.
    cli.ok("-C", b, "deprecate", "m", "--push")
    refused = cli("-C", a, "deprecate", "m", "--push")
    assert refused.exit_code == 1, refused
    assert "deprecated" in refused.stderr


def test_register_push_decides_on_the_remote(cli: Cli, tmp_path: Path, files: FileMaker) -> None:
    _bare, a, b = _team(cli, tmp_path, files)
    cli.ok("-C", b, "register", "m", files("model.pkl", b"b's"), "--version", "1.2.0", "--push")
    model = files("model.pkl", b"a's")
    refused = cli("-C", a, "register", "m", model, "--version", "1.2.0", "--push")
    assert refused.exit_code == 1, refused
    assert "m@v1.2.0 is already registered" in refused.stderr


def test_the_embedded_default_keeps_the_bytes_when_the_clone_is_deleted(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    """Tried as a new user: init with nothing else, register, lose the clone's cache
    (or the clone): the bytes come back from the local folder every clone shares."""
    import shutil

    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", cwd=a)  # the embedded default: a local-folder DVC remote
    cli.ok("-C", a, "register", "m", files("model.pkl", b"precious"))
    shutil.rmtree(a / ".dvc" / "cache")
    (a / "models" / "m" / "model.pkl").unlink()
    cli.ok("-C", a, "get", "m@v0.1.0", "-o", tmp_path / "out-a")
    assert (tmp_path / "out-a" / "model.pkl").read_bytes() == b"precious"

    # A clone on this machine, then the first clone deleted: the bytes still come back.
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    shutil.rmtree(a)
    cli.ok("-C", b, "get", "m@v0.1.0", "-o", tmp_path / "out-b")
    assert (tmp_path / "out-b" / "model.pkl").read_bytes() == b"precious"


def test_push_without_a_git_remote_still_pushes_the_bytes(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", cwd=a)
    cli.ok("-C", a, "register", "m", files("model.pkl", b"bytes"))
    backup = tmp_path / "backup"
    cli.ok("-C", a, "remote", "add", "backup", backup)
    pushed = cli.ok("-C", a, "push", "--dvc-remote", "backup")
    assert "1 file(s) transferred" in pushed.stdout
    assert "no git remote 'origin': the git part (branch and tags) was skipped" in pushed.stderr
    assert [p for p in backup.rglob("*") if p.is_file()]


def _master_head_remote(cli: Cli, tmp_path: Path, files: FileMaker) -> tuple[Path, Path]:
    """A bare remote made by a git whose default branch is master (its HEAD names
    refs/heads/master, which never exists), and clone A that pushed main to it."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=master", str(bare))
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", "--remote", tmp_path / "store", cwd=a)
    git(a, "remote", "add", "origin", str(bare))
    cli.ok("-C", a, "register", "m", files("model.pkl", b"one"), "--version", "1.0.0")
    cli.ok("-C", a, "promote", "m@v1.0.0", "--to", "staging")
    cli.ok("-C", a, "push")
    assert git(bare, "symbolic-ref", "HEAD").strip() == "refs/heads/master"
    return bare, a


def test_repo_takes_a_relative_path_and_a_remote_whose_head_dangles(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    bare, _a = _master_head_remote(cli, tmp_path, files)
    absolute = cli("resolve", "m#staging", "--repo", bare)
    assert (absolute.exit_code, absolute.stdout.strip()) == (0, "1.0.0"), absolute
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resolved = cli("resolve", "m#staging", "--repo", "../shared.git", cwd=elsewhere)
    assert (resolved.exit_code, resolved.stdout.strip()) == (0, "1.0.0"), resolved
    got = cli("get", "m@v1.0.0", "--repo", "../shared.git", "-o", "out", cwd=elsewhere)
    assert got.exit_code == 0, got
    assert (elsewhere / "out" / "model.pkl").read_bytes() == b"one"


def test_a_two_clone_team_over_a_master_head_remote(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    """Tried as a new user: B clones a remote whose HEAD dangles, so git checks out
    nothing. Reads and get work from tags alone; pull checks out main; init refuses."""
    bare, a = _master_head_remote(cli, tmp_path, files)
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    assert git(b, "rev-parse", "--verify", "-q", "HEAD", check=False) == ""  # nothing checked out

    assert cli.ok("-C", b, "resolve", "m#staging").stdout.strip() == "1.0.0"
    got = cli("-C", b, "get", "m#staging", "-o", tmp_path / "out")
    assert got.exit_code == 0, got
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"one"

    # No hint sends B to init; init itself refuses to start an unrelated history.
    registering = cli("-C", b, "register", "m", files("model.pkl", b"b's"))
    assert registering.exit_code == 1, registering
    assert "modelreg init" not in registering.stderr
    assert "modelreg pull" in registering.stderr
    refused = cli("init", cwd=b)
    assert refused.exit_code == 1, refused
    assert "unrelated history" in refused.stderr and "modelreg pull" in refused.stderr
    assert git(b, "rev-parse", "--verify", "-q", "HEAD", check=False) == ""
    assert not (b / ".modelreg.yaml").exists()

    # pull checks out the branch that holds the registry, with its files.
    pulled = cli.ok("-C", b, "pull")
    assert "checked out main from origin" in pulled.stderr
    assert git(b, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert (b / "models" / "m" / "model.pkl").read_bytes() == b"one"

    # The team works: B registers and pushes, A pulls and sees it.
    cli.ok("-C", b, "register", "m", files("model.pkl", b"two"), "--push")
    cli.ok("-C", a, "pull")
    assert cli.ok("-C", a, "resolve", "m@latest").stdout.strip() == "1.1.0"
    assert (a / "models" / "m" / "model.pkl").read_bytes() == b"two"


def _clone_with_nothing_checked_out(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> tuple[Path, Path, Path]:
    bare, a = _master_head_remote(cli, tmp_path, files)
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    return bare, a, b


def test_no_hint_sends_a_clone_to_init_and_init_refuses_there(
    cli: Cli, tmp_path: Path, files: FileMaker, assert_unchanged: Callable[[Path], Any]
) -> None:
    _bare, _a, b = _clone_with_nothing_checked_out(cli, tmp_path, files)
    for args in (["register", "m", files()], ["checkout", "m@v1.0.0"]):
        result = cli("-C", b, *args)
        assert result.exit_code == 1, result
        assert "modelreg init" not in result.stderr and "modelreg pull" in result.stderr
    with assert_unchanged(b):
        refused = cli("init", cwd=b)
    assert refused.exit_code == 1, refused
    assert "unrelated history" in refused.stderr and "modelreg pull" in refused.stderr


def test_pull_checks_out_the_branch_that_holds_the_registry(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    _bare, _a, b = _clone_with_nothing_checked_out(cli, tmp_path, files)
    pulled = cli.ok("-C", b, "pull")
    assert "checked out main from origin" in pulled.stderr
    assert git(b, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert (b / "models" / "m" / "model.pkl").read_bytes() == b"one"


def test_pull_with_several_candidate_branches_says_what_to_do(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    _bare, a, b = _clone_with_nothing_checked_out(cli, tmp_path, files)
    git(a, "push", "-q", "origin", "main:release")
    refused = cli("-C", b, "pull")
    assert refused.exit_code == 1, refused
    assert "several" in refused.stderr and "main, release" in refused.stderr
    assert "git checkout -b BRANCH --track origin/BRANCH" in refused.stderr
    assert git(b, "rev-parse", "--verify", "-q", "HEAD", check=False) == ""


def test_pull_removes_the_previous_versions_file_and_keeps_the_users(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    _bare, a, b = _team(cli, tmp_path, files)
    cli.ok("-C", b, "pull")
    assert (b / "models" / "m" / "model.pkl").read_bytes() == b"two"
    # A registers a version whose file has another name; B also keeps a file of its own.
    export = tmp_path / "export"
    (export / "weights").mkdir(parents=True)
    (export / "weights" / "model.onnx").write_bytes(b"three")
    cli.ok("-C", a, "register", "m", export / "weights" / "model.onnx", "--push")
    (b / "models" / "m" / "notes.txt").write_text("mine\n")
    pulled = cli.ok("-C", b, "pull")
    assert (b / "models" / "m" / "model.onnx").read_bytes() == b"three"
    assert not (b / "models" / "m" / "model.pkl").exists()
    assert (b / "models" / "m" / "notes.txt").read_text() == "mine\n"
    assert "models/m/notes.txt is not part of any registered version of m" in pulled.stderr
    untracked = git(b, "ls-files", "--others", "--exclude-standard", "models").split()
    assert untracked == ["models/m/notes.txt"]
    # The removed bytes can still be had.
    cli.ok("-C", b, "get", "m@v1.1.0", "-o", tmp_path / "out")
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"two"


def test_pull_replaces_bytes_of_the_previous_version(
    cli: Cli, registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    registry.register("fr", [files("m.pkl", b"one")], push=True)
    clone = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    cli.ok("-C", clone, "pull")
    assert (clone / "models" / "fr" / "m.pkl").read_bytes() == b"one"
    registry.register("fr", [files("m.pkl", b"two")], push=True)
    cli.ok("-C", clone, "pull")
    assert (clone / "models" / "fr" / "m.pkl").read_bytes() == b"two"
    assert cli("-C", clone, "checkout", "fr@latest").exit_code == 0


def test_push_without_a_remote_is_refused_before_anything_is_written(
    registry: Registry, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    registry.register("fr", [files()])
    with assert_unchanged(registry.root):
        with pytest.raises(GitError, match="no git remote 'origin'"):
            registry.register("fr", [files()], push=True)
        with pytest.raises(GitError, match="no git remote 'origin'"):
            registry.promote("fr@v0.1.0", "dev", push=True)
