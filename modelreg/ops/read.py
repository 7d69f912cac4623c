"""The reads: list_models, show, history, resolve, deps, dependents, manifests, diff.

Tags only, or tags and manifests read from git in one batch; never a lock, DVC,
or the write side. Each read imports what only it needs where it starts (the
manifest parser and YAML for ``show``, the pure helpers for ``deps``,
``dependents`` and ``diff``): ``resolve`` and ``history`` load neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ..refs import Ref, parse_ref
from ..results import HistoryEntry, ModelSummary, Publication, Resolved, Rows, VersionInfo
from ..state import Event, RegistryState, VersionState, build_model
from ..tags import (
    EVENT,
    FORCED,
    MANIFEST_SHA256,
    EventKind,
    validate_read_name,
    validate_stage,
)

if TYPE_CHECKING:
    from .. import manifest as manifest_mod
    from ..deps import Dependent, Tree
    from ..diff import VersionDiff
    from ..registry import Registry


def list_models(self: Registry, *, include_deprecated: bool = False) -> Rows[ModelSummary]:
    """Models with their latest version and who holds each stage."""
    out = []
    summaries = self._summaries() if self._cached_state is None else None
    if summaries is not None:
        for summary in summaries:
            if summary.deprecated and not include_deprecated:
                continue
            out.append(
                ModelSummary(
                    name=summary.name,
                    latest=summary.latest,
                    stages=summary.stages,
                    versions=summary.versions,
                    deprecated=summary.deprecated,
                )
            )
        return Rows(out, self._warnings())
    state = self._cached_state or self._read_state(None, messages=False)
    for model in state.models.values():
        if model.deprecated and not include_deprecated:
            continue
        latest = model.latest
        out.append(
            ModelSummary(
                name=model.name,
                latest=latest.version if latest else None,
                stages=dict(model.stages),
                versions=sum(1 for v in model.versions if v.registered and v.active),
                deprecated=model.deprecated,
            )
        )
    return Rows(out, self._warnings())


def show(self: Registry, ref: str | Ref) -> VersionInfo:
    """One version (``NAME`` alone means its latest) with its manifest and stages."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    model = self._model(ref.name)
    version = self._pick(model, ref)
    stored = self._manifest_and_digest(version.commit, self.manifest_path(model.name))
    manifest = stored[0] if stored else None
    manifest_of = None
    notes: tuple[str, ...] = ()
    if manifest is not None and (
        manifest.name != model.name or str(manifest.version) != version.version
    ):
        # GTO registers commits: `gto register` on a commit modelreg made for another
        # version. Show what the tags say, never that version's manifest as this one's.
        manifest_of = f"{manifest.name} v{manifest.version}"
        notes = (
            f"{model.name} v{version.version} points at a commit whose manifest is for "
            f"{manifest_of} (registered there by another tool?): showing what the tags say",
        )
        manifest = None
    registration = model.registration(version.version)
    published: tuple[Publication, ...] = ()
    noted = self.git.publications(version.commit)
    if noted:  # the OCI grammar is loaded only for a version that was published
        from ..oci.reference import parse_publications

        published = parse_publications(noted)
    return VersionInfo(
        name=model.name,
        version=version.version,
        commit=version.commit,
        tag=registration.tag if registration else None,
        registered=version.registered,
        active=version.active,
        deprecated=model.deprecated,
        registered_at=version.registered_at,
        author=f"{version.author} <{version.author_email}>" if version.author else None,
        stages=version.stages,
        manifest=manifest,
        manifest_sha256=stored[1] if stored else None,
        recorded_sha256=registration.trailer(MANIFEST_SHA256) if registration else None,
        manifest_of=manifest_of,
        published=published,
        warnings=self._warnings(*notes),
    )


def history(
    self: Registry, name: str | None = None, *, reverse: bool = False
) -> Rows[HistoryEntry]:
    """Every event (of one model, or of all), oldest first, read from tags alone."""
    if name is not None:
        events = list(self._model(validate_read_name(name)).events)
    else:
        events = [e for m in self.state().models.values() for e in m.events]
        events.sort(key=lambda e: e.order_key)
    entries = [_history_entry(e) for e in events]
    return Rows(entries[::-1] if reverse else entries, self._warnings())


def resolve(self: Registry, ref: str | Ref) -> Resolved:
    """The version a reference means: ``NAME#STAGE``, ``NAME@latest``, ``NAME@vV``."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    model = self._model(ref.name)
    version = self._pick(model, ref)
    return Resolved(model.name, version.version, version.commit, self._warnings())


def deps(self: Registry, ref: str | Ref, *, stage: str | None = None) -> Tree:
    """The dependency tree of a version (``NAME`` alone: its latest): each
    dependency resolved to the highest active version in its range, or to the
    holder of ``stage``; with conflicts and cycles."""
    from ..deps import resolve as resolve_deps

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    if stage is not None:
        validate_stage(stage)
    model = self._model(ref.name)
    version = self._pick(model, ref)
    if self._cached_state is not None:
        return resolve_deps(self.state(), self.manifest_at, model.name, version.version, stage)
    # Only the models the tree reaches are read: the resolver asks the state about
    # the dependencies its manifests name and nothing else, so resolving again with
    # those added until the manifests name no model left out gives the same tree as
    # every model's state would, at the cost of the tree instead of the registry.
    names = {model.name}
    named: set[str] = set()

    def load(name: str, at: str) -> manifest_mod.Manifest | None:
        found = self.manifest_at(name, at)
        if found is not None:
            named.update(dep.name for dep in found.dependencies)
        return found

    while True:
        state = self._read_models(sorted(names))
        named.clear()
        tree = resolve_deps(state, load, model.name, version.version, stage)
        if named <= names:
            return tree
        names |= named


def dependents(
    self: Registry, name: str, *, stage: str | None = None, declared_in_head: bool = False
) -> list[Dependent]:
    """Every active model version that depends on ``name``, and whether it is
    satisfied (by any active version of ``name``, or by the ``stage`` holder).

    ``declared_in_head``: only the versions of models whose folder in HEAD has a
    file declaring dependencies (the state cache's index, which ``promote``'s
    gate trusts too), so a few manifests are read instead of every version's.
    It misses an active version that declared a dependency its model's later
    manifests dropped; the web page says so, and ``deps --reverse`` reads all."""
    validate_read_name(name)
    if stage is not None:
        validate_stage(stage)
    if declared_in_head and self._cached_state is None:
        declaring = self._declaring()
        if declaring is not None:
            return _declared_dependents(self, name, stage, declaring)
    state = self.state()
    return _active_dependents(self, state, name, stage)


def manifests(
    self: Registry, versions: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], manifest_mod.Manifest]:
    """The manifests of many ``(name, version)`` pairs through one ``git cat-file
    --batch`` (the web page's labels and metric charts); unknown versions and
    broken manifests are left out (``check`` and ``show`` report those)."""
    pairs = list(versions)
    commits: dict[tuple[str, str], list[str]] = {}
    if self._cached_state is None:
        # The state cache names each registration's commit: no model's state is
        # built unless a version was registered more than once (or not at all).
        commits = self._cache_query(lambda cache: cache.registrations(pairs)) or {}
    wanted = []
    for name, version in pairs:
        at = commits.get((name, version), [])
        if len(at) == 1:
            wanted.append((name, _registered(version, at[0])))
            continue
        model = self._find_model(name)
        found = model.find(version) if model else None
        if found is not None and found.registered:
            wanted.append((name, found))
    return self._manifests(wanted)


def last_events(self: Registry, names: Sequence[str] | None = None) -> dict[str, HistoryEntry]:
    """Each model's newest event (of ``names``; of every model: None), as
    ``history`` has it: the home page's "last event" column. From the state
    cache only each model's newest second of tags is built into events; without
    one, from the models' whole histories."""
    if self._cached_state is None:
        found = self._cache_query(lambda cache: cache.newest(names))
        if found is not None:
            out = {}
            for name, records in found.items():
                model = build_model(name, records)
                if model is not None and model.events:
                    out[model.name] = _history_entry(model.events[-1])
            return out
    state = self._cached_state or self._read_state(names)
    models = state.models.values() if names is None else [state.model(n) for n in names]
    return {m.name: _history_entry(m.events[-1]) for m in models if m is not None and m.events}


def _registered(version: str, commit: str) -> VersionState:
    """What :meth:`Registry._manifests` needs of a registered version: its commit."""
    return VersionState(version, commit, True, True, None, None, None, ())


def _declared_dependents(
    self: Registry, name: str, stage: str | None, declaring: set[str]
) -> list[Dependent]:
    """:func:`dependents` over the models whose folder holds a declaring file."""
    folders = set()
    for path in declaring:
        parent = PurePosixPath(path).parent
        while parent.name:
            folders.add(str(parent))
            parent = parent.parent
    others = [
        s.name for s in self.list_models() if s.name != name and s.name.replace(":", "/") in folders
    ]
    state = self._read_models([name, *others])
    return _active_dependents(self, state, name, stage)


def _active_dependents(
    self: Registry, state: RegistryState, name: str, stage: str | None
) -> list[Dependent]:
    """Which active versions of the other models in ``state`` need ``name``."""
    from ..deps import dependents as dependents_of

    if state.model(name) is None:
        self._model(name)  # raises UnknownModelError with the list of models
    wanted = [
        (m.name, v)
        for m in state.models.values()
        if m.name != name and not m.deprecated
        for v in m.versions
        if v.registered and v.active
    ]
    return dependents_of(state, self._manifests(wanted, mentioning=name), name, stage)


def diff(self: Registry, a: str | Ref, b: str | Ref) -> VersionDiff:
    """Two versions (or what two stages hold) side by side."""
    from ..diff import diff as diff_manifests

    first, second = self._version_with_manifest(a), self._version_with_manifest(b)
    assert first.manifest is not None and second.manifest is not None
    return diff_manifests(first.manifest, second.manifest)


def _history_entry(event: Event) -> HistoryEntry:
    # A rollback is an assignment tag; its trailer says it was a rollback.
    rollback = event.trailer(EVENT) == "rollback"
    forced = event.trailer(FORCED)
    return HistoryEntry(
        timestamp=event.timestamp,
        name=event.name,
        event="rollback" if rollback and event.kind is EventKind.ASSIGN else str(event.kind),
        version=event.version,
        stage=event.stage,
        author=event.author,
        author_email=event.author_email,
        reason=event.reason,
        tag=event.tag,
        commit=event.commit,
        forced=tuple(gate.strip() for gate in forced.split(",")) if forced else (),
        signed=event.signed,
    )
