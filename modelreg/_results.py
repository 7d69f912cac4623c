"""The library's results other than the reads' (see :mod:`results`, the module to
import them from): what writes, file operations, checks and imports return.

Loaded on first use through ``results``: a read pays for none of these classes
(a frozen dataclass costs ~0.3 ms to define; these are most of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import REPAIR, UNFORCEABLE_GATES, ReportError

if TYPE_CHECKING:
    from .manifest import Manifest


@dataclass(frozen=True)
class Published:
    """A version pushed to an OCI registry (``publish``)."""

    name: str
    version: str
    references: tuple[str, ...]  # oci://HOST/REPOSITORY:TAG, one per tag
    digest: str  # the manifest's
    blobs_pushed: int
    blobs_present: int  # the registry had them already
    size: int  # bytes of the version's files


@dataclass(frozen=True)
class InitResult:
    root: Path
    created: tuple[str, ...]
    remote_name: str | None
    remote_url: str | None
    git_initialised: bool
    commit: str | None  # None when there was nothing to commit


@dataclass(frozen=True)
class RegisterResult:
    name: str
    version: str
    tag: str
    commit: str
    manifest: Manifest
    pushed: bool


@dataclass(frozen=True)
class EventResult:
    """A promote, rollback, deprecate or deregister."""

    name: str
    event: str
    version: str | None
    stage: str | None
    tag: str | None  # None when nothing needed doing
    previous: str | None = None  # for promote/rollback: who held the stage before
    changed: bool = True
    pushed: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StagePreview:
    """A promote or rollback not yet made: the version that would hold ``stage``,
    the one holding it now, and every gate that refuses the change (empty: it
    may go ahead; else only with ``force`` and a reason, unless one of them is
    unforceable)."""

    name: str
    event: str  # promote, rollback
    version: str
    stage: str
    current: str | None
    failures: tuple[GateFailure, ...]

    @property
    def forceable(self) -> bool:
        return all(f.gate not in UNFORCEABLE_GATES for f in self.failures)


@dataclass(frozen=True)
class FileResult:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class VersionFiles:
    """A version's files as its manifest records them (nothing is read or fetched)."""

    name: str
    version: str
    files: tuple[FileResult, ...]


@dataclass(frozen=True)
class LocalFile:
    """One file of a version on this machine, its bytes' sha256 checked against the
    manifest: a DVC cache object, or an object of a local-folder DVC remote. It is
    the store's own file, to be read, never written or moved."""

    path: str  # inside the version, as its manifest says
    size: int
    sha256: str  # the manifest's
    local: Path
    # False: not read yet (``local_files(verify=False)``); whoever reads it checks
    # ``sha256`` as it goes and hands out nothing more once it differs.
    verified: bool = True


@dataclass(frozen=True)
class LocalFiles:
    name: str
    version: str
    files: tuple[LocalFile, ...]


@dataclass(frozen=True)
class FilesWritten:
    """A version's files written to a directory (``get``) or the work tree (``checkout``)."""

    name: str
    version: str
    directory: Path
    files: tuple[FileResult, ...]
    warnings: tuple[str, ...] = field(default=(), compare=False)  # as VersionInfo's


GetResult = FilesWritten
CheckoutResult = FilesWritten


@dataclass(frozen=True)
class ReportWritten:
    """``report``: the web page's pages written as static HTML under ``directory``."""

    directory: Path
    pages: int
    models: int


@dataclass(frozen=True)
class SyncResult:
    """A push or pull."""

    remote: str
    tags: int  # tags sent or received
    objects: int  # DVC objects moved
    branch: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class DoctorFinding:
    what: str  # journal, leftover, untagged-commit
    path: str
    message: str
    repaired: bool


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[DoctorFinding, ...]
    repair: bool = False  # whether repairing was asked for

    @property
    def consistent(self) -> bool:
        return all(f.repaired for f in self.findings)

    @property
    def ok(self) -> bool:
        return self.consistent

    def failure(self) -> ReportError | None:
        """The error that makes a doctor with something left to repair fail."""
        if self.consistent:
            return None
        return ReportError(
            f"doctor found {len(self.findings)} problem(s)",
            hint=None if self.repair else REPAIR.text,
            remedy=None if self.repair else REPAIR,
        )


@dataclass(frozen=True)
class GateFailure:
    """A promotion rule that refused a change; ``gate`` is what --force records."""

    gate: str
    message: str


@dataclass(frozen=True)
class ImportStep:
    """One event an import wrote: a registration, a promotion or a deregistration."""

    name: str
    event: str  # register, assign, deregister
    version: str
    stage: str | None
    mlflow_version: int  # the number the version has in the registry it came from


@dataclass(frozen=True)
class ImportResult:
    """``import mlflow``: the events written, in order (empty: nothing was new)."""

    source: str
    steps: tuple[ImportStep, ...]
    skipped: int  # versions imported before
    notes: tuple[str, ...] = ()
