"""Dependencies between models: resolution, conflicts, cycles, dependents. Pure.

The registry hands in its state (from tags) and a way to read a version's
manifest; nothing here touches git. A dependency resolves to the highest active
registered version that satisfies its range, or, when a stage is given, to the
version holding that stage (if it satisfies the range).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from .errors import ReportError
from .manifest import Dependency, Manifest
from .ranges import Range
from .state import ModelState, RegistryState, VersionState
from .versions import Version

ManifestLoader = Callable[[str, str], Manifest | None]
MAX_DEPTH = 50


class Status(StrEnum):
    ROOT = "root"
    OK = "ok"
    MISSING = "missing"  # no such model
    UNSATISFIED = "unsatisfied"  # no active version satisfies the range
    NO_HOLDER = "no-holder"  # no version holds the stage
    STAGE_UNSATISFIED = "stage-unsatisfied"  # the stage holder does not satisfy the range
    CYCLE = "cycle"
    TOO_DEEP = "too-deep"


@dataclass(frozen=True)
class Node:
    name: str
    version: str | None
    range: str | None  # what the parent asked for (None at the root)
    status: Status
    detail: str = ""
    children: tuple[Node, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in (Status.ROOT, Status.OK) and all(c.ok for c in self.children)

    def walk(self) -> Iterable[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Conflict:
    name: str
    wanted: tuple[tuple[str, str], ...]  # (who asks, range)


@dataclass(frozen=True)
class Tree:
    root: Node
    stage: str | None
    conflicts: tuple[Conflict, ...]
    cycles: tuple[tuple[str, ...], ...]

    @property
    def ok(self) -> bool:
        return self.root.ok and not self.conflicts and not self.cycles

    def failure(self, ref: str) -> ReportError | None:
        """The error that makes a tree that does not resolve fail (None: it
        resolves); ``ref`` is the reference as the user asked for it."""
        if self.ok:
            return None
        broken = [n for n in self.root.walk() if n.status not in (Status.ROOT, Status.OK)]
        return ReportError(f"{ref}: {len(broken) + len(self.conflicts)} dependency problem(s)")


@dataclass(frozen=True)
class Dependent:
    """A model version that depends on the model asked about."""

    name: str
    version: str
    range: str
    stages: tuple[str, ...]  # stages the dependent holds
    satisfied_by: str | None  # the version of the dependency that satisfies it, if any


def unsatisfied(name: str, found: Sequence[Dependent]) -> ReportError | None:
    """The error that makes :func:`dependents` of ``name`` fail: versions it
    leaves unsatisfied (None: every one is satisfied)."""
    broken = [d for d in found if d.satisfied_by is None]
    if not broken:
        return None
    return ReportError(f"{len(broken)} version(s) depending on {name} are not satisfied")


def active_versions(model: ModelState) -> list[tuple[Version, VersionState]]:
    out = []
    for state in model.versions:
        semver = state.semver
        if state.registered and state.active and semver is not None:
            out.append((semver, state))
    return out


def best_match(model: ModelState, wanted: Range) -> VersionState | None:
    """The highest active registered version in the range."""
    matches = [(v, s) for v, s in active_versions(model) if wanted.contains(v)]
    if not matches:
        return None
    return max(matches, key=lambda item: item[0].precedence_key())[1]


def resolve_one(
    state: RegistryState, dep: Dependency, stage: str | None
) -> tuple[Status, VersionState | None, str]:
    """Resolve one dependency: (status, version, a sentence for people)."""
    model = state.model(dep.name)
    if model is None:
        return Status.MISSING, None, f"no model named {dep.name} is registered"
    wanted = dep.range
    if stage is None:
        found = best_match(model, wanted)
        if found is None:
            return Status.UNSATISFIED, None, f"no registered version of {dep.name} is {dep.version}"
        return Status.OK, found, ""
    holder = model.stages.get(stage)
    if holder is None:
        return Status.NO_HOLDER, None, f"no version of {dep.name} holds {stage}"
    held = model.find(holder)
    semver = held.semver if held else None
    if held is None or semver is None or not wanted.contains(semver):
        return (
            Status.STAGE_UNSATISFIED,
            held,
            f"{stage} holds {dep.name} v{holder}, which is not {dep.version}",
        )
    return Status.OK, held, ""


class _Resolver:
    def __init__(self, state: RegistryState, load: ManifestLoader, stage: str | None) -> None:
        self.state, self.load, self.stage = state, load, stage
        self.wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.cycles: list[tuple[str, ...]] = []

    def visit(
        self, name: str, version: str, wanted: str | None, path: tuple[str, ...], status: Status
    ) -> Node:
        manifest = self.load(name, version)
        if manifest is None or not manifest.dependencies:
            return Node(name, version, wanted, status)
        if len(path) >= MAX_DEPTH:
            return Node(name, version, wanted, Status.TOO_DEEP, f"deeper than {MAX_DEPTH} levels")
        children = []
        for dep in manifest.dependencies:
            self.wanted[dep.name].append((f"{name}@v{version}", dep.version))
            here = (*path, name)
            if dep.name in here:
                cycle = (*here[here.index(dep.name) :], dep.name)
                if cycle not in self.cycles:
                    self.cycles.append(cycle)
                detail = " -> ".join(cycle)
                children.append(Node(dep.name, None, dep.version, Status.CYCLE, detail))
                continue
            kind, found, detail = resolve_one(self.state, dep, self.stage)
            if found is not None and kind is Status.OK:
                children.append(self.visit(dep.name, found.version, dep.version, here, kind))
            else:
                shown = found.version if found is not None else None
                children.append(Node(dep.name, shown, dep.version, kind, detail))
        return Node(name, version, wanted, status, children=tuple(children))

    def conflicts(self) -> tuple[Conflict, ...]:
        out = []
        for name, wanted in sorted(self.wanted.items()):
            ranges = {rng for _who, rng in wanted}
            model = self.state.model(name)
            if len(ranges) < 2 or model is None:
                continue
            parsed = [Range.parse(r) for r in ranges]
            common = [v for v, _s in active_versions(model) if all(r.contains(v) for r in parsed)]
            if not common:
                out.append(Conflict(name, tuple(sorted(set(wanted)))))
        return tuple(out)


def resolve(
    state: RegistryState, load: ManifestLoader, name: str, version: str, stage: str | None = None
) -> Tree:
    """The dependency tree of ``name`` v``version`` (each manifest loaded once, however
    many paths lead to it)."""
    resolver = _Resolver(state, cache(load), stage)
    root = resolver.visit(name, version, None, (), Status.ROOT)
    return Tree(root, stage, resolver.conflicts(), tuple(resolver.cycles))


def dependents(
    state: RegistryState,
    manifests: Mapping[tuple[str, str], Manifest],
    name: str,
    stage: str | None = None,
) -> list[Dependent]:
    """Every active model version whose manifest depends on ``name``, and whether the
    dependency is satisfied (by any active version, or by the ``stage`` holder)."""
    target = state.model(name)
    out = []
    for (other, version), manifest in sorted(manifests.items()):
        if other == name:
            continue
        model = state.model(other)
        held = model.find(version) if model else None
        for dep in manifest.dependencies:
            if dep.name != name:
                continue
            satisfied: VersionState | None = None
            if target is not None:
                if stage is None:
                    satisfied = best_match(target, dep.range)
                else:
                    status, found, _ = resolve_one(state, dep, stage)
                    satisfied = found if status is Status.OK else None
            out.append(
                Dependent(
                    other,
                    version,
                    dep.version,
                    held.stages if held else (),
                    satisfied.version if satisfied else None,
                )
            )
    return out


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[tuple[str, ...]]:
    """Cycles in a name -> dependency-names graph, each as a closed path, once each."""
    cycles: list[tuple[str, ...]] = []
    seen: set[frozenset[str]] = set()
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            cycle = (*path[path.index(node) :], node)
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
            return
        if node in done:
            return
        path.append(node)
        for nxt in graph.get(node, ()):
            walk(nxt, path)
        path.pop()
        done.add(node)

    for start in sorted(graph):
        walk(start, [])
    return cycles
