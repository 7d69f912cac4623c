"""The registry: register, promote, rollback, deprecate, checkout, get, push, pull,
and the reads. Orchestration only: git lives in :mod:`gitrepo`, DVC in
:mod:`storage`, the grammar in :mod:`tags`, versions in :mod:`versions`.

Every write takes the repository's write lock, does its work in an order that
can be undone (files, then commit, then the tag last), and undoes it all if any
step fails, so a failed command leaves the repository as it found it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import config as config_mod
from . import manifest as manifest_mod
from .errors import (
    DirtyStateError,
    GitError,
    InputPathError,
    IntegrityError,
    InvalidReferenceError,
    ManifestError,
    ModelregError,
    NotARepositoryError,
    NotInitialisedError,
    PolicyError,
    RaceLostError,
    UnknownModelError,
    UnknownVersionError,
    VersionExistsError,
)
from .gitrepo import GitRepo
from .hashing import Digests, copy_file, digest_file
from .lock import write_lock
from .manifest import MANIFEST_FILE, ArtifactFile, DataRef, Dependency, Lineage, Manifest
from .progress import NullProgress, Progress
from .refs import Ref, parse_ref
from .results import (
    CheckoutResult,
    EventResult,
    FileResult,
    GetResult,
    HistoryEntry,
    InitResult,
    ModelSummary,
    RegisterResult,
    Resolved,
    SyncResult,
    VersionInfo,
)
from .state import Event, ModelState, RegistryState, VersionState, build
from .storage import DEFAULT_REMOTE_NAME, Storage, StoredFile, is_initialised, normalise_remote_url
from .tags import (
    EventKind,
    format_message,
    format_tag_name,
    parse_tag_name,
    validate_new_name,
    validate_read_name,
    validate_stage,
)
from .versions import FIRST_VERSION, BumpPart, Range, Version

Scalar = str | int | float | bool | None
_REGISTRY_FILES = (MANIFEST_FILE, ".gitignore")


class _Undo:
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


@dataclass(frozen=True)
class _Source:
    path: Path  # where the bytes are now
    rel: str  # where they go, relative to the model folder
    in_place: bool  # already at models/<name>/<rel>


def default_remote_dir(root: Path) -> Path:
    """Where ``modelreg init`` puts the embedded local-directory DVC remote."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "modelreg" / "storage" / f"{root.name}-{uuid.uuid4().hex[:8]}"


class Registry:
    """A model registry in the git repository containing ``path``."""

    def __init__(self, path: str | Path = ".", *, progress: Progress | None = None) -> None:
        self.git = GitRepo.discover(Path(path))
        self.root = self.git.root
        self.progress: Progress = progress or NullProgress()
        self.config = config_mod.load(self.root)
        self.storage = Storage(self.root, self.progress)
        self._cached_state: RegistryState | None = None

    # ------------------------------------------------------------------ set-up

    @classmethod
    def init(
        cls,
        path: str | Path = ".",
        *,
        remote: str | None = None,
        progress: Progress | None = None,
    ) -> tuple[Registry, InitResult]:
        """Set up ``.modelreg.yaml``, DVC and a DVC remote, and commit them.

        Outside a git repository this runs ``git init`` first. Without ``remote``,
        a repository with no default DVC remote gets a local-directory one.
        """
        target = Path(path).absolute()
        git_initialised = False
        try:
            git = GitRepo.discover(target)
        except NotARepositoryError:
            git = GitRepo.init(target)
            git_initialised = True
        root = git.root
        created: list[str] = []
        config_path = root / config_mod.CONFIG_FILE
        if not config_path.exists():
            config_path.write_text(config_mod.Config().to_yaml(), encoding="utf-8")
            created.append(config_mod.CONFIG_FILE)
        else:
            config_mod.load(root)  # refuse a broken config early
        storage = Storage(root, progress)
        created += storage.init()
        default, urls = storage.remotes()
        remote_name, remote_url = default, urls.get(default) if default else None
        if remote is not None:
            remote_url = normalise_remote_url(remote, Path.cwd())
            remote_name = DEFAULT_REMOTE_NAME
            storage.set_remote(remote_name, remote_url)
        elif default is None:
            remote_dir = default_remote_dir(root)
            remote_dir.mkdir(parents=True, exist_ok=True)
            remote_name, remote_url = DEFAULT_REMOTE_NAME, str(remote_dir)
            storage.set_remote(remote_name, remote_url)
        own = [config_mod.CONFIG_FILE, ".dvc/config", ".dvc/.gitignore", ".dvcignore"]
        own = [p for p in own if (root / p).exists()]
        head = git.head()
        changed = git.changed_paths(own) + [p for p in own if p in git.untracked_paths(own)]
        commit = None
        if changed or head is None:
            with write_lock(git.common_dir / "modelreg.lock"):
                commit = git.commit_paths(own, "modelreg: set up the registry", parent=head)
                git.advance_head(commit, head, "modelreg init")
                git.sync_index(own)
        registry = cls(root, progress=progress)
        return registry, InitResult(
            root=root,
            created=tuple(created),
            remote_name=remote_name,
            remote_url=remote_url,
            git_initialised=git_initialised,
            commit=commit,
        )

    # ------------------------------------------------------------------ reads

    def state(self, refresh: bool = False) -> RegistryState:
        """Every model's state, from one read of all tags."""
        if self._cached_state is None or refresh:
            self._cached_state = build(self.git.tags())
        return self._cached_state

    def list_models(self, *, include_deprecated: bool = False) -> list[ModelSummary]:
        out = []
        for model in self.state().models.values():
            if model.deprecated and not include_deprecated:
                continue
            latest = model.latest
            out.append(
                ModelSummary(
                    name=model.name,
                    latest=latest.version if latest else None,
                    stages=dict(model.stages),
                    versions=sum(1 for v in model.versions if v.registered and v.active),
                    deprecated=model.deprecated,
                )
            )
        return out

    def show(self, ref: str | Ref) -> VersionInfo:
        """One version (``NAME`` means its latest) with its manifest and stages."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        model = self._model(ref.name)
        version = self._pick(model, ref)
        manifest_bytes = self._manifest_bytes(model.name, version.commit)
        manifest = (
            manifest_mod.loads(manifest_bytes, self._manifest_path(model.name))
            if manifest_bytes is not None
            else None
        )
        registration = self._registration_event(model, version.version)
        return VersionInfo(
            name=model.name,
            version=version.version,
            commit=version.commit,
            tag=registration.tag if registration else None,
            registered=version.registered,
            active=version.active,
            deprecated=model.deprecated,
            registered_at=version.registered_at,
            author=(f"{version.author} <{version.author_email}>" if version.author else None),
            stages=version.stages,
            manifest=manifest,
            manifest_sha256=manifest_mod.digest(manifest_bytes) if manifest_bytes else None,
            recorded_sha256=registration.trailers.get("Modelreg-Manifest-Sha256")
            if registration
            else None,
        )

    get_model = show

    def history(self, name: str | None = None, *, reverse: bool = False) -> list[HistoryEntry]:
        """Every event (of one model, or all), oldest first, read from tags alone."""
        state = self.state()
        if name is not None:
            events = list(self._model(validate_read_name(name)).events)
        else:
            events = [e for m in state.models.values() for e in m.events]
            events.sort(key=lambda e: e.order_key)
        entries = [_history_entry(e) for e in events]
        return entries[::-1] if reverse else entries

    def resolve(self, ref: str | Ref) -> Resolved:
        """The version a reference means: ``NAME#STAGE``, ``NAME@latest``, ``NAME@vV``."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        model = self._model(ref.name)
        version = self._pick(model, ref)
        return Resolved(model.name, version.version, version.commit)

    # ------------------------------------------------------------------ writes

    def register(
        self,
        name: str,
        paths: Sequence[str | Path],
        *,
        version: str | None = None,
        bump: BumpPart | None = None,
        author: str | None = None,
        license: str | None = None,
        description: str | None = None,
        framework: str | None = None,
        labels: dict[str, str] | None = None,
        metrics: dict[str, float | int] | None = None,
        params: dict[str, Scalar] | None = None,
        dependencies: Sequence[str] = (),
        allow_unresolved: bool = False,
        data: Sequence[str | Path] = (),
        code_commit: str | None = None,
        message: str | None = None,
        push: bool = False,
    ) -> RegisterResult:
        """Track ``paths`` with DVC as a new version of ``name``, commit its manifest
        and tag it ``NAME@vVERSION``."""
        self._require_registry()
        if version is not None and bump is not None:
            raise InvalidReferenceError("give either a version or a bump, not both")
        existing = self.state(refresh=True).model(name)
        if existing is None:
            validate_new_name(name)
        else:
            validate_read_name(name)
        if not paths:
            raise InputPathError("give at least one file or directory to register")
        model_dir = self._model_dir(name)
        sources = self._collect_sources(paths, self.root / model_dir)
        deps = tuple(_parse_dependency(d) for d in dependencies)
        lineage = self._lineage(data, code_commit)
        identity = self.git.identity()
        with self._locked():
            state = self.state(refresh=True)
            model = state.model(name)
            new_version = self._next_version(model, version, bump)
            self._check_dependencies(name, deps, state, allow_unresolved)
            tag = format_tag_name(EventKind.REGISTER, name, version=new_version)
            if self.git.tag_exists(tag):
                raise VersionExistsError(f"{name}@{new_version.tag_form} is already registered")
            head = self.git.head()
            self._require_clean(model_dir)
            undo = _Undo()
            try:
                return self._register_locked(
                    name=name,
                    model_dir=model_dir,
                    sources=sources,
                    version=new_version,
                    head=head,
                    undo=undo,
                    manifest_fields={
                        "description": description,
                        "author": author or str(identity),
                        "license": license,
                        "framework": framework,
                        "labels": dict(labels or {}),
                        "metrics": dict(metrics or {}),
                        "params": dict(params or {}),
                        "dependencies": deps,
                        "lineage": lineage,
                    },
                    message=message,
                    tag=tag,
                    push=push,
                )
            except BaseException:
                undo.run()
                self._cached_state = None
                raise

    def _register_locked(
        self,
        *,
        name: str,
        model_dir: str,
        sources: list[_Source],
        version: Version,
        head: str | None,
        undo: _Undo,
        manifest_fields: dict[str, object],
        message: str | None,
        tag: str,
        push: bool,
    ) -> RegisterResult:
        folder = self.root / model_dir
        previous = self._previous_manifest(name, head)
        new_rels = {s.rel for s in sources}
        self._check_overwrites(folder, previous, sources)

        # 1. Move the previous version's bytes aside (they are in the DVC cache too).
        backup = Path(tempfile.mkdtemp(prefix="modelreg-txn-", dir=self.git.git_dir))
        undo.add(lambda: shutil.rmtree(backup, ignore_errors=True))
        in_place = {s.rel for s in sources if s.in_place}
        for artifact in previous.artifacts if previous else ():
            current = folder / artifact.path
            if artifact.path in in_place or not current.exists():
                continue
            saved = backup / f"{len(os.listdir(backup))}"
            os.replace(current, saved)
            undo.add(partial(os.replace, saved, current))

        # 2. Untrack files the new version no longer has.
        tracked_before = self.git.tracked_files(head, model_dir) if head else []
        gone = [a for a in (previous.artifacts if previous else ()) if a.path not in new_rels]
        undo.add(lambda: self._restore_tracked(head, model_dir, tracked_before))
        self.storage.untrack([folder / (a.path + ".dvc") for a in gone])

        # 3. Put the new bytes in place, hashing them on the way.
        digests: dict[str, Digests] = {}
        for source in sources:
            target = folder / source.rel
            if source.in_place:
                with self.progress.task(f"hashing {source.rel}", source.path.stat().st_size) as t:
                    digests[source.rel] = digest_file(target, t)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            undo.add(partial(_remove_empty_dirs, target.parent, folder.parent))
            partial_path = target.with_name(f".{target.name}.modelreg-{os.getpid()}")
            undo.add(partial(partial_path.unlink, missing_ok=True))
            with self.progress.task(f"copying {source.rel}", source.path.stat().st_size) as t:
                digests[source.rel] = copy_file(source.path, partial_path, t, md5=True)
            os.replace(partial_path, target)
            undo.add(partial(target.unlink, missing_ok=True))

        # 4. Track them with DVC; remember which cache objects are new, to undo.
        cache = self.storage.cache_objects([d.md5 for d in digests.values()])
        new_objects = [p for p in cache.values() if not p.exists()]
        undo.add(lambda: self.storage.remove_cache_objects(new_objects))
        self.storage.add(
            [StoredFile(folder / rel, d.md5, d.size) for rel, d in sorted(digests.items())]
        )

        # 5. Write the manifest.
        manifest = Manifest(
            name=name,
            version=version,
            artifacts=tuple(
                ArtifactFile(rel, d.size, d.sha256, d.md5) for rel, d in sorted(digests.items())
            ),
            created=manifest_mod.format_time(_now()),
            **manifest_fields,  # type: ignore[arg-type]
        )
        data = manifest_mod.dumps(manifest)
        _write_atomic(folder / MANIFEST_FILE, data)

        # 6. Commit exactly the registry's files, then tag: the tag comes last.
        paths = self._registry_paths(model_dir, tracked_before)
        commit = self.git.commit_paths(
            paths, f"modelreg: register {name} {version.tag_form}", parent=head
        )
        self.git.advance_head(commit, head, f"modelreg register {name}")
        undo.add(
            lambda: (
                self.git.advance_head(head, commit, "modelreg: undo register")
                if head
                else self.git.run("update-ref", "-d", "HEAD", commit)
            )
        )
        trailers = {
            "Event": "register",
            "Version": str(version),
            "Manifest-Sha256": manifest_mod.digest(data),
        }
        if message:
            trailers["Reason"] = message
        self.git.create_tag(
            tag, commit, format_message(f"Register {name} {version.tag_form}", trailers)
        )
        undo.clear()
        self.git.sync_index(paths)
        shutil.rmtree(backup, ignore_errors=True)
        self._cached_state = None
        pushed = False
        if push:
            self._push_event(tag, [a.md5 for a in manifest.artifacts], f"registered {tag}")
            pushed = True
        return RegisterResult(name, str(version), tag, commit, manifest, pushed)

    def promote(
        self, ref: str | Ref, stage: str, *, message: str | None = None, push: bool = False
    ) -> EventResult:
        """Assign ``stage`` to a version: a new ``NAME#STAGE#N`` tag."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        validate_stage(stage)
        with self._locked():
            model = self._model(ref.name, refresh=True)
            self._require_active(model)
            version = self._pick(model, ref)
            if not version.registered:
                raise UnknownVersionError(
                    f"{model.name} {version.version} is not a registered version"
                )
            self._check_stage(stage)
            previous = model.stages.get(stage)
            if previous == version.version:
                return EventResult(
                    model.name,
                    "assign",
                    version.version,
                    stage,
                    None,
                    previous,
                    changed=False,
                    notes=(f"{model.name} v{version.version} already holds {stage}",),
                )
            self._check_promotion_order(model, version, stage)
            summary = f"Promote {model.name} v{version.version} to {stage}"
            trailers = {"Event": "assign", "Version": version.version, "Stage": stage}
            tag = self._tag_event(
                model, EventKind.ASSIGN, version, stage, summary, trailers, message
            )
        if push:
            self._push_event(tag, [], f"promoted ({tag})")
        return EventResult(model.name, "assign", version.version, stage, tag, previous, pushed=push)

    def rollback(
        self,
        name: str,
        stage: str,
        *,
        to: str | None = None,
        message: str | None = None,
        push: bool = False,
    ) -> EventResult:
        """Give ``stage`` back to the version that held it before (or to ``to``)."""
        validate_read_name(name)
        validate_stage(stage)
        with self._locked():
            model = self._model(name, refresh=True)
            self._require_active(model)
            current = model.stages.get(stage)
            if current is None:
                raise PolicyError(f"no version of {name} holds {stage}; nothing to roll back")
            if to is not None:
                target = self._pick(model, Ref(name, version=Version.parse(to)))
            else:
                earlier = _previous_holder(model, stage)
                if earlier is None:
                    raise PolicyError(
                        f"no earlier version of {name} held {stage} (v{current} holds it)",
                        hint=f"name one: modelreg rollback {name} --stage {stage} --to VERSION",
                    )
                target = earlier
            if target.version == current:
                raise PolicyError(f"{name} v{current} already holds {stage}")
            if not target.registered or not target.active:
                raise PolicyError(
                    f"{name} v{target.version} is deregistered; it cannot hold {stage}"
                )
            self._check_stage(stage)
            summary = f"Roll back {name} {stage} from v{current} to v{target.version}"
            trailers = {
                "Event": "rollback",
                "Version": target.version,
                "Stage": stage,
                "Previous": current,
            }
            tag = self._tag_event(
                model, EventKind.ASSIGN, target, stage, summary, trailers, message
            )
        if push:
            self._push_event(tag, [], f"rolled back ({tag})")
        return EventResult(name, "rollback", target.version, stage, tag, current, pushed=push)

    def deprecate(
        self, ref: str | Ref, *, message: str | None = None, push: bool = False
    ) -> EventResult:
        """``NAME``: deprecate the model. ``NAME@vV``: deregister that version."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        if ref.stage is not None or ref.latest:
            raise InvalidReferenceError(
                f"'{ref}': deprecate takes NAME (the model) or NAME@vVERSION (one version)"
            )
        with self._locked():
            model = self._model(ref.name, refresh=True)
            if ref.version is None:
                self._require_active(model)
                anchor = model.latest or (model.versions[0] if model.versions else None)
                commit = anchor.commit if anchor else model.events[-1].commit
                summary = f"Deprecate {model.name}"
                tag = self._write_tag(
                    model,
                    EventKind.DEPRECATE,
                    None,
                    None,
                    commit,
                    summary,
                    {"Event": "deprecate"},
                    message,
                )
                result = EventResult(model.name, "deprecate", None, None, tag, pushed=push)
            else:
                version = self._pick(model, ref)
                if not version.registered or not version.active:
                    raise PolicyError(f"{model.name} v{version.version} is already deregistered")
                summary = f"Deregister {model.name} v{version.version}"
                trailers = {"Event": "deregister", "Version": version.version}
                sha = self._manifest_sha(model.name, version.commit)
                if sha:
                    trailers["Manifest-Sha256"] = sha
                tag = self._write_tag(
                    model,
                    EventKind.DEREGISTER,
                    version,
                    None,
                    version.commit,
                    summary,
                    trailers,
                    message,
                )
                notes = tuple(f"v{version.version} no longer holds {s}" for s in version.stages)
                result = EventResult(
                    model.name, "deregister", version.version, None, tag, pushed=push, notes=notes
                )
        if push and result.tag:
            self._push_event(result.tag, [], f"recorded {result.tag}")
        return result

    # ------------------------------------------------------------------ bytes

    def get(self, ref: str | Ref, out_dir: str | Path) -> GetResult:
        """Write a version's files into ``out_dir``, each verified against its sha256.

        Files are assembled in a hidden folder inside ``out_dir`` and moved into
        place only when every one has verified; on any failure nothing is left.
        """
        info = self._resolve_with_manifest(ref)
        manifest = info.manifest
        assert manifest is not None
        out = Path(out_dir)
        files = self._materialise(manifest, out)
        return GetResult(info.name, info.version, out.resolve(), files)

    def checkout(self, ref: str | Ref) -> CheckoutResult:
        """Restore ``models/<name>/`` (manifest, ``.dvc`` files, bytes) to a version.

        Refuses when the folder holds changes that no registered version has.
        """
        info = self._resolve_with_manifest(ref)
        manifest = info.manifest
        assert manifest is not None
        model_dir = self._model_dir(info.name)
        folder = self.root / model_dir
        with self._locked():
            current = self._worktree_version(info.name, model_dir)
            # Stage and verify all bytes first: nothing in the work tree changes until then.
            files = self._materialise(manifest, folder, replace=False)
            del files
            stale = [
                folder / a.path
                for a in (current.artifacts if current else ())
                if a.path not in {b.path for b in manifest.artifacts}
            ]
            self.git.restore_worktree(info.commit, [model_dir])
            for path in stale:
                path.unlink(missing_ok=True)
            written = self._materialise(manifest, folder)
        return CheckoutResult(info.name, info.version, folder, written)

    # ------------------------------------------------------------------ sharing

    def push(self, remote: str = "origin", *, dvc_remote: str | None = None) -> SyncResult:
        """Send file bytes to the DVC remote, then commits and registry tags to git."""
        self._require_git_remote(remote)
        state = self.state(refresh=True)
        registrations = [
            (m.name, v) for m in state.models.values() for v in m.versions if v.registered
        ]
        md5s: list[str] = []
        specs = [f"{v.commit}:{self._manifest_path(n)}" for n, v in registrations]
        notes: list[str] = []
        if specs and is_initialised(self.root):
            blobs = self.git.read_files(specs)
            for spec, blob in blobs.items():
                if blob is None:
                    continue
                try:
                    found = manifest_mod.loads(blob, spec)
                except ManifestError as exc:
                    notes.append(f"skipped {exc.message}")
                    continue
                md5s.extend(a.md5 for a in found.artifacts)
            cached = self.storage.cache_objects(sorted(set(md5s)))
            present = [m for m, p in cached.items() if p.exists()]
            if len(present) < len(cached):
                notes.append(
                    f"{len(cached) - len(present)} file(s) are not in this clone's cache "
                    "and were not pushed"
                )
            objects = self.storage.push(present, dvc_remote or self.config.remote)
        else:
            objects = 0
        branch = self.git.current_branch()
        tags = [t.name for t in self.git.tags() if parse_tag_name(t.name) is not None]
        remote_tags = self.git.remote_tags(remote)
        new_tags = [t for t in tags if t not in remote_tags]
        refspecs = [f"refs/tags/{t}:refs/tags/{t}" for t in new_tags]
        if branch:
            refspecs.insert(0, f"refs/heads/{branch}:refs/heads/{branch}")
        for start in range(0, max(len(refspecs), 1), 500):
            self.git.push(remote, refspecs[start : start + 500])
        return SyncResult(remote, len(new_tags), objects, branch, tuple(notes))

    def pull(self, remote: str = "origin", *, dvc_remote: str | None = None) -> SyncResult:
        """Fetch tags and commits, fast-forward the branch, and fetch the bytes of
        the versions now in the work tree."""
        self._require_git_remote(remote)
        before = {t.name for t in self.git.tags()}
        self.git.fetch(remote)
        after = self.git.tags()
        received = sum(1 for t in after if t.name not in before)
        notes: list[str] = []
        branch = self.git.current_branch()
        if branch:
            upstream = self.git.upstream() or f"{remote}/{branch}"
            if self.git.resolve(upstream) and not self.git.fast_forward(upstream):
                notes.append(
                    f"{branch} could not be fast-forwarded to {upstream}; merge it yourself "
                    "(the registry reads tags, so no event is missing)"
                )
        self._cached_state = None
        self.config = config_mod.load(self.root)
        objects = 0
        if is_initialised(self.root):
            manifests = self._worktree_manifests()
            md5s = [a.md5 for m in manifests for a in m.artifacts]
            objects = self.storage.fetch(md5s, dvc_remote or self.config.remote)
            for found in manifests:
                folder = self.root / self._model_dir(found.name)
                missing = [a for a in found.artifacts if not (folder / a.path).exists()]
                if missing:
                    self._materialise(found, folder, only=missing)
        return SyncResult(remote, received, objects, branch, tuple(notes))

    # ------------------------------------------------------------------ helpers

    def _model_dir(self, name: str) -> str:
        return f"{self.config.models_dir}/{name.replace(':', '/')}"

    def _manifest_path(self, name: str) -> str:
        return f"{self._model_dir(name)}/{MANIFEST_FILE}"

    def _manifest_bytes(self, name: str, commit: str) -> bytes | None:
        return self.git.read_file(commit, self._manifest_path(name))

    def _manifest_sha(self, name: str, commit: str) -> str | None:
        data = self._manifest_bytes(name, commit)
        return manifest_mod.digest(data) if data is not None else None

    def _model(self, name: str, refresh: bool = False) -> ModelState:
        model = self.state(refresh).model(name)
        if model is None:
            known = sorted(self.state().models)
            hint = (
                f"registered models: {', '.join(known[:10])}"
                if known
                else "nothing is registered yet"
            )
            raise UnknownModelError(f"unknown model '{name}'", hint=hint)
        return model

    def _pick(self, model: ModelState, ref: Ref) -> VersionState:
        if ref.stage is not None:
            holder = model.stages.get(ref.stage)
            if holder is None:
                raise UnknownVersionError(f"no version of {model.name} holds stage '{ref.stage}'")
            found = model.find(holder)
        elif ref.version is not None:
            found = model.find(str(ref.version))
            if found is None or not found.registered:
                raise UnknownVersionError(f"{model.name} has no version {ref.version.tag_form}")
            if not found.active:
                raise UnknownVersionError(f"{model.name} {ref.version.tag_form} was deregistered")
        else:
            found = model.latest
            if found is None:
                raise UnknownVersionError(f"{model.name} has no registered version")
        assert found is not None
        return found

    def _registration_event(self, model: ModelState, version: str) -> Event | None:
        found = None
        for event in model.events:
            if event.kind is EventKind.REGISTER and event.version == version:
                found = event
        return found

    def _resolve_with_manifest(self, ref: str | Ref) -> VersionInfo:
        info = self.show(ref)
        if info.manifest is None:
            raise ManifestError(
                f"{info.name} v{info.version} has no manifest at {self._manifest_path(info.name)}",
                hint="it was registered by another tool: modelreg lists it but cannot fetch it",
            )
        if info.manifest.name != info.name or str(info.manifest.version) != info.version:
            raise ManifestError(
                f"{self._manifest_path(info.name)} at {info.commit[:8]} describes "
                f"{info.manifest.name} v{info.manifest.version}, not {info.name} v{info.version}"
            )
        return info

    def _require_registry(self) -> None:
        if not self.config.exists or not is_initialised(self.root):
            missing = config_mod.CONFIG_FILE if not self.config.exists else "DVC (.dvc/)"
            raise NotInitialisedError(
                f"{self.root} has no registry set up ({missing} is missing)",
                hint="run 'modelreg init' first",
            )

    def _require_active(self, model: ModelState) -> None:
        if model.deprecated:
            raise PolicyError(
                f"{model.name} is deprecated",
                hint=f"register a new version of {model.name} to bring it back",
            )

    def _require_git_remote(self, remote: str) -> None:
        if remote.startswith("-") or self.git.remote_url(remote) is None:
            raise GitError(
                f"this repository has no git remote '{remote}'",
                hint=f"add one with: git remote add {remote} URL",
            )

    def _require_clean(self, model_dir: str) -> None:
        changed = self.git.changed_paths([model_dir])
        if changed:
            raise DirtyStateError(
                f"{changed[0]} has uncommitted changes"
                + (f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""),
                hint="commit or stash them first; modelreg commits only its own files",
            )

    def _check_stage(self, stage: str) -> None:
        if not self.config.stage_allowed(stage):
            raise PolicyError(
                f"'{stage}' is not a stage of this registry",
                hint=f"stages in {config_mod.CONFIG_FILE}: {', '.join(self.config.stages)}",
            )

    def _check_promotion_order(self, model: ModelState, version: VersionState, stage: str) -> None:
        if not self.config.promotion_order or stage not in self.config.stages:
            return
        index = self.config.stages.index(stage)
        if index == 0:
            return
        before = self.config.stages[index - 1]
        if before not in version.stages:
            raise PolicyError(
                f"{model.name} v{version.version} must hold {before} before {stage} "
                "(promotion_order is on)",
                hint=f"promote it to {before} first",
            )

    def _check_dependencies(
        self, name: str, deps: Sequence[Dependency], state: RegistryState, allow: bool
    ) -> None:
        for dep in deps:
            if dep.name == name:
                raise PolicyError(f"{name} cannot depend on itself")
            if allow:
                continue
            model = state.model(dep.name)
            rng = dep.range
            ok = model is not None and any(
                v.registered and v.active and v.semver is not None and rng.contains(v.semver)
                for v in model.versions
            )
            if not ok:
                raise PolicyError(
                    f"no registered version of {dep.name} satisfies '{dep.version}'",
                    hint="register it first, or pass --allow-unresolved",
                )

    def _next_version(
        self, model: ModelState | None, version: str | None, bump: BumpPart | None
    ) -> Version:
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
        if highest is None:
            return FIRST_VERSION
        return highest.bump(bump or "minor")

    def _collect_sources(self, paths: Sequence[str | Path], folder: Path) -> list[_Source]:
        sources: list[_Source] = []
        folder_resolved = folder.resolve()
        for raw in paths:
            path = Path(raw)
            if str(raw).startswith("-"):
                raise InputPathError(f"'{raw}' is not a path (it starts with '-')")
            if not path.exists():
                raise InputPathError(f"{raw}: no such file or directory")
            real = path.resolve()
            if self._inside_private(real):
                raise InputPathError(f"{raw}: is inside .git or .dvc; register the model files")
            if real.is_dir():
                files = [
                    p
                    for p in sorted(real.rglob("*"))
                    if p.is_file() and not _skipped(p.relative_to(real), real == folder_resolved)
                ]
                if not files:
                    raise InputPathError(f"{raw}: the directory has no files to register")
                for file in files:
                    rel = file.relative_to(real).as_posix()
                    sources.append(_Source(file, rel, file == folder_resolved / rel))
            elif real.is_file():
                rel = path.name if not path.is_symlink() else real.name
                sources.append(_Source(real, rel, real == folder_resolved / rel))
            else:
                raise InputPathError(f"{raw}: not a regular file or directory")
        seen: dict[str, Path] = {}
        for source in sources:
            problem = manifest_mod.safe_relative_path(source.rel)
            if problem:
                raise InputPathError(
                    f"{source.path}: cannot be stored as '{source.rel}': {problem}"
                )
            if source.rel in seen:
                raise InputPathError(
                    f"two files would both be stored as '{source.rel}' "
                    f"({seen[source.rel]} and {source.path})"
                )
            seen[source.rel] = source.path
        return sources

    def _inside_private(self, path: Path) -> bool:
        for private in (self.git.git_dir.resolve(), (self.root / ".dvc").resolve()):
            if path == private or private in path.parents:
                return True
        return False

    def _previous_manifest(self, name: str, head: str | None) -> Manifest | None:
        if head is None:
            return None
        data = self.git.read_file(head, self._manifest_path(name))
        if data is None:
            return None
        return manifest_mod.loads(data, self._manifest_path(name))

    def _check_overwrites(
        self, folder: Path, previous: Manifest | None, sources: list[_Source]
    ) -> None:
        """Refuse to replace or remove bytes in the model folder that no version has."""
        registered = {a.path: a for a in (previous.artifacts if previous else ())}
        to_check: list[tuple[Path, str]] = []
        for source in sources:
            target = folder / source.rel
            if source.in_place or not target.exists():
                continue
            if source.rel not in registered:
                raise DirtyStateError(
                    f"{target.relative_to(self.root)} exists and is not part of any registered "
                    "version; move it away or register it in place",
                )
        for rel, artifact in registered.items():
            target = folder / rel
            if target.exists() and rel not in {s.rel for s in sources if s.in_place}:
                to_check.append((target, artifact.md5))
        differ = self.storage.differing(to_check)
        if differ:
            raise DirtyStateError(
                f"{differ[0].relative_to(self.root)} has changes that are not registered",
                hint="register the changed file as a new version, or restore it with "
                "'modelreg checkout NAME@latest'",
            )

    def _restore_tracked(self, head: str | None, model_dir: str, tracked: list[str]) -> None:
        """Undo step: put the registry's tracked files back as they were at ``head``."""
        if head is None:
            return
        now = {p for p in self.git.tracked_files(None, model_dir)}
        for path in (self.root / model_dir).rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            own = path.name.endswith(".dvc") or path.name in _REGISTRY_FILES
            if path.is_file() and own and rel not in tracked and rel not in now:
                path.unlink()
        if tracked:
            self.git.restore_worktree(head, tracked)

    def _registry_paths(self, model_dir: str, tracked_before: list[str]) -> list[str]:
        paths = set(tracked_before)
        folder = self.root / model_dir
        for path in folder.rglob("*"):
            if path.is_file() and (path.name.endswith(".dvc") or path.name in _REGISTRY_FILES):
                paths.add(path.relative_to(self.root).as_posix())
        return sorted(paths)

    def _lineage(self, data: Sequence[str | Path], code_commit: str | None) -> Lineage | None:
        refs = []
        for raw in data:
            path = Path(raw)
            if not path.exists():
                raise InputPathError(f"--data {raw}: no such file")
            real = path.resolve()
            try:
                shown = real.relative_to(self.root.resolve()).as_posix()
            except ValueError:
                shown = str(real)
            refs.append(DataRef(shown, digest_file(real).md5 if real.is_file() else None))
        if code_commit is None and not refs:
            return None
        return Lineage(code_commit, tuple(refs))

    def _tag_event(
        self,
        model: ModelState,
        kind: EventKind,
        version: VersionState,
        stage: str,
        summary: str,
        trailers: dict[str, str],
        message: str | None,
    ) -> str:
        sha = self._manifest_sha(model.name, version.commit)
        if sha:
            trailers["Manifest-Sha256"] = sha
        return self._write_tag(
            model, kind, version, stage, version.commit, summary, trailers, message
        )

    def _write_tag(
        self,
        model: ModelState,
        kind: EventKind,
        version: VersionState | None,
        stage: str | None,
        commit: str,
        summary: str,
        trailers: dict[str, str],
        message: str | None,
    ) -> str:
        if message:
            trailers["Reason"] = message
        text = format_message(summary, trailers)
        counter = model.max_counter
        semver = version.semver if version else None
        for _attempt in range(5):
            counter += 1
            tag = format_tag_name(kind, model.name, version=semver, stage=stage, counter=counter)
            try:
                self.git.create_tag(tag, commit, text)
            except RaceLostError:
                continue  # another writer took this counter; take the next one
            self._cached_state = None
            return tag
        raise RaceLostError(
            f"could not find a free event counter for {model.name}",
            hint="another process keeps writing events; try again",
        )

    def _push_event(self, tag: str, md5s: list[str], done: str) -> None:
        """Push one event: its bytes to the DVC remote, then the branch and the tag."""
        try:
            if md5s:
                self.storage.push(md5s, self.config.remote)
            self._require_git_remote("origin")
            refspecs = [f"refs/tags/{tag}:refs/tags/{tag}"]
            branch = self.git.current_branch()
            if branch and tag.find("@v") > 0 and "!" not in tag:
                refspecs.insert(0, f"refs/heads/{branch}:refs/heads/{branch}")
            self.git.push("origin", refspecs)
        except ModelregError as exc:
            raise type(exc)(
                f"{done} locally, but the push failed: {exc.message}",
                hint="run 'modelreg push' once the remote is reachable",
            ) from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with write_lock(self.git.common_dir / "modelreg.lock"):
            yield

    def _worktree_manifests(self) -> list[Manifest]:
        base = self.root / self.config.models_dir
        found = []
        for path in sorted(base.rglob(MANIFEST_FILE)) if base.is_dir() else []:
            rel = path.relative_to(self.root).as_posix()
            try:
                found.append(manifest_mod.loads(path.read_bytes(), rel))
            except ManifestError:
                continue
        return found

    def _worktree_version(self, name: str, model_dir: str) -> Manifest | None:
        """The manifest in the work tree, after checking nothing unregistered is there."""
        path = self.root / model_dir / MANIFEST_FILE
        head = self.git.head()
        if head and self.git.worktree_differs(head, [model_dir]):
            current = self._manifest_from_worktree(path)
            model = self._model(name)
            version = model.find(str(current.version)) if current else None
            if (
                current is None
                or version is None
                or not version.registered
                or self.git.worktree_differs(version.commit, [model_dir])
            ):
                raise DirtyStateError(
                    f"{model_dir} has uncommitted changes",
                    hint="commit or stash them first, or restore with "
                    f"'git checkout -- {model_dir}'",
                )
        current = self._manifest_from_worktree(path)
        if current is not None:
            folder = path.parent
            differ = self.storage.differing(
                [(folder / a.path, a.md5) for a in current.artifacts if (folder / a.path).exists()]
            )
            if differ:
                raise DirtyStateError(
                    f"{differ[0].relative_to(self.root)} has changes that are not registered",
                    hint="register it as a new version first, or delete it",
                )
        return current

    @staticmethod
    def _manifest_from_worktree(path: Path) -> Manifest | None:
        if not path.exists():
            return None
        return manifest_mod.loads(path.read_bytes(), str(path))

    def _materialise(
        self,
        manifest: Manifest,
        out: Path,
        *,
        replace: bool = True,
        only: Sequence[ArtifactFile] | None = None,
    ) -> tuple[FileResult, ...]:
        """Copy a version's files from the DVC cache (fetching them first) into ``out``,
        verifying each sha256; ``replace=False`` only stages and verifies."""
        artifacts = list(only if only is not None else manifest.artifacts)
        self.storage.fetch([a.md5 for a in artifacts], self.config.remote)
        cache = self.storage.cache_objects([a.md5 for a in artifacts])
        if out.exists() and not out.is_dir():
            raise InputPathError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".modelreg-", dir=out))
        try:
            results = []
            for artifact in artifacts:
                staged = staging / artifact.path
                staged.parent.mkdir(parents=True, exist_ok=True)
                with self.progress.task(f"writing {artifact.path}", artifact.size) as task:
                    got = copy_file(cache[artifact.md5], staged, task).sha256
                if got != artifact.sha256:
                    raise IntegrityError(
                        f"{manifest.name} v{manifest.version}: {artifact.path} does not match its "
                        f"sha256 (expected {artifact.sha256[:12]}…, got {got[:12]}…)",
                        hint="the DVC cache or remote holds corrupt bytes; run 'modelreg verify'",
                    )
                results.append(FileResult(artifact.path, artifact.size, got))
            if replace:
                for artifact in artifacts:
                    final = out / artifact.path
                    if final.is_dir():
                        raise InputPathError(f"{final}: is a directory")
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / artifact.path, final)
                self.storage.remember([(out / a.path, a.md5) for a in artifacts]) if _inside(
                    out, self.root
                ) else None
            return tuple(results)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _history_entry(event: Event) -> HistoryEntry:
    kind = event.trailers.get("Modelreg-Event") or str(event.kind)
    if kind not in ("rollback",):
        kind = str(event.kind)
    return HistoryEntry(
        timestamp=event.timestamp,
        name=event.name,
        event=kind,
        version=event.version,
        stage=event.stage,
        author=event.author,
        author_email=event.author_email,
        reason=event.reason,
        tag=event.tag,
        commit=event.commit,
    )


def _previous_holder(model: ModelState, stage: str) -> VersionState | None:
    """The version that held ``stage`` before the current holder, skipping versions
    that were rolled back from (unless promoted again afterwards)."""
    stage_events = sorted(
        (e for e in model.events if e.stage == stage and e.version), key=lambda e: e.stage_key
    )
    holders: list[str] = []
    assigned: dict[str, int] = {}
    rolled_from: dict[str, int] = {}
    active: dict[str, tuple[int, int, str]] = {}
    for index, event in enumerate(stage_events):
        assert event.version is not None
        if event.kind is EventKind.ASSIGN:
            active[event.version] = event.stage_key
            assigned[event.version] = index
            previous = event.trailers.get("Modelreg-Previous")
            if event.trailers.get("Modelreg-Event") == "rollback" and previous:
                rolled_from[previous] = index
        elif event.kind is EventKind.UNASSIGN:
            active.pop(event.version, None)
        holder = max(active.items(), key=lambda kv: kv[1])[0] if active else None
        if holder is not None and (not holders or holders[-1] != holder):
            holders.append(holder)
    current = model.stages.get(stage)
    for candidate in reversed(holders):
        if candidate == current:
            continue
        if rolled_from.get(candidate, -1) > assigned.get(candidate, -1):
            continue
        found = model.find(candidate)
        if found is not None and found.registered and found.active:
            return found
    return None


def _parse_dependency(text: str) -> Dependency:
    name, sep, rng = text.partition("@")
    if not sep or not rng:
        raise InvalidReferenceError(
            f"--dep '{text}': write NAME@RANGE, e.g. text-embedder@>=2.0.0,<3.0.0"
        )
    validate_read_name(name)
    Range.parse(rng)
    return Dependency(name, rng)


def _skipped(rel: Path, is_model_folder: bool) -> bool:
    parts = rel.parts
    if any(p in (".git", ".dvc") or p.startswith(".modelreg-") for p in parts):
        return True
    if rel.name.endswith(".dvc") or rel.name == ".gitignore":
        return True
    return is_model_folder and rel.as_posix() == MANIFEST_FILE


def _remove_empty_dirs(path: Path, stop: Path) -> None:
    while path != stop and stop in path.parents:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


def _write_atomic(path: Path, data: bytes) -> None:
    staged = path.with_name(f".{path.name}.modelreg-{os.getpid()}")
    staged.write_bytes(data)
    os.replace(staged, path)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _now() -> dt.datetime:
    fixed = os.environ.get("GIT_COMMITTER_DATE") or os.environ.get("MODELREG_NOW")
    if fixed:
        parsed = _parse_git_date(fixed)
        if parsed is not None:
            return parsed
    return dt.datetime.now(dt.UTC)


def _parse_git_date(text: str) -> dt.datetime | None:
    text = text.strip().lstrip("@")
    first = text.split()[0] if text.split() else ""
    if first.isdigit():
        return dt.datetime.fromtimestamp(int(first), dt.UTC)
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
