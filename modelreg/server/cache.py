"""Answers kept while the refs they were read from are unchanged.

Git writes every ref by creating ``NAME.lock`` and renaming it over ``NAME``,
and rewrites ``packed-refs`` the same way, so any change to any tag or branch —
by this server, a CLI beside it, GTO, a ``git fetch`` or a hand-made
``git tag`` — changes the modification time of a folder under ``refs/`` or
``packed-refs`` itself. :func:`fingerprint` reads those (a few ``stat`` calls,
no git process), and :class:`AnswerCache` believes an answer only while the
fingerprint it was computed under still holds. Nothing here is ever a wrong
answer for long: at worst an answer is computed again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from ..statecache import Stamp, stamp_files, stamp_ref_folders

T = TypeVar("T")

Fingerprint = tuple[Stamp, ...]


def fingerprint(git_dir: Path, work_tree: Path | None = None) -> Fingerprint:
    """What changes whenever a ref, ``HEAD`` or the registry's config changes."""
    base = str(git_dir)
    stamps = stamp_files(base, ("packed-refs", "HEAD", "FETCH_HEAD"))
    stamps += stamp_ref_folders(base)[0]
    if work_tree is not None:
        stamps += stamp_files(str(work_tree), (".modelreg.yaml",))
    return tuple(stamps)


class AnswerCache(Generic[T]):
    """One answer per key, believed while the refs' fingerprint is unchanged.

    Safe for threads: two requests that miss at once both compute (reads never
    wait on each other); the last one to finish is kept."""

    def __init__(self, git_dir: Path, work_tree: Path | None = None, size: int = 256) -> None:
        self._git_dir = git_dir
        self._work_tree = work_tree
        self._size = size
        self._answers: dict[Hashable, tuple[Fingerprint, T]] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        before = fingerprint(self._git_dir, self._work_tree)
        with self._guard:
            found = self._answers.get(key)
        if found is not None and found[0] == before:
            return found[1]
        answer = compute()
        if fingerprint(self._git_dir, self._work_tree) == before:  # nothing moved meanwhile
            with self._guard:
                if len(self._answers) >= self._size:
                    self._answers.pop(next(iter(self._answers)))
                self._answers[key] = (before, answer)
        return answer
