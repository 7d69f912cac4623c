"""What each page shows, from the library's reads: no HTTP, no HTML.

Every page is built from the reads the API answers with (``list_models``,
``history``, ``show``, ``deps``, ``dependents``, ``diff``, and ``manifests`` for
many versions at once) turned into the documents :mod:`modelreg.serialize` makes,
so the page and ``GET /v2/...`` never disagree. The server (:mod:`.routes`) and
the static report (:mod:`.report`) call the same functions here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from ... import serialize
from ...errors import ModelregError
from ...versions import Version

if TYPE_CHECKING:
    from ...manifest import Manifest
    from ...registry import Registry
    from ...results import HistoryEntry

Document = dict[str, Any]


PAGE = 100
"""Rows of the home page the server renders at once (``?all=1``: every one)."""


@dataclass(frozen=True)
class Filters:
    """The home page's search: query parameters, so a filtered list is a link too."""

    q: str = ""  # part of the model's name
    label: str = ""  # ``key=value``, ``key`` or ``value``
    stage: str = ""  # models with a version in this stage
    deprecated: bool = False  # show deprecated models too
    ns: str = ""  # models in this namespace (or one under it)
    page: int = 1  # which PAGE rows (from 1)
    all: bool = False  # every row at once

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        page = query.get("page", "1").strip()
        return cls(
            q=query.get("q", "").strip()[:200],
            label=query.get("label", "").strip()[:200],
            stage=query.get("stage", "").strip()[:100],
            deprecated=_yes(query.get("deprecated", "")),
            ns=query.get("ns", "").strip().strip("/")[:200],
            page=_page_number(page),
            all=_yes(query.get("all", "")),
        )

    @property
    def active(self) -> bool:
        return bool(self.q or self.label or self.stage or self.ns)

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters (with ``changes``) as query parameters for a link."""
        values = {
            "q": self.q,
            "label": self.label,
            "stage": self.stage,
            "deprecated": self.deprecated,
            "ns": self.ns,
            "page": None,
            "all": self.all,
        } | changes
        return {k: "1" if v is True else str(v) for k, v in values.items() if v}

    def keeps(self, row: Document) -> bool:
        """Everything but the label: a summary's row can tell without its manifest."""
        if row["deprecated"] and not self.deprecated:
            return False
        if self.q and self.q.lower() not in row["name"].lower():
            return False
        if self.ns and not (row["namespace"] + "/").startswith(self.ns + "/"):
            return False
        return not self.stage or self.stage in row["stages"]


def _yes(text: str) -> bool:
    return text in ("1", "on", "true", "yes")


def _page_number(text: str) -> int:
    """``?page=N``, or the first page for anything else (``-1``, ``abc``, ``²``:
    a digit to ``str.isdigit`` but not to ``int``); past the last page is clamped
    by :func:`home`."""
    if text.isascii() and text.isdigit() and 0 < len(text) < 7 and int(text) > 0:
        return int(text)
    return 1


def label_matches(wanted: str, labels: Mapping[str, str]) -> bool:
    """``key=value`` matches that pair; a bare word matches a key or a value."""
    key, equals, value = wanted.partition("=")
    if equals:
        return labels.get(key.strip()) == value.strip()
    return any(wanted in (k, v) for k, v in labels.items())


def _version_key(text: str) -> tuple[int, Any]:
    try:
        return (1, Version.parse(text).precedence_key())
    except ModelregError:
        return (0, text)  # a GTO commit id: before every SemVer version


def sorted_versions(versions: Iterable[str]) -> list[str]:
    """Oldest first, by SemVer precedence."""
    return sorted(versions, key=_version_key)


def stage_order(registry: Registry, held: Iterable[str]) -> list[str]:
    """The registry's stages in their configured order, then any others GTO wrote."""
    configured = list(registry.config.stages)
    extra = sorted(set(held) - set(configured))
    return configured + extra


def event(entry: HistoryEntry) -> Document:
    """A history entry as ``history --json`` has it, plus what the timeline shows
    beside it: the gates a forced change overrode, and whether the tag is signed."""
    return serialize.history_entry(entry) | {"forced": list(entry.forced), "signed": entry.signed}


# --- home -------------------------------------------------------------------------


def home(registry: Registry, filters: Filters | None = None) -> Document:
    """Every model: latest version, stage holders, labels, last event; grouped by
    namespace (``team/...``). With ``filters`` (the server) the rows it refuses
    are left out and one page of :data:`PAGE` rows is shown; without (the
    report, which filters in the browser), every row is kept.

    The rows come from the state cache's summaries (what ``list`` prints), so a
    registry's size costs what ``modelreg list`` costs; only the rows shown have
    their latest manifest (labels, description) and last event read. A label
    filter reads the latest manifest of every row the other filters keep."""
    summaries = registry.list_models(include_deprecated=True)
    rows = []
    for summary in summaries:
        row = serialize.model_summary(summary)
        row["namespace"] = summary.name.rpartition("/")[0]
        rows.append(row)
    stages = stage_order(registry, (s for row in rows for s in row["stages"]))
    total = len(rows)
    deprecated = sum(1 for row in rows if row["deprecated"])
    if filters is not None:
        rows = [row for row in rows if filters.keeps(row)]
        if filters.label:
            _add_manifests(registry, rows)
            rows = [row for row in rows if label_matches(filters.label, row["labels"])]
    rows.sort(key=lambda r: (r["namespace"] != "", r["namespace"], r["name"]))
    namespaces: dict[str, int] = {}
    for row in rows:
        if row["namespace"]:
            namespaces[row["namespace"]] = namespaces.get(row["namespace"], 0) + 1
    matched = len(rows)
    pages = max(1, -(-matched // PAGE))
    page = 1
    if filters is not None and not filters.all:
        page = min(filters.page, pages)
        rows = rows[(page - 1) * PAGE : page * PAGE]
    _add_manifests(registry, rows)
    last = registry.last_events([row["name"] for row in rows])
    for row in rows:
        found = last.get(row["name"])
        row["last_event"] = event(found) if found else None
    groups: dict[str, list[Document]] = {}
    for row in rows:
        groups.setdefault(row["namespace"], []).append(row)
    labels = sorted({f"{k}={v}" for row in rows for k, v in row["labels"].items()})
    return {
        "groups": [
            {"namespace": ns, "models": models, "id": _anchor(ns)} for ns, models in groups.items()
        ],
        "shown": matched,
        "total": total,
        "deprecated": deprecated,
        "stages": stages,
        "labels": labels,
        "filters": filters or Filters(),
        "namespaces": [(ns, count, _anchor(ns)) for ns, count in namespaces.items()],
        "paging": {
            "page": page,
            "pages": pages if filters is not None and not filters.all else 1,
            "first": (page - 1) * PAGE + 1 if rows else 0,
            "last": (page - 1) * PAGE + len(rows),
            "size": PAGE,
        },
        "warnings": list(summaries.warnings),
    }


def _add_manifests(registry: Registry, rows: list[Document]) -> None:
    """Labels and description of each row's latest version (rows that have none)."""
    wanted = [(row["name"], row["latest"]) for row in rows if row["latest"] and "labels" not in row]
    found = registry.manifests(wanted)
    for row in rows:
        if "labels" in row:
            continue
        manifest = found.get((row["name"], row["latest"])) if row["latest"] else None
        row["labels"] = dict(manifest.labels) if manifest else {}
        row["description"] = manifest.description if manifest else None


def _anchor(namespace: str) -> str:
    """An HTML id for a namespace's group (the report's links jump to it)."""
    return "ns-" + "".join(c if c.isalnum() else f"-{ord(c):x}-" for c in namespace or "-")


# --- a model ------------------------------------------------------------------------


def _versions_from(events: Sequence[Document]) -> tuple[list[str], set[str], dict[str, Document]]:
    """Versions in registration order, those deregistered, and each one's registration."""
    registered: dict[str, Document] = {}
    gone: set[str] = set()
    for event in events:
        version = event["version"]
        if version is None:
            continue
        if event["event"] == "register":
            registered[version] = event
            gone.discard(version)
        elif event["event"] == "deregister":
            gone.add(version)
    return list(registered), gone, registered


def version_row(
    name: str,
    version: str,
    manifest: Manifest | None,
    registration: Document | None,
    stages: Sequence[str],
    active: bool,
) -> Document:
    doc = serialize.manifest(manifest) or {}
    author = doc.get("author") or (registration or {}).get("author")
    return {
        "name": name,
        "version": version,
        "active": active,
        "stages": list(stages),
        "registered_at": (registration or {}).get("time"),
        "author": author,
        "license": doc.get("license"),
        "description": doc.get("description"),
        "framework": doc.get("framework"),
        "metrics": doc.get("metrics", {}),
        "params": doc.get("params", {}),
        "labels": doc.get("labels", {}),
        "files": doc.get("artifacts", []),
        "dependencies": doc.get("dependencies", []),
    }


def model(registry: Registry, name: str) -> Document:
    """A model's page: versions, metric charts, timeline, dependencies, files."""
    entries = registry.history(name)  # raises UnknownModelError for an unknown name
    name = entries[0].name if entries else name
    events = [event(e) for e in entries]
    # from the models whose manifest in HEAD declares dependencies (the state cache's
    # index), not every version of every model: the page says so
    dependents = [serialize.dependent(d) for d in registry.dependents(name, declared_in_head=True)]
    summary = next(
        (s for s in registry.list_models(include_deprecated=True) if s.name == name), None
    )
    holders: dict[str, str] = dict(summary.stages) if summary else {}
    order, gone, registrations = _versions_from(events)
    manifests = registry.manifests((name, v) for v in order if v not in gone)
    by_version: dict[str, list[str]] = {}
    for stage in stage_order(registry, holders):
        if stage in holders:
            by_version.setdefault(holders[stage], []).append(stage)
    versions = [
        version_row(
            name,
            v,
            manifests.get((name, v)),
            registrations.get(v),
            by_version.get(v, []),
            v not in gone,
        )
        for v in reversed(sorted_versions(order))
    ]
    active = [v for v in versions if v["active"]]
    latest = summary.latest if summary else None
    current = next((v for v in versions if v["version"] == latest), None)
    tree = None
    if latest is not None:
        tree = serialize.tree(registry.deps(f"{name}@v{latest}"))
    return {
        "name": name,
        "summary": serialize.model_summary(summary) if summary else None,
        "deprecated": bool(summary and summary.deprecated),
        "latest": current,
        "versions": versions,
        "stages": [
            (stage, holders[stage]) for stage in stage_order(registry, holders) if stage in holders
        ],
        "metrics": metric_series(active),
        "events": list(reversed(events)),  # newest first
        "tree": tree,
        "dependents": dependents,
        "pairs": consecutive_pairs([v["version"] for v in active]),
        "gone": sorted(gone),
        "all_stages": stage_order(registry, holders),
        "compare": compare_sides(manifests, name),
        "warnings": list(entries.warnings),
    }


def compare_sides(manifests: Mapping[tuple[str, str], Manifest], name: str) -> Document:
    """Each version's side of a diff, for the static report's "compare any two":
    :func:`..diff.diff` of a manifest with itself lists every field (section, key,
    value) and file a diff of it with any other version would, so the browser
    only lines two sides up (keys in the same order, the same delta) instead of
    the report writing a page for each of the n² pairs."""
    from ...diff import diff as diff_manifests

    out: Document = {}
    for (model, version), manifest in manifests.items():
        if model != name:
            continue
        itself = diff_manifests(manifest, manifest)
        out[version] = {
            "changes": [[c.section, c.key, _json_safe(c.new), str(c.new)] for c in itself.changes],
            "files": [
                {"path": f.path, "size": f.new_size, "sha256": f.new_sha256} for f in itself.files
            ],
        }
    return out


def metric_series(versions: Sequence[Document]) -> list[tuple[str, list[tuple[str, float]]]]:
    """Each metric across the versions that have it, oldest version first."""
    series: dict[str, list[tuple[str, float]]] = {}
    for row in reversed(versions):  # versions are newest first
        for key, value in row["metrics"].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                try:
                    number = float(value)
                except OverflowError:  # an integer past float's range: no point to draw
                    continue
                if math.isfinite(number):
                    series.setdefault(key, []).append((row["version"], number))
    return sorted(series.items())


def consecutive_pairs(newest_first: Sequence[str]) -> list[tuple[str, str]]:
    """(older, newer) for each pair of neighbouring versions: the diffs the report writes."""
    oldest_first = list(reversed(newest_first))
    return list(pairwise(oldest_first))


# --- a version ------------------------------------------------------------------------


def version(registry: Registry, ref: str) -> Document:
    """One version: what ``show`` says, its manifest as YAML, files, dependencies."""
    from ...yamlio import dump

    info = registry.show(ref)
    doc = serialize.version_info(info)
    manifest_doc = doc["manifest"]
    entries = registry.history(info.name)
    events = [event(e) for e in entries if e.version == info.version]
    order, gone, _ = _versions_from([event(e) for e in entries])
    ordered = sorted_versions(v for v in order if v not in gone)
    index = ordered.index(info.version) if info.version in ordered else -1
    previous = ordered[index - 1] if index > 0 else None
    tree = None
    if info.manifest is not None:
        try:
            tree = serialize.tree(registry.deps(f"{info.name}@v{info.version}"))
        except ModelregError:
            tree = None
    return {
        "name": info.name,
        "version": info.version,
        "info": doc,
        "manifest_yaml": dump(manifest_doc) if manifest_doc else None,
        "row": version_row(info.name, info.version, info.manifest, None, info.stages, True),
        "events": list(reversed(events)),
        "previous": previous,
        "all_stages": stage_order(registry, info.stages),
        "tree": tree,
        "warnings": list(info.warnings),
    }


# --- a diff ------------------------------------------------------------------------------


def diff(registry: Registry, a: str, b: str) -> Document:
    """Two versions side by side: metrics with deltas, params, dependencies, files."""
    result = serialize.version_diff(registry.diff(a, b))
    sections: dict[str, list[Document]] = {}
    for change in result["changes"]:
        sections.setdefault(change["section"], []).append(change)
    choices = sorted_versions(
        {
            e.version
            for e in registry.history(result["a"]["name"])
            if e.event == "register" and e.version
        }
    )
    return {
        "a": result["a"],
        "b": result["b"],
        "identical": result["identical"],
        "sections": sorted(sections.items(), key=lambda item: _SECTION_ORDER.get(item[0], 99)),
        "files": result["files"],
        "choices": [f"{result['a']['name']}@v{v}" for v in reversed(choices)],
    }


def _json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it (a YAML date or a NaN: its text)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


_SECTION_ORDER = {"metrics": 0, "params": 1, "dependencies": 2, "labels": 3}
