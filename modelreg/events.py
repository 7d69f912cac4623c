"""The one event writer: every tag modelreg writes (register, promote, rollback,
deprecate, deregister) is written here.

An event is an annotated tag in GTO's grammar whose message is one human line and
``Modelreg-*`` trailers (names in :mod:`tags`). This module chooses the counter
(the next free one), stamps the tagger time later than the model's latest event
(``after``), signs when asked or configured, refuses an unsigned assignment to a
stage that requires signing, and, with ``push``, publishes the event or takes it
back (retrying with the next counter when another clone took this one first).

The gates are not here: :mod:`gates` decides whether an event may happen; this
module only writes the ones that may.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from . import config as config_mod
from .errors import SIGN, PolicyError, RaceLostError, Remedy
from .faults import checkpoint
from .tags import (
    EVENT,
    MANIFEST_SHA256,
    REASON,
    SEQUENCE,
    VERSION,
    EventKind,
    format_message,
    format_tag_name,
)

if TYPE_CHECKING:
    from .gitrepo import GitRepo
    from .registry import Registry
    from .results import EventResult
    from .state import ModelState, VersionState

PUSH_REMOTE = "origin"  # where --push sends an event
PUSH_ATTEMPTS = 10  # publish-and-retry rounds when another clone takes the counter
TAG_ATTEMPTS = 10  # counters tried when another local writer takes one


def message_text(summary: str, trailers: dict[str, str], message: str | None) -> str:
    """The tag message: the summary, then the trailers (the reason last)."""
    if message:
        trailers[REASON] = message
    return format_message(summary, trailers)


def write_registration(
    git: GitRepo,
    tag: str,
    commit: str,
    summary: str,
    *,
    version: str,
    manifest_sha256: str,
    sequence: int,
    message: str | None,
    sign: bool,
    after: int | None,
) -> None:
    """Tag a registration (``NAME@vVERSION``: no counter; the name is the version's)
    at its commit, stamped later than ``after``. :mod:`registering` calls this as
    the last step of its transaction."""
    trailers = {
        EVENT: "register",
        VERSION: version,
        MANIFEST_SHA256: manifest_sha256,
        SEQUENCE: str(sequence),
    }
    text = message_text(summary, trailers, message)
    git.create_tag(tag, commit, text, sign=sign, after=after)


def write_event(
    self: Registry,
    model: ModelState,
    kind: EventKind,
    version: VersionState | None,
    stage: str | None,
    summary: str,
    trailers: dict[str, str],
    message: str | None,
    sign: bool,
) -> str:
    """Tag an event at the version's commit with the next free counter, signed
    when asked or when the config says ``sign: true``; an unsigned assignment
    to a stage listed in ``require_signed`` is refused."""
    sign = sign or self.config.sign
    required = kind is EventKind.ASSIGN and stage in self.config.require_signed
    if required and not sign:
        raise PolicyError(
            f"{stage} requires signed events (require_signed in {config_mod.CONFIG_FILE})",
            hint=f"{SIGN} (git signs with user.signingkey; gpg.format ssh or openpgp)",
            remedy=Remedy("sign", SIGN),
        )
    commit = version.commit if version else model.events[-1].commit
    if version is not None:
        _manifest, sha256 = self._own_manifest(model.name, version)
        if sha256 is not None:
            trailers[MANIFEST_SHA256] = sha256
    text = message_text(summary, trailers, message)
    semver = version.semver if version else None
    counter = model.max_counter
    for _attempt in range(TAG_ATTEMPTS):
        counter += 1
        tag = format_tag_name(kind, model.name, version=semver, stage=stage, counter=counter)
        checkpoint("event:before-tag")
        try:
            self.git.create_tag(tag, commit, text, sign=sign, after=model.latest_time)
        except RaceLostError:
            continue  # another writer took this counter: take the next one
        self._forget()
        return tag
    raise RaceLostError(
        f"could not find a free event counter for {model.name}",
        hint="another process keeps writing events; try again",
    )


def record(self: Registry, push: bool, once: Callable[[], EventResult]) -> EventResult:
    """Run ``once`` (check, then :func:`write_event`) under the lock; with
    ``push``, publish its tag too.

    Published or not at all: if the push fails the local tag is taken back
    (it was never shared). If another clone took the same counter first, fetch
    its events, check the gates again against them, and retry with the next
    counter, a bounded number of times.
    """
    if push:  # sharing brings DVC's side (storage, YAML): only a push needs it
        from .sharing import require_remote

        require_remote(self.git, PUSH_REMOTE)
    with self._locked():
        if push:
            fetch_remote_view(self)
        for attempt in range(PUSH_ATTEMPTS):
            result = once()
            if not push or result.tag is None:
                return result
            from .sharing import push_event

            try:
                checkpoint("event:before-push")
                push_event(
                    self.git, self.storage, PUSH_REMOTE, result.tag, [],
                    self.config.remote, with_branch=False,
                )  # fmt: skip
            except RaceLostError:
                take_back(self, result.tag)
                # Back off (randomly, so two writers stop colliding), then take in
                # the other clone's events and try again on top of them.
                time.sleep(random.uniform(0, 0.05 * 2 ** min(attempt, 5)))
                self.git.fetch(PUSH_REMOTE)
                self._forget()
                continue
            except BaseException:
                take_back(self, result.tag)
                raise
            return replace(result, pushed=True)
    raise RaceLostError(
        f"{PUSH_REMOTE} kept taking the event counter first ({PUSH_ATTEMPTS} attempts)",
        hint="other clones are writing right now; try again in a moment",
    )


def fetch_remote_view(self: Registry) -> None:
    """A ``--push`` write decides on the remote's current events, not on what
    this clone saw at its last pull: take in the remote's tags first."""
    self.git.fetch(PUSH_REMOTE)
    self._forget()


def take_back(self: Registry, tag: str) -> None:
    """Remove a tag this command made and could not publish."""
    sha = self.git.tag_object(tag)
    if sha:
        self.git.delete_unpublished_tag(tag, sha)
    self._forget()
