"""How the core reports progress without printing: the CLI supplies a Progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, amount: int) -> None: ...


class Progress(Protocol):
    """Opens byte-counting tasks; the renderer decides whether to show them."""

    def task(self, description: str, total: int) -> AbstractContextManager[Task]: ...


class _NullTask:
    def advance(self, amount: int) -> None:
        pass


class NullProgress:
    """Shows nothing: the default for library callers."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Task]:
        yield _NullTask()
