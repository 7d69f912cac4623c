"""Registering a version: one transaction that either completes or is taken back.

The steps run in an order that can be undone, the tag last: move the previous
version's bytes aside, untrack files the new version drops, copy the new files
in while hashing them (sha256 and DVC's md5 in one read), hand them to DVC,
write the manifest, commit exactly the registry's files, move HEAD, tag. Each
step records how to take itself back; a failure runs those records newest first.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import manifest as manifest_mod
from .errors import DirtyStateError, InputPathError, InvalidReferenceError, VersionExistsError
from .gitrepo import GitRepo
from .hashing import Digests, copy_to, digest_file
from .manifest import MANIFEST_FILE, ArtifactFile, DataRef, Dependency, Lineage, Manifest, Scalar
from .progress import Progress
from .state import ModelState
from .storage import LocalCache, Storage, StoredFile, link_file
from .tags import format_message, validate_read_name
from .versions import FIRST_VERSION, BumpPart, Range, Version

_REGISTRY_FILES = (MANIFEST_FILE, ".gitignore")


@dataclass(frozen=True)
class Metadata:
    """What the user says about a version; goes into the manifest as is."""

    author: str
    description: str | None = None
    license: str | None = None
    framework: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | int] = field(default_factory=dict)
    params: dict[str, Scalar] = field(default_factory=dict)
    dependencies: tuple[Dependency, ...] = ()
    lineage: Lineage | None = None


@dataclass(frozen=True)
class Source:
    path: Path  # where the bytes are now
    rel: str  # where they go, relative to the model folder
    in_place: bool  # already at models/<name>/<rel>


@dataclass(frozen=True)
class Registered:
    tag: str
    commit: str
    manifest: Manifest


class Undo:
    """Steps to take back, run newest first when something fails."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], object]] = []

    def add(self, step: Callable[[], object]) -> None:
        self._steps.append(step)

    def run(self) -> None:
        while self._steps:
            step = self._steps.pop()
            with suppress(Exception):
                step()

    def clear(self) -> None:
        self._steps.clear()


class Registration:
    """Register ``version`` of ``name`` from ``sources`` on top of ``head``.

    ``base`` is the commit whose model folder the work tree holds now: HEAD, or an
    older version's commit after ``modelreg checkout``. The caller holds the write
    lock and has checked names, the version and the dependencies; this class moves
    files, commits and tags, or leaves no trace.
    """

    def __init__(
        self,
        git: GitRepo,
        storage: Storage,
        progress: Progress,
        *,
        name: str,
        model_dir: str,
        version: Version,
        head: str | None,
        base: str | None,
    ) -> None:
        self.git, self.storage, self.progress = git, storage, progress
        self.root = git.root
        self.name, self.model_dir, self.version = name, model_dir, version
        self.head, self.base = head, base
        self.folder = self.root / model_dir
        self.undo = Undo()

    def run(
        self, sources: Sequence[Source], metadata: Metadata, tag: str, message: str | None
    ) -> Registered:
        try:
            done = self._run(sources, metadata, tag, message)
        except BaseException:
            self.undo.run()
            raise
        self.undo.clear()
        return done

    def _run(
        self, sources: Sequence[Source], metadata: Metadata, tag: str, message: str | None
    ) -> Registered:
        previous = self._previous_manifest()
        old = previous.artifacts if previous else ()
        self._refuse_overwrites(old, sources)
        self._refuse_git_tracked(sources)
        in_place = {s.rel for s in sources if s.in_place}
        tracked_before = self.git.tracked_files(self.base, self.model_dir) if self.base else []
        at_head = self.git.tracked_files(self.head, self.model_dir) if self.head else []

        # 1. Move the previous version's bytes aside (they are in the DVC cache too).
        backup = Path(tempfile.mkdtemp(prefix="modelreg-txn-", dir=self.git.git_dir))
        self.undo.add(partial(shutil.rmtree, backup, ignore_errors=True))
        for index, artifact in enumerate(old):
            current = self.folder / artifact.path
            if artifact.path not in in_place and current.exists():
                saved = backup / str(index)
                os.replace(current, saved)
                self.undo.add(partial(os.replace, saved, current))

        # 2. Untrack the files the new version no longer has.
        self.undo.add(partial(self._restore_tracked, tracked_before))
        kept = {s.rel for s in sources}
        self.storage.untrack([self.folder / (a.path + ".dvc") for a in old if a.path not in kept])

        # 3. Put the new bytes in the DVC cache and in place, hashing them on the way.
        cache = self.storage.local_cache()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.undo.add(partial(_remove_empty_dirs, self.folder, self.folder.parent))
        kind = cache.link_kind(self.folder)
        digests = {source.rel: self._place(source, cache, kind) for source in sources}

        # 4. Track them with DVC (metafiles only: the bytes are where they belong).
        ordered = sorted(digests.items())
        self.storage.add([StoredFile(self.folder / rel, d.md5, d.size) for rel, d in ordered])

        # 5. Write the manifest.
        manifest = Manifest(
            name=self.name,
            version=self.version,
            artifacts=tuple(ArtifactFile(rel, d.size, d.sha256, d.md5) for rel, d in ordered),
            created=manifest_mod.format_time(now()),
            description=metadata.description,
            author=metadata.author,
            license=metadata.license,
            framework=metadata.framework,
            labels=dict(metadata.labels),
            metrics=dict(metadata.metrics),
            params=dict(metadata.params),
            dependencies=metadata.dependencies,
            lineage=metadata.lineage,
        )
        data = manifest_mod.dumps(manifest)
        write_atomic(self.folder / MANIFEST_FILE, data)

        # 6. Commit exactly the registry's files, move HEAD, then tag: the tag comes last.
        paths = self._registry_paths(tracked_before + at_head)
        title = f"{self.name} {self.version.tag_form}"
        commit = self.git.commit_paths(paths, f"modelreg: register {title}", parent=self.head)
        self.git.advance_head(commit, self.head, f"modelreg register {self.name}")
        self.undo.add(partial(self.git.reset_head, self.head, commit))
        trailers = {
            "Event": "register",
            "Version": str(self.version),
            "Manifest-Sha256": manifest_mod.digest(data),
        }
        if message:
            trailers["Reason"] = message
        self.git.create_tag(tag, commit, format_message(f"Register {title}", trailers))

        # Done: the user's index learns the new commit for our paths only.
        self.git.sync_index(paths)
        shutil.rmtree(backup, ignore_errors=True)
        return Registered(tag, commit, manifest)

    def _place(self, source: Source, cache: LocalCache, kind: str) -> Digests:
        """Read the source once: into the DVC cache (and, when the cache cannot be
        linked from, into the model folder too), hashing sha256 and md5 on the way.

        A file already in the model folder stays where it is, and goes into the
        cache as a reflink or hardlink when DVC's cache type says so and the
        filesystem allows it (no bytes written; a hardlinked file turns read-only,
        as with DVC), else as a copy. Any other file lands in the folder as DVC's
        link type says: a reflink, hardlink or symlink to the cache object, or a
        second copy written in the same pass. Each step is undone if the
        registration fails (a hardlinked file gets its mode back).
        """
        size = source.path.stat().st_size
        staged = cache.staging_file()
        self.undo.add(partial(staged.unlink, missing_ok=True))
        if source.in_place:
            if kind == "hardlink":
                mode = stat.S_IMODE(source.path.stat().st_mode)
                self.undo.add(partial(_chmod, source.path, mode))
            with self.progress.task(f"hashing {source.rel}", size) as task:
                if kind in ("reflink", "hardlink") and _try_link(kind, source.path, staged):
                    digests = digest_file(staged, task)
                else:
                    digests = copy_to(source.path, [staged], task, md5=True)
            self._commit_object(cache, staged, digests.md5)
            return digests
        target = self.folder / source.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        self.undo.add(partial(_remove_empty_dirs, target.parent, self.folder.parent))
        partial_file = target.with_name(f".{target.name}.modelreg-{os.getpid()}")
        self.undo.add(partial(partial_file.unlink, missing_ok=True))
        copies = [staged, partial_file] if kind == "copy" else [staged]
        with self.progress.task(f"copying {source.rel}", size) as task:
            digests = copy_to(source.path, copies, task, md5=True)
        self._commit_object(cache, staged, digests.md5)
        if kind != "copy":
            try:
                cache.link(kind, digests.md5, partial_file)
            except OSError:  # a link that worked on the probe failed here: copy instead
                copy_to(cache.object_path(digests.md5), [partial_file])
        os.replace(partial_file, target)
        self.undo.add(partial(target.unlink, missing_ok=True))
        return digests

    def _commit_object(self, cache: LocalCache, staged: Path, md5: str) -> None:
        final, new = cache.commit(staged, md5)
        if new:
            self.undo.add(partial(self.storage.remove_cache_objects, [final]))

    def _previous_manifest(self) -> Manifest | None:
        if self.base is None:
            return None
        path = f"{self.model_dir}/{MANIFEST_FILE}"
        data = self.git.read_file(self.base, path)
        return manifest_mod.loads(data, path) if data is not None else None

    def _refuse_overwrites(self, old: Sequence[ArtifactFile], sources: Sequence[Source]) -> None:
        """Refuse to replace or remove bytes in the model folder that no version has."""
        registered = {a.path: a for a in old}
        in_place = {s.rel for s in sources if s.in_place}
        for source in sources:
            target = self.folder / source.rel
            if not source.in_place and target.exists() and source.rel not in registered:
                raise DirtyStateError(
                    f"{target.relative_to(self.root)} exists and is not part of any registered "
                    "version; move it away or register it in place",
                )
        check = [
            (self.folder / rel, a.md5)
            for rel, a in registered.items()
            if rel not in in_place and (self.folder / rel).exists()
        ]
        differ = self.storage.differing(check)
        if differ:
            raise DirtyStateError(
                f"{differ[0].relative_to(self.root)} has changes that are not registered",
                hint="register the changed file as a new version, or restore it with "
                "'modelreg checkout NAME@latest'",
            )

    def _refuse_git_tracked(self, sources: Sequence[Source]) -> None:
        """A file git tracks cannot be DVC's too (``dvc add`` refuses it as well)."""
        in_git = set(self.git.tracked_files(None, self.model_dir))
        for source in sources:
            rel = f"{self.model_dir}/{source.rel}"
            if rel in in_git:
                raise InputPathError(
                    f"{rel} is tracked by git; model files go to DVC",
                    hint=f"stop tracking it in git first: git rm --cached {rel}",
                )

    def _restore_tracked(self, tracked: list[str]) -> None:
        """Undo step: the registry's own files back as they were (as at ``base``)."""
        now = set(self.git.tracked_files(None, self.model_dir))
        for path in self.folder.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            own = path.name.endswith(".dvc") or path.name in _REGISTRY_FILES
            if path.is_file() and own and rel not in tracked and rel not in now:
                path.unlink()
        if tracked and self.base:
            self.git.restore_worktree(self.base, tracked)
        _remove_empty_dirs(self.folder, self.folder.parent)

    def _registry_paths(self, tracked_before: list[str]) -> list[str]:
        paths = set(tracked_before)
        for path in self.folder.rglob("*"):
            if path.is_file() and (path.name.endswith(".dvc") or path.name in _REGISTRY_FILES):
                paths.add(path.relative_to(self.root).as_posix())
        return sorted(paths)


# --- checking what the user asked for -------------------------------------------------


def next_version(model: ModelState | None, version: str | None, bump: BumpPart | None) -> Version:
    """The version to register: the one asked for, or a bump of the highest ever used
    (deregistered ones included: a number is never reused)."""
    if version is not None and bump is not None:
        raise InvalidReferenceError("give either a version or a bump, not both")
    used = [v.semver for v in (model.versions if model else ()) if v.registered and v.semver]
    if version is not None:
        wanted = Version.parse(version)
        if any(str(u) == str(wanted) for u in used):
            raise VersionExistsError(
                f"{model.name if model else ''}@{wanted.tag_form} is already registered",
                hint="a registered version never changes: register a new version",
            )
        return wanted
    highest = max(used, key=Version.precedence_key, default=None)
    return FIRST_VERSION if highest is None else highest.bump(bump or "minor")


def collect_sources(
    paths: Sequence[str | Path], folder: Path, private: Sequence[Path]
) -> list[Source]:
    """Files to register and where each goes under the model folder.

    A file keeps its name; a directory's files keep their layout. Files already
    in the model folder are registered in place.
    """
    if not paths:
        raise InputPathError("give at least one file or directory to register")
    sources: list[Source] = []
    home = folder.resolve()
    for raw in paths:
        path = Path(raw)
        if str(raw).startswith("-"):
            raise InputPathError(f"'{raw}' is not a path (it starts with '-')")
        if not path.exists():
            raise InputPathError(f"{raw}: no such file or directory")
        real = path.resolve()
        if any(real == p or p in real.parents for p in private):
            raise InputPathError(f"{raw}: is inside .git or .dvc; register the model files")
        if real.is_dir():
            files = [
                p
                for p in sorted(real.rglob("*"))
                if p.is_file() and not _skipped(p.relative_to(real), real == home)
            ]
            if not files:
                raise InputPathError(f"{raw}: the directory has no files to register")
            for file in files:
                rel = file.relative_to(real).as_posix()
                sources.append(Source(file, rel, file == home / rel))
        elif real.is_file():
            sources.append(Source(real, path.name, real == home / path.name))
        else:
            raise InputPathError(f"{raw}: not a regular file or directory")
    seen: dict[str, Path] = {}
    for source in sources:
        problem = manifest_mod.safe_relative_path(source.rel)
        if problem:
            raise InputPathError(f"{source.path}: cannot be stored as '{source.rel}': {problem}")
        if source.rel in seen:
            raise InputPathError(
                f"two files would both be stored as '{source.rel}' "
                f"({seen[source.rel]} and {source.path})"
            )
        seen[source.rel] = source.path
    return sources


def parse_dependency(text: str) -> Dependency:
    """``NAME@RANGE`` from the command line."""
    name, sep, rng = text.partition("@")
    if not sep or not rng:
        raise InvalidReferenceError(
            f"--dep '{text}': write NAME@RANGE, e.g. text-embedder@>=2.0.0,<3.0.0"
        )
    validate_read_name(name)
    Range.parse(rng)
    return Dependency(name, rng)


def lineage(root: Path, data: Sequence[str | Path], code_commit: str | None) -> Lineage | None:
    refs = []
    for raw in data:
        path = Path(raw)
        if not path.exists():
            raise InputPathError(f"--data {raw}: no such file or directory")
        real = path.resolve()
        try:
            shown = real.relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = str(real)
        refs.append(DataRef(shown, digest_file(real).md5 if real.is_file() else None))
    if code_commit is None and not refs:
        return None
    return Lineage(code_commit, tuple(refs))


# --- small file helpers -------------------------------------------------------------


def _skipped(rel: Path, is_model_folder: bool) -> bool:
    if any(p in (".git", ".dvc") or p.startswith(".modelreg-") for p in rel.parts):
        return True
    if rel.name.endswith(".dvc") or rel.name == ".gitignore":
        return True
    return is_model_folder and rel.as_posix() == MANIFEST_FILE


def _try_link(kind: str, source: Path, target: Path) -> bool:
    try:
        link_file(kind, source, target)
    except OSError:
        return False
    return True


def _chmod(path: Path, mode: int) -> None:
    with suppress(FileNotFoundError):
        os.chmod(path, mode)


def _remove_empty_dirs(path: Path, stop: Path) -> None:
    while path != stop and stop in path.parents:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


def write_atomic(path: Path, data: bytes) -> None:
    staged = path.with_name(f".{path.name}.modelreg-{os.getpid()}")
    staged.write_bytes(data)
    os.replace(staged, path)


def now() -> dt.datetime:
    """The time for ``created``: git's own (GIT_COMMITTER_DATE) when set, so tests and
    reproducible builds pin it the same way for commits, tags and manifests."""
    fixed = os.environ.get("GIT_COMMITTER_DATE")
    if fixed:
        text = fixed.strip().lstrip("@")
        first = text.split()[0] if text.split() else ""
        if first.isdigit():
            return dt.datetime.fromtimestamp(int(first), dt.UTC)
        with suppress(ValueError):
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.datetime.now(dt.UTC)
