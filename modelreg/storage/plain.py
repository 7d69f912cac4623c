"""DVC's side of small work without importing DVC (~0.2 s of a 0.4 s ``register``).

Where files are small and their bytes need only hashing and a local copy — into
the local cache and, when the remote is a folder on this machine (the embedded
default), into that folder — modelreg writes exactly what DVC writes, laid out as
DVC lays it out: the ``.dvc`` file and ``.gitignore`` line (``dvcfiles.py``), the
cache object ``<cache>/files/md5/ab/cdef…`` read-only (``cache.py``), the same
object path and mode in the remote folder, all under DVC's own repository lock
(``.dvc/tmp/lock``, taken as DVC takes it). ``tests/test_storage_plain.py`` has
real DVC read the result (``dvc status``, ``dvc status -c``, ``dvc checkout``,
``dvc pull`` in a fresh clone, ``dvc push``).

Only while DVC's config says nothing this module does not know exactly: no system
or global config file, and in the repository's and local files only the default
remote, remotes given by a URL alone, ``cache.type`` and a few settings that do not
touch the cache. Anything else — ``cache.dir``, ``cache.shared``, remote options,
``core.hardlink_lock``, a value configobj cannot read — and :func:`plain_dvc`
says None: DVC reads its config and does the work, as before. So does every
transfer to another kind of remote, and every file of more than
:data:`SMALL_BYTES`, whose md5 DVC's state database should keep (DVC would hash a
small file again faster than it reads that database).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import LockTimeoutError
from .cache import LocalCache
from .dvcfiles import DVC_CACHE, DVC_CONFIG, DVC_DIR, DVC_LOCAL_CONFIG, objects_dir

SMALL_BYTES = 8 << 20
_LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
# Settings known not to change where or how DVC writes the cache and remotes.
_HARMLESS_CORE = {"remote", "autostage", "analytics", "check_update"}
_LOCK_RETRIES = 6  # dvc.lock.Lock: six retries over DEFAULT_TIMEOUT (3 s)
_LOCK_DELAY = 0.5


class PlainDvc:
    """DVC's config as far as small work needs it: the cache, the remotes."""

    def __init__(
        self, root: Path, link_types: tuple[str, ...], remote: str | None, urls: dict[str, str]
    ) -> None:
        self.root = root
        self.cache = LocalCache(objects_dir(root / DVC_CACHE), link_types)
        self.remote = remote  # the default remote's name
        self.urls = urls  # remote name -> URL

    def url(self, remote: str | None) -> str | None:
        return self.urls.get(remote or self.remote or "")

    def remote_folder(self, remote: str | None) -> Path | None:
        """The remote's folder when it is one on this machine, given as an absolute
        path (modelreg writes them so); None for any other remote."""
        url = self.url(remote)
        if not url or "://" in url or not os.path.isabs(url):
            return None
        return Path(url)


def plain_dvc(root: Path) -> PlainDvc | None:
    """DVC's config read without DVC, or None where DVC must read it (see above)."""
    for level in _outside_config_files():
        if os.path.exists(level):
            return None
    merged: dict[str, dict[str, dict[str, str]]] = {"core": {}, "cache": {}, "remote": {}}
    for path in (root / DVC_CONFIG, root / DVC_LOCAL_CONFIG):
        found = _read(path)
        if found is None:
            return None
        for section, values in found.items():
            if section.startswith("remote "):
                name = section[len("remote ") :].strip('"')
                merged["remote"].setdefault(name, {}).update(values)
            else:
                merged[section].setdefault("", {}).update(values)
    core = merged["core"].get("", {})
    cache = merged["cache"].get("", {})
    if set(core) - _HARMLESS_CORE or set(cache) - {"type"}:
        return None
    if any(set(options) != {"url"} for options in merged["remote"].values()):
        return None
    types = tuple(t.strip() for t in cache.get("type", "reflink,copy").split(",") if t.strip())
    if not types or any(t not in _LINK_TYPES for t in types):
        return None
    # The cache must be the repository's own folder, as DVC would refuse otherwise.
    cache_dir = os.path.realpath(root / DVC_DIR / "cache")
    if os.path.commonpath([cache_dir, os.path.realpath(root)]) != os.path.realpath(root):
        return None
    urls = {name: options["url"] for name, options in merged["remote"].items()}
    return PlainDvc(root, types, core.get("remote"), urls)


def _outside_config_files() -> list[str]:
    """DVC's system and global config files, where DVC looks for them (dvc/dirs.py)."""
    import platformdirs

    system = os.getenv("DVC_SYSTEM_CONFIG_DIR") or platformdirs.site_config_dir("dvc", "iterative")
    user = os.getenv("DVC_GLOBAL_CONFIG_DIR") or platformdirs.user_config_dir("dvc", "iterative")
    return [os.path.join(system, "config"), os.path.join(user, "config")]


def _read(path: Path) -> dict[str, dict[str, str]] | None:
    """One config file as configobj (DVC's reader) reads it: {section: {key: text}};
    {} when missing; None when it holds anything but sections of plain strings."""
    import configobj  # type: ignore[import-untyped]  # DVC's own config reader; light

    if not path.exists():
        return {}
    try:
        parsed = configobj.ConfigObj(str(path), encoding="utf-8", interpolation=False)
    except (configobj.ConfigObjError, UnicodeDecodeError, OSError):
        return None
    out: dict[str, dict[str, str]] = {}
    for section, values in parsed.items():
        known = section in ("core", "cache") or (
            section.startswith('remote "') and section.endswith('"') and len(section) > 9
        )
        if not known or not isinstance(values, dict):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            return None
        out[section] = dict(values)
    return out


@contextmanager
def dvc_lock(root: Path) -> Iterator[None]:
    """DVC's repository lock, taken as ``dvc.lock.Lock`` takes it: ``flock`` on
    ``.dvc/tmp/lock`` through zc.lockfile, six tries half a second apart."""
    import zc.lockfile  # type: ignore[import-untyped]  # DVC's own lock; light

    folder = root / DVC_DIR / "tmp"
    folder.mkdir(exist_ok=True)
    lock = None
    for attempt in range(_LOCK_RETRIES + 1):
        try:
            lock = zc.lockfile.LockFile(str(folder / "lock"))
            break
        except zc.lockfile.LockError:
            if attempt == _LOCK_RETRIES:
                raise LockTimeoutError(
                    "cannot lock the DVC repository: another DVC process holds the lock",
                    hint="wait for it to finish, then try again",
                ) from None
            time.sleep(_LOCK_DELAY)
    try:
        yield
    finally:
        assert lock is not None
        lock.close()


def push_to_folder(cache: LocalCache, folder: Path, md5s: Sequence[str]) -> int:
    """Copy cache objects to a local-folder remote as ``dvc push`` does: the same
    path under ``files/md5/``, read-only, the bytes copied as they are (DVC does
    not hash them again either); an object already there is left as it is (so
    does DVC). Returns how many were copied."""
    import shutil

    remote = LocalCache(objects_dir(folder), ("copy",))
    copied = 0
    for md5 in sorted(set(md5s)):
        if remote.object_path(md5).exists():
            continue
        staged = remote.staging_file()
        try:
            shutil.copyfile(cache.object_path(md5), staged)
            remote.commit(staged, md5, replace=True)
            copied += 1
        finally:
            staged.unlink(missing_ok=True)
    return copied


def small(paths: Sequence[Path]) -> bool:
    """Whether these files together are small enough to hash again rather than ask
    DVC's state database (missing files count as small: the caller reports them)."""
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            continue
    return total <= SMALL_BYTES
