"""What every request of one server shares: where the registry is, the answer
cache, and the in-process queue for writes."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request

from ..errors import RaceLostError
from ..gitrepo import GitRepo, Identity, ObjectReader
from ..hashing import STORE_FOLDER, KnownDigests
from ..registry import Registry
from ..results import SyncResult
from ..statecache import ManifestKeeper
from ..tokens import TokenStore
from .cache import AnswerCache
from .metrics import Metrics
from .settings import Settings
from .uploads import UploadArea

T = TypeVar("T")

WRITE_ATTEMPTS = 8
"""Rounds of catch-up-and-write a published write gets when others publish first
(within each, the library retries event counters itself)."""


@dataclass
class ServerContext:
    settings: Settings
    git_dir: Path  # the repository's common git directory
    answers: AnswerCache[bytes]
    # Writes from this server take turns here before they take the registry's own
    # lock, so two API writes queue instead of one being told the registry is busy.
    write_turn: threading.Lock = field(default_factory=threading.Lock)
    metrics: Metrics = field(default_factory=Metrics)
    # Where the work tree and its git directories are, found once at start.
    found: GitRepo | None = None
    # Files whose sha256 was checked, so a second download of 1 GiB reads no byte twice:
    # kept in the repository's store (:func:`modelreg.hashing.known_digests_store`), so
    # after a restart too, and shared with the CLI, whose ``register`` vouches there for
    # the DVC objects it hashed as it wrote them (read again by this server on a miss).
    known: KnownDigests = field(init=False)
    uploads: UploadArea = field(init=False)
    # The web page's documents (what each page shows, before it is rendered), kept
    # like ``answers``; a background thread refreshes the home page's after every
    # change, so a person never waits for the registry's tags to be read.
    pages: AnswerCache[dict[str, Any]] = field(init=False)
    # One git reading objects by id for every request (a manifest at a version's
    # commit), instead of a git process per request.
    objects: ObjectReader = field(init=False)
    # The manifests requests read, written to the state cache together (one write a
    # request would make every other request wait out its commit).
    keeper: ManifestKeeper | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        work_tree = self.found.root if self.found is not None else self.settings.root
        self.pages = AnswerCache(self.git_dir, work_tree)
        self.known = KnownDigests.of_repository(self.git_dir)
        self.objects = ObjectReader(work_tree, self.git_dir)
        if self.found is not None:
            self.keeper = ManifestKeeper(self.found)
        self.uploads = UploadArea(
            self.state_dir / "uploads",
            self.settings.upload_max_age,
            self.settings.upload_max_size,
        )

    @classmethod
    def open(cls, settings: Settings) -> ServerContext:
        registry = Registry(settings.root)
        git_dir = registry.git.common_dir
        return cls(settings, git_dir, AnswerCache(git_dir, registry.root), found=registry.git)

    @property
    def root(self) -> Path:
        return self.settings.root

    def registry(self, identity: Identity | None = None) -> Registry:
        """A fresh registry for one request (nothing mutable shared between requests;
        the paths found at start spare each request a ``git rev-parse``). Its
        commits and tags name ``identity``, by default the request's token
        (:func:`.auth.caller`); with no token, git's configured user."""
        from .auth import caller

        who = identity or caller()
        if self.found is None:
            return Registry(self.settings.root, identity=who)
        repo = self.found
        git = GitRepo(repo.root, repo.git_dir, repo.common_dir)
        git.objects = self.objects
        registry = Registry.of(git, identity=who)
        registry.keeper = self.keeper
        return registry

    @property
    def tokens(self) -> TokenStore:
        """The registry's tokens (outside git: see :mod:`modelreg.tokens`)."""
        return TokenStore.for_registry(self.git_dir)

    def publishes(self, registry: Registry) -> bool:
        """Writes are published (or not made) when the repository has a git remote."""
        from ..events import PUSH_REMOTE

        return PUSH_REMOTE in registry.git.remote_names()

    def write(self, operation: Callable[[Registry, bool], T], *, commits: bool = True) -> T:
        """Run a write (``operation(registry, push)``) in this server's turn.

        A published write (the repository has an ``origin``) that ``commits`` (a
        registration) first takes in what others published (:meth:`catch_up`), so
        it commits on top of the remote's branch; an event alone needs no such
        round trip (the library fetches the remote's tags itself before deciding).
        If another replica or clone still publishes first, the library has taken
        its own event back; the write catches up and is tried again on top of
        theirs after a random pause, :data:`WRITE_ATTEMPTS` times in all, then
        refused (409) with nothing changed."""
        with self.write_turn:
            registry = self.registry()
            push = self.publishes(registry)
            for attempt in range(1, WRITE_ATTEMPTS + 1):
                if push and (commits or attempt > 1):
                    self.catch_up(registry)
                try:
                    return operation(registry, push)
                except RaceLostError:
                    if not push or attempt == WRITE_ATTEMPTS:
                        raise
                    # Back off (randomly, so two replicas stop colliding), then again
                    # on top of what the other one published.
                    time.sleep(random.uniform(0, 0.1 * 2 ** min(attempt, 4)))
                    registry = self.registry()
        raise AssertionError("unreachable")

    def catch_up(self, registry: Registry) -> SyncResult:
        """Take in what others published: the remote's tags and branch, the branch
        fast-forwarded (no bytes: they are read from the DVC remote when asked).
        Called with :attr:`write_turn` held, by ``--sync`` and before each write
        (a registration commits on the branch, and is refused if the remote's
        moved on since)."""
        from ..events import PUSH_REMOTE

        return registry.pull(PUSH_REMOTE, files=False)

    @property
    def state_dir(self) -> Path:
        """Where the server keeps what is not git's: inside the git directory (the
        known digests stay there even when ``state_dir`` is set elsewhere: the CLI
        writes them too)."""
        return self.settings.state_dir or self.git_dir / STORE_FOLDER


def context(request: Request) -> ServerContext:
    found: ServerContext = request.app.state.context
    return found
