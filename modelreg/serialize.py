"""Results as JSON documents: one pure function per result type, shared by every face.

``--json`` (through :mod:`modelreg.render`, which prints) and the HTTP answers to come
both call these, so the two never drift apart. Each function takes a result the
library returns and gives a JSON-ready ``dict`` (str keys; str, int, float, bool,
None, lists and dicts as values); nothing here prints, reads git or imports Click.

The shapes are part of the interface (README, "JSON output"): keys may be added,
never renamed or removed; key order is the order written here. Versions never
carry the ``v``; times are UTC ISO 8601; paths are strings.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .check import CheckReport, Problem
    from .deps import Conflict, Dependent, Node, Tree
    from .diff import Change, FileChange, VersionDiff
    from .manifest import Manifest
    from .results import (
        DoctorFinding,
        DoctorReport,
        EventResult,
        FileResult,
        FilesWritten,
        GateFailure,
        HistoryEntry,
        ImportResult,
        ImportStep,
        InitResult,
        LocalFile,
        LocalFiles,
        ModelSummary,
        Publication,
        Published,
        RegisterResult,
        ReportWritten,
        Resolved,
        StagePreview,
        SyncResult,
        VersionFiles,
        VersionInfo,
    )
    from .storage import RemoteSettings
    from .tokens import Token
    from .verify import Finding, VerifyReport
    from .webhooks import Notice

Document = dict[str, Any]


def dumps(document: Mapping[str, Any]) -> str:
    """The text ``--json`` prints (without the final newline): two-space indents,
    keys in the order the serializer wrote them, non-ASCII escaped."""
    return json.dumps(document, indent=2, sort_keys=False)


def iso_time(timestamp: int | None) -> str | None:
    """A Unix time as UTC ISO 8601 (``2026-11-22T16:35:32Z``)."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest(found: Manifest | None) -> Document | None:
    return found.to_dict() if found is not None else None


# --- reads ---------------------------------------------------------------------


def model_summary(summary: ModelSummary) -> Document:
    return {
        "name": summary.name,
        "latest": summary.latest,
        "stages": summary.stages,
        "versions": summary.versions,
        "deprecated": summary.deprecated,
    }


def models(summaries: Sequence[ModelSummary]) -> Document:
    """``list``."""
    return {"models": [model_summary(s) for s in summaries]}


def version_info(info: VersionInfo) -> Document:
    """``show``."""
    return {
        "name": info.name,
        "version": info.version,
        "commit": info.commit,
        "tag": info.tag,
        "registered": info.registered,
        "active": info.active,
        "deprecated": info.deprecated,
        "registered_at": iso_time(info.registered_at),
        "author": info.author,
        "stages": list(info.stages),
        "manifest_sha256": info.manifest_sha256,
        "recorded_sha256": info.recorded_sha256,
        "manifest": manifest(info.manifest),
        "published": [publication(p) for p in info.published],
    }


def history_entry(entry: HistoryEntry) -> Document:
    return {
        "time": iso_time(entry.timestamp),
        "name": entry.name,
        "event": entry.event,
        "version": entry.version,
        "stage": entry.stage,
        "author": entry.author,
        "author_email": entry.author_email,
        "reason": entry.reason,
        "tag": entry.tag,
        "commit": entry.commit,
    }


def history(entries: Sequence[HistoryEntry]) -> Document:
    """``history``."""
    return {"events": [history_entry(e) for e in entries]}


def webhook_notice(notice: Notice) -> Document:
    """An event as webhooks announce it: its id (the tag object id, the same for
    every receiver, retry and replica), the ``history`` entry, and its model as
    ``list`` shows it just after."""
    return {
        "id": notice.id,
        "event": history_entry(notice.entry),
        "model": model_summary(notice.model) if notice.model is not None else None,
        "registry": notice.registry,
    }


def webhook_event(notice: Document, delivery: str, attempt: int, sent_at: int) -> Document:
    """The body a webhook receiver gets: :func:`webhook_notice` and this attempt
    (the time is inside the signed body, so a replay cannot pass for a new one)."""
    return {
        **notice,
        "delivery": {"id": delivery, "attempt": attempt, "sent_at": iso_time(sent_at)},
    }


def resolved(result: Resolved) -> Document:
    """``resolve``."""
    return {"name": result.name, "version": result.version, "commit": result.commit}


# --- dependencies, check, verify, doctor, diff -----------------------------------


def node(found: Node) -> Document:
    return {
        "name": found.name,
        "version": found.version,
        "range": found.range,
        "status": str(found.status),
        "detail": found.detail or None,
        "dependencies": [node(child) for child in found.children],
    }


def conflict(found: Conflict) -> Document:
    return {"name": found.name, "wanted": [{"by": by, "range": r} for by, r in found.wanted]}


def tree(found: Tree) -> Document:
    """``deps``."""
    return {
        "name": found.root.name,
        "version": found.root.version,
        "stage": found.stage,
        "ok": found.ok,
        "tree": node(found.root),
        "conflicts": [conflict(c) for c in found.conflicts],
        "cycles": [list(cycle) for cycle in found.cycles],
    }


def gate_failure(found: GateFailure) -> Document:
    """One gate refusing a stage change (what ``promote`` shows before ``--force``)."""
    return {"gate": found.gate, "message": found.message}


def stage_preview(found: StagePreview) -> Document:
    """A promote or rollback not yet made, and what the gates say about it."""
    return {
        "name": found.name,
        "event": found.event,
        "version": found.version,
        "stage": found.stage,
        "current": found.current,
        "failures": [gate_failure(f) for f in found.failures],
        "forceable": found.forceable,
    }


def dependent(found: Dependent) -> Document:
    return {
        "name": found.name,
        "version": found.version,
        "range": found.range,
        "stages": list(found.stages),
        "satisfied_by": found.satisfied_by,
    }


def dependents(name: str, stage: str | None, found: Sequence[Dependent]) -> Document:
    """``deps --reverse``: the versions that depend on ``name`` (resolved in ``stage``)."""
    return {"name": name, "stage": stage, "dependents": [dependent(d) for d in found]}


def problem(found: Problem) -> Document:
    return {"path": found.path, "field": found.field, "message": found.message}


def check_report(report: CheckReport) -> Document:
    """``check``."""
    return {
        "ok": report.ok,
        "checked": list(report.checked),
        "problems": [problem(p) for p in report.problems],
    }


def finding(found: Finding) -> Document:
    return {"subject": found.subject, "message": found.message}


def verify_report(report: VerifyReport) -> Document:
    """``verify``."""
    return {
        "ok": report.ok,
        "tags": report.tags,
        "versions": report.versions,
        "files": report.files,
        "findings": [finding(f) for f in report.findings],
    }


def doctor_finding(found: DoctorFinding) -> Document:
    return {
        "what": found.what,
        "path": found.path,
        "message": found.message,
        "repaired": found.repaired,
    }


def doctor_report(report: DoctorReport) -> Document:
    """``doctor``."""
    return {
        "consistent": report.consistent,
        "findings": [doctor_finding(f) for f in report.findings],
    }


def change(found: Change) -> Document:
    return {
        "section": found.section,
        "key": found.key,
        "old": found.old,
        "new": found.new,
        "delta": found.delta,
        "status": found.status,
    }


def file_change(found: FileChange) -> Document:
    return {
        "path": found.path,
        "status": found.status,
        "old_size": found.old_size,
        "new_size": found.new_size,
        "old_sha256": found.old_sha256,
        "new_sha256": found.new_sha256,
    }


def version_diff(result: VersionDiff) -> Document:
    """``diff``."""
    return {
        "a": {"name": result.name_a, "version": result.version_a},
        "b": {"name": result.name_b, "version": result.version_b},
        "identical": result.identical,
        "changes": [change(c) for c in result.changes],
        "files": [file_change(f) for f in result.files],
    }


def remote_settings(remote: RemoteSettings) -> Document:
    """One DVC remote; credential values are never in it, only their keys."""
    return {
        "name": remote.name,
        "url": remote.url,
        "default": remote.default,
        "options": remote.options,
        "local_options": list(remote.local_keys),
    }


def remotes(found: Sequence[RemoteSettings]) -> Document:
    """``remote list``."""
    return {"remotes": [remote_settings(r) for r in found]}


def token(found: Token) -> Document:
    """One server token: who and what it may do; never its secret or the secret's hash."""
    return {
        "name": found.name,
        "role": found.role,
        "email": found.email,
        "created": iso_time(found.created),
    }


def tokens(found: Sequence[Token]) -> Document:
    """``token list``."""
    return {"tokens": [token(t) for t in found]}


# --- writes --------------------------------------------------------------------


def init_result(result: InitResult) -> Document:
    """``init``: ``commit`` is null when the registry was already set up."""
    return {
        "root": str(result.root),
        "created": [str(path) for path in result.created],
        "remote_name": result.remote_name,
        "remote_url": result.remote_url,
        "git_initialised": result.git_initialised,
        "commit": result.commit,
    }


def register_result(result: RegisterResult) -> Document:
    """``register``."""
    return {
        "name": result.name,
        "version": result.version,
        "tag": result.tag,
        "commit": result.commit,
        "pushed": result.pushed,
        "manifest": result.manifest.to_dict(),
    }


def event_result(result: EventResult) -> Document:
    """``promote``, ``rollback``, ``deprecate`` (of a model or, deregistering, of a
    version): ``tag`` is null and ``changed`` false when nothing needed doing;
    ``previous`` is the version that held the stage before."""
    return {
        "name": result.name,
        "event": result.event,
        "version": result.version,
        "stage": result.stage,
        "tag": result.tag,
        "previous": result.previous,
        "changed": result.changed,
        "pushed": result.pushed,
        "notes": list(result.notes),
    }


def file_result(found: FileResult) -> Document:
    return {"path": found.path, "size": found.size, "sha256": found.sha256}


def files_written(result: FilesWritten) -> Document:
    """``get`` and ``checkout``: every file written, its sha256 verified."""
    return {
        "name": result.name,
        "version": result.version,
        "directory": str(result.directory),
        "files": [file_result(f) for f in result.files],
    }


def report_written(result: ReportWritten) -> Document:
    """``report``: where the pages are, how many, for how many models."""
    return {"directory": str(result.directory), "pages": result.pages, "models": result.models}


def version_files(result: VersionFiles) -> Document:
    """A version's files as its manifest records them (``GET .../files``): each one's
    path inside the version, size and sha256 (the ``ETag`` it is served with)."""
    return {
        "name": result.name,
        "version": result.version,
        "files": [file_result(f) for f in result.files],
    }


def local_file(found: LocalFile) -> Document:
    return {
        "path": found.path,
        "size": found.size,
        "sha256": found.sha256,
        "local": str(found.local),
    }


def local_files(result: LocalFiles) -> Document:
    """Where this machine holds a version's verified bytes (the store's own files)."""
    return {
        "name": result.name,
        "version": result.version,
        "files": [local_file(f) for f in result.files],
    }


def sync_result(result: SyncResult) -> Document:
    """``push`` and ``pull``: ``tags`` sent or received, ``objects`` (DVC files) moved."""
    return {
        "remote": result.remote,
        "tags": result.tags,
        "objects": result.objects,
        "branch": result.branch,
        "notes": list(result.notes),
    }


def import_step(found: ImportStep) -> Document:
    return {
        "name": found.name,
        "event": found.event,
        "version": found.version,
        "stage": found.stage,
        "mlflow_version": found.mlflow_version,
    }


def import_result(result: ImportResult) -> Document:
    """``import mlflow``: ``steps`` in the order they were written."""
    return {
        "source": result.source,
        "steps": [import_step(s) for s in result.steps],
        "skipped": result.skipped,
        "notes": list(result.notes),
    }


def publication(place: Publication) -> Document:
    return {"reference": place.reference, "digest": place.digest}


def published(result: Published) -> Document:
    """``publish``: where the version went (one reference per tag), the manifest's
    digest, and how many file blobs were sent or already there."""
    return {
        "name": result.name,
        "version": result.version,
        "references": list(result.references),
        "digest": result.digest,
        "blobs_pushed": result.blobs_pushed,
        "blobs_present": result.blobs_present,
        "size": result.size,
    }


# --- by type -------------------------------------------------------------------


def serializers() -> dict[type, Callable[[Any], Document]]:
    """Every result type the library returns (and each part of one) → its serializer.

    A list the library returns (``list_models``, ``history``, ``dependents``,
    ``remotes``) is serialized item by item here; its document is :func:`models`,
    :func:`history`, :func:`dependents` or :func:`remotes`.
    """
    from . import check, deps, diff, results, storage, verify

    return {
        results.ModelSummary: model_summary,
        results.VersionInfo: version_info,
        results.HistoryEntry: history_entry,
        results.Resolved: resolved,
        results.InitResult: init_result,
        results.RegisterResult: register_result,
        results.EventResult: event_result,
        results.FileResult: file_result,
        results.FilesWritten: files_written,
        results.VersionFiles: version_files,
        results.LocalFile: local_file,
        results.LocalFiles: local_files,
        results.SyncResult: sync_result,
        results.ReportWritten: report_written,
        results.ImportStep: import_step,
        results.ImportResult: import_result,
        results.Published: published,
        results.Publication: publication,
        results.DoctorFinding: doctor_finding,
        results.DoctorReport: doctor_report,
        check.Problem: problem,
        check.CheckReport: check_report,
        verify.Finding: finding,
        verify.VerifyReport: verify_report,
        deps.Node: node,
        deps.Conflict: conflict,
        deps.Tree: tree,
        deps.Dependent: dependent,
        results.GateFailure: gate_failure,
        results.StagePreview: stage_preview,
        diff.Change: change,
        diff.FileChange: file_change,
        diff.VersionDiff: version_diff,
        storage.RemoteSettings: remote_settings,
    }


def to_dict(result: object) -> Document:
    """The JSON document of any one result (see :func:`serializers`)."""
    try:
        serializer = serializers()[type(result)]
    except KeyError:
        raise TypeError(f"no JSON shape for {type(result).__name__}") from None
    return serializer(result)
