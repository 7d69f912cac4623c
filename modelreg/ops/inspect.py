"""check, verify, doctor: what is wrong with the registry, and repairing
what an interrupted command left. ``check`` and ``verify`` only read;
``doctor --repair`` takes the write lock.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..refs import Ref, parse_ref
from ..results import DoctorFinding, DoctorReport
from .init import remove_path

if TYPE_CHECKING:
    from ..check import CheckReport
    from ..registry import Registry
    from ..verify import VerifyReport


def check(self: Registry) -> CheckReport:
    """Validate ``.modelreg.yaml`` and every manifest in the work tree (schema,
    types, SemVer, SPDX licences, ranges, resolvable dependencies, cycles, the
    ``.dvc`` files, registered manifests unchanged). Reads files and tags only."""
    from ..check import Problem
    from ..check import check as check_registry

    report = check_registry(self.root, self.state())
    found = [Problem(h.path, "", h.message) for h in self._dvc_internals()]
    if not found:
        return report
    return replace(report, problems=tuple(sorted(set(report.problems) | set(found))))


def verify(
    self: Registry, ref: str | Ref | None = None, *, remote: bool = False, signatures: bool = False
) -> VerifyReport:
    """Tamper evidence for every version (or one model, or one version), offline
    unless ``remote``: tags against the manifests they recorded, ``.dvc`` files
    against manifests, bytes (work tree, DVC cache, remote) against sha256s,
    and signatures (all of them with ``signatures``; else where required)."""
    from ..hostile import scan as scan_hostile
    from ..storage import is_initialised
    from ..verify import Finding, Scope, Verifier

    state = self.state(from_git=True)  # tamper evidence: never from the state cache
    models = list(state.models.values())
    version = None
    if ref is not None:
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        model = self._model(ref.name)
        models = [model]
        if not ref.is_bare:
            version = self._pick(model, ref).version
    verifier = Verifier(
        self.git,
        self.storage if is_initialised(self.root) else None,
        self.manifest_path,
        remote=self.config.remote,
        check_remote=remote,
        signatures=signatures,
        require_signed=self.config.require_signed,
    )
    report = verifier.run(Scope(models, version))
    # What a pull, checkout or register here would refuse: hostile entries in the
    # work tree (all of them, or those in the one model's folder).
    folder = None if ref is None else self.model_dir(models[0].name) + "/"
    found = [
        Finding(h.path, h.message)
        for h in scan_hostile(self.root, self.config.models_dir) + self._dvc_internals()
        if folder is None or h.path.startswith(folder)
    ]
    if not found:
        return report
    findings = tuple(sorted(set(report.findings) | set(found)))
    return replace(report, findings=findings)


def doctor(self: Registry, *, repair: bool = False) -> DoctorReport:
    """Find half-finished work left by a command that was killed, and with
    ``repair`` finish it (its tag exists) or take it back; remove modelreg's
    own leftovers. Never touches anything the user wrote."""
    from ..txn import pending as pending_journals
    from ..txn import recover as recover_journal

    findings: list[DoctorFinding] = []
    # A repair takes the write lock; a report takes none and writes nothing (it
    # must run on a read-only repository), but refuses while a writer runs, whose
    # work in progress would look interrupted.
    with self._locked(repairing=True) if repair else self._no_writer():
        for journal in pending_journals(self.git.common_dir):
            found = recover_journal(journal, self.git.tag_exists, repair)
            verb = found.action if repair else f"would be {found.action}"
            findings.append(
                DoctorFinding(
                    "journal", found.journal, f"interrupted {found.description}: {verb}", repair
                )
            )
        leftovers = _leftovers(self.git.git_dir, self.root, self.config.models_dir)
        for path in leftovers + _abandoned_in_cache(self):
            rel = path.relative_to(self.root) if self.root in path.parents else path
            if repair:
                remove_path(path)
            findings.append(
                DoctorFinding("leftover", str(rel), "left by an interrupted command", repair)
            )
        findings += _untagged_commits(self)
    self._forget()
    return DoctorReport(tuple(findings), repair=repair)


def _untagged_commits(self: Registry) -> list[DoctorFinding]:
    """Registry commits on this branch that no tag points at (history only reports
    them: HEAD has moved on, and rewriting history is the user's call)."""
    tagged = {t.target for t in self.git.tags()}
    out = []
    for sha, subject in self.git.recent_commits(50):
        if subject.startswith("modelreg: register ") and sha not in tagged:
            out.append(
                DoctorFinding(
                    "untagged-commit",
                    sha[:12],
                    f"'{subject}' has no tag (the event never happened); "
                    "revert it if you do not want its files",
                    False,
                )
            )
    return out


def _abandoned_in_cache(self: Registry) -> list[Path]:
    """Partial copies in the DVC cache whose writer was killed (a repository without
    DVC, a GTO registry, has no cache; a DVC config that cannot be read leaves none
    to find: ``check`` names that problem)."""
    from ..errors import NotInitialisedError, StorageError

    try:
        return self.storage.local_cache().abandoned()
    except (NotInitialisedError, StorageError):
        return []


def _leftovers(git_dir: Path, root: Path, models_dir: str) -> list[Path]:
    """modelreg's temporary files that no running command owns (the caller holds
    the lock): private indexes, and staging, backup and partial files. A models
    folder reached through a symlink is not looked into (it leads elsewhere)."""
    from ..paths import symlink_below

    found = sorted(git_dir.glob("modelreg-index-*")) + sorted(git_dir.glob("modelreg-txn-*"))
    found += sorted((git_dir / "modelreg").glob("commit-index-*"))  # kept by earlier versions
    models = root / models_dir
    if models.is_dir() and symlink_below(root, models) is None:
        found += sorted(p for p in models.rglob("*.modelreg-*") if p.is_file())
        found += sorted(p for p in models.rglob(".modelreg-*") if p.is_dir())
    return found
