"""What every request of one server shares: where the registry is, the answer
cache, and the in-process queue for writes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from ..gitrepo import Identity
from ..registry import Registry
from ..tokens import TokenStore
from .cache import AnswerCache
from .settings import Settings


@dataclass
class ServerContext:
    settings: Settings
    git_dir: Path  # the repository's common git directory
    answers: AnswerCache[bytes]
    # Writes from this server take turns here before they take the registry's own
    # lock, so two API writes queue instead of one being told the registry is busy.
    write_turn: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> ServerContext:
        registry = Registry(settings.root)
        git_dir = registry.git.common_dir
        return cls(settings, git_dir, AnswerCache(git_dir, registry.root))

    @property
    def root(self) -> Path:
        return self.settings.root

    def registry(self, identity: Identity | None = None) -> Registry:
        """A fresh registry for one request (nothing mutable shared between requests).
        Its commits and tags name ``identity``, by default the request's token
        (:func:`.auth.caller`); with no token, git's configured user."""
        from .auth import caller

        return Registry(self.settings.root, identity=identity or caller())

    @property
    def tokens(self) -> TokenStore:
        """The registry's tokens (outside git: see :mod:`modelreg.tokens`)."""
        return TokenStore.for_registry(self.git_dir)

    def publishes(self, registry: Registry) -> bool:
        """Writes are published (or not made) when the repository has a git remote."""
        from ..events import PUSH_REMOTE

        return PUSH_REMOTE in registry.git.remote_names()

    @property
    def state_dir(self) -> Path:
        """Where the server keeps what is not git's: inside the git directory."""
        return self.settings.state_dir or self.git_dir / "modelreg-server"


def context(request: Request) -> ServerContext:
    found: ServerContext = request.app.state.context
    return found
