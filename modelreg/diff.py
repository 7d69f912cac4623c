"""Two versions side by side: metadata, metrics with deltas, params, dependencies,
files. Pure: takes two manifests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .manifest import Manifest


@dataclass(frozen=True)
class Change:
    """One field: ``old``/``new`` are None where absent; ``delta`` for numbers."""

    section: str  # metadata, labels, metrics, params, dependencies
    key: str
    old: Any
    new: Any
    delta: float | None = None

    @property
    def status(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed" if self.old != self.new else "same"


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, removed, changed, same
    old_size: int | None
    new_size: int | None
    old_sha256: str | None
    new_sha256: str | None


@dataclass(frozen=True)
class VersionDiff:
    name_a: str
    version_a: str
    name_b: str
    version_b: str
    changes: tuple[Change, ...]  # every field that exists on either side, changed or not
    files: tuple[FileChange, ...]

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.status != "same")

    @property
    def identical(self) -> bool:
        return not self.changed and all(f.status == "same" for f in self.files)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _delta(a: Any, b: Any) -> float | None:
    """``b - a`` for two numbers, None where a float cannot say it: an integer past
    float's range (a manifest from elsewhere may hold one), or a difference past it
    (JSON has no ``Infinity``). Rounded to 12 significant digits (the error of
    subtracting two doubles lies past them): 0.82 - 0.78 is 0.04, not 0.039999999999999925."""
    if not (_is_number(a) and _is_number(b)):
        return None
    try:
        delta = float(b) - float(a)
    except OverflowError:
        return None
    return float(f"{delta:.12g}") if math.isfinite(delta) else None


def _section(section: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out = []
    for key in sorted(set(old) | set(new)):
        a: Any = old.get(key)
        b: Any = new.get(key)
        out.append(Change(section, key, a, b, _delta(a, b)))
    return out


def diff(a: Manifest, b: Manifest) -> VersionDiff:
    metadata = {
        key: (getattr(a, key), getattr(b, key))
        for key in ("description", "author", "license", "framework")
    }
    changes = _section(
        "metadata",
        {k: v[0] for k, v in metadata.items() if v[0] is not None},
        {k: v[1] for k, v in metadata.items() if v[1] is not None},
    )
    changes += _section("labels", a.labels, b.labels)
    changes += _section("metrics", a.metrics, b.metrics)
    changes += _section("params", a.params, b.params)
    changes += _section(
        "dependencies",
        {d.name: d.version for d in a.dependencies},
        {d.name: d.version for d in b.dependencies},
    )
    old = {f.path: f for f in a.artifacts}
    new = {f.path: f for f in b.artifacts}
    files = []
    for path in sorted(set(old) | set(new)):
        x, y = old.get(path), new.get(path)
        if x is None:
            status = "added"
        elif y is None:
            status = "removed"
        else:
            status = "same" if x.sha256 == y.sha256 else "changed"
        files.append(
            FileChange(
                path,
                status,
                x.size if x else None,
                y.size if y else None,
                x.sha256 if x else None,
                y.sha256 if y else None,
            )
        )
    return VersionDiff(a.name, str(a.version), b.name, str(b.version), tuple(changes), tuple(files))
