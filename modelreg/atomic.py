"""Small files (manifests, the journal, snapshots) replaced atomically: written to a
hidden name beside the final one, then renamed over it. A write that fails (a full
disk, a read-only folder) leaves no temporary file behind and names the file it was
writing, so the user knows which disk to look at."""

from __future__ import annotations

import errno
import os
import uuid
from contextlib import suppress
from pathlib import Path

from .errors import ModelregError

TEMP_MARK = ".modelreg-"  # in every temporary name: 'doctor' finds any a crash left


class WriteError(ModelregError):
    """A file could not be written (no space left, no permission, ...)."""


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old bytes or the new, never part."""
    staged = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(staged, path)
    except OSError as exc:
        with suppress(OSError):
            staged.unlink()
        raise write_error(path, exc) from None


def write_error(path: Path, exc: OSError) -> WriteError:
    """One line naming the file that could not be written, and why."""
    reason = exc.strerror or str(exc)
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space on that disk (or raise the quota), then try again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check that you may write to that folder"
    return WriteError(f"cannot write {path}: {reason}", hint=hint)
