"""Model bytes and DVC: register writes each byte once into the cache (and the model
folder), leaves DVC's metafiles exactly as ``dvc add`` would, and never walks the
repository's other ``.dvc`` files; get reads a remote's object once, without
filling the cache."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from modelreg import IntegrityError, Registry
from modelreg.errors import InputPathError
from modelreg.storage import LocalCache, Storage, transfer

from .conftest import Cli, FileMaker, Unchanged, assert_user_error, git


def _object(root: Path, data: bytes) -> Path:
    md5 = hashlib.md5(data).hexdigest()
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _dvc_status(root: Path) -> dict[str, object]:
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return dict(repo.status())


def test_register_leaves_what_dvc_add_leaves(registry: Registry, files: FileMaker) -> None:
    data = os.urandom(50_000)
    registry.register("m", [files("model.bin", data)])
    folder = registry.root / "models" / "m"
    assert (folder / "model.bin").read_bytes() == data
    assert not (folder / "model.bin").is_symlink()
    obj = _object(registry.root, data)
    assert obj.read_bytes() == data
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444  # DVC's mode for cache objects
    assert (folder / "model.bin.dvc").read_text() == (
        f"outs:\n- md5: {hashlib.md5(data).hexdigest()}\n  size: 50000\n  hash: md5\n"
        "  path: model.bin\n"
    )
    assert (folder / ".gitignore").read_text() == "/model.bin\n"
    assert _dvc_status(registry.root) == {}
    assert list(obj.parent.parent.glob(".modelreg-*")) == []  # no staging file left


def test_an_executable_file_is_recorded_as_dvc_does(registry: Registry, files: FileMaker) -> None:
    folder = registry.root / "models" / "m"
    folder.mkdir(parents=True)
    tool = folder / "run[1].sh"
    tool.write_bytes(b"#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    registry.register("m", [tool])
    assert "  isexec: true\n" in (folder / "run[1].sh.dvc").read_text()
    assert (folder / ".gitignore").read_text() == "/run\\[1\\].sh\n"
    assert git(registry.root, "status", "--porcelain", "--ignored", "models").strip() == (
        "!! models/m/run[1].sh"
    )
    assert _dvc_status(registry.root) == {}


def test_a_file_git_tracks_is_refused(registry: Registry) -> None:
    folder = registry.root / "models" / "m"
    folder.mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"in git")
    git(registry.root, "add", "models/m/model.pkl")
    git(registry.root, "commit", "-qm", "model in git")
    with pytest.raises(InputPathError, match="is tracked by git"):
        registry.register("m", [folder / "model.pkl"])


def test_a_dropped_file_is_untracked(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files("a.bin", b"a"), files("b.bin", b"b")])
    registry.register("m", [files("a.bin", b"a2")])
    folder = registry.root / "models" / "m"
    assert not (folder / "b.bin.dvc").exists()
    assert (folder / ".gitignore").read_text() == "/a.bin\n"
    assert _dvc_status(registry.root) == {}


def test_register_in_place_copies_into_the_cache_only(registry: Registry) -> None:
    folder = registry.root / "models" / "m"
    folder.mkdir(parents=True)
    data = os.urandom(30_000)
    (folder / "weights.bin").write_bytes(data)
    registry.register("m", [folder / "weights.bin"])
    assert (folder / "weights.bin").read_bytes() == data
    assert _object(registry.root, data).read_bytes() == data
    assert _dvc_status(registry.root) == {}


@pytest.mark.parametrize("kind", ["hardlink", "symlink"])
def test_register_links_the_work_tree_file_as_the_cache_type_says(
    registry: Registry, files: FileMaker, kind: str
) -> None:
    with open(registry.root / ".dvc" / "config", "a") as handle:
        handle.write(f"[cache]\n    type = {kind}\n")
    git(registry.root, "commit", "-qam", f"cache type {kind}")
    data = os.urandom(10_000)
    registry.register("m", [files("model.bin", data)])
    placed = registry.root / "models" / "m" / "model.bin"
    obj = _object(registry.root, data)
    if kind == "hardlink":
        assert placed.stat().st_ino == obj.stat().st_ino
    else:
        assert placed.is_symlink() and placed.resolve() == obj.resolve()
    assert placed.read_bytes() == data
    assert _dvc_status(registry.root) == {}


def _in_place_with_hardlinks(registry: Registry) -> tuple[Path, bytes]:
    """``models/m/model.bin`` written in the work tree, with DVC's cache type hardlink."""
    with open(registry.root / ".dvc" / "config", "a") as handle:
        handle.write("[cache]\n    type = hardlink\n")
    git(registry.root, "commit", "-qam", "cache type hardlink")
    folder = registry.root / "models" / "m"
    folder.mkdir(parents=True)
    data = os.urandom(10_000)
    (folder / "model.bin").write_bytes(data)
    return folder, data


def test_register_in_place_with_hardlinks_writes_no_bytes(registry: Registry) -> None:
    folder, data = _in_place_with_hardlinks(registry)
    registry.register("m", [folder / "model.bin"])
    obj = _object(registry.root, data)
    assert (folder / "model.bin").stat().st_ino == obj.stat().st_ino
    assert _dvc_status(registry.root) == {}


def test_a_failed_hardlinked_registration_gives_the_file_its_mode_back(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelreg.errors import GitError
    from modelreg.gitrepo import GitRepo

    folder, data = _in_place_with_hardlinks(registry)
    (folder / "model.bin").chmod(0o640)

    def fail(*args: object, **kwargs: object) -> object:
        raise GitError("simulated: cannot create tag")

    monkeypatch.setattr(GitRepo, "create_tag", fail)
    with pytest.raises(GitError, match="simulated"):
        registry.register("m", [folder / "model.bin"])
    assert stat.S_IMODE((folder / "model.bin").stat().st_mode) == 0o640
    assert (folder / "model.bin").stat().st_nlink == 1
    assert (folder / "model.bin").read_bytes() == data
    assert not _object(registry.root, data).exists()


def test_link_kind_falls_back_to_copy(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "cache", ["reflink", "copy"])
    (tmp_path / "work").mkdir()
    kind = cache.link_kind(tmp_path / "work")
    assert kind in ("reflink", "copy")  # reflink only where the filesystem has it
    assert list((tmp_path / "work").iterdir()) == []  # the probe is gone
    assert LocalCache(tmp_path / "cache", ["hardlink"]).link_kind(tmp_path / "work") == "hardlink"


def test_register_does_not_read_other_models_dvc_files(
    registry: Registry, files: FileMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DVC's own add collects every stage of the repository (seconds at 10,000 models)."""
    from dvc.repo import Repo

    registry.register("a", [files()])

    def walk(*args: object, **kwargs: object) -> object:
        raise AssertionError("DVC walked the repository's .dvc files")

    monkeypatch.setattr(Repo, "find_outs_by_path", walk)
    monkeypatch.setattr(Repo, "check_graph", walk)
    registry.register("b", [files()])
    registry.register("a", [files()])
    assert [m.name for m in registry.list_models()] == ["a", "b"]


@pytest.mark.parametrize("path", ["dvc config only", "dvc repo", "stream"])
def test_get_reads_the_remote_once_and_leaves_the_cache_alone(
    registry: Registry,
    files: FileMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """A local-folder remote is read from DVC's config alone; any other through
    DVC's Repo (forced here, as for an s3:// remote), as a path or as a stream."""
    if path != "dvc config only":
        monkeypatch.setattr(Storage, "_local_sources", lambda *args: None)
    if path == "stream":
        monkeypatch.setattr(transfer, "_is_local", lambda fs: False)
    data = os.urandom(40_000)
    registry.register("m", [files("model.bin", data)])
    registry.storage.push([hashlib.md5(data).hexdigest()], None)
    obj = _object(registry.root, data)
    os.chmod(obj, 0o644)
    obj.unlink()
    got = registry.get("m@v0.1.0", tmp_path / "out")
    assert (tmp_path / "out" / "model.bin").read_bytes() == data
    assert got.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert not obj.exists(), "get filled the cache"

    remote = tmp_path / "dvc-remote"
    [stored] = [p for p in remote.rglob("*") if p.is_file()]
    os.chmod(stored, 0o644)
    stored.write_bytes(b"x" * len(data))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        registry.get("m@v0.1.0", tmp_path / "again")
    assert not (tmp_path / "again").exists(), "a failed get left the folder it made"


def _many_files(files: FileMaker, count: int) -> tuple[Path, dict[str, bytes]]:
    contents = {f"shard-{i}.bin": os.urandom(30_000 + i) for i in range(count)}
    folder = files("shard-0.bin", contents["shard-0.bin"]).parent
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return folder, contents


def _as_from_a_network_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read objects as for an s3:// remote: through DVC's Repo, a stream per object."""
    monkeypatch.setattr(Storage, "_local_sources", lambda *args: None)
    monkeypatch.setattr(transfer, "_is_local", lambda fs: False)


def _shards_only_on_the_remote(
    registry: Registry, files: FileMaker, count: int
) -> dict[str, bytes]:
    """Version v0.1.0 of ``m``: ``count`` shards, pushed, then gone from the cache."""
    folder, contents = _many_files(files, count)
    registry.register("m", [folder])
    registry.storage.push([hashlib.md5(d).hexdigest() for d in contents.values()], None)
    for data in contents.values():
        obj = _object(registry.root, data)
        os.chmod(obj, 0o644)
        obj.unlink()
    return contents


def _on_the_remote(tmp_path: Path, data: bytes) -> Path:
    """The remote's (writable) copy of the object holding ``data``."""
    md5 = hashlib.md5(data).hexdigest()
    stored = tmp_path / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]
    os.chmod(stored, 0o644)
    return stored


@pytest.mark.parametrize("source", ["local folder", "stream"])
def test_get_copies_several_files_at_once_each_verified(
    registry: Registry,
    files: FileMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    """With ``jobs`` 3, three copies are under way together: each waits at a barrier
    for the other two, which a one-at-a-time get would never reach (it times out)."""
    import threading

    from modelreg import workspace

    if source == "stream":
        _as_from_a_network_remote(monkeypatch)
    contents = _shards_only_on_the_remote(registry, files, 6)
    together = threading.Barrier(3, timeout=20)
    copy = workspace._verified_copy

    def meeting(*args: object, **kwargs: object) -> object:
        together.wait()
        return copy(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace, "_verified_copy", meeting)
    got = registry.get("m@v0.1.0", tmp_path / "out", jobs=3)
    assert {f.path: f.sha256 for f in got.files} == {
        name: hashlib.sha256(data).hexdigest() for name, data in contents.items()
    }
    for name, data in contents.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(contents)


def test_one_corrupt_file_among_many_stops_the_whole_get(
    registry: Registry, files: FileMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_from_a_network_remote(monkeypatch)
    contents = _shards_only_on_the_remote(registry, files, 6)
    stored = _on_the_remote(tmp_path, contents["shard-4.bin"])
    stored.write_bytes(b"y" * len(contents["shard-4.bin"]))
    out = tmp_path / "deploy" / "fraud"
    with pytest.raises(IntegrityError, match=r"shard-4\.bin does not match its sha256"):
        registry.get("m@v0.1.0", out, jobs=4)
    assert not (tmp_path / "deploy").exists(), "a failed get left files or folders behind"
    # The other five were never the problem; fixed, the same get succeeds.
    stored.write_bytes(contents["shard-4.bin"])
    registry.get("m@v0.1.0", out, jobs=4)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == contents


class _Stalled:
    """A remote stream whose first read hangs until released (a dead connection)."""

    def __init__(self, stream: Any, release: threading.Event) -> None:
        self.stream, self.release = stream, release

    def readinto(self, buffer: memoryview) -> int:
        self.release.wait()
        return int(self.stream.readinto(buffer) or 0)


def test_a_copy_stuck_in_a_read_does_not_hold_up_the_error(
    registry: Registry, files: FileMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One shard's read hangs, another shard is corrupt: get reports the corruption
    (it does not wait for the hung read), leaves nothing behind, and the hung copy,
    once its read returns, stops without writing anything either."""
    from modelreg import workspace

    _as_from_a_network_remote(monkeypatch)
    contents = _shards_only_on_the_remote(registry, files, 4)
    _on_the_remote(tmp_path, contents["shard-2.bin"]).write_bytes(
        b"z" * len(contents["shard-2.bin"])
    )
    release = threading.Event()
    from modelreg.hashing import copy_file as real_copy

    def stalling(src: Any, dst: Path, task: Any = None, **options: Any) -> Any:
        if dst.name == "shard-0.bin":
            src = _Stalled(src, release)
        return real_copy(src, dst, task, **options)

    monkeypatch.setattr(workspace, "copy_file", stalling)
    out = tmp_path / "deploy"
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            registry.get("m@v0.1.0", out, jobs=4)
        except BaseException as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=run, daemon=True)
    caller.start()
    caller.join(120)  # a guard against hanging the suite, not a timing assertion
    try:
        assert not caller.is_alive(), "get waited for the hung read"
        assert isinstance(outcome.get("error"), IntegrityError), outcome
        assert "shard-2.bin" in str(outcome["error"])
        assert not out.exists()
    finally:
        release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("modelreg-copy-"):
            thread.join(60)
            assert not thread.is_alive()
    assert not out.exists(), "the hung copy wrote something once its read returned"


def test_dvc_lock_held_elsewhere_is_a_clean_error(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    from dvc.lock import Lock

    model = files()
    lock = Lock(str(populated / ".dvc" / "tmp" / "lock"))
    lock.lock()  # as a running 'dvc' command would hold it
    try:
        with assert_unchanged(populated):
            result = cli("-C", populated, "register", "m", model)
            assert_user_error(result, "another DVC process holds the lock")
    finally:
        lock.unlock()


@pytest.mark.parametrize(
    ("plugin", "extra"),
    [("dvc-s3", "s3"), ("dvc-ssh", "ssh"), ("dvc-gs", "gs"), ("dvc-azure", "azure"),
     ("dvc-webdav", "webdav")],
)  # fmt: skip
def test_a_missing_plugin_names_the_extra(plugin: str, extra: str) -> None:
    """DVC's own words when a plugin is missing become our hint naming the extra."""
    from modelreg.errors import StorageError
    from modelreg.storage.gateway import dvc_errors

    scheme = plugin.removeprefix("dvc-")
    with pytest.raises(StorageError) as refused, dvc_errors("push"):
        raise ImportError(f"{scheme} is supported, but requires '{plugin}' to be installed")
    assert refused.value.hint == f"pip install 'modelreg[{extra}]'"
    assert plugin in refused.value.message


HIDE_AND_RUN = (
    "import sys\n"
    "for name in sys.argv.pop(1).split(','):\n"
    "    sys.modules[name] = None  # import fails as if not installed\n"
    "from modelreg.cli import main\n"
    "main()\n"
)


@pytest.mark.parametrize(
    ("url", "hidden", "plugin", "hint"),
    [
        ("s3://bucket/store", "dvc_s3", "dvc-s3", "pip install 'modelreg[s3]'"),
        ("ssh://user@host/store", "dvc_ssh", "dvc-ssh", "pip install 'modelreg[ssh]'"),
        ("oss://bucket/store", "", "dvc-oss", "pip install 'dvc-oss'"),
    ],
)
def test_a_missing_plugin_names_what_to_install(
    url: str, hidden: str, plugin: str, hint: str, tmp_path: Path, files: FileMaker
) -> None:
    reg, _ = Registry.init(tmp_path / "reg", remote=url)
    reg.register("m", [files()])
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "origin.git"))
    git(reg.root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    done = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, hidden or "-", "-C", str(reg.root), "push"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done
    assert f"needs the plugin {plugin}, which is not installed" in done.stderr
    assert f"(hint: {hint})" in done.stderr
    assert len(done.stderr.splitlines()) == 1
