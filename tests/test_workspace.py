"""workspace.py: staging, verifying and placing model bytes for get, checkout and pull.

Never lose the last good copy of registered bytes, and reads never change a remote:
a corrupt DVC cache object is checked before it is relied on and repaired from the
work tree or the DVC remote; a corrupt object on a shared remote is refused, named and
left exactly as it is."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import V1, V2, Cli, FileMaker, Unchanged, assert_user_error, git


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


def test_a_corrupt_cache_object_never_costs_the_work_trees_good_copy(
    cli: Cli, two_weights: Registry
) -> None:
    root = two_weights.root
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
    cli: Cli, two_weights: Registry, pushed: Path, tmp_path: Path
) -> None:
    root = two_weights.root
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
    cli: Cli, two_weights: Registry, pushed: Path, tmp_path: Path
) -> None:
    root = two_weights.root
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


def _cache_object(repo: Path, content: bytes) -> Path:
    import hashlib

    md5 = hashlib.md5(content).hexdigest()
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _corrupt_every_copy(repo: Path, content: bytes, bad: bytes) -> None:
    """Corrupt the cache's and the local-folder remote's copy of ``content``: with a
    good copy anywhere, get and checkout repair the cache from it instead of refusing."""
    cached = _cache_object(repo, content)
    [remote] = Registry(repo).remotes()
    stored = Path(remote.url) / cached.relative_to(repo / ".dvc" / "cache")
    for obj in (cached, stored):
        obj.chmod(0o644)
        obj.write_bytes(bad)


def test_get_refuses_bytes_that_do_not_match_the_manifest(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    _corrupt_every_copy(populated, b"one", b"ONE")  # same size, different bytes
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "keep.txt").write_text("already here\n")
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "get", "m@v0.1.0", "-o", out), "does not match its sha256"
        )
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_checkout_refuses_bytes_that_do_not_match(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    _corrupt_every_copy(populated, b"one", b"bad")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "checkout", "m@v0.1.0"), "does not match its sha256")


def test_get_of_bytes_that_are_nowhere_names_the_fix(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    # The local cache object was lost, and so was the DVC remote's copy (register put
    # it in the local-folder remote).
    obj = _cache_object(populated, b"one")
    obj.unlink()
    remote_copy = populated.parent / "dvc-remote" / obj.relative_to(populated / ".dvc" / "cache")
    remote_copy.unlink()
    out = tmp_path / "deploy"
    with assert_unchanged(populated):
        result = cli("-C", populated, "get", "m@v0.1.0", "-o", out)
    assert_user_error(result, "neither in the local cache nor on the DVC remote")
    assert "modelreg push" in result.stderr
    assert not out.exists()
