"""``modelreg verify``: tamper evidence, offline.

* every event tag that recorded a manifest digest points at a commit holding exactly
  that manifest (a moved tag, or a rewritten commit, shows here);
* every version's ``.dvc`` files name the md5 its manifest lists;
* every file's bytes have the manifest's sha256: in the work tree, in the DVC cache,
  and (asked for) on the DVC remote;
* signed events carry a good signature; with ``--signatures`` (or for stages listed
  in ``require_signed``) unsigned events are findings too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifest_mod
from .errors import ReportError
from .gitrepo import GitRepo
from .hashing import KnownDigests, sha256_file
from .manifest import Manifest
from .manifests import OnBroken, read_manifests
from .state import Event, ModelState
from .storage import Storage, dvc_file_name, read_dvc_out
from .tags import MANIFEST_SHA256, TRAILER_PREFIX, EventKind


@dataclass(frozen=True, order=True)
class Finding:
    subject: str  # a tag, NAME@vV or a path
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    tags: int  # event tags checked
    versions: int  # versions whose manifest and files were checked
    files: int  # file copies hashed (work tree, cache, remote)
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def failure(self) -> ReportError | None:
        """The error that makes a failing verify fail (None: nothing was found)."""
        if self.ok:
            return None
        return ReportError(f"verify found {len(self.findings)} problem(s)")


@dataclass(frozen=True)
class Scope:
    models: Sequence[ModelState]
    version: str | None = None  # one version only


class Verifier:
    def __init__(
        self,
        git: GitRepo,
        storage: Storage | None,
        manifest_path: Callable[[str], str],
        *,
        remote: str | None,
        check_remote: bool,
        signatures: bool,
        require_signed: Sequence[str],
    ) -> None:
        self.git, self.storage, self.manifest_path = git, storage, manifest_path
        self.remote, self.check_remote = remote, check_remote
        self.signatures, self.require_signed = signatures, tuple(require_signed)
        self.findings: list[Finding] = []
        self.files = 0
        self._registered_at: set[tuple[str, str, str]] = set()  # (name, commit, version)
        # What is read from the DVC cache is remembered for the repository (a
        # server's next download of an object verified here skips the hashing).
        self._known = KnownDigests.of_repository(git.common_dir) if storage else None

    def run(self, scope: Scope) -> VerifyReport:
        self._registered_at = {
            (m.name, v.commit, v.version) for m in scope.models for v in m.versions if v.registered
        }
        events = [
            e
            for m in scope.models
            for e in m.events
            if scope.version is None or e.version == scope.version
        ]
        self._check_event_manifests(events)
        self._check_signatures(events)
        versions = [
            (m.name, v.version, v.commit)
            for m in scope.models
            for v in m.versions
            if v.registered and v.active and (scope.version is None or v.version == scope.version)
        ]
        manifests = self._manifests(versions)
        self._check_dvc_files(manifests)
        self._check_bytes(manifests)
        return VerifyReport(
            len(events), len(manifests), self.files, tuple(sorted(set(self.findings)))
        )

    def _find(self, subject: str, message: str) -> None:
        self.findings.append(Finding(subject, message))

    def _moved_onto(self, name: str, version: str | None, commit: str) -> str | None:
        """Another version registered at this very commit (GTO refuses to register two
        versions on one commit, so one of the tags was moved there)."""
        others = sorted(v for n, c, v in self._registered_at if (n, c) == (name, commit))
        others = [v for v in others if v != version]
        return f"{name}@v{others[0]}" if others else None

    # --- tags ------------------------------------------------------------------

    def _check_event_manifests(self, events: Sequence[Event]) -> None:
        recorded = [e for e in events if e.trailer(MANIFEST_SHA256)]
        unrecorded = [e for e in events if e.kind is EventKind.REGISTER and e not in recorded]
        specs_without = {e.tag: f"{e.commit}:{self.manifest_path(e.name)}" for e in unrecorded}
        without = read_manifests(self.git, specs_without.values(), on_broken=OnBroken.COLLECT)
        for event in unrecorded:
            spec = specs_without[event.tag]
            stored = without.found.get(spec)
            if stored is None and spec not in without.broken:
                continue  # no manifest at its commit
            # A broken manifest, or this version's own, or one a moved tag points at.
            if (
                stored is None
                or stored.describes(event.name, event.version)
                or self._moved_onto(event.name, event.version, event.commit)
            ):
                self._find(
                    event.tag,
                    "its commit holds a manifest but the tag records no digest of it "
                    "(re-tagged by hand or by another tool?)",
                )
        specs = {e.tag: f"{e.commit}:{self.manifest_path(e.name)}" for e in recorded}
        blobs = self.git.read_files(list(specs.values()))
        for event in recorded:
            wanted = event.trailers[TRAILER_PREFIX + MANIFEST_SHA256]
            data = blobs.get(specs[event.tag])
            if data is None:
                self._find(event.tag, "its commit holds no manifest, but the tag recorded one")
            elif manifest_mod.digest(data) != wanted:
                self._find(
                    event.tag,
                    f"the manifest at {event.commit[:10]} has sha256 "
                    f"{manifest_mod.digest(data)[:12]}…, but the tag recorded {wanted[:12]}… "
                    "(the tag was moved or its commit rewritten)",
                )

    def _check_signatures(self, events: Sequence[Event]) -> None:
        for event in events:
            required = event.kind is EventKind.ASSIGN and event.stage in self.require_signed
            if not event.signed:
                if self.signatures or required:
                    why = f" ({event.stage} requires signed events)" if required else ""
                    self._find(event.tag, f"not signed{why}")
                continue
            if self.signatures or required:
                good, detail = self.git.verify_tag(event.tag)
                if not good:
                    self._find(event.tag, f"bad signature: {detail}")

    # --- versions --------------------------------------------------------------

    def _manifests(
        self, versions: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[Manifest, bytes]]:
        wanted = list(versions)
        specs = {key: f"{key[2]}:{self.manifest_path(key[0])}" for key in wanted}
        read = read_manifests(self.git, specs.values(), on_broken=OnBroken.COLLECT)
        out = {}
        for key in wanted:
            subject = f"{key[0]}@v{key[1]}"
            if specs[key] in read.broken:
                self._find(subject, read.broken[specs[key]])
                continue
            stored = read.found.get(specs[key])
            if stored is None:
                continue  # registered without a manifest (GTO): nothing to verify
            manifest, data = stored.manifest, stored.data
            if not stored.describes(key[0], key[1]):
                # Another version's manifest: a tool that registers commits (GTO) tagged
                # a commit modelreg made for another version, or a tag was moved (then
                # the tag's recorded digest differs too, reported with the tags).
                whose = f"v{manifest.version}'s"
                if manifest.name != key[0]:
                    whose = f"{manifest.name} {whose}"
                moved = self._moved_onto(*key)
                why = f" (the tag was moved: {moved} points there too)" if moved else ""
                self._find(
                    subject, f"tag {subject} points at a commit whose manifest is {whose}{why}"
                )
                continue
            out[key] = (manifest, data)
        return out

    def _check_dvc_files(
        self, manifests: dict[tuple[str, str, str], tuple[Manifest, bytes]]
    ) -> None:
        specs: dict[str, tuple[str, manifest_mod.ArtifactFile]] = {}
        for (name, version, commit), (manifest, _data) in manifests.items():
            folder = self.manifest_path(name).rsplit("/", 1)[0]
            for artifact in manifest.artifacts:
                spec = f"{commit}:{folder}/{dvc_file_name(artifact.path)}"
                specs[spec] = (f"{name}@v{version}", artifact)
        blobs = self.git.read_files(list(specs))
        for spec, (subject, artifact) in specs.items():
            data = blobs.get(spec)
            out = read_dvc_out(data) if data is not None else None
            md5 = out.get("md5") if out is not None else None
            dvc_file = dvc_file_name(artifact.path)
            if data is None:
                self._find(subject, f"{dvc_file} is missing from its commit")
            elif out is not None and out.get("path") != artifact.path.rsplit("/", 1)[-1]:
                shown = str(out.get("path")).encode("unicode_escape").decode("ascii")
                self._find(
                    subject,
                    f"{dvc_file}: outs path '{shown}' is not the file beside it",
                )
            elif md5 != artifact.md5:
                self._find(subject, f"{dvc_file} names md5 {md5}, the manifest {artifact.md5}")

    def _check_bytes(self, manifests: dict[tuple[str, str, str], tuple[Manifest, bytes]]) -> None:
        if not manifests:
            return
        root = self.git.root
        for (name, version, _commit), (manifest, data) in manifests.items():
            subject = f"{name}@v{version}"
            folder = root / self.manifest_path(name).rsplit("/", 1)[0]
            current = folder / manifest_mod.MANIFEST_FILE
            if current.is_file() and current.read_bytes() == data:
                for artifact in manifest.artifacts:
                    path = folder / artifact.path
                    if path.is_file():
                        self._compare(subject, f"work-tree file {artifact.path}", path, artifact)
        if self.storage is None:
            return
        artifacts = [
            (f"{name}@v{version}", a)
            for (name, version, _c), (manifest, _d) in manifests.items()
            for a in manifest.artifacts
        ]
        cache = self.storage.cache_objects(sorted({a.md5 for _s, a in artifacts}))
        for subject, artifact in artifacts:
            path = cache[artifact.md5]
            if path.is_file():
                self._compare(
                    subject, f"DVC cache copy of {artifact.path}", path, artifact, self._known
                )
        if self.check_remote:
            remote = self.storage.remote_sha256(sorted({a.md5 for _s, a in artifacts}), self.remote)
            for subject, artifact in artifacts:
                self.files += 1
                got = remote.get(artifact.md5)
                if got is None:
                    self._find(subject, f"{artifact.path} is not on the DVC remote")
                elif got != artifact.sha256:
                    self._find(
                        subject, f"the DVC remote's copy of {artifact.path} {_bad(got, artifact)}"
                    )

    def _compare(
        self,
        subject: str,
        what: str,
        path: Path,
        artifact: manifest_mod.ArtifactFile,
        known: KnownDigests | None = None,
    ) -> None:
        self.files += 1
        got = sha256_file(path) if known is None else known.read(path)
        if got != artifact.sha256:
            self._find(subject, f"{what} {_bad(got, artifact)}")


def _bad(got: str, artifact: manifest_mod.ArtifactFile) -> str:
    return f"has sha256 {got[:12]}…, the manifest says {artifact.sha256[:12]}…"
