"""Registering a version: one journaled transaction that completes or is taken back.

The steps, the tag last: move the previous version's bytes aside, untrack files
the new version drops, copy the new files in while hashing them (sha256 and
DVC's md5 in one read), hand them to DVC, write the manifest, commit exactly the
registry's own files, move HEAD, tag. Each step is journaled before it happens
(:mod:`txn`), so a failure, Ctrl-C or ``kill -9`` can always be undone.

Once done, the registration vouches for the DVC cache objects it wrote in the
repository's known digests (:class:`~modelreg.hashing.KnownDigests`): their sha256
was computed from the very bytes as they went in, so ``modelreg serve`` need not
read 1 GiB again before the first download of the new version.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import manifest as manifest_mod
from .errors import (
    DirtyStateError,
    InputPathError,
    InvalidReferenceError,
    ManifestError,
    ModelregError,
    VersionExistsError,
    about_input,
)
from .events import write_registration
from .faults import checkpoint
from .gitrepo import GitRepo
from .hashing import Digests, KnownDigests, copy_known, copy_to, digest_file
from .manifest import MANIFEST_FILE, ArtifactFile, DataRef, Dependency, Lineage, Manifest, Scalar
from .manifests import OnBroken, read_manifest
from .paths import against, inside, write_replacing
from .progress import Progress
from .ranges import Range
from .state import ModelState
from .storage import (
    DVC_DIR,
    LocalCache,
    Storage,
    StoredFile,
    dvc_file_name,
    is_dvc_file_name,
    link_file,
)
from .tags import validate_read_name
from .txn import Transaction
from .versions import FIRST_VERSION, BumpPart, Version


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

    def __post_init__(self) -> None:
        # Checked before any work: a manifest that reads back never holds .nan or .inf.
        for key, value in self.metrics.items():
            problem = manifest_mod.metric_problem(value)
            if problem:
                raise ManifestError(f"metric {key}={value}: {problem}")


@dataclass(frozen=True)
class Source:
    path: Path  # where the bytes are now
    rel: str  # where they go, relative to the model folder
    in_place: bool  # already at models/<name>/<rel>
    # Digests the caller computed from these very bytes as they arrived (the
    # server's upload area): the copy into DVC is then not hashed again.
    known: Digests | None = None


@dataclass(frozen=True)
class Registered:
    tag: str
    commit: str
    manifest: Manifest


class Registration:
    """Register ``version`` of ``name`` from ``sources`` on top of ``head``.

    ``base`` is the commit whose model folder the work tree holds now: HEAD, or an
    older version's commit after ``modelreg checkout``. The caller holds the write
    lock and has checked names, the version and the dependencies; this class moves
    files, commits and tags inside a journaled :class:`Transaction`, so it either
    completes or leaves no trace, even when killed.
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
        remember_in: KnownDigests | None = None,
    ) -> None:
        """``remember_in``: where to vouch for the cache objects written (by default
        the repository's store, which every modelreg process on it reads)."""
        self.git, self.storage, self.progress = git, storage, progress
        self.remember_in = remember_in
        # The cache objects this registration wrote, with the sha256 computed as their
        # bytes went in.
        self.written: list[tuple[Path, str]] = []
        self.root = git.root
        self.name, self.model_dir, self.version = name, model_dir, version
        self.head, self.base = head, base
        self.folder = self.root / model_dir

    def run(
        self,
        sources: Sequence[Source],
        metadata: Metadata,
        tag: str,
        message: str | None,
        sign: bool = False,
        sequence: int = 0,
        publish: Callable[[str, Manifest], None] | None = None,
        after: int | None = None,
    ) -> Registered:
        """``publish`` (a push) runs after the tag; if it fails, the whole
        registration, tag included, is taken back: the event did not happen.
        ``after``: the model's latest event time; the tag is stamped later than it."""
        previous = self._previous_manifest()
        old = previous.artifacts if previous else ()
        refuse_links(self.root, self.model_dir, [a.path for a in old] + [s.rel for s in sources])
        self._refuse_overwrites(old, sources)
        self._refuse_git_tracked(sources)
        description = f"register {self.name} {self.version.tag_form}"
        with Transaction.begin(self.git.common_dir, self.root, "register", description) as txn:
            done = self._run(txn, old, sources, metadata, tag, message, sign, sequence, after)
            if publish is not None:
                checkpoint("register:before-push")
                publish(tag, done.manifest)
            txn.commit_point()
        with suppress(ModelregError):
            self.git.sync_index(txn.record.sync_paths)
        self._vouch()
        return done

    def _vouch(self) -> None:
        """Vouch for the objects this registration put in the cache (an object the
        cache already held, the same bytes registered before, may have rotted since:
        it is still read at its first use). One append to the store; a store that
        cannot be written costs nothing but the vouching."""
        if not self.written:
            return
        known = self.remember_in or KnownDigests.of_repository(self.git.common_dir)
        known.vouch(self.written)

    def _run(
        self,
        txn: Transaction,
        old: Sequence[ArtifactFile],
        sources: Sequence[Source],
        metadata: Metadata,
        tag: str,
        message: str | None,
        sign: bool,
        sequence: int,
        after: int | None,
    ) -> Registered:
        in_place = {s.rel for s in sources if s.in_place}
        new_rels = sorted(s.rel for s in sources)
        old_files = registry_files(self.model_dir, [a.path for a in old])
        new_files = registry_files(self.model_dir, new_rels)
        txn.snapshot([self.root / p for p in sorted(set(old_files) | set(new_files))])

        # 1. Move the previous version's bytes aside, keeping them until the end.
        saved: list[tuple[ArtifactFile, Path]] = []
        for artifact in old:
            current = self.folder / artifact.path
            if artifact.path not in in_place and (current.exists() or current.is_symlink()):
                saved.append((artifact, txn.move_aside(current)))

        checkpoint("register:after-move-aside")
        # 2. Untrack the files the new version no longer has.
        kept = set(new_rels)
        gone = [self.folder / dvc_file_name(a.path) for a in old if a.path not in kept]
        self.storage.untrack(gone)

        # 3. Put the new bytes in the DVC cache and in place, each read once and
        #    hashed on the way (sha256 and DVC's md5).
        cache = self.storage.local_cache()
        self.folder.mkdir(parents=True, exist_ok=True)
        kind = cache.link_kind(self.folder)
        txn.will_relink([self.folder / rel for rel in sorted(in_place)])
        digests = {source.rel: self._place(txn, source, cache, kind) for source in sources}

        checkpoint("register:after-copy")
        # 4. Track them with DVC: the .dvc files and .gitignore entries (the bytes are
        #    where they belong already).
        ordered = sorted(digests.items())
        self.storage.add([StoredFile(self.folder / rel, d.md5, d.size) for rel, d in ordered])

        checkpoint("register:after-dvc-add")
        # 5. Write the manifest, refusing one that would not read back.
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
        manifest_mod.loads(data, f"{self.model_dir}/{MANIFEST_FILE}")
        write_atomic(self.folder / MANIFEST_FILE, data)

        # 6. The previous version's bytes leave the work tree: keep them in the cache.
        self.storage.ensure_cached([(backup, artifact.md5) for artifact, backup in saved])

        checkpoint("register:after-manifest")
        # 7. Commit exactly the registry's files, move HEAD, then tag: the tag comes last.
        paths = sorted(set(old_files) | set(new_files))
        title = f"{self.name} {self.version.tag_form}"
        commit = self.git.commit_paths(paths, f"modelreg: register {title}", parent=self.head)
        checkpoint("register:after-commit")
        txn.will_move_head(self.head, commit)
        self.git.advance_head(commit, self.head, f"modelreg register {self.name}")
        checkpoint("register:after-head")
        txn.will_tag(tag)
        txn.will_sync(paths)  # at the end, the user's index learns the commit for these only
        checkpoint("register:before-tag")
        write_registration(
            self.git, tag, commit, f"Register {title}",
            version=str(self.version), manifest_sha256=manifest_mod.digest(data),
            sequence=sequence, message=message, sign=sign, after=after,
        )  # fmt: skip
        object_sha = self.git.tag_object(tag)
        if object_sha:
            txn.tag_created(tag, object_sha)
        checkpoint("register:after-tag")
        return Registered(tag, commit, manifest)

    def _place(self, txn: Transaction, source: Source, cache: LocalCache, kind: str) -> Digests:
        """Read the source once: into the DVC cache (and, when the cache cannot be
        linked from, into the model folder too), hashing sha256 and md5 on the way.

        A file already in the model folder stays where it is and goes into the
        cache as a reflink or hardlink when DVC's cache type says so and the
        filesystem allows it (no bytes written; a hardlinked file turns read-only,
        as with DVC), else as a copy. Any other file lands in the folder as DVC's
        link type says: a reflink, hardlink or symlink to the cache object, or a
        second copy written in the same pass. Every step is journaled first.
        """
        size = source.path.stat().st_size
        staged = cache.staging_file()
        # Journaled as a cache object, by its full path: the cache may be a folder
        # this machine's clones share, outside the work tree (``dvc cache dir --local``).
        txn.will_create_objects([staged])
        if source.in_place:
            with self.progress.task(f"hashing {source.rel}", size) as task:
                if kind in ("reflink", "hardlink") and _try_link(kind, source.path, staged):
                    digests = digest_file(staged, task)
                else:
                    digests = copy_to(source.path, [staged], task, md5=True)
            self._commit_object(txn, cache, staged, digests)
            return digests
        target = self.folder / source.rel
        partial_file = target.with_name(f".{target.name}.modelreg-{os.getpid()}")
        txn.will_place(partial_file)
        txn.will_place(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        copies = [staged, partial_file] if kind == "copy" else [staged]
        with self.progress.task(f"copying {source.rel}", size) as task:
            known = source.known
            if known is not None and known.size == size:
                copied = copy_known(source.path, copies, task)
                if copied != known.size:  # changed under us: not the bytes digested
                    raise InputPathError(f"{source.rel} changed while it was copied")
                digests = known
            else:
                digests = copy_to(source.path, copies, task, md5=True)
        self._commit_object(txn, cache, staged, digests)
        if kind != "copy":
            try:
                cache.link(kind, digests.md5, partial_file)
            except OSError:  # a link that worked on the probe failed here: copy instead
                copy_to(cache.object_path(digests.md5), [partial_file])
        os.replace(partial_file, target)
        return digests

    def _commit_object(
        self, txn: Transaction, cache: LocalCache, staged: Path, digests: Digests
    ) -> None:
        txn.will_create_objects([cache.object_path(digests.md5)])
        final, new = cache.commit(staged, digests.md5)
        if new:  # these very bytes, hashed on their way in (else the cache's own, kept)
            self.written.append((final, digests.sha256))

    def _previous_manifest(self) -> Manifest | None:
        if self.base is None:
            return None
        path = f"{self.model_dir}/{MANIFEST_FILE}"
        stored = read_manifest(self.git, self.base, path, on_broken=OnBroken.RAISE)
        return stored.manifest if stored else None

    def _refuse_overwrites(self, old: Sequence[ArtifactFile], sources: Sequence[Source]) -> None:
        """Refuse to replace, remove or commit anything in the model folder that is
        not the registry's: unregistered bytes, or a user's own ``.dvc`` file."""
        registered = {a.path: a for a in old}
        in_place = {s.rel for s in sources if s.in_place}
        tracked = set(self.git.tracked_files(self.base, self.model_dir)) if self.base else set()
        ours = set(registry_files(self.model_dir, list(registered)))
        for source in sources:
            target = self.folder / source.rel
            if not source.in_place and target.exists() and source.rel not in registered:
                raise DirtyStateError(
                    f"{target.relative_to(self.root)} exists and is not part of any registered "
                    "version; move it away or register it in place",
                )
            dvc_file = f"{self.model_dir}/{dvc_file_name(source.rel)}"
            if (self.root / dvc_file).exists() and dvc_file not in ours | tracked:
                raise DirtyStateError(
                    f"{dvc_file} exists and is not the registry's; move it away first",
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


def refuse_links(root: Path, model_dir: str, artifact_paths: Sequence[str]) -> None:
    """Refuse to go on when a symlink (or a hostile path) lies on the way to any
    file the registry would write or remove for these artifacts: it would be
    written through. A symlink at a model file itself is replaced, not followed."""
    for rel in [*registry_files(model_dir, artifact_paths),
                *(f"{model_dir}/{p}" for p in artifact_paths)]:  # fmt: skip
        inside(root, rel, "model file", final_link=not rel.endswith("/.gitignore"))


def registry_files(model_dir: str, artifact_paths: Sequence[str]) -> list[str]:
    """The files the registry owns for a version (relative to the repository):
    the manifest, one ``.dvc`` file per artifact, and the ``.gitignore`` DVC keeps
    in each artifact's folder. Nothing else in the model folder is ever committed,
    restored or removed by modelreg."""
    files = {f"{model_dir}/{MANIFEST_FILE}"}
    for rel in artifact_paths:
        files.add(f"{model_dir}/{dvc_file_name(rel)}")
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        files.add(f"{model_dir}/{folder}/.gitignore" if folder else f"{model_dir}/.gitignore")
    return sorted(files)


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
        same = [u for u in used if u.precedence_key() == wanted.precedence_key()]
        if same:
            # Equal precedence (only build metadata differs): no tool can tell which is
            # later, and modelreg and GTO would each name a different one the latest.
            raise VersionExistsError(
                f"{model.name if model else ''}@{wanted.tag_form} has the same SemVer "
                f"precedence as the registered {same[0].tag_form}",
                hint="build metadata ('+...') does not order versions: register a new version",
            )
        return wanted
    highest = max(used, key=Version.precedence_key, default=None)
    return FIRST_VERSION if highest is None else highest.bump(bump or "minor")


def with_known(sources: Sequence[Source], known: Mapping[Path, Digests]) -> list[Source]:
    """``sources`` with the digests ``known`` holds for their (resolved) paths."""
    resolved = {path.resolve(): digests for path, digests in known.items()}
    return [replace(s, known=resolved.get(s.path.resolve())) for s in sources]


def collect_sources(
    paths: Sequence[str | Path],
    folder: Path,
    private: Sequence[Path],
    cwd: str | Path | None = None,
) -> list[Source]:
    """Files to register and where each goes under the model folder.

    A file keeps its name; a directory's files keep their layout. Files already
    in the model folder are registered in place. Relative paths are taken from
    ``cwd``; errors name them as given.
    """
    if not paths:
        raise InputPathError("give at least one file or directory to register")
    sources: list[Source] = []
    home = folder.resolve()
    for raw in paths:
        path = against(cwd, raw)
        if str(raw).startswith("-"):
            raise InputPathError(f"'{raw}' is not a path (it starts with '-')")
        if not path.exists():
            raise InputPathError(f"{raw}: no such file or directory")
        real = path.resolve()
        if any(real == p or p in real.parents for p in private):
            raise InputPathError(f"{raw}: is inside .git or .dvc; register the model files")
        if real.is_dir():
            files = _walk(real, real == home, private)
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
            shown = source.rel.encode("unicode_escape").decode("ascii")
            raise InputPathError(f"{shown}: cannot be registered as a model file: {problem}")
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
        said = about_input("dep", "dependency")
        raise InvalidReferenceError(
            f"{said.text}{text}': write NAME@RANGE, e.g. text-embedder@>=2.0.0,<3.0.0",
            remedy=said,
        )
    validate_read_name(name)
    Range.parse(rng)
    return Dependency(name, rng)


def lineage(
    root: Path,
    data: Sequence[str | Path],
    code_commit: str | None,
    cwd: str | Path | None = None,
) -> Lineage | None:
    refs = []
    for raw in data:
        path = against(cwd, raw)
        if not path.exists():
            said = about_input("data", bare=True)
            raise InputPathError(f"{said.text}{raw}: no such file or directory", remedy=said)
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


def _walk(folder: Path, is_model_folder: bool, private: Sequence[Path]) -> list[Path]:
    """The files of a folder to register, in order. Symlinks must stay inside the
    folder and point at files; another model's folder inside it is left out."""
    nested = {
        p.parent
        for p in folder.rglob(MANIFEST_FILE)
        if p.parent != folder and not _skipped(p.relative_to(folder), False)
    }
    files = []
    for entry in sorted(folder.rglob("*")):
        rel = entry.relative_to(folder)
        if _skipped(rel, is_model_folder) or any(n == entry or n in entry.parents for n in nested):
            continue
        if entry.is_symlink():
            target = entry.resolve()
            if not target.exists():
                raise InputPathError(f"{entry}: a symlink to nothing ({os.readlink(entry)})")
            if folder not in target.parents:
                raise InputPathError(f"{entry}: a symlink pointing outside {folder}")
            if target.is_dir():
                raise InputPathError(
                    f"{entry}: a symlink to a folder; register the folder it points to"
                )
        if entry.is_file():
            real = entry.resolve()
            if any(real == p or p in real.parents for p in private):
                raise InputPathError(f"{entry}: is inside .git or .dvc")
            files.append(entry)
    return files


def _skipped(rel: Path, is_model_folder: bool) -> bool:
    if any(p in (".git", DVC_DIR) or p.startswith(".modelreg-") for p in rel.parts):
        return True
    if is_dvc_file_name(rel.name) or rel.name == ".gitignore":
        return True
    return is_model_folder and rel.as_posix() == MANIFEST_FILE


def _try_link(kind: str, source: Path, target: Path) -> bool:
    try:
        link_file(kind, source, target)
    except OSError:
        return False
    return True


def write_atomic(path: Path, data: bytes) -> None:
    write_replacing(path, data)


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
