"""The registry's write lock: one writer at a time per repository, readers never wait.

An advisory ``flock`` on ``<git-common-dir>/modelreg.lock``: the kernel releases
it when the holder exits, even after ``kill -9``, so a lock is never stale.
The file records who holds it, for the message the next writer sees.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockTimeoutError

DEFAULT_TIMEOUT = 30.0


def timeout_from_env() -> float:
    raw = os.environ.get("MODELREG_LOCK_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


@contextmanager
def write_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    timeout = timeout_from_env() if timeout is None else timeout
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(path)
                    raise LockTimeoutError(
                        f"another modelreg process is writing to this registry ({holder})",
                        hint=f"wait for it to finish (waited {timeout:g}s; "
                        "MODELREG_LOCK_TIMEOUT sets how long)",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}: {command}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def writer(path: Path) -> str | None:
    """Who holds the write lock now (None when nobody does), without taking it and
    without writing anything: a report on a read-only repository must work. The
    probe is a shared ``flock`` on a read-only descriptor, released at once."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # no lock file (no writer has ever run) or none we may open
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def quiet(path: Path) -> Iterator[bool]:
    """True while no writer holds the lock, held shared so none starts meanwhile;
    False at once (nothing held) when one is writing. For a reader that must not
    see a writer's half-done work, such as a tag it may still take back, and must
    not make writers wait for long."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield True  # no writer has ever run here
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text[:200] or "holder unknown"
