"""remote.py: reading a registry by URL, without a clone: a shallow, tags-only mirror under
~/.cache/modelreg, refreshed on each use, and the files of one version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.remote import mirror_path

from .conftest import V1, Cli, Clock, FileMaker, git


@pytest.fixture
def published(registry: Registry, files: FileMaker, clock: Clock, tmp_path: Path) -> str:
    """A registry pushed to a bare repository; returns its URL."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    registry.register("fraud", [files("model.pkl", b"one")], metrics={"auc": 0.8})
    clock.tick()
    registry.register("fraud", [files("model.pkl", b"two")], metrics={"auc": 0.9})
    clock.tick()
    registry.promote("fraud@v0.1.0", "production", message="first release")
    registry.push()
    return f"file://{bare}"


def test_reads_by_url(cli: Cli, published: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "deploy-box"
    elsewhere.mkdir()
    listed = json.loads(cli.ok("list", "--repo", published, "--json", cwd=elsewhere).stdout)
    assert listed["models"][0]["stages"] == {"production": "0.1.0"}
    assert cli.ok("resolve", "fraud#production", "--repo", published, cwd=elsewhere).stdout == (
        "0.1.0\n"
    )
    shown = json.loads(cli.ok("show", "fraud", "--repo", published, "--json", cwd=elsewhere).stdout)
    assert shown["manifest"]["metrics"] == {"auc": 0.9}
    events = json.loads(
        cli.ok("history", "fraud", "--repo", published, "--json", cwd=elsewhere).stdout
    )["events"]
    assert events[-1]["reason"] == "first release"
    mirror = mirror_path(published)
    assert mirror.is_dir()
    # Shallow: the mirror holds the tagged commits, not the history behind them.
    assert (mirror / "shallow").is_file()


def test_the_mirror_is_refreshed_and_reused(
    cli: Cli, published: str, registry: Registry, clock: Clock, tmp_path: Path
) -> None:
    assert cli.ok("resolve", "fraud#production", "--repo", published).stdout == "0.1.0\n"
    clock.tick()
    registry.promote("fraud@v0.2.0", "production", push=True)
    assert cli.ok("resolve", "fraud#production", "--repo", published).stdout == "0.2.0\n"
    # The remote is gone: the last copy is used, and the user is told.
    bare = Path(published.removeprefix("file://"))
    bare.rename(bare.with_name("moved.git"))
    stale = cli("resolve", "fraud#production", "--repo", published)
    assert stale.exit_code == 0 and stale.stdout == "0.2.0\n"
    assert "showing the copy from the last fetch" in stale.stderr
    never = cli("list", "--repo", f"file://{tmp_path / 'nowhere.git'}")
    assert never.exit_code == 1 and "cannot read the registry at" in never.stderr


def test_get_by_url_fetches_only_that_version(cli: Cli, published: str, tmp_path: Path) -> None:
    out = tmp_path / "serving"
    cli.ok("get", "fraud#production", "--repo", published, "-o", out, cwd=tmp_path)
    assert (out / "model.pkl").read_bytes() == b"one"
    import hashlib

    # No clone: the mirror is bare, and only the DVC config sits beside it.
    mirror = mirror_path(published)
    assert not (mirror / "models").exists()
    dvc_folder = mirror.with_suffix(".dvc")
    assert sorted(p.name for p in dvc_folder.iterdir()) == [".dvc"]
    other = hashlib.md5(b"two").hexdigest()
    assert not list(dvc_folder.rglob(other[2:]))  # v0.2.0's bytes were not fetched


def test_reads_by_url_import_no_dvc(published: str, tmp_path: Path) -> None:
    code = (
        "import sys\nfrom modelreg.cli import main\n"
        f"try:\n    main(['list', '--repo', {published!r}, '--json'])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "print([m for m in sys.modules if m == 'dvc' or m.startswith('dvc.')], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stderr.strip().endswith("[]"), done.stderr
    assert json.loads(done.stdout)["models"][0]["name"] == "fraud"


def test_a_registry_made_by_tags_alone_reads_by_url(cli: Cli, tmp_path: Path) -> None:
    """No .modelreg.yaml, no DVC (as GTO leaves a repository): the reads work by URL;
    only get, which needs a manifest and the DVC remote, says why it cannot."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    (work / "README").write_text("models\n")
    git(work, "add", "README")
    git(work, "commit", "-qm", "start")
    git(work, "tag", "-a", "fraud@v0.1.0", "-m", "Register fraud v0.1.0")
    git(work, "tag", "-a", "fraud#production#1", "-m", "Promote fraud v0.1.0 to production")
    bare = tmp_path / "tags-only.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    url = f"file://{bare}"
    listed = json.loads(cli.ok("list", "--repo", url, "--json").stdout)
    assert listed["models"][0]["stages"] == {"production": "0.1.0"}
    assert cli.ok("resolve", "fraud#production", "--repo", url).stdout == "0.1.0\n"
    refused = cli("get", "fraud#production", "--repo", url, "-o", tmp_path / "out")
    assert refused.exit_code == 1, refused
    assert "has no manifest" in refused.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("../nowhere/shared.git", "does not exist"),  # a path that is not there
        ("plain-folder", "does not appear to be a git repository"),  # a folder, no repository
    ],
)
def test_a_repo_that_is_not_there_is_named_in_one_line(
    cli: Cli, tmp_path: Path, where: str, says: str
) -> None:
    """git's own words, not the tail of its last line ("and the repository exists.")."""
    (tmp_path / "plain-folder").mkdir()
    for command in (["get", "m@v1.0.0", "-o", "out"], ["list"]):
        result = cli(*command, "--repo", where, cwd=tmp_path)
        assert result.exit_code == 1, result
        assert len(result.stderr.splitlines()) == 1, result
        assert says in result.stderr, result
        assert "and the repository exists" not in result.stderr


def test_a_tag_moved_on_the_origin_is_refused_by_url_reads(
    cli: Cli, two_weights: Registry, pushed: Path, files: FileMaker, tmp_path: Path
) -> None:
    url = f"file://{pushed}"
    first = cli.ok("get", "m@v0.1.0", "--repo", url, "-o", tmp_path / "first")
    assert (tmp_path / "first" / "model.pkl").read_bytes() == V1, first
    # A new version published the normal way is picked up.
    two_weights.register("m", [files("model.pkl", b"third weights\n")], push=True)
    assert cli.ok("resolve", "m@latest", "--repo", url).stdout == "0.3.0\n"

    # On the origin, someone moves m@v0.1.0 to v0.2.0's commit.
    target = git(pushed, "rev-parse", "m@v0.2.0^{commit}").strip()
    git(pushed, "tag", "-f", "-a", "m@v0.1.0", "-m", "sneaky", target)
    for args in (
        ["get", "m@v0.1.0", "-o", tmp_path / "second"],
        ["show", "m@v0.1.0"],
        ["resolve", "m@latest"],
    ):
        refused = cli(*args, "--repo", url)
        assert refused.exit_code == 1, refused
        assert len(refused.stderr.splitlines()) == 1
        assert "tag m@v0.1.0 " in refused.stderr and "moved" in refused.stderr
    assert not (tmp_path / "second").exists()


def test_get_from_another_registry_path(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"remote bytes"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli.ok("get", "m@latest", "--repo", repo, "-o", elsewhere / "out", cwd=elsewhere)
    assert (elsewhere / "out" / "model.pkl").read_bytes() == b"remote bytes"


def test_get_from_a_git_url_uses_the_dvc_remote(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"pushed bytes"))
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    cli.ok("-C", repo, "push")
    out = tmp_path / "out"
    cli.ok("get", "m@v0.1.0", "--repo", f"file://{bare}", "-o", out, cwd=tmp_path)
    assert (out / "model.pkl").read_bytes() == b"pushed bytes"
