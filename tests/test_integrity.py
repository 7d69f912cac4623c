"""Never lose the last good copy of registered bytes, and reads never change a remote:
a corrupt DVC cache object is checked before it is relied on and repaired from the
work tree or the DVC remote; a corrupt object on a shared remote is refused, named and
left exactly as it is."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import Cli, Clock, FileMaker, git

V1 = b"first weights\n"
V2 = b"second weights\n"


def _object(base: Path, content: bytes) -> Path:
    md5 = hashlib.md5(content).hexdigest()
    return base / "files" / "md5" / md5[:2] / md5[2:]


def _flip(path: Path) -> None:
    """One byte changed, size kept: what bit rot or a careless edit does."""
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))
    path.chmod(0o444)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder under ``root``."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def two_versions(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    registry.register("m", [files("model.pkl", V1)])
    clock.tick()
    registry.register("m", [files("model.pkl", V2)])
    clock.tick()
    return registry


@pytest.fixture
def pushed(two_versions: Registry, tmp_path: Path) -> Path:
    """The two versions shared through a bare git remote and the local-folder DVC
    remote; returns the bare repository."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(two_versions.root, "remote", "add", "origin", str(bare))
    two_versions.push()
    return bare


def test_a_corrupt_cache_object_never_costs_the_work_trees_good_copy(
    cli: Cli, two_versions: Registry
) -> None:
    root = two_versions.root
    cache = root / ".dvc" / "cache"
    data = root / "models" / "m" / "model.pkl"
    _flip(_object(cache, V2))  # nothing pushed: the work tree holds the only good copy

    cli.ok("-C", root, "checkout", "m@v0.1.0")
    assert data.read_bytes() == V1
    # Before v0.2.0's file left the work tree, its corrupt cache object was repaired.
    assert _object(cache, V2).read_bytes() == V2

    back = cli.ok("-C", root, "checkout", "m@v0.2.0")
    assert back.stderr == ""
    assert data.read_bytes() == V2
    assert cli("-C", root, "verify").exit_code == 0


def test_a_corrupt_cache_object_is_repaired_from_the_remote(
    cli: Cli, two_versions: Registry, pushed: Path, tmp_path: Path
) -> None:
    root = two_versions.root
    cache = root / ".dvc" / "cache"
    store = tmp_path / "dvc-remote"
    _flip(_object(cache, V1))
    remote_before = _tree(store)

    cli.ok("-C", root, "checkout", "m@v0.1.0")
    assert (root / "models" / "m" / "model.pkl").read_bytes() == V1
    assert _object(cache, V1).read_bytes() == V1
    assert _tree(store) == remote_before

    # get relies on the cache too: a corrupt object there is repaired the same way.
    _flip(_object(cache, V2))
    cli.ok("-C", root, "get", "m@v0.2.0", "-o", tmp_path / "out")
    assert (tmp_path / "out" / "model.pkl").read_bytes() == V2
    assert _object(cache, V2).read_bytes() == V2
    assert _tree(store) == remote_before


def test_a_corrupt_cache_object_with_no_good_copy_anywhere_is_refused(
    cli: Cli, two_versions: Registry, pushed: Path, tmp_path: Path
) -> None:
    root = two_versions.root
    cache = root / ".dvc" / "cache"
    _flip(_object(cache, V1))
    _flip(_object(tmp_path / "dvc-remote", V1))
    refused = cli("-C", root, "checkout", "m@v0.1.0")
    assert refused.exit_code == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "model.pkl does not match its sha256" in refused.stderr
    assert str(_object(cache, V1)) in refused.stderr
    assert (root / "models" / "m" / "model.pkl").read_bytes() == V2  # left as it was


@pytest.mark.parametrize("command", ["get", "checkout", "pull"])
def test_reads_never_change_a_corrupt_remote_object(
    cli: Cli, pushed: Path, tmp_path: Path, command: str
) -> None:
    store = tmp_path / "dvc-remote"
    corrupt = _object(store, V2)
    _flip(corrupt)
    before = _tree(store)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(pushed), str(clone))
    args = {
        "get": ["get", "m@v0.2.0", "-o", tmp_path / "out"],
        "checkout": ["checkout", "m@v0.2.0"],
        "pull": ["pull"],
    }[command]
    for _attempt in range(2):  # the second reader is told the same: corrupt, not missing
        refused = cli("-C", clone, *args)
        assert refused.exit_code == 1, refused
        assert len(refused.stderr.splitlines()) == 1
        assert str(corrupt) in refused.stderr
        assert "registered without" not in refused.stderr
        assert _tree(store) == before
    assert not (tmp_path / "out" / "model.pkl").exists()


def test_a_tag_moved_on_the_origin_is_refused_by_url_reads(
    cli: Cli, two_versions: Registry, pushed: Path, files: FileMaker, tmp_path: Path
) -> None:
    url = f"file://{pushed}"
    first = cli.ok("get", "m@v0.1.0", "--repo", url, "-o", tmp_path / "first")
    assert (tmp_path / "first" / "model.pkl").read_bytes() == V1, first
    # A new version published the normal way is picked up.
    two_versions.register("m", [files("model.pkl", b"third weights\n")], push=True)
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


@pytest.mark.parametrize("writing", ["model.yaml", "journal"])
def test_a_full_disk_leaves_no_temporary_file_and_names_the_path(
    cli: Cli,
    repo: Path,
    files: FileMaker,
    assert_unchanged: Callable[[Path], AbstractContextManager[None]],
    writing: str,
) -> None:
    """The disk fills up while the manifest (or the write's journal) is written:
    the write syscall itself fails with ENOSPC for that one file."""
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if f".{writing}" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    model = files("model.pkl", V1)
    with assert_unchanged(repo), pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", full_disk)
        refused = cli("-C", repo, "register", "m", model)
    assert refused.exit_code == 1, refused
    assert len(refused.stderr.splitlines()) == 1
    assert "No space left on device" in refused.stderr
    if writing == "model.yaml":
        assert f"cannot write {repo / 'models' / 'm' / 'model.yaml'}:" in refused.stderr
    else:
        assert "cannot write " in refused.stderr and "journal-register-" in refused.stderr
    assert [p for p in repo.rglob("*") if ".modelreg-" in p.name] == []
    assert cli("-C", repo, "doctor").exit_code == 0


def test_a_really_full_disk_leaves_no_temporary_file(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    """The model folder on a tiny tmpfs with room for the model file, its .dvc file
    and .gitignore but not the manifest (tmpfs counts whole 4 KiB pages)."""
    folder = repo / "models" / "m"
    folder.mkdir(parents=True)
    if os.sysconf("SC_PAGE_SIZE") != 4096 or os.geteuid() != 0:
        pytest.skip("needs root (to mount a tmpfs) and 4 KiB pages")
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        (folder / "filler").write_bytes(b"\0" * (16 - 5) * 4096)  # 5 pages left
        model = files("model.pkl", bytes(range(256)) * 40)  # 3 pages
        refused = cli("-C", repo, "register", "m", model)
        assert refused.exit_code == 1, refused
        assert len(refused.stderr.splitlines()) == 1
        assert f"cannot write {folder / 'model.yaml'}: No space left on device" in refused.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_pull_keeps_the_replaced_file_when_it_was_the_last_good_copy(
    cli: Cli, tmp_path: Path, files: FileMaker
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    store = tmp_path / "dvc-store"
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", "--remote", store, cwd=a)
    git(a, "remote", "add", "origin", str(bare))
    cli.ok("-C", a, "register", "m", files("model.pkl", V1), "--push")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    cli.ok("-C", b, "pull")
    assert (b / "models" / "m" / "model.pkl").read_bytes() == V1
    # v0.1.0's bytes are lost everywhere but b's work tree: gone from the shared
    # store, corrupt in b's cache.
    _object(store, V1).unlink()
    _flip(_object(b / ".dvc" / "cache", V1))

    cli.ok("-C", a, "register", "m", files("model.pkl", V2), "--push")
    cli.ok("-C", b, "pull")
    assert (b / "models" / "m" / "model.pkl").read_bytes() == V2
    assert _object(b / ".dvc" / "cache", V1).read_bytes() == V1  # kept, repaired
    cli.ok("-C", b, "checkout", "m@v0.1.0")
    assert (b / "models" / "m" / "model.pkl").read_bytes() == V1
