"""The manifest (``models/<name>/model.yaml``): load, validate, dump.

Validation collects every problem as ``field: message``; :func:`loads` raises a
:class:`ManifestError` naming the file and the first problem. Keys are written
in a fixed order so diffs between versions stay small.
"""

from __future__ import annotations

import datetime as dt
import math
import posixpath
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidNameError, InvalidVersionError, ManifestError
from .paths import path_problem
from .records import Record
from .tags import validate_read_name
from .versions import Version

if TYPE_CHECKING:
    from .ranges import Range

SCHEMA = 1
MANIFEST_FILE = "model.yaml"
# All patterns are used with fullmatch: "$" would also accept a trailing newline.
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_COMMIT = re.compile(r"[0-9a-f]{4,64}")
KEYS = (
    "schema",
    "name",
    "version",
    "description",
    "author",
    "license",
    "framework",
    "labels",
    "metrics",
    "params",
    "dependencies",
    "artifacts",
    "lineage",
    "created",
)
Scalar = str | int | float | bool | None


@dataclass(frozen=True, eq=False, repr=False)
class ArtifactFile(Record):
    """One file of a version; ``path`` is relative to ``models/<name>/``."""

    path: str
    size: int
    sha256: str
    md5: str


@dataclass(frozen=True, eq=False, repr=False)
class Dependency(Record):
    name: str
    version: str  # a range, as written

    @property
    def range(self) -> Range:
        from .ranges import Range  # here: a manifest without dependencies needs none

        return Range.parse(self.version)


@dataclass(frozen=True, eq=False, repr=False)
class DataRef(Record):
    path: str
    md5: str | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Lineage(Record):
    code_commit: str | None = None
    data: tuple[DataRef, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class Manifest(Record):
    name: str
    version: Version
    artifacts: tuple[ArtifactFile, ...]
    created: str
    description: str | None = None
    author: str | None = None
    license: str | None = None
    framework: str | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    metrics: dict[str, float | int] = field(default_factory=dict, hash=False)
    params: dict[str, Scalar] = field(default_factory=dict, hash=False)
    dependencies: tuple[Dependency, ...] = ()
    lineage: Lineage | None = None
    schema: int = SCHEMA

    @property
    def total_size(self) -> int:
        return sum(a.size for a in self.artifacts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": self.schema,
            "name": self.name,
            "version": str(self.version),
        }
        for key in ("description", "author", "license", "framework"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("labels", "metrics", "params"):
            value = getattr(self, key)
            if value:
                out[key] = dict(sorted(value.items()))
        if self.dependencies:
            out["dependencies"] = [
                {"name": d.name, "version": d.version} for d in self.dependencies
            ]
        out["artifacts"] = [
            {"path": a.path, "size": a.size, "sha256": a.sha256, "md5": a.md5}
            for a in self.artifacts
        ]
        if self.lineage is not None:
            lineage: dict[str, Any] = {}
            if self.lineage.code_commit:
                lineage["code_commit"] = self.lineage.code_commit
            if self.lineage.data:
                lineage["data"] = [
                    {"path": d.path, **({"md5": d.md5} if d.md5 else {})} for d in self.lineage.data
                ]
            if lineage:
                out["lineage"] = lineage
        out["created"] = self.created
        return out


MAX_FILE_SIZE = 2**63 - 1
"""The largest size a manifest may list: a file's size is a signed 64-bit number
everywhere (the filesystem, DVC, HTTP's Content-Length parsers), and floats,
which show and the pages use to print sizes, cannot hold every integer."""


def is_commit_id(text: str) -> bool:
    return _COMMIT.fullmatch(text.lower()) is not None


def dumps(manifest: Manifest) -> bytes:
    from . import yamlio  # here: a manifest the state cache kept is shown without YAML

    return yamlio.dump(manifest.to_dict()).encode("utf-8")


def digest(data: bytes) -> str:
    import hashlib  # here: a manifest the state cache kept needs no hashing (~3 ms to import)

    return hashlib.sha256(data).hexdigest()


def loads(data: bytes | str, source: str) -> Manifest:
    """Parse and validate manifest bytes; ``source`` names the file in errors."""
    from . import yamlio

    try:
        raw = yamlio.load(data)
    except yamlio.YamlError as exc:
        raise ManifestError(f"{source}: not valid YAML: {exc}") from None
    manifest, problems = validate(raw)
    if problems or manifest is None:
        first = problems[0] if problems else "invalid manifest"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ManifestError(
            f"{source}:{first}{more}", hint="fix the file by hand, or run 'modelreg check'"
        )
    return manifest


def validate(raw: Any) -> tuple[Manifest | None, list[str]]:
    """Check a loaded YAML document; return the manifest (when valid) and problems."""
    if not isinstance(raw, dict):
        return None, [f"the manifest must be a mapping, not {_type(raw)}"]
    v = _Validator()
    unknown = [str(k) for k in raw if k not in KEYS]
    for key in unknown:
        v.problem(str(key), f"unknown key (allowed: {', '.join(KEYS)})")
    schema = raw.get("schema")
    if schema is None:
        v.problem("schema", "missing")
    elif not isinstance(schema, int) or isinstance(schema, bool):
        v.problem("schema", f"must be an integer, not {_type(schema)}")
    elif schema > SCHEMA:
        v.problem("schema", f"schema {schema} is newer than this modelreg reads (upgrade modelreg)")
    elif schema < 1:
        v.problem("schema", f"unknown schema {schema}")
    name = v.name(raw.get("name"))
    version = v.version(raw.get("version"))
    texts = {k: v.optional_str(raw.get(k), k) for k in ("description", "author", "license")}
    framework = v.optional_str(raw.get("framework"), "framework")
    labels = v.mapping(raw.get("labels"), "labels", _is_str, "a string")
    metrics = v.mapping(raw.get("metrics"), "metrics", _is_number, "a number")
    params = v.mapping(raw.get("params"), "params", _is_scalar, "a scalar")
    dependencies = v.dependencies(raw.get("dependencies"))
    artifacts = v.artifacts(raw.get("artifacts"))
    lineage = v.lineage(raw.get("lineage"))
    created = v.created(raw.get("created"))
    if v.problems or name is None or version is None or created is None:
        return None, v.problems
    return (
        Manifest(
            name=name,
            version=version,
            artifacts=artifacts,
            created=created,
            description=texts["description"],
            author=texts["author"],
            license=texts["license"],
            framework=framework,
            labels=labels,
            metrics=metrics,
            params=params,
            dependencies=dependencies,
            lineage=lineage,
            schema=schema if isinstance(schema, int) else SCHEMA,
        ),
        [],
    )


def _type(value: object) -> str:
    if value is None:
        return "empty"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def metric_problem(value: object) -> str | None:
    """Why a number cannot be a new metric (None: it can): NaN and infinities,
    which YAML would write as ``.nan``/``.inf`` and no comparison can use. (Other
    types are refused by :func:`validate`.)"""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        return "too large to compare (past a float's range)"
    return None


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def safe_relative_path(path: str) -> str | None:
    """Return a problem with an artifact path, or None when it stays inside its folder
    (:func:`paths.path_problem`) and is a file the registry may own."""
    problem = path_problem(path)
    if problem:
        return problem
    parts = path.split("/")
    if posixpath.normpath(path) != path:
        return "must be a normalised path"
    if (len(parts) == 1 and parts[0] == MANIFEST_FILE) or parts[-1] == ".gitignore":
        return "clashes with the registry's own files"
    if path.endswith(".dvc"):
        return "clashes with DVC's own files (.dvc)"
    return None


class _Validator:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def name(self, value: object) -> str | None:
        if not isinstance(value, str):
            self.problem(
                "name", "missing" if value is None else f"must be a string, not {_type(value)}"
            )
            return None
        try:
            return validate_read_name(value)
        except InvalidNameError as exc:
            self.problem("name", str(exc))
            return None

    def version(self, value: object) -> Version | None:
        if not isinstance(value, str):
            if value is None:
                self.problem("version", "missing")
            else:
                self.problem(
                    "version", f"must be a string like 1.2.0, not {_type(value)} (quote it)"
                )
            return None
        if value.startswith("v"):
            self.problem("version", f"'{value}' must not start with 'v' (write {value[1:]})")
            return None
        try:
            return Version.parse(value)
        except InvalidVersionError:
            self.problem("version", f"'{value}' is not a SemVer version")
            return None

    def optional_str(self, value: object, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(where, f"must be a string, not {_type(value)}")
            return None
        return value

    def mapping(self, value: object, where: str, ok: Any, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(where, f"must be a mapping, not {_type(value)}")
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self.problem(f"{where}.{key}", "keys must be strings")
            elif not ok(item):
                self.problem(f"{where}.{key}", f"must be {what}, not {_type(item)}")
            else:
                out[key] = item
        return out

    def _records(self, value: object, where: str) -> list[tuple[str, dict[str, Any]]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(where, f"must be a list, not {_type(value)}")
            return []
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.problem(f"{where}[{i}]", f"must be a mapping, not {_type(item)}")
            else:
                out.append((f"{where}[{i}]", item))
        return out

    def _keys(self, item: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in item:
            if key not in allowed:
                self.problem(f"{where}.{key}", f"unknown key (allowed: {', '.join(allowed)})")

    def dependencies(self, value: object) -> tuple[Dependency, ...]:
        out = []
        for where, item in self._records(value, "dependencies"):
            self._keys(item, where, ("name", "version"))
            name, rng = item.get("name"), item.get("version")
            if not isinstance(name, str):
                self.problem(f"{where}.name", "must be a model name")
                continue
            try:
                validate_read_name(name)
            except InvalidNameError as exc:
                self.problem(f"{where}.name", str(exc))
                continue
            if not isinstance(rng, str):
                self.problem(f"{where}.version", "must be a version range string, e.g. '>=1.0.0'")
                continue
            try:
                from .ranges import Range

                Range.parse(rng)
            except InvalidVersionError as exc:
                self.problem(f"{where}.version", str(exc))
                continue
            out.append(Dependency(name, rng))
        return tuple(out)

    def artifacts(self, value: object) -> tuple[ArtifactFile, ...]:
        if value is None:
            self.problem("artifacts", "missing")
            return ()
        out: list[ArtifactFile] = []
        seen: set[str] = set()
        for where, item in self._records(value, "artifacts"):
            self._keys(item, where, ("path", "size", "sha256", "md5"))
            path, size = item.get("path"), item.get("size")
            sha256, md5 = item.get("sha256"), item.get("md5")
            ok = True
            if not isinstance(path, str):
                self.problem(f"{where}.path", "must be a string")
                ok = False
            else:
                issue = safe_relative_path(path)
                if issue:
                    shown = path.encode("unicode_escape").decode("ascii")
                    self.problem(f"{where}.path", f"'{shown}' {issue}")
                    ok = False
                elif path in seen:
                    self.problem(f"{where}.path", f"'{path}' is listed twice")
                    ok = False
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self.problem(f"{where}.size", "must be a non-negative integer")
                ok = False
            elif size > MAX_FILE_SIZE:  # 10**400 in a pushed manifest broke show and pages
                self.problem(f"{where}.size", f"is larger than any file ({MAX_FILE_SIZE} bytes)")
                ok = False
            if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256):
                self.problem(f"{where}.sha256", "must be 64 lower-case hex digits")
                ok = False
            if not isinstance(md5, str) or not _HEX32.fullmatch(md5):
                self.problem(f"{where}.md5", "must be 32 lower-case hex digits")
                ok = False
            if ok:
                seen.add(str(path))
                out.append(ArtifactFile(str(path), int(str(size)), str(sha256), str(md5)))
        return tuple(out)

    def lineage(self, value: object) -> Lineage | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem("lineage", f"must be a mapping, not {_type(value)}")
            return None
        self._keys(value, "lineage", ("code_commit", "data"))
        commit = value.get("code_commit")
        if commit is not None and (not isinstance(commit, str) or not _COMMIT.fullmatch(commit)):
            self.problem("lineage.code_commit", "must be a git commit id (hex)")
            commit = None
        data = []
        for where, item in self._records(value.get("data"), "lineage.data"):
            self._keys(item, where, ("path", "md5"))
            path, md5 = item.get("path"), item.get("md5")
            if not isinstance(path, str) or not path:
                self.problem(f"{where}.path", "must be a string")
                continue
            if md5 is not None and (not isinstance(md5, str) or not _HEX32.fullmatch(md5)):
                self.problem(f"{where}.md5", "must be 32 lower-case hex digits")
                continue
            data.append(DataRef(path, md5))
        return Lineage(commit, tuple(data))

    def created(self, value: object) -> str | None:
        if isinstance(value, dt.datetime):
            try:
                value = format_time(value)
            except (OverflowError, ValueError):
                self.problem("created", f"'{value}' is out of range")
                return None
        if not isinstance(value, str):
            self.problem("created", "missing" if value is None else "must be an ISO 8601 time")
            return None
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.problem("created", f"'{value}' is not an ISO 8601 time")
            return None
        return value


def format_time(moment: dt.datetime) -> str:
    """UTC, seconds, with a Z: 2026-11-22T14:03:11Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
