"""What the library returns: frozen dataclasses, rendered by the CLI (or used as is).

The reads' results are defined here; every other one (writes, files, checks,
imports) in ``_results.py``, loaded when one of them is first named here, so
that a read imports only the few classes it returns. Import them all from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .records import Record

if TYPE_CHECKING:
    from . import _results
    from .manifest import Manifest

    Published = _results.Published
    InitResult = _results.InitResult
    RegisterResult = _results.RegisterResult
    EventResult = _results.EventResult
    StagePreview = _results.StagePreview
    FileResult = _results.FileResult
    VersionFiles = _results.VersionFiles
    LocalFile = _results.LocalFile
    LocalFiles = _results.LocalFiles
    FilesWritten = _results.FilesWritten
    GetResult = _results.GetResult
    CheckoutResult = _results.CheckoutResult
    ReportWritten = _results.ReportWritten
    SyncResult = _results.SyncResult
    DoctorFinding = _results.DoctorFinding
    DoctorReport = _results.DoctorReport
    GateFailure = _results.GateFailure
    ImportStep = _results.ImportStep
    ImportResult = _results.ImportResult

_Row = TypeVar("_Row")


class Rows(list[_Row]):
    """What a read that answers with many rows returns (``list_models``,
    ``history``): a list, as before, that also carries ``warnings``, the things
    the caller should tell the user about the answer (one line each)."""

    def __init__(self, rows: Iterable[_Row] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(rows)
        self.warnings: tuple[str, ...] = tuple(warnings)


@dataclass(frozen=True, eq=False, repr=False)
class ModelSummary(Record):
    name: str
    latest: str | None  # highest active registered version
    stages: dict[str, str]  # stage -> version
    versions: int  # active registered versions
    deprecated: bool


@dataclass(frozen=True, eq=False, repr=False)
class Publication(Record):
    """Where a version was published: an OCI reference and the manifest's digest
    there (a line of the git note on the version's commit)."""

    reference: str  # oci://HOST/REPOSITORY:TAG
    digest: str  # sha256:...


@dataclass(frozen=True, eq=False, repr=False)
class VersionInfo(Record):
    name: str
    version: str
    commit: str
    tag: str | None
    registered: bool
    active: bool
    deprecated: bool
    registered_at: int | None
    author: str | None
    stages: tuple[str, ...]
    manifest: Manifest | None
    manifest_sha256: str | None  # of the bytes at the version's commit
    recorded_sha256: str | None  # what the registration tag's trailer says
    # "NAME vX" when the manifest at the commit is another version's (then ``manifest``
    # is None: a tool that registers commits tagged one modelreg made for vX)
    manifest_of: str | None = None
    # where it was published (OCI registries), from the git note on its commit
    published: tuple[Publication, ...] = ()
    # what the caller should tell the user about this answer (one line each)
    warnings: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, eq=False, repr=False)
class HistoryEntry(Record):
    timestamp: int
    name: str
    event: str  # register, deregister, assign, unassign, rollback, deprecate
    version: str | None
    stage: str | None
    author: str
    author_email: str
    reason: str | None
    tag: str
    commit: str
    # the gates a forced promote or rollback overrode (its ``Forced`` trailer)
    forced: tuple[str, ...] = ()
    signed: bool = False  # the tag carries a signature (``verify`` checks it)


@dataclass(frozen=True, eq=False, repr=False)
class Resolved(Record):
    name: str
    version: str
    commit: str
    warnings: tuple[str, ...] = field(default=(), compare=False)  # as VersionInfo's


_ELSEWHERE = frozenset(
    (
        "Published",
        "InitResult",
        "RegisterResult",
        "EventResult",
        "StagePreview",
        "FileResult",
        "VersionFiles",
        "LocalFile",
        "LocalFiles",
        "FilesWritten",
        "GetResult",
        "CheckoutResult",
        "ReportWritten",
        "SyncResult",
        "DoctorFinding",
        "DoctorReport",
        "GateFailure",
        "ImportStep",
        "ImportResult",
    )
)


def __getattr__(name: str) -> object:
    if name in _ELSEWHERE:
        from . import _results

        return getattr(_results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
