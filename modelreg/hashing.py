"""Reading file bytes once: digests, and copies verified as they are written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .progress import Task

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str


def _chunks(path: Path) -> Iterator[memoryview]:
    """The file's bytes in large chunks, reusing one buffer (no copies)."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            yield view[:n]


def digest_file(path: Path, task: Task | None = None) -> Digests:
    """sha256 and md5 (DVC's content address) of a file, in one read pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in _chunks(path):
        sha.update(chunk)
        md5.update(chunk)
        size += len(chunk)
        if task is not None:
            task.advance(len(chunk))
    return Digests(size, sha.hexdigest(), md5.hexdigest())


def sha256_file(path: Path, task: Task | None = None) -> str:
    sha = hashlib.sha256()
    for chunk in _chunks(path):
        sha.update(chunk)
        if task is not None:
            task.advance(len(chunk))
    return sha.hexdigest()


def copy_file(src: Path, dst: Path, task: Task | None = None, *, md5: bool = False) -> Digests:
    """Copy ``src`` to a new file ``dst`` (which must not exist), hashing the bytes
    as they are written: sha256 always, md5 when asked. One read pass."""
    sha = hashlib.sha256()
    md5_hash = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(dst, flags, 0o644)
    try:
        for chunk in _chunks(src):
            sha.update(chunk)
            if md5_hash is not None:
                md5_hash.update(chunk)
            written = 0
            while written < len(chunk):
                written += os.write(fd, chunk[written:])
            size += len(chunk)
            if task is not None:
                task.advance(len(chunk))
    finally:
        os.close(fd)
    return Digests(size, sha.hexdigest(), md5_hash.hexdigest() if md5_hash else "")
