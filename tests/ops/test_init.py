"""ops/init.py: modelreg init."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.errors import GitError

from ..conftest import Cli, FileMaker, git


def test_init_in_an_empty_folder_creates_git_and_dvc_and_commits(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "new"
    target.mkdir()
    result = cli.ok("init", cwd=target)
    assert "Initialised an empty git repository" in result.stdout
    assert "created .modelreg.yaml" in result.stdout
    assert result.stderr == ""
    assert (target / ".dvc" / "config").is_file()
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "log", "--format=%s").strip() == "modelreg: set up the registry"
    remote_dir = tmp_path / "home"
    del remote_dir
    config = (target / ".dvc" / "config").read_text()
    assert "modelreg" in config and "url" in config

    again = cli.ok("init", cwd=target)
    assert "already set up" in again.stdout
    assert len(git(target, "log", "--format=%H").split()) == 1


def test_init_with_remote_url_records_an_absolute_path(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    cli.ok("-C", tmp_path, "init", "--remote", "store", cwd=tmp_path)
    del target
    config = (tmp_path / ".dvc" / "config").read_text()
    assert str(tmp_path / "store") in config


@pytest.mark.parametrize("remote", [None, "模型/stockage-données"])
def test_init_and_use_a_registry_whose_paths_are_not_ascii(
    cli: Cli, tmp_path: Path, files: FileMaker, remote: str | None
) -> None:
    target = tmp_path / "données" / "模型"
    target.mkdir(parents=True)
    extra = ["--remote", str(tmp_path / remote)] if remote else []
    result = cli.ok("-C", target, "init", *extra)
    assert result.stderr == ""
    assert git(target, "status", "--porcelain") == ""  # committed, nothing left staged
    cli.ok("-C", target, "register", "m", files("poids.bin", b"weights"))
    out = tmp_path / "sortie-é"
    cli.ok("-C", target, "get", "m@v0.1.0", "-o", out)
    assert (out / "poids.bin").read_bytes() == b"weights"
    cli.ok("-C", target, "verify")
    (listed,) = json.loads(cli.ok("-C", target, "remote", "list", "--json").stdout)["remotes"]
    if remote:
        assert listed["url"] == str(tmp_path / remote)


@pytest.mark.parametrize("failure", ["remote is a file", "DVC config is broken"])
def test_init_that_fails_leaves_the_index_and_work_tree_as_they_were(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Callable[[Path], AbstractContextManager[None]],
    failure: str,
) -> None:
    """`dvc init` stages its files in the user's index: a failure after it takes them
    back, and the files init made go too."""
    target = tmp_path / "work"
    target.mkdir()
    git(target, "init", "-q")
    (target / "wip.py").write_text("staged work\n")
    git(target, "add", "wip.py")
    remote = tmp_path / "store"
    if failure == "remote is a file":
        remote.write_text("not a folder\n")
        expected = f"{remote}: File exists"
    else:
        config_dir = tmp_path / "dvc-global"
        config_dir.mkdir()
        (config_dir / "config").write_text("[core]\n    no_such_key = 1\n")
        monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(config_dir))
        expected = "no_such_key"
    with assert_unchanged(target):
        failed = cli("-C", target, "init", "--remote", str(remote))
        assert failed.exit_code == 1 and expected in failed.stderr, failed
        assert len(failed.stderr.splitlines()) == 1
    assert sorted(p.name for p in target.iterdir()) == [".git", "wip.py"]


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
