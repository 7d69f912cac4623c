"""The registry: the library API the CLI calls, one method per command.

Orchestration only. Git lives in :mod:`gitrepo`, DVC in :mod:`storage`, the tag
grammar in :mod:`tags`, versions in :mod:`versions`; registering a version is
:mod:`registering`, bytes in directories :mod:`workspace`, remotes :mod:`sharing`.

Reads never lock. Every write takes the repository's write lock, checks its
request against a fresh read of the tags, and writes the tag last, so a failed
command leaves the repository as it found it.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import config as config_mod
from . import manifest as manifest_mod
from .errors import (
    DirtyStateError,
    InvalidReferenceError,
    ManifestError,
    NotARepositoryError,
    NotInitialisedError,
    PolicyError,
    RaceLostError,
    UnknownModelError,
    UnknownVersionError,
    VersionExistsError,
)
from .gitrepo import GitRepo
from .lock import write_lock
from .manifest import MANIFEST_FILE, Dependency, Scalar
from .progress import NullProgress, Progress
from .refs import Ref, parse_ref
from .registering import (
    Metadata,
    Registration,
    collect_sources,
    lineage,
    next_version,
    parse_dependency,
)
from .results import (
    CheckoutResult,
    EventResult,
    GetResult,
    HistoryEntry,
    InitResult,
    ModelSummary,
    RegisterResult,
    Resolved,
    SyncResult,
    VersionInfo,
)
from .sharing import (
    fetch_and_fast_forward,
    push_all,
    push_event,
    registered_md5s,
    require_remote,
)
from .state import Event, ModelState, RegistryState, VersionState, build_parsed, previous_holder
from .storage import DEFAULT_REMOTE_NAME, Storage, is_initialised, normalise_remote_url
from .tags import (
    EventKind,
    ParsedTag,
    format_message,
    format_tag_name,
    parse_tag_name,
    tag_patterns,
    validate_new_name,
    validate_read_name,
    validate_stage,
)
from .versions import BumpPart, Version
from .workspace import manifests_under, read_manifest, refuse_unregistered_bytes, staged

LOCK_FILE = "modelreg.lock"
_STAGE_EVENTS = (EventKind.ASSIGN, EventKind.UNASSIGN)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Reading 100,000 tags makes a million small objects and no reference cycles;
    the cyclic collector would walk them again and again for nothing (a third of
    ``list``'s time at that size)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_remote_dir(root: Path) -> Path:
    """Where ``modelreg init`` puts the embedded local-folder DVC remote: outside the
    work tree (so clones on this machine share it), under the user's data folder."""
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
        self._cached_models: dict[str, ModelState | None] = {}

    # ------------------------------------------------------------------ set-up

    @classmethod
    def init(
        cls, path: str | Path = ".", *, remote: str | None = None, progress: Progress | None = None
    ) -> tuple[Registry, InitResult]:
        """Set up ``.modelreg.yaml``, DVC and a DVC remote, and commit them.

        Outside a git repository this runs ``git init`` first. Without ``remote``, a
        repository with no default DVC remote gets a local-folder one. Running it
        again changes nothing.
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
        if config_path.exists():
            config_mod.load(root)  # refuse a broken config before touching anything
        else:
            config_path.write_text(config_mod.Config().to_yaml(), encoding="utf-8")
            created.append(config_mod.CONFIG_FILE)
        storage = Storage(root, progress)
        created += storage.init()
        default, urls = storage.remotes()
        remote_name, remote_url = default, urls.get(default) if default else None
        if remote is not None or default is None:
            remote_name = DEFAULT_REMOTE_NAME
            if remote is not None:
                remote_url = normalise_remote_url(remote, Path.cwd())
            else:
                remote_dir = default_remote_dir(root)
                remote_dir.mkdir(parents=True, exist_ok=True)
                remote_url = str(remote_dir)
            storage.set_remote(remote_name, remote_url)
        own = [
            p
            for p in (config_mod.CONFIG_FILE, ".dvc/config", ".dvc/.gitignore", ".dvcignore")
            if (root / p).exists()
        ]
        head = git.head()
        commit = None
        if head is None or git.changed_paths(own) or git.untracked_paths(own):
            with write_lock(git.common_dir / LOCK_FILE):
                commit = git.commit_paths(own, "modelreg: set up the registry", parent=head)
                git.advance_head(commit, head, "modelreg init")
                git.sync_index(own)
        return cls(root, progress=progress), InitResult(
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
            self._cached_state = self._read_state(None)
        return self._cached_state

    def _read_state(self, names: Sequence[str] | None, *, messages: bool = True) -> RegistryState:
        """The state of every model, or of ``names`` only: git then reads only
        their tags, so the cost does not grow with the registry. Two git
        processes either way (tag names, then tag objects).

        Without ``messages`` only stage events keep theirs (they may be needed to
        tell versions at one commit apart): enough for ``list``, not for history.
        """
        patterns: list[str] | None = None
        if names is not None:
            globs = [tag_patterns(name) for name in names]
            patterns = None if None in globs else [p for g in globs if g for p in g]
        wanted = None if names is None else set(names)
        with _no_gc():
            parsed: dict[str, ParsedTag] = {}
            refs = []
            for tag, oid in self.git.tag_refs(patterns):
                found = parse_tag_name(tag)
                if found is not None and (wanted is None or found.name in wanted):
                    parsed[tag] = found
                    refs.append((tag, oid))
            keep = None
            if not messages:
                keep = {tag for tag, found in parsed.items() if found.kind in _STAGE_EVENTS}
            records = self.git.tag_records(refs, messages=keep)
            return build_parsed((parsed.pop(record.name), record) for record in records)

    def _find_model(self, name: str, refresh: bool = False) -> ModelState | None:
        """One model's state (None: no tags), read on its own unless every model's
        state is at hand already."""
        if refresh:
            self._forget()
        if self._cached_state is not None:
            return self._cached_state.model(name)
        if name not in self._cached_models:
            self._read_models([name])
        return self._cached_models[name]

    def _read_models(self, names: Sequence[str]) -> RegistryState:
        """A fresh read of these models' tags alone, remembered for :meth:`_find_model`."""
        self._forget()
        state = self._read_state(names)
        for name in names:
            self._cached_models[name] = state.model(name)
        return state

    def _forget(self) -> None:
        """Drop what was read from tags: an event was written, or may have been."""
        self._cached_state = None
        self._cached_models.clear()

    def list_models(self, *, include_deprecated: bool = False) -> list[ModelSummary]:
        """Models with their latest version and who holds each stage."""
        out = []
        state = self._cached_state or self._read_state(None, messages=False)
        for model in state.models.values():
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
        """One version (``NAME`` alone means its latest) with its manifest and stages."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        model = self._model(ref.name)
        version = self._pick(model, ref)
        data = self.git.read_file(version.commit, self.manifest_path(model.name))
        manifest = (
            manifest_mod.loads(data, self.manifest_path(model.name)) if data is not None else None
        )
        registration = _registration(model, version.version)
        return VersionInfo(
            name=model.name,
            version=version.version,
            commit=version.commit,
            tag=registration.tag if registration else None,
            registered=version.registered,
            active=version.active,
            deprecated=model.deprecated,
            registered_at=version.registered_at,
            author=f"{version.author} <{version.author_email}>" if version.author else None,
            stages=version.stages,
            manifest=manifest,
            manifest_sha256=manifest_mod.digest(data) if data is not None else None,
            recorded_sha256=registration.trailers.get("Modelreg-Manifest-Sha256")
            if registration
            else None,
        )

    get_model = show

    def history(self, name: str | None = None, *, reverse: bool = False) -> list[HistoryEntry]:
        """Every event (of one model, or of all), oldest first, read from tags alone."""
        if name is not None:
            events = list(self._model(validate_read_name(name)).events)
        else:
            events = [e for m in self.state().models.values() for e in m.events]
            events.sort(key=lambda e: e.order_key)
        entries = [_history_entry(e) for e in events]
        return entries[::-1] if reverse else entries

    def resolve(self, ref: str | Ref) -> Resolved:
        """The version a reference means: ``NAME#STAGE``, ``NAME@latest``, ``NAME@vV``."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        model = self._model(ref.name)
        version = self._pick(model, ref)
        return Resolved(model.name, version.version, version.commit)

    # ------------------------------------------------------------------ register

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
        """Track ``paths`` (files or folders) with DVC as a new version of ``name``,
        commit its manifest and tag it ``NAME@vVERSION``."""
        self._require_registry()
        if self._find_model(name, refresh=True) is None:
            validate_new_name(name)
        else:
            validate_read_name(name)
        model_dir = self.model_dir(name)
        private = [self.git.git_dir.resolve(), (self.root / ".dvc").resolve()]
        sources = collect_sources(paths, self.root / model_dir, private)
        metadata = Metadata(
            author=author or str(self.git.identity()),
            description=description,
            license=license,
            framework=framework,
            labels=dict(labels or {}),
            metrics=dict(metrics or {}),
            params=dict(params or {}),
            dependencies=tuple(parse_dependency(d) for d in dependencies),
            lineage=lineage(self.root, data, code_commit),
        )
        with self._locked():
            # Only this model and its dependencies: registering costs the same in any registry.
            state = self._read_models([name, *(d.name for d in metadata.dependencies)])
            new_version = next_version(state.model(name), version, bump)
            self._check_dependencies(name, metadata.dependencies, state, allow_unresolved)
            tag = format_tag_name(EventKind.REGISTER, name, version=new_version)
            if self.git.tag_exists(tag):
                raise VersionExistsError(f"{name}@{new_version.tag_form} is already registered")
            base, _current = self._worktree_base(name, model_dir)
            registration = Registration(
                self.git,
                self.storage,
                self.progress,
                name=name,
                model_dir=model_dir,
                version=new_version,
                head=self.git.head(),
                base=base,
            )
            try:
                done = registration.run(sources, metadata, tag, message)
            finally:
                self._forget()
        if push:
            md5s = [a.md5 for a in done.manifest.artifacts]
            push_event(
                self.git, self.storage, tag, md5s, self.config.remote, True, f"registered {tag}"
            )
        return RegisterResult(name, str(new_version), tag, done.commit, done.manifest, push)

    # ------------------------------------------------------------------ stages

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
            self._check_stage(stage)
            previous = model.stages.get(stage)
            if previous == version.version:
                note = f"{model.name} v{version.version} already holds {stage}; nothing to do"
                return EventResult(
                    model.name, "assign", version.version, stage, None, previous,
                    changed=False, notes=(note,),
                )  # fmt: skip
            self._check_promotion_order(model, version, stage)
            summary = f"Promote {model.name} v{version.version} to {stage}"
            trailers = {"Event": "assign", "Version": version.version, "Stage": stage}
            tag = self._write_event(
                model, EventKind.ASSIGN, version, stage, summary, trailers, message
            )
        if push:
            self._push_event(tag, f"promoted ({tag})")
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
        """Give ``stage`` back to the version that held it before (or to ``to``), with a
        new tag: no tag is ever moved or deleted."""
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
                earlier = previous_holder(model, stage)
                if earlier is None:
                    raise PolicyError(
                        f"no earlier version of {name} held {stage} (v{current} holds it)",
                        hint=f"name one: modelreg rollback {name} --stage {stage} --to VERSION",
                    )
                target = earlier
            if target.version == current:
                raise PolicyError(f"{name} v{current} already holds {stage}")
            self._check_stage(stage)
            summary = f"Roll back {name} {stage} from v{current} to v{target.version}"
            trailers = {
                "Event": "rollback",
                "Version": target.version,
                "Stage": stage,
                "Previous": current,
            }
            tag = self._write_event(
                model, EventKind.ASSIGN, target, stage, summary, trailers, message
            )
        if push:
            self._push_event(tag, f"rolled back ({tag})")
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
                tag = self._write_event(
                    model, EventKind.DEPRECATE, anchor, None, f"Deprecate {model.name}",
                    {"Event": "deprecate"}, message,
                )  # fmt: skip
                result = EventResult(model.name, "deprecate", None, None, tag, pushed=push)
            else:
                version = self._pick(model, ref)
                summary = f"Deregister {model.name} v{version.version}"
                trailers = {"Event": "deregister", "Version": version.version}
                tag = self._write_event(
                    model, EventKind.DEREGISTER, version, None, summary, trailers, message
                )
                notes = tuple(f"v{version.version} no longer holds {s}" for s in version.stages)
                result = EventResult(
                    model.name, "deregister", version.version, None, tag, pushed=push, notes=notes
                )
        if push:
            self._push_event(tag, f"recorded {tag}")
        return result

    # ------------------------------------------------------------------ bytes

    def get(self, ref: str | Ref, out_dir: str | Path) -> GetResult:
        """Write a version's files into ``out_dir``, each verified against its sha256.

        Files are staged in a hidden folder inside ``out_dir`` and moved into place
        only when every one has verified; on any failure nothing is left behind.
        """
        info = self._version_with_manifest(ref)
        assert info.manifest is not None
        out = Path(out_dir)
        remote = self.config.remote
        with staged(
            self.storage, self.progress, info.manifest, out, remote, fill_cache=False
        ) as files:
            files.move_into_place()
        return GetResult(info.name, info.version, out.resolve(), files.files)

    def checkout(self, ref: str | Ref) -> CheckoutResult:
        """Restore ``models/<name>/`` (manifest, ``.dvc`` files, bytes) to a version.

        Refuses when the folder holds changes that no registered version has.
        """
        info = self._version_with_manifest(ref)
        manifest = info.manifest
        assert manifest is not None
        model_dir = self.model_dir(info.name)
        folder = self.root / model_dir
        with self._locked():
            _base, current = self._worktree_base(info.name, model_dir)
            if current is not None:
                refuse_unregistered_bytes(self.storage, self.root, folder, current.artifacts)
            wanted = {a.path for a in manifest.artifacts}
            stale = [a for a in (current.artifacts if current else ()) if a.path not in wanted]
            with staged(self.storage, self.progress, manifest, folder, self.config.remote) as new:
                self.git.restore_worktree(info.commit, [model_dir])
                for artifact in stale:
                    (folder / artifact.path).unlink(missing_ok=True)
                new.move_into_place()
            self.storage.remember([(folder / a.path, a.md5) for a in manifest.artifacts])
        return CheckoutResult(info.name, info.version, folder, new.files)

    # ------------------------------------------------------------------ sharing

    def push(self, remote: str = "origin", *, dvc_remote: str | None = None) -> SyncResult:
        """Send file bytes to the DVC remote, then the branch and registry tags to git."""
        require_remote(self.git, remote)
        state = self.state(refresh=True)
        paths = {name: self.manifest_path(name) for name in state.models}
        md5s, notes = registered_md5s(self.git, state, paths)
        storage = self.storage if is_initialised(self.root) else None
        pushed = push_all(self.git, storage, remote, dvc_remote or self.config.remote, md5s)
        return SyncResult(
            remote, pushed.tags, pushed.objects, pushed.branch, tuple(notes) + pushed.notes
        )

    def pull(self, remote: str = "origin", *, dvc_remote: str | None = None) -> SyncResult:
        """Fetch tags and commits, fast-forward the branch, and fetch the bytes of the
        versions now in the work tree."""
        require_remote(self.git, remote)
        received, branch, notes = fetch_and_fast_forward(self.git, remote)
        self._forget()
        self.config = config_mod.load(self.root)
        objects = 0
        if is_initialised(self.root):
            wanted = dvc_remote or self.config.remote
            manifests = manifests_under(self.root, self.config.models_dir)
            objects = self.storage.fetch([a.md5 for m in manifests for a in m.artifacts], wanted)
            for found in manifests:
                folder = self.root / self.model_dir(found.name)
                missing = [a for a in found.artifacts if not (folder / a.path).exists()]
                if missing:
                    with staged(self.storage, self.progress, found, folder, wanted, missing) as s:
                        s.move_into_place()
        return SyncResult(remote, received, objects, branch, tuple(notes))

    # ------------------------------------------------------------------ layout

    def model_dir(self, name: str) -> str:
        """``models/<name>`` (GTO's ``dir:name`` names live in ``models/dir/name``)."""
        return f"{self.config.models_dir}/{name.replace(':', '/')}"

    def manifest_path(self, name: str) -> str:
        return f"{self.model_dir(name)}/{MANIFEST_FILE}"

    # ------------------------------------------------------------------ helpers

    def _model(self, name: str, refresh: bool = False) -> ModelState:
        model = self._find_model(name, refresh)
        if model is None:
            known = sorted(self.state().models)
            hint = f"registered: {', '.join(known[:10])}" if known else "nothing is registered"
            raise UnknownModelError(f"unknown model '{name}'", hint=hint)
        return model

    def _pick(self, model: ModelState, ref: Ref) -> VersionState:
        found: VersionState | None
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
        return found

    def _version_with_manifest(self, ref: str | Ref) -> VersionInfo:
        info = self.show(ref)
        path = self.manifest_path(info.name)
        if info.manifest is None:
            raise ManifestError(
                f"{info.name} v{info.version} has no manifest at {path}",
                hint="it was registered by another tool: modelreg lists it but cannot fetch it",
            )
        if info.manifest.name != info.name or str(info.manifest.version) != info.version:
            raise ManifestError(
                f"{path} at {info.commit[:8]} describes {info.manifest.name} "
                f"v{info.manifest.version}, not {info.name} v{info.version}"
            )
        return info

    def _worktree_base(
        self, name: str, model_dir: str
    ) -> tuple[str | None, manifest_mod.Manifest | None]:
        """The commit whose ``model_dir`` the work tree holds, and the manifest there.

        That is HEAD, or a registered version's commit after ``checkout``. Anything
        else is a change nobody registered or committed: refuse to overwrite it.
        """
        head = self.git.head()
        current = read_manifest(self.root / model_dir / MANIFEST_FILE, self.manifest_path(name))
        if head is None:
            return None, current
        staged = self.git.index_differs(head, [model_dir])
        if not staged and not self.git.worktree_differs(head, [model_dir]):
            return head, current
        model = self._find_model(name)
        found = model.find(str(current.version)) if model and current else None
        if (
            staged
            or found is None
            or not found.registered
            or self.git.worktree_differs(found.commit, [model_dir])
        ):
            changed = self.git.changed_paths([model_dir]) or [model_dir]
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise DirtyStateError(
                f"{changed[0]} has uncommitted changes{more}",
                hint="commit or stash them first, or restore with "
                f"'git checkout -- {model_dir}'; modelreg commits only its own files",
            )
        return found.commit, current

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

    def _check_stage(self, stage: str) -> None:
        if not self.config.stage_allowed(stage):
            raise PolicyError(
                f"'{stage}' is not a stage of this registry",
                hint=f"stages in {config_mod.CONFIG_FILE}: {', '.join(self.config.stages)}",
            )

    def _check_promotion_order(self, model: ModelState, version: VersionState, stage: str) -> None:
        stages = self.config.stages
        if not self.config.promotion_order or stage not in stages or stage == stages[0]:
            return
        before = stages[stages.index(stage) - 1]
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
            model = state.model(dep.name)
            rng = dep.range
            satisfied = model is not None and any(
                v.registered and v.active and v.semver is not None and rng.contains(v.semver)
                for v in model.versions
            )
            if not satisfied and not allow:
                raise PolicyError(
                    f"no registered version of {dep.name} satisfies '{dep.version}'",
                    hint="register it first, or pass --allow-unresolved",
                )

    def _write_event(
        self,
        model: ModelState,
        kind: EventKind,
        version: VersionState | None,
        stage: str | None,
        summary: str,
        trailers: dict[str, str],
        message: str | None,
    ) -> str:
        """Tag an event at the version's commit with the next free counter."""
        commit = version.commit if version else model.events[-1].commit
        data = self.git.read_file(commit, self.manifest_path(model.name))
        if data is not None and version is not None:
            trailers["Manifest-Sha256"] = manifest_mod.digest(data)
        if message:
            trailers["Reason"] = message
        text = format_message(summary, trailers)
        semver = version.semver if version else None
        counter = model.max_counter
        for _attempt in range(10):
            counter += 1
            tag = format_tag_name(kind, model.name, version=semver, stage=stage, counter=counter)
            try:
                self.git.create_tag(tag, commit, text)
            except RaceLostError:
                continue  # another writer took this counter: take the next one
            self._forget()
            return tag
        raise RaceLostError(
            f"could not find a free event counter for {model.name}",
            hint="another process keeps writing events; try again",
        )

    def _push_event(self, tag: str, done: str) -> None:
        push_event(self.git, self.storage, tag, [], self.config.remote, False, done)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with write_lock(self.git.common_dir / LOCK_FILE):
            yield


def _registration(model: ModelState, version: str) -> Event | None:
    found = None
    for event in model.events:
        if event.kind is EventKind.REGISTER and event.version == version:
            found = event
    return found


def _history_entry(event: Event) -> HistoryEntry:
    # A rollback is an assignment tag; its trailer says it was a rollback.
    rollback = event.trailers.get("Modelreg-Event") == "rollback"
    return HistoryEntry(
        timestamp=event.timestamp,
        name=event.name,
        event="rollback" if rollback and event.kind is EventKind.ASSIGN else str(event.kind),
        version=event.version,
        stage=event.stage,
        author=event.author,
        author_email=event.author_email,
        reason=event.reason,
        tag=event.tag,
        commit=event.commit,
    )
