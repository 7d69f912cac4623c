"""Regression tests for data-safety findings of a code review: each reproduces the
reported situation with real git and DVC and checks nothing of the user's is lost,
swept into a commit, or overwritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg import DirtyStateError, InvalidNameError, Registry
from modelreg.errors import GateError, GitError, InputPathError, InvalidReferenceError
from modelreg.gitrepo import GitRepo

from .conftest import Cli, Clock, FileMaker, git

Unchanged = Callable[[Path], object]


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


def test_nested_model_names_are_refused(registry: Registry, files: FileMaker) -> None:
    registry.register("team", [files()])
    with pytest.raises(InvalidNameError, match="would share the folder"):
        registry.register("team/fraud", [files()])
    registry.register("group/fraud", [files()])
    with pytest.raises(InvalidNameError, match="would share the folder"):
        registry.register("group", [files()])


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


def test_previous_bytes_stay_retrievable_after_the_cache_was_cleared(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    import shutil

    registry.register("fr", [files("m.pkl", b"version one")])
    shutil.rmtree(registry.root / ".dvc" / "cache")
    registry.register("fr", [files("m.pkl", b"version two")])
    registry.get("fr@v0.1.0", tmp_path / "out")
    assert (tmp_path / "out" / "m.pkl").read_bytes() == b"version one"


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


def test_code_commit_is_resolved_to_a_full_id(registry: Registry, files: FileMaker) -> None:
    head = git(registry.root, "rev-parse", "HEAD").strip()
    result = registry.register("fr", [files()], code_commit="HEAD")
    assert result.manifest.lineage is not None
    assert result.manifest.lineage.code_commit == head
    assert Registry(registry.root).show("fr").manifest is not None
    elsewhere = registry.register("fr", [files()], code_commit="3F2A9C1")
    assert elsewhere.manifest.lineage and elsewhere.manifest.lineage.code_commit == "3f2a9c1"
    with pytest.raises(InvalidReferenceError, match="--code-commit"):
        registry.register("fr", [files()], code_commit="not a commit")


def test_init_without_a_git_identity_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    (isolated / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    target = tmp_path / "repo"
    target.mkdir()
    git(target, "init", "-q")
    with pytest.raises(GitError, match="git does not know who you are"):
        Registry.init(target)
    assert sorted(p.name for p in target.iterdir()) == [".git"]
    assert git(target, "status", "--porcelain") == ""


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


def test_a_file_named_like_a_glob_is_itself(registry: Registry, files: FileMaker) -> None:
    weird = files("*.bin", b"star")
    result = registry.register("fr", [weird])
    assert [a.path for a in result.manifest.artifacts] == ["*.bin"]
    assert git(registry.root, "status", "--porcelain") == ""


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


def test_register_after_deprecate_in_the_same_second_revives_the_model(
    registry: Registry, files: FileMaker
) -> None:
    registry.register("fr", [files()])
    registry.deprecate("fr")
    registry.register("fr", [files()])  # same GIT_COMMITTER_DATE: a tie on time
    assert Registry(registry.root).promote("fr@v0.2.0", "dev").tag == "fr#dev#2"


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


def test_force_cannot_invent_a_stage(registry: Registry, files: FileMaker) -> None:
    registry.register("fr", [files()])
    with pytest.raises(GateError, match="not a stage"):
        registry.promote("fr@v0.1.0", "prodution", force=True, message="typo")
    assert git(registry.root, "tag", "-l", "fr#*").split() == []


def test_promote_needs_a_version(cli: Cli, registry: Registry, files: FileMaker) -> None:
    registry.register("fr", [files()])
    result = cli("-C", registry.root, "promote", "fr", "--to", "production")
    assert result.exit_code == 1 and "promote takes a version" in result.stderr
    cli.ok("-C", registry.root, "promote", "fr@latest", "--to", "staging")
    cli.ok("-C", registry.root, "promote", "fr#staging", "--to", "production")


def test_list_without_config_shows_only_stages_in_use(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    git(repo, "tag", "-a", "m@v1.0.0", "-m", "by hand")
    git(repo, "tag", "-a", "m#prod#1", "-m", "by hand")
    header = cli.ok("-C", repo, "list").stdout.splitlines()[0].split()
    assert header == ["model", "latest", "#prod", "versions"]


def test_file_system_errors_are_user_errors(
    cli: Cli, registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    registry.register("fr", [files("m.pkl", b"x")])
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = cli("-C", registry.root, "get", "fr@v0.1.0", "-o", blocker / "sub")
    assert result.exit_code == 1, result
    assert result.stderr.startswith("modelreg: error: ")
    long_name = cli("-C", registry.root, "register", "fr", "x" * 300)
    assert long_name.exit_code == 1, long_name


def test_dash_c_makes_relative_paths_relative_to_it(
    cli: Cli, registry: Registry, tmp_path: Path
) -> None:
    (registry.root / "out").mkdir()
    (registry.root / "out" / "w.bin").write_bytes(b"relative")
    cli.ok("-C", registry.root, "register", "fr", "out/w.bin")
    data = json.loads(cli.ok("-C", registry.root, "show", "fr", "--json").stdout)
    assert data["manifest"]["artifacts"][0]["size"] == len(b"relative")
    missing = cli("-C", tmp_path / "nope", "list")
    assert missing.exit_code == 2 and "no such directory" in missing.stderr


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
