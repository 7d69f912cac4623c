"""The one place a name or path read from git becomes a filesystem path.

Everything read from a commit, a tag, a ``.dvc`` file or a journal is someone
else's input (DESIGN.md, "Untrusted input"). :func:`inside` turns such a path,
relative to a root the user chose (the work tree, ``get``'s output folder), into
a :class:`~pathlib.Path` strictly inside that root, or raises
:class:`UnsafePathError`: no ``..``, no absolute path, no backslash or drive
letter, no control character, and no symlink in any component that exists below
the root. :func:`model_folder` does the same for a model's name.

Checking first and writing later leaves a gap in which a symlink could be
swapped in; the writers here close it: :func:`open_new` creates a file with
``O_NOFOLLOW | O_EXCL`` and :func:`replace_into` renames into a folder it has
just checked, so a name is replaced, never written through.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from .errors import UnsafePathError, WriteError

TEMP_MARK = ".modelreg-"  # in every temporary name: 'doctor' finds any a crash left

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_PART_BYTES = 200
MAX_PATH_BYTES = 1024


def _shown(text: str) -> str:
    """A hostile path as one printable line (control characters escaped)."""
    return text.encode("unicode_escape").decode("ascii")


def path_problem(rel: str) -> str | None:
    """What makes ``rel`` unfit as a '/'-separated path inside a folder, or None."""
    if not rel:
        return "is empty"
    if _CONTROL.search(rel):
        return "holds a control character"
    if "\\" in rel:
        return "holds a backslash"
    if rel.startswith("/") or _DRIVE.match(rel):
        return "is absolute"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "holds '..', '.' or an empty part"
    if any(p != p.rstrip() for p in parts):
        return "has trailing whitespace"
    # Filesystems stop at 255 bytes a name (and ``.dvc`` is added to it) and at a few
    # KiB a path: past these a write fails half-way, as the server's error, not the input's.
    if any(len(p.encode()) > MAX_PART_BYTES for p in parts):
        return f"has a part longer than {MAX_PART_BYTES} bytes"
    if len(rel.encode()) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    return None


def name_problem(name: str) -> str | None:
    """What makes a model name (GTO's ``dirname:name`` included) unfit as a folder."""
    return path_problem(name.replace(":", "/"))


def inside(root: Path, rel: str, what: str, *, final_link: bool = False) -> Path:
    """``root / rel``, refused unless it lies strictly inside ``root``.

    ``what`` names the entry in the error (``models/x/model.yaml: name``). Every
    component below ``root`` that exists must not be a symlink; with
    ``final_link`` the last one may be (it is replaced by a rename, never
    written through: a file DVC links from its cache, say).
    """
    problem = path_problem(rel)
    if problem:
        raise UnsafePathError(
            f"{what} '{_shown(rel)}' {problem}: refused (it would lead outside {root})",
            hint="this came from a commit or tag; 'modelreg check' and 'modelreg verify' list all",
        )
    current = root
    parts = rel.split("/")
    for index, part in enumerate(parts):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            break  # nothing below exists: no link to follow
        if stat.S_ISLNK(mode) and not (final_link and index == len(parts) - 1):
            raise UnsafePathError(
                f"{what}: {current} is a symlink; refused (modelreg never writes through one)",
                hint="remove the symlink ('git rm' it if committed); 'modelreg check' lists all",
            )
    return root.joinpath(*parts)


def model_folder(root: Path, models_dir: str, name: str, what: str = "model name") -> Path:
    """``root/models_dir/<name>`` (``dir:name`` lives in ``dir/name``), strictly inside."""
    problem = name_problem(name)
    if problem:
        raise UnsafePathError(
            f"{what} '{_shown(name)}' {problem}: refused (it would lead outside {models_dir}/)",
            hint="this came from a commit or tag; 'modelreg check' and 'modelreg verify' list all",
        )
    return inside(root, f"{models_dir}/{name.replace(':', '/')}", what)


def symlink_below(root: Path, path: Path) -> Path | None:
    """The first existing component of ``path`` below ``root`` that is a symlink."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path
    current = root
    for part in rel.parts:
        current = current / part
        try:
            if stat.S_ISLNK(os.lstat(current).st_mode):
                return current
        except (FileNotFoundError, NotADirectoryError):
            return None
    return None


def open_new(path: Path) -> BinaryIO:
    """Create ``path`` for writing; never follows a symlink and never opens an
    existing file (a name swapped in since the check makes this fail)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    return os.fdopen(fd, "wb")


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` without following a symlink there: a fresh file in
    the same folder (``O_EXCL | O_NOFOLLOW``), renamed over the name, so readers see
    the old bytes or the new, never part. The caller has checked the folder
    (:func:`inside`). A write that fails (a full disk, a read-only folder) leaves no
    temporary file and names the file it was writing."""
    import uuid  # here: reads never write (uuid imports platform: ~4 ms)

    staged = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(staged, flags, 0o666)
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
    except BaseException:
        with suppress(OSError):
            staged.unlink()
        raise


def write_error(path: Path, exc: OSError) -> WriteError:
    """One line naming the file that could not be written, and why."""
    reason = exc.strerror or str(exc)
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space on that disk (or raise the quota), then try again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check that you may write to that folder"
    return WriteError(f"cannot write {path}: {reason}", hint=hint)


def replace_into(root: Path, rel: str, source: Path, what: str) -> Path:
    """Rename ``source`` to ``root/rel``: each folder on the way is opened (or
    made) relative to the one before with ``O_NOFOLLOW``, and the rename happens
    in the last one, so a symlink anywhere below ``root``, even one swapped in
    after a check, is never followed. A symlink at the name itself is replaced."""
    final = inside(root, rel, what, final_link=True)
    parts = rel.split("/")
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(root, flags & ~getattr(os, "O_NOFOLLOW", 0))  # the root is the user's
    try:
        for part in parts[:-1]:
            with suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            try:
                child = os.open(part, flags, dir_fd=fd)
            except OSError:
                raise UnsafePathError(
                    f"{what}: {final.parent} is a symlink or not a folder; refused "
                    "(modelreg never writes through one)"
                ) from None
            os.close(fd)
            fd = child
        os.replace(source, parts[-1], dst_dir_fd=fd)
    finally:
        os.close(fd)
    return final


def against(base: str | Path | None, path: str | Path) -> Path:
    """``path`` taken from the caller's directory ``base`` when it is relative (as
    given where there is none). The library never asks the process for its working
    directory, nor changes it: a caller that has one passes it in."""
    return Path(path) if base is None else Path(base) / path
