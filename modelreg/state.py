"""Registry state computed from tags alone. Pure: no I/O.

The rules are GTO's, so both tools agree on every registry:

* a version is active while its latest registration event is a registration;
* a model is deprecated while its latest event is a deprecation;
* a stage is held, among active versions whose latest event for that stage is an
  assignment, by the one assigned most recently (latest tagger time, as GTO reads
  it; the per-model counter orders events within one second).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import InvalidVersionError
from .gitrepo import TagRecord
from .records import Record
from .tags import (
    EVENT,
    PREVIOUS,
    REASON,
    SEQUENCE,
    EventKind,
    ParsedTag,
    TagMessage,
    in_grammar,
    is_signed,
    parse_message,
    parse_tag_name,
)
from .versions import Version


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Event(Record):
    """One registry event, read from one annotated tag.

    The tag's message is parsed on first use of :attr:`summary`, :attr:`reason`
    or :attr:`trailers`: ``list`` reads 100,000 tags and needs none of them.
    """

    tag: str
    name: str
    kind: EventKind
    commit: str
    timestamp: int
    author: str
    author_email: str
    counter: int | None = None
    version: str | None = None  # SemVer text without 'v', or a commit id for GTO's
    stage: str | None = None
    message: str = ""
    _message: TagMessage | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def _parsed(self) -> TagMessage:
        if self._message is None:
            object.__setattr__(self, "_message", parse_message(self.message))
        assert self._message is not None
        return self._message

    @property
    def summary(self) -> str:
        return self._parsed.subject

    @property
    def reason(self) -> str | None:
        parsed = self._parsed
        reason = parsed.get(REASON)
        if reason is None and not parsed.trailers:
            return parsed.subject or None  # GTO and hand-made tags: the message is the note
        return reason

    @property
    def trailers(self) -> dict[str, str]:
        return self._parsed.trailers

    def trailer(self, name: str) -> str | None:
        """One ``Modelreg-*`` trailer, by the name :mod:`events` writes (``SEQUENCE``...)."""
        return self._parsed.get(name)

    @property
    def signed(self) -> bool:
        """The tag carries a signature (``verify`` checks it)."""
        return is_signed(self.message)

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Chronological order: time, then the per-model sequence, then tag name.

        Counters order events within one second; a registration tag has no counter,
        so modelreg records the model's highest counter at that moment
        (``Modelreg-Sequence``) to place it among them.
        """
        if self.counter is not None:
            rank = 2 * self.counter
        else:
            sequence = self.trailer(SEQUENCE) or ""
            # isascii: '²' is a digit to str.isdigit but not to int() (a pushed tag's
            # trailer would break every read of the registry)
            digits = sequence.isascii() and sequence.isdigit() and len(sequence) < 10
            rank = 2 * int(sequence) + 1 if digits else -1
        return (self.timestamp, rank, self.tag)

    @property
    def stage_key(self) -> tuple[int, int, str]:
        """Order among stage events, as GTO orders them: tagger time first (GTO reads
        no counter, so its counter-less ``--simple`` tags take their place by time
        among counted ones), then the counter within one second.

        modelreg stamps each new event of a model later than the model's latest
        event (even on a clone whose clock is behind), so the counters it writes
        rise with time and the highest counter is also the latest event."""
        return (self.timestamp, -1 if self.counter is None else self.counter, self.tag)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class VersionState(Record):
    version: str  # SemVer text, or a commit id for an assignment to an unregistered commit
    commit: str
    registered: bool
    active: bool
    registered_at: int | None
    author: str | None
    author_email: str | None
    stages: tuple[str, ...]  # stages this version holds now

    @property
    def semver(self) -> Version | None:
        try:
            return Version.parse(self.version)
        except InvalidVersionError:
            return None  # a commit id: GTO's assignment to an unregistered commit


@dataclass(frozen=True, eq=False, repr=False)
class ModelState(Record):
    name: str
    versions: tuple[VersionState, ...]  # active and inactive, highest SemVer first
    stages: dict[str, str]  # stage -> version holding it
    deprecated: bool
    events: tuple[Event, ...]  # chronological

    @property
    def latest(self) -> VersionState | None:
        for version in self.versions:
            if version.registered and version.active:
                return version
        return None

    def find(self, version: str) -> VersionState | None:
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        return None

    def registration(self, version: str) -> Event | None:
        """The (last) register event of ``version``."""
        found = None
        for event in self.events:
            if event.kind is EventKind.REGISTER and event.version == version:
                found = event
        return found

    @property
    def latest_time(self) -> int | None:
        """The tagger time of the model's latest event: a new event goes after it."""
        return max((e.timestamp for e in self.events), default=None)

    @property
    def max_counter(self) -> int:
        return max((e.counter for e in self.events if e.counter is not None), default=0)


@dataclass(frozen=True, eq=False, repr=False)
class RegistryState(Record):
    models: dict[str, ModelState]
    skipped: tuple[str, ...]  # tags in the grammar that could not be read as events

    def model(self, name: str) -> ModelState | None:
        return self.models.get(name)


def build(records: Iterable[TagRecord]) -> RegistryState:
    return build_parsed((parse_tag_name(record.name), record) for record in records)


def build_parsed(items: Iterable[tuple[ParsedTag | None, TagRecord]]) -> RegistryState:
    """:func:`build` for records whose names the caller has parsed already."""
    by_model: dict[str, list[tuple[ParsedTag, TagRecord]]] = defaultdict(list)
    skipped: list[str] = []
    for parsed, record in items:
        if parsed is None:
            if in_grammar(record.name):
                skipped.append(record.name)  # shaped like an event, but not readable
            continue
        if not record.annotated:
            skipped.append(record.name)  # GTO ignores lightweight tags too
            continue
        by_model[parsed.name].append((parsed, record))
    # Built in name order, each model's records let go as soon as it is built.
    models = {name: _build_model(name, by_model.pop(name)) for name in sorted(by_model)}
    return RegistryState(models, tuple(skipped))


def build_model(name: str, records: Iterable[TagRecord]) -> ModelState | None:
    """State of one model from (a superset of) its tags."""
    items = []
    for record in records:
        parsed = parse_tag_name(record.name)
        if parsed is not None and parsed.name == name and record.annotated:
            items.append((parsed, record))
    return _build_model(name, items) if items else None


def _build_model(name: str, items: list[tuple[ParsedTag, TagRecord]]) -> ModelState:
    # Registrations first: they tell which commit holds which version.
    at_commit: dict[str, list[str]] = defaultdict(list)
    for parsed, record in items:
        if parsed.kind is EventKind.REGISTER and parsed.version is not None:
            at_commit[record.target].append(str(parsed.version))

    events = sorted((_event(p, r, at_commit) for p, r in items), key=lambda e: e.order_key)
    # One pass in time order: each version's first registration and whether its
    # latest registration event is a registration, and each (version, stage)'s
    # latest event by stage order.
    first_registration: dict[str, Event] = {}
    registered_now: dict[str, bool] = {}
    stage_last: dict[tuple[str, str], Event] = {}
    commits: dict[str, str] = {}
    for event in events:
        version = event.version
        if version is None:
            continue
        commits.setdefault(version, event.commit)
        kind = event.kind
        if kind is EventKind.REGISTER:
            commits[version] = event.commit
            first_registration.setdefault(version, event)
            registered_now[version] = True
        elif kind is EventKind.DEREGISTER:
            registered_now[version] = False
        elif (kind is EventKind.ASSIGN or kind is EventKind.UNASSIGN) and event.stage:
            key = (version, event.stage)
            latest = stage_last.get(key)
            if latest is None or event.stage_key > latest.stage_key:
                stage_last[key] = event

    def is_active(version: str) -> bool:
        return registered_now.get(version, True)

    holders: dict[str, tuple[tuple[int, int, str], str]] = {}
    for (version, stage), last in stage_last.items():
        if last.kind is not EventKind.ASSIGN or not is_active(version):
            continue
        if stage not in holders or last.stage_key > holders[stage][0]:
            holders[stage] = (last.stage_key, version)
    stages = {stage: version for stage, (_key, version) in sorted(holders.items())}

    held: dict[str, list[str]] = defaultdict(list)
    for stage, version in stages.items():
        held[version].append(stage)
    versions = []
    for version, commit in commits.items():
        first = first_registration.get(version)
        versions.append(
            VersionState(
                version=version,
                commit=commit,
                registered=first is not None,
                active=is_active(version),
                registered_at=first.timestamp if first else None,
                author=first.author if first else None,
                author_email=first.author_email if first else None,
                stages=tuple(held.get(version, ())),
            )
        )
    versions.sort(key=_version_sort_key, reverse=True)
    deprecated = bool(events) and events[-1].kind is EventKind.DEPRECATE
    return ModelState(name, tuple(versions), stages, deprecated, tuple(events))


def _version_sort_key(state: VersionState) -> tuple[int, object]:
    semver = state.semver
    if semver is None:
        return (0, state.version)
    return (1, semver.precedence_key())


def _event(parsed: ParsedTag, record: TagRecord, at_commit: dict[str, list[str]]) -> Event:
    version: str | None = str(parsed.version) if parsed.version is not None else None
    if parsed.kind in (EventKind.ASSIGN, EventKind.UNASSIGN):
        candidates = at_commit.get(record.target, [])
        if len(candidates) == 1:
            version = candidates[0]
        elif candidates:
            # Several versions at one commit: the tag's Modelreg-Version says which.
            claimed = parse_message(record.message).get("Version")
            if claimed in candidates:
                version = claimed
            else:
                version = max(candidates, key=lambda v: Version.parse(v).precedence_key())
        else:
            version = record.target  # GTO: an assignment to an unregistered commit
    return Event(
        tag=record.name,
        name=parsed.name,
        kind=parsed.kind,
        commit=record.target,
        timestamp=record.timestamp,
        author=record.tagger_name,
        author_email=record.tagger_email,
        counter=parsed.counter,
        version=version,
        stage=parsed.stage,
        message=record.message,
    )


def previous_holder(model: ModelState, stage: str) -> VersionState | None:
    """The version that held ``stage`` before the current holder, skipping versions
    that were rolled back from (unless promoted again afterwards)."""
    stage_events = sorted(
        (e for e in model.events if e.stage == stage and e.version), key=lambda e: e.stage_key
    )
    holders: list[str] = []
    assigned: dict[str, int] = {}
    rolled_from: dict[str, int] = {}
    active: dict[str, tuple[int, int, str]] = {}
    for index, event in enumerate(stage_events):
        assert event.version is not None
        if event.kind is EventKind.ASSIGN:
            active[event.version] = event.stage_key
            assigned[event.version] = index
            previous = event.trailer(PREVIOUS)
            if event.trailer(EVENT) == "rollback" and previous:
                rolled_from[previous] = index
        elif event.kind is EventKind.UNASSIGN:
            active.pop(event.version, None)
        holder = max(active.items(), key=lambda kv: kv[1])[0] if active else None
        if holder is not None and (not holders or holders[-1] != holder):
            holders.append(holder)
    current = model.stages.get(stage)
    for candidate in reversed(holders):
        if candidate == current:
            continue
        if rolled_from.get(candidate, -1) > assigned.get(candidate, -1):
            continue
        found = model.find(candidate)
        if found is not None and found.registered and found.active:
            return found
    return None
