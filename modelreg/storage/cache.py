"""The local DVC cache's objects, read and written without DVC: where an object
lives, putting bytes in place under their md5 (read-only, as DVC leaves them),
removing one, and linking one into a folder as DVC's ``cache.type`` allows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

_CACHE_MODE = 0o444  # DVC's mode for cache objects (dvc_data LocalHashFileDB.CACHE_MODE)
_FICLONE = 0x40049409  # Linux ioctl: share the extents of another file (reflink)
# A staging file's name: .modelreg-PID-HEX.tmp (PID: its writer's process)
_STAGING_PREFIX, _STAGING_SUFFIX = ".modelreg-", ".tmp"


def _staging_pid(name: str) -> int | None:
    """The process id in a staging file's name (``.modelreg-PID-HEX.tmp``), else None."""
    if not (name.startswith(_STAGING_PREFIX) and name.endswith(_STAGING_SUFFIX)):
        return None
    pid, _, rest = name[len(_STAGING_PREFIX) : -len(_STAGING_SUFFIX)].partition("-")
    return int(pid) if pid.isdigit() and rest.isalnum() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, under another user
        return True
    return True


class LocalCache:
    """The local DVC cache's objects (``<cache>/files/md5/ab/cdef...``), written
    here without DVC: bytes are copied once, straight into it, while they are
    hashed, then put in place under their md5 and made read-only as DVC does."""

    def __init__(self, objects: Path, link_types: Sequence[str]) -> None:
        self.objects = objects
        self.link_types = tuple(link_types) or ("reflink", "copy")

    def object_path(self, md5: str) -> Path:
        return self.objects / md5[:2] / md5[2:]

    def staging_file(self) -> Path:
        """A new name in the cache's folder for bytes whose md5 is not known yet."""
        self.objects.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        return self.objects / f"{_STAGING_PREFIX}{name}{_STAGING_SUFFIX}"

    def abandoned(self) -> list[Path]:
        """Staging files whose writer is no longer running (killed mid-copy): the
        process id in a staging file's name is not a live process on this machine."""
        found = []
        with suppress(OSError):
            for entry in os.scandir(self.objects):
                pid = _staging_pid(entry.name)
                if pid is not None and not _running(pid) and entry.is_file(follow_symlinks=False):
                    found.append(Path(entry.path))
        return sorted(found)

    def intact(self, md5: str) -> bool:
        """Whether the object ``md5`` is there and its bytes still have that md5."""
        from ..hashing import digest_file

        try:
            return digest_file(self.object_path(md5)).md5 == md5
        except FileNotFoundError:
            return False

    def commit(self, staged: Path, md5: str, *, replace: bool = False) -> tuple[Path, bool]:
        """Make ``staged`` (whose md5 the caller computed) the object ``md5``; (its
        path, whether it is new). An object already there is kept when it is intact
        (``replace``: the caller knows it is not), else replaced: a corrupt object
        is never trusted over good bytes in hand."""
        final = self.object_path(md5)
        if final.exists() and not replace and self.intact(md5):
            staged.unlink(missing_ok=True)
            return final, False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, _CACHE_MODE)
        os.replace(staged, final)
        return final, True

    def link_kind(self, folder: Path) -> str:
        """The first of DVC's ``cache.type`` entries that works from the cache to
        ``folder`` (tried on a small probe file, as DVC does): ``reflink``,
        ``hardlink``, ``symlink``, else ``copy``."""
        for kind in self.link_types:
            if kind == "copy":
                return kind
            probe = self.staging_file()
            target = folder / f".{probe.name}"
            try:
                probe.write_bytes(b"modelreg link probe\n")
                link_file(kind, probe, target)
                return kind
            except OSError:
                continue
            finally:
                probe.unlink(missing_ok=True)
                target.unlink(missing_ok=True)
        return "copy"

    def link(self, kind: str, md5: str, target: Path) -> None:
        """Create ``target`` (which must not exist) as a ``kind`` link to the object."""
        link_file(kind, self.object_path(md5), target)


def link_file(kind: str, source: Path, target: Path) -> None:
    """Create ``target`` as a ``reflink``, ``hardlink`` or ``symlink`` of ``source``."""
    if kind == "hardlink":
        os.link(source, target)
    elif kind == "symlink":
        os.symlink(source, target)
    elif kind == "reflink":
        import fcntl

        with open(source, "rb") as src, open(target, "xb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            except OSError:
                dst.close()
                target.unlink(missing_ok=True)
                raise
    else:
        raise OSError(f"unknown link type {kind}")


def remove_cache_object(path: Path) -> None:
    """Delete one cache object (read-only, as DVC leaves it), and its two-letter
    shard folder when that held nothing else."""
    try:
        os.chmod(path, 0o644)
        path.unlink()
    except FileNotFoundError:
        pass
    with suppress(OSError):
        path.parent.rmdir()


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths are one file (a hardlink): its bytes are checked once."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
