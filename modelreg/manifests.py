"""The one reader of manifests from git: any number of versions' ``model.yaml``
through one ``cat-file --batch``, parsed by :func:`manifest.loads`.

A manifest can be missing at a commit (a version GTO registered on its own) or
broken (edited by hand, pushed by another clone). Missing is never an error: it
is left out. What a broken one means depends on who asks, so every caller says
it with :class:`OnBroken`:

- ``RAISE``: the :class:`ManifestError` (one version the user asked about:
  ``show``, the manifest register builds on);
- ``SKIP``: left out like a missing one (lookups that ``check`` and ``show``
  report elsewhere);
- ``COLLECT``: left out, and its problem kept in :attr:`ManifestsRead.broken`
  (``verify`` reports it, ``push`` notes what it skipped).

Whether a manifest describes the version whose tag points at its commit is the
caller's question (:meth:`Committed.describes`): a tool that registers commits
(GTO) can tag a commit modelreg made for another version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from .errors import ManifestError
from .manifest import Manifest, loads

if TYPE_CHECKING:
    from .gitrepo import GitRepo


class OnBroken(Enum):
    """What a manifest that does not parse or validate means to the caller."""

    RAISE = "raise"
    SKIP = "skip"
    COLLECT = "collect"


@dataclass(frozen=True, slots=True)
class Committed:
    """A manifest as committed: parsed, and the bytes it was parsed from."""

    manifest: Manifest
    data: bytes

    def describes(self, name: str, version: str | None) -> bool:
        """Whether this is ``name`` v``version``'s own manifest."""
        return self.manifest.name == name and str(self.manifest.version) == version


@dataclass(frozen=True)
class ManifestsRead:
    """What :func:`read_manifests` found, keyed by the ``REV:PATH`` asked, in the
    order asked. A spec in neither has no manifest (or does not mention the name)."""

    found: dict[str, Committed] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # spec -> problem (COLLECT)


def read_manifests(
    git: GitRepo,
    specs: Iterable[str],
    *,
    on_broken: OnBroken,
    mentioning: str | None = None,
) -> ManifestsRead:
    """The manifests at ``REV:PATH`` ``specs``, through one ``cat-file --batch``.

    A problem names the spec (``REV:PATH``: one of many). With ``mentioning``,
    manifests whose bytes do not contain that text are not parsed (and count as
    absent): they cannot depend on it.
    """
    return _read(git, {spec: spec for spec in specs}, on_broken, mentioning)


def read_manifest(git: GitRepo, rev: str, path: str, *, on_broken: OnBroken) -> Committed | None:
    """The manifest at ``path`` in ``rev`` (None: absent, or broken and not raised).

    :func:`read_manifests` for one version, whose problem names the file alone
    (``models/NAME/model.yaml``: the version the user asked about)."""
    spec = f"{rev}:{path}"
    return _read(git, {spec: path}, on_broken, None).found.get(spec)


# Parsed manifests by their bytes: a manifest is the same whatever commit or path it
# is read from, and PyYAML takes ~1 ms to parse one, so a long-lived process (the
# server, building its pages) parses each manifest once, not once per request.
# Only what parses is kept (a broken one's message names where it was read).
_PARSED: dict[bytes, Manifest] = {}
_PARSED_MAX = 20_000
_parsed_guard = threading.Lock()


def _parse(data: bytes, where: str) -> Manifest:
    found = _PARSED.get(data)
    if found is None:
        found = loads(data, where)
        with _parsed_guard:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[data] = found
    return found


def _read(
    git: GitRepo, sources: dict[str, str], on_broken: OnBroken, mentioning: str | None
) -> ManifestsRead:
    """``sources``: spec -> how a problem names it."""
    needle = mentioning.encode() if mentioning else None
    out = ManifestsRead()
    for spec, data in git.read_files(list(sources)).items():
        if data is None or (needle is not None and needle not in data):
            continue
        try:
            out.found[spec] = Committed(_parse(data, sources[spec]), data)
        except ManifestError as exc:
            if on_broken is OnBroken.RAISE:
                raise
            if on_broken is OnBroken.COLLECT:
                out.broken[spec] = exc.message
    return out
