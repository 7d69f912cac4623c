"""A small register without DVC (modelreg/storage/plain.py): it writes exactly what
the same register through DVC writes, and real DVC then agrees with it (status,
checkout, pull into a fresh clone, push); a config modelreg does not know exactly,
or a big file, goes through DVC as before."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.storage import Storage
from modelreg.storage.plain import SMALL_BYTES, plain_dvc

from .conftest import git

DVC = str(Path(sys.executable).parent / "dvc")
PROBE = """
import sys
from modelreg.cli import main
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
print('DVC-LOADED:', any(m == 'dvc' or m.startswith('dvc.') for m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def _register(root: Path, *args: str) -> str:
    """modelreg register in its own process; what it said about DVC's import."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=["-q", "-C", str(root), "register", *args])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def _dvc(cwd: Path, *args: str) -> str:
    done = subprocess.run([DVC, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _written(root: Path, remote: Path) -> dict[str, tuple[int, bytes]]:
    """Every file register left in the model folder, the cache and the remote: mode
    and bytes, by path (the cache's and remote's relative to their own folder)."""
    out = {}
    for base, label in ((root / "models", "models"), (root / ".dvc" / "cache", "cache")):
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.name != "model.yaml":  # the manifest is not DVC's
                out[f"{label}/{path.relative_to(base)}"] = (
                    stat.S_IMODE(path.stat().st_mode),
                    path.read_bytes(),
                )
    for path in sorted(remote.rglob("*")):
        out[f"remote/{path.relative_to(remote)}"] = (
            stat.S_IMODE(path.stat().st_mode),
            path.read_bytes() if path.is_file() else b"(folder)",
        )
    return out


def _registry(tmp_path: Path, name: str, *, through_dvc: bool) -> tuple[Path, Path]:
    root, remote = tmp_path / name, tmp_path / f"{name}-remote"
    Registry.init(root, remote=str(remote))
    if through_dvc:
        # A setting plain.py does not know (and that changes nothing here): DVC does the work.
        _dvc(root, "config", "core.hardlink_lock", "false")
        git(root, "commit", "-qam", "DVC does the work")
    return root, remote


def test_a_small_register_imports_no_dvc_and_writes_what_dvc_writes(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(4096))
    plain_root, plain_remote = _registry(tmp_path, "plain", through_dvc=False)
    dvc_root, dvc_remote = _registry(tmp_path, "dvc", through_dvc=True)
    assert plain_dvc(plain_root) is not None and plain_dvc(dvc_root) is None

    assert "DVC-LOADED: False" in _register(plain_root, "m", str(model))
    assert "DVC-LOADED: True" in _register(dvc_root, "m", str(model))
    written = _written(plain_root, plain_remote)
    assert any(k.startswith("remote/files/md5/") and v[0] == 0o444 for k, v in written.items())
    assert written == _written(dvc_root, dvc_remote)

    # Real DVC reads what modelreg wrote without it, and agrees.
    folder = plain_root / "models" / "m"
    assert "up to date" in _dvc(plain_root, "status")
    assert "in sync" in _dvc(plain_root, "status", "-c")
    (folder / "model.bin").unlink()
    _dvc(plain_root, "checkout", "models/m/model.bin.dvc")
    assert (folder / "model.bin").read_bytes() == model.read_bytes()
    assert "up to date" in _dvc(plain_root, "push").lower()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(plain_root), str(clone))
    _dvc(clone, "pull")
    assert (clone / "models" / "m" / "model.bin").read_bytes() == model.read_bytes()


def test_a_second_version_and_a_file_in_place_stay_plain(tmp_path: Path) -> None:
    root, remote = _registry(tmp_path, "r", through_dvc=False)
    first = tmp_path / "a.bin"
    first.write_bytes(b"one" * 100)
    assert "DVC-LOADED: False" in _register(root, "m", str(first))
    (root / "models" / "m" / "a.bin").chmod(0o644)
    (root / "models" / "m" / "a.bin").write_bytes(b"two" * 100)
    assert "DVC-LOADED: False" in _register(root, "m", "models/m/a.bin")
    assert "up to date" in _dvc(root, "status")
    assert "in sync" in _dvc(root, "status", "-c")
    assert len([p for p in (remote / "files" / "md5").rglob("*") if p.is_file()]) == 2


@pytest.mark.parametrize(
    "config",
    [
        "[cache]\n    dir = ../elsewhere\n",
        "[cache]\n    shared = group\n",
        "[cache]\n    type = symlink,unknown\n",
        "[core]\n    hardlink_lock = true\n",
        "['remote \"modelreg\"']\n    url = /tmp/x\n    verify = true\n",
        "[feature]\n    something = 1\n",
        "[core\n",
    ],
)
def test_a_config_plain_does_not_know_is_left_to_dvc(tmp_path: Path, config: str) -> None:
    root, _remote = _registry(tmp_path, "r", through_dvc=False)
    (root / ".dvc" / "config.local").write_text(config)
    assert plain_dvc(root) is None


def test_a_global_dvc_config_is_left_to_dvc(tmp_path: Path) -> None:
    root, _remote = _registry(tmp_path, "r", through_dvc=False)
    folder = Path(os.environ["DVC_GLOBAL_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text("[core]\n    analytics = false\n")
    try:
        assert plain_dvc(root) is None
    finally:
        shutil.rmtree(folder)


def test_a_big_file_is_pushed_through_dvc(tmp_path: Path) -> None:
    root, remote = _registry(tmp_path, "r", through_dvc=False)
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(SMALL_BYTES + 1)
    assert "DVC-LOADED: True" in _register(root, "m", str(big))
    assert "in sync" in _dvc(root, "status", "-c")
    assert len([p for p in (remote / "files" / "md5").rglob("*") if p.is_file()]) == 1


def test_dvc_holding_its_lock_stops_a_plain_register(tmp_path: Path) -> None:
    """The lock is DVC's own: while a DVC process holds it, register waits, then
    refuses, changing nothing."""
    import zc.lockfile  # type: ignore[import-untyped]

    root, _remote = _registry(tmp_path, "r", through_dvc=False)
    model = tmp_path / "m.bin"
    model.write_bytes(b"x" * 10)
    held = zc.lockfile.LockFile(str(root / ".dvc" / "tmp" / "lock"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "modelreg", "-C", str(root), "register", "m", str(model)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        held.close()
    assert done.returncode != 0
    assert "another DVC process holds the lock" in done.stderr
    assert git(root, "tag").strip() == ""
    assert Storage(root).plain() is not None
