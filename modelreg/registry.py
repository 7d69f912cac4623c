"""The registry: a small context every operation shares, binding the operations.

``Registry`` holds the git repository, the DVC side (:mod:`storage`, made on
first use), the config, the cache of what was read from tags, manifest lookups
and the write lock. Each operation lives in its own module under :mod:`ops`
(``ops/stages.py`` is promote, rollback and deprecate; ``ops/read.py`` the reads;
...) and is bound into the class body, so ``Registry.promote`` is
:func:`ops.stages.promote`. Every tag is written by :mod:`events`; every gate is
in :mod:`gates`.

Reads never lock. Every write takes the repository's write lock, checks its
request against a fresh read of the tags, and writes the tag last, so a failed
command leaves the repository as it found it.

Only what reads need is imported at start-up: ``list``, ``show``, ``history`` and
``resolve`` pay for no DVC gateway, gate, journal or verifier module. The
operations that write, move bytes or check import theirs where they start.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import (
    DirtyStateError,
    LockTimeoutError,
    ManifestError,
    NotInitialisedError,
    PolicyError,
    UnknownModelError,
    UnknownVersionError,
    UnsafePathError,
)
from .gitrepo import GitRepo, Identity, TagRecord, is_object_id
from .ops import lazy
from .progress import NullProgress, Progress
from .state import ModelState, RegistryState, VersionState, build_parsed
from .tags import (
    EventKind,
    ParsedTag,
    in_grammar,
    parse_tag_name,
    tag_patterns,
)

if TYPE_CHECKING:
    from . import config as config_mod
    from . import manifest as manifest_mod
    from .hostile import Hostile
    from .ops import files as _files
    from .ops import import_mlflow as _import_mlflow
    from .ops import init as _init
    from .ops import inspect as _inspect
    from .ops import publish as _publish
    from .ops import read as _read
    from .ops import register as _register
    from .ops import remotes as _remotes
    from .ops import stages as _stages
    from .ops import sync as _sync
    from .refs import Ref
    from .results import GateFailure, VersionInfo
    from .statecache import ManifestKeeper, StateCache, Summary
    from .storage import Storage
else:
    # Each operation's module is imported when one of its operations is first looked
    # up: a read pays for no write side (see ops/__init__.py).
    _files, _import_mlflow, _init, _inspect, _publish = map(
        lazy, ("files", "import_mlflow", "init", "inspect", "publish")
    )
    _read, _register, _remotes, _stages, _sync = map(
        lazy, ("read", "register", "remotes", "stages", "sync")
    )

T = TypeVar("T")

LOCK_FILE = "modelreg.lock"
_STAGE_EVENTS = (EventKind.ASSIGN, EventKind.UNASSIGN)


def _same_manifest(a: manifest_mod.Manifest | None, b: manifest_mod.Manifest) -> bool:
    """Equal, mappings in the same order too (``show`` prints them in order)."""
    return a == b and all(
        list(getattr(a, key).items()) == list(getattr(b, key).items())
        for key in ("labels", "metrics", "params")
    )


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


class Registry:
    """A model registry in the git repository containing ``path``."""

    def __init__(
        self,
        path: str | Path = ".",
        *,
        progress: Progress | None = None,
        identity: Identity | None = None,
    ) -> None:
        """``identity``: who this registry's commits and event tags name as author
        and tagger, instead of git's configured user (a server writing on behalf
        of a token's holder; nothing process-wide changes)."""
        git = GitRepo.discover(Path(path))
        git.acting_as = identity
        self._start(git, progress, None)

    @classmethod
    def of(
        cls,
        git: GitRepo,
        *,
        progress: Progress | None = None,
        identity: Identity | None = None,
    ) -> Registry:
        """The registry in a work tree already found: ``Registry(path)`` without
        its ``git rev-parse``. A server serving one repository builds a registry
        per request (each with its own ``git``: ``identity`` is set on it); this
        spares each one a git process."""
        self = cls.__new__(cls)
        git.acting_as = identity
        self._start(git, progress, None)
        return self

    @classmethod
    def from_git(
        cls,
        git: GitRepo,
        config: config_mod.Config,
        storage: Callable[[], Storage],
        *,
        progress: Progress | None = None,
    ) -> Registry:
        """A registry read from a bare mirror (see :mod:`remote`): reads and ``get``
        work; there is no work tree to write to. ``storage`` makes its DVC side, on
        first use: reads never need it."""
        self = cls.__new__(cls)
        self._start(git, progress, storage)
        self._config, self._config_error = config, None
        return self

    def _start(
        self, git: GitRepo, progress: Progress | None, storage: Callable[[], Storage] | None
    ) -> None:
        self.git = git
        self.root = git.root
        self.progress: Progress = progress or NullProgress()
        self._make_storage = storage
        self._storage: Storage | None = None
        # .modelreg.yaml, read on first use (resolve and history never need it)
        self._config: config_mod.Config | None = None
        self._config_error: ManifestError | None = None
        self._cached_state: RegistryState | None = None
        self._cached_models: dict[str, ModelState | None] = {}
        self._state_cache: StateCache | None = None
        self._cache_opened = False
        # Where manifests read are kept for the state cache to write later, together
        # (a server's, shared by its requests); None: each is written as it is read.
        self.keeper: ManifestKeeper | None = None
        # The refs' fingerprint this registry last brought the cache in line with, and
        # when it was taken (time.time_ns, as Fingerprint.taken): see _cache_query.
        self._cache_synced: tuple[str, int] | None = None
        # What the caller should tell the user about this registry as a whole (a
        # mirror that could not be refreshed); every read's answer carries these too.
        self.warnings: list[str] = []
        self.skipped_tags: tuple[str, ...] = ()  # unreadable event tags seen by the last read

    @property
    def storage(self) -> Storage:
        """The DVC side (:mod:`storage`), made on first use: reads never need it."""
        if self._storage is None:
            if self._make_storage is not None:
                self._storage = self._make_storage()
                self._storage.progress = self.progress
            else:
                from .storage import Storage, is_initialised

                if not is_initialised(self.root):
                    raise NotInitialisedError(
                        f"{self.root} has no DVC set-up (.dvc/ is missing)",
                        hint=self._set_up_hint(),
                    )
                self._storage = Storage(
                    self.root,
                    self.progress,
                    guard=self._refuse_dvc_internals,
                    index=self.git.git_dir / "index",
                )
        return self._storage

    def _storage_at(self, commit: str) -> tuple[Storage, str | None]:
        """The DVC side for fetching a version's files, and the DVC remote to ask:
        the work tree's, or (where it has none: a clone with no branch checked out)
        the DVC config recorded at the version's commit, through a private folder."""
        from .storage import DVC_CONFIG, detached, is_initialised

        if self._make_storage is not None or is_initialised(self.root):
            return self.storage, self.config.remote
        data = self.git.read_file(commit, DVC_CONFIG)
        if data is None:
            raise NotInitialisedError(
                f"{self.root} has no DVC set-up, and the version's commit records none",
                hint=self._set_up_hint(),
            )
        from . import config as config_mod

        config = config_mod.Config()
        recorded = self.git.read_file(commit, config_mod.CONFIG_FILE)
        if recorded is not None:
            with suppress(ManifestError):
                config = config_mod.parse(recorded)
        storage = detached(self.git.common_dir / "modelreg" / "dvc", data, self.progress)
        return storage, config.remote

    def _set_up_hint(self) -> str:
        """What to do where the registry is not set up: ``modelreg init``, except in
        a clone of an existing registry with no branch checked out, where init would
        start an unrelated history."""
        from .ops.init import clones_a_registry

        if self.git.head() is None and clones_a_registry(self.git):
            return (
                "this clone has no branch checked out: run 'modelreg pull' to check out "
                "the registry's branch"
            )
        return "run 'modelreg init' first"

    @property
    def config(self) -> config_mod.Config:
        """The registry's config, read on first use; a broken ``.modelreg.yaml`` stops
        every command that needs it here (but ``check``, which reports it with
        everything else)."""
        if self._config is None and self._config_error is None:
            self._load_config()
        if self._config_error is not None:
            raise self._config_error
        assert self._config is not None
        return self._config

    def _load_config(self) -> None:
        from . import config as config_mod  # here: resolve and history never need it

        self._config, self._config_error = None, None
        try:
            self._config = config_mod.load(self.root, store=self._cache())
        except ManifestError as exc:
            self._config_error = exc

    # ------------------------------------------------------------------ operations
    # One module per operation group in ``modelreg/ops/``, bound here as DVC binds
    # ``dvc/repo/<op>.py`` into ``Repo``: each is a plain function of the registry.
    # They import what they need (DVC, gates, journals) where they start, and each
    # module is imported only when one of its operations is first looked up.

    if TYPE_CHECKING:
        init = classmethod(_init.init)
    else:
        init = _init.init.on_class()

    list_models = _read.list_models
    show = _read.show
    get_model = _read.show
    history = _read.history
    resolve = _read.resolve
    deps = _read.deps
    dependents = _read.dependents
    manifests = _read.manifests
    last_events = _read.last_events
    diff = _read.diff

    register = _register.register

    promote = _stages.promote
    rollback = _stages.rollback
    promote_preview = _stages.promote_preview
    rollback_preview = _stages.rollback_preview
    unassign = _stages.unassign
    import_mlflow = _import_mlflow.import_mlflow
    deprecate = _stages.deprecate

    get = _files.get
    checkout = _files.checkout
    files = _files.files
    local_files = _files.local_files

    push = _sync.push
    publish = _publish.publish
    pull = _sync.pull

    check = _inspect.check
    verify = _inspect.verify
    doctor = _inspect.doctor

    remotes = _remotes.remotes
    remote_add = _remotes.remote_add
    remote_remove = _remotes.remote_remove
    remote_default = _remotes.remote_default

    # ------------------------------------------------------------------ reads

    def state(self, refresh: bool = False, *, from_git: bool = False) -> RegistryState:
        """Every model's state, from one read of all tags (through the state cache,
        unless ``from_git``: ``verify`` reads git's own objects, never a copy; this
        registry then reads git directly from here on)."""
        if self._cached_state is None or refresh or from_git:
            if from_git:
                self._state_cache, self._cache_opened = None, True
            self._cached_state = self._read_state(None)
        return self._cached_state

    def _read_state(self, names: Sequence[str] | None, *, messages: bool = True) -> RegistryState:
        """The state of every model, or of ``names`` only: git then reads only
        their tags, so the cost does not grow with the registry. From the state
        cache where it is fresh; else two git processes (tag names, then the tag
        objects the cache has not read before).

        Without ``messages`` only stage events keep theirs (they may be needed to
        tell versions at one commit apart): enough for ``list``, not for history.
        """
        cached = self._cached_read(names)
        if cached is not None:
            self.skipped_tags = cached.skipped
            return cached
        patterns: list[str] | None = None
        if names is not None:
            globs = [tag_patterns(name) for name in names]
            patterns = None if None in globs else [p for g in globs if g for p in g]
        wanted = None if names is None else set(names)
        with _no_gc():
            parsed: dict[str, ParsedTag] = {}
            refs = []
            unreadable = []
            for tag, oid in self.git.tag_refs(patterns):
                found = parse_tag_name(tag)
                if found is None:
                    if in_grammar(tag):
                        unreadable.append(tag)
                elif wanted is None or found.name in wanted:
                    parsed[tag] = found
                    refs.append((tag, oid))
            keep = None
            if not messages:
                # Stage events may need theirs to tell versions at one commit apart; a
                # model that was deprecated needs its registrations' sequence trailers.
                deprecated = {f.name for f in parsed.values() if f.kind is EventKind.DEPRECATE}
                keep = {
                    tag
                    for tag, found in parsed.items()
                    if found.kind in _STAGE_EVENTS
                    or (found.kind is EventKind.REGISTER and found.name in deprecated)
                }
            records: Iterable[TagRecord] = self._known_records(refs) if names else ()
            if records:
                have = {record.name for record in records}
                refs = [ref for ref in refs if ref[0] not in have]
            if refs:
                records = [*records, *self.git.tag_records(refs, messages=keep)]
            state = build_parsed((parsed.pop(record.name), record) for record in records)
        if unreadable:
            state = replace(state, skipped=tuple(unreadable) + state.skipped)
        self.skipped_tags = state.skipped
        return state

    # ------------------------------------------------------------------ state cache

    def _cache(self) -> StateCache | None:
        """The shared state cache (:mod:`statecache`), opened on first use; None
        where there is none to be had (``MODELREG_STATE_CACHE=0``, a read-only
        repository)."""
        if not self._cache_opened:
            self._cache_opened = True
            if os.environ.get("MODELREG_STATE_CACHE", "1") not in ("0", "false", "no"):
                from .statecache import StateCache

                self._state_cache = StateCache.open(self.git)
        return self._state_cache

    def _drop_cache(self, error: Exception) -> None:
        """The cache failed mid-read: answer from git this time, and remove the file
        (the next read makes a new one) unless it was only busy (another process
        held its write lock too long: theirs is being brought up to date)."""
        from .statecache import busy, cache_path, remove

        cache = self._cache()
        if cache is not None:
            cache.close()
        if not busy(error):
            remove(cache_path(self.git.common_dir))
        self._state_cache = None

    def _cached_read(self, names: Sequence[str] | None) -> RegistryState | None:
        """State from the cache: every model's after bringing the cache up to date;
        one model's while the cache is fresh by its fingerprint, or when loose refs
        make git's pattern query cost a full listing anyway (otherwise that model's
        own tags are cheaper to read than the whole listing)."""
        from .statecache import CACHE_ERRORS

        cache = self._cache()
        if cache is None:
            return None
        try:
            if not cache.ready(one_model=names is not None):
                return None
            with _no_gc():
                state = build_parsed((parse_tag_name(r.name), r) for r in cache.records(names))
                unreadable = cache.unreadable(names)
        except CACHE_ERRORS as exc:
            self._drop_cache(exc)
            return None
        if unreadable:
            state = replace(state, skipped=tuple(unreadable) + state.skipped)
        return state

    def _known_records(self, refs: Sequence[tuple[str, str]]) -> list[TagRecord]:
        """The records of those tags whose objects the state cache has read before,
        fresh or not: a tag object never changes, so git need not read it again."""
        from .statecache import CACHE_ERRORS

        cache = self._cache()
        if cache is None:
            return []
        try:
            return cache.known_records(refs)
        except CACHE_ERRORS as exc:
            self._drop_cache(exc)
            return []

    def _summaries(self) -> list[Summary] | None:
        """What ``list`` prints of every model, from the cache (None: no cache)."""
        found = self._cache_query(lambda cache: cache.summaries())
        if found is None:
            return None
        summaries, unreadable = found
        self.skipped_tags = (*unreadable, *(t for s in summaries for t in s.skipped))
        return summaries

    def _cache_query(self, query: Callable[[StateCache], T]) -> T | None:
        """``query`` of the state cache once it is in line with the refs; None where
        there is no cache or it failed (the caller then reads git).

        Several queries of one registry (one page: the summaries, then the shown
        rows' manifests and last events) compare the refs with the cache once:
        while the refs' stat is what it was when this registry last brought the
        cache in line, for up to ``RACY_NS``, they share that listing. Right after
        a change the fingerprint is racy and the cache never believes it alone,
        so without this each query would list every tag again; a change made in
        the same clock tick after that listing is seen by the next registry (or
        by this one once the window is over), and a write by this registry
        forgets the listing (:meth:`_forget`)."""
        from .statecache import CACHE_ERRORS, RACY_NS

        cache = self._cache()
        if cache is None:
            return None
        try:
            found = cache.fingerprint()
            synced = self._cache_synced
            if synced is None or synced[0] != found.stamps or found.taken - synced[1] > RACY_NS:
                cache.refresh(found)
                self._cache_synced = (found.stamps, found.taken)
            return query(cache)
        except CACHE_ERRORS as exc:
            self._drop_cache(exc)
            return None

    def _declaring(self) -> set[str] | None:
        """The files of HEAD's models folder that declare dependencies (paths inside
        it), from the state cache's index (None: no cache)."""
        from .statecache import CACHE_ERRORS

        cache = self._cache()
        if cache is None:
            return None
        tree = self.git.tree_id("HEAD", self.config.models_dir)
        if tree is None:
            return set()
        try:
            return cache.declaring(tree)
        except CACHE_ERRORS as exc:
            self._drop_cache(exc)
            return None

    def _declares_dependencies(self) -> bool:
        """Whether a file in HEAD's models folder holds ``dependencies:``: from the
        state cache (a ``git rev-parse``, and a grep of only what changed since it
        last looked), else one ``git grep`` over the whole folder."""
        from .statecache import CACHE_ERRORS, DECLARES

        models_dir = self.config.models_dir
        cache = self._cache()
        if cache is not None:
            tree = self.git.tree_id("HEAD", models_dir)
            if tree is None:
                return False
            try:
                return cache.declares_dependencies(tree)
            except CACHE_ERRORS as exc:
                self._drop_cache(exc)
        return self.git.any_file_contains(DECLARES, "HEAD", models_dir)

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
        synced = self._cache_synced  # a read: the cache's listing still holds
        self._forget()
        self._cache_synced = synced
        state = self._read_state(names)
        for name in names:
            self._cached_models[name] = state.model(name)
        return state

    def _warnings(self, *about_the_answer: str) -> tuple[str, ...]:
        """The warnings a read's answer carries: the registry's, the answer's own,
        and the event tags the last read of tags could not read."""
        found = [*self.warnings, *about_the_answer]
        skipped = self.skipped_tags
        if skipped:
            found.append(
                f"skipped {len(skipped)} tag(s) shaped like registry events that cannot be "
                f"read as one (lightweight or malformed): {', '.join(skipped[:3])}"
            )
        return tuple(found)

    def _forget(self) -> None:
        """Drop what was read from tags: an event was written, or may have been."""
        self._cached_state = None
        self._cache_synced = None
        self._cached_models.clear()

    def _dvc_internals(self) -> list[Hostile]:
        """Hostile entries a commit put in DVC's own folder (one git call)."""
        from .hostile import dvc_internals
        from .storage import DVC_DIR

        return dvc_internals(self.git.index_entries(DVC_DIR))

    def _refuse_dvc_internals(self) -> None:
        found = self._dvc_internals()
        if found:
            first = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise UnsafePathError(
                f"{first.path} {first.message}{more}; refused",
                hint=f"remove it from git ('git rm --cached {first.path}', then delete it)",
            )

    # ------------------------------------------------------------------ work tree

    def _known_md5s(self, name: str) -> set[str]:
        """Every md5 any registered version of ``name`` lists (its bytes can be fetched)."""
        model = self._find_model(name)
        return self._known_md5s_of([model])[name] if model else set()

    def _known_md5s_of(self, models: Sequence[ModelState]) -> dict[str, set[str]]:
        """:meth:`_known_md5s` of several models, their manifests read in one batch."""
        wanted = [(m.name, v) for m in models for v in m.versions if v.registered]
        known: dict[str, set[str]] = {m.name: set() for m in models}
        for (name, _version), manifest in self._manifests(wanted).items():
            known[name].update(a.md5 for a in manifest.artifacts)
        return known

    # ------------------------------------------------------------------ layout

    def model_folder(self, name: str, what: str = "model name") -> Path:
        """The folder of ``name`` in the work tree, refused unless strictly inside the
        models folder with no symlink on the way (names are read from git)."""
        from .paths import model_folder

        return model_folder(self.root, self.config.models_dir, name, what)

    def model_dir(self, name: str) -> str:
        """``models/<name>`` (GTO's ``dir:name`` names live in ``models/dir/name``)."""
        return f"{self.config.models_dir}/{name.replace(':', '/')}"

    def manifest_path(self, name: str) -> str:
        from .manifest import MANIFEST_FILE

        return f"{self.model_dir(name)}/{MANIFEST_FILE}"

    def manifest_at(self, name: str, version: str) -> manifest_mod.Manifest | None:
        """The manifest registered for ``name`` v``version`` (None: no manifest)."""
        model = self._find_model(name)
        found = model.find(version) if model else None
        if found is None:
            return None
        return self._manifests([(name, found)]).get((name, version))

    def _manifests(
        self, wanted: Iterable[tuple[str, VersionState]], mentioning: str | None = None
    ) -> dict[tuple[str, str], manifest_mod.Manifest]:
        """Manifests of many versions through one ``cat-file --batch``.

        With ``mentioning``, manifests whose bytes do not contain that name are not
        parsed (they cannot depend on it). Broken manifests are left out: ``check``
        and ``show`` report them.
        """
        from .manifests import OnBroken, read_manifests

        specs: dict[str, tuple[str, str]] = {}
        for name, found in wanted:
            specs[f"{found.commit}:{self.manifest_path(name)}"] = (name, found.version)
        read = read_manifests(self.git, specs, on_broken=OnBroken.SKIP, mentioning=mentioning)
        out = {}
        for spec, stored in read.found.items():
            if stored.describes(*specs[spec]):  # not another version's, at a commit GTO tagged
                out[specs[spec]] = stored.manifest
        return out

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
                held = ", ".join(sorted(model.stages))
                raise UnknownVersionError(
                    f"no version of {model.name} holds stage '{ref.stage}'",
                    hint=f"stages held: {held}" if held else f"no stage of {model.name} is held",
                )
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
        if info.manifest_of is not None:
            raise ManifestError(
                f"{path} at {info.commit[:8]} describes {info.manifest_of}, "
                f"not {info.name} v{info.version}",
                hint="the tag was made by another tool at another version's commit",
            )
        if info.manifest is None:
            raise ManifestError(
                f"{info.name} v{info.version} has no manifest at {path}",
                hint="it was registered by another tool: modelreg lists it but cannot fetch it",
            )
        return info

    def _worktree_base(
        self, name: str, model_dir: str
    ) -> tuple[str | None, manifest_mod.Manifest | None]:
        """The commit whose registry files the work tree holds, and the manifest there.

        That is HEAD, or a registered version's commit after ``checkout``. Anything
        else is a change nobody registered or committed: refuse to overwrite it.
        Only the registry's own files count (manifest, ``.dvc``, ``.gitignore``).
        """
        from .registering import registry_files
        from .workspace import read_manifest

        head = self.git.head()
        path = self.manifest_path(name)
        current = read_manifest(self.root / path, path)
        if head is None:
            return None, current
        self.git.list_tree(head, [model_dir])  # the questions below, in one ls-tree
        at_head = self._manifests_at(head, path)
        listed = [a.path for m in (current, at_head) if m is not None for a in m.artifacts]
        own = set(registry_files(model_dir, listed))
        staged = self.git.index_differs(head, sorted(own))
        if not staged and self.git.worktree_matches(head, sorted(own)):
            return head, current
        model = self._find_model(name)
        found = model.find(str(current.version)) if model and current else None
        if (
            staged
            or found is None
            or not found.registered
            or not self.git.worktree_matches(found.commit, sorted(own))
        ):
            changed = self.git.changed_paths(sorted(own)) or [path]
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise DirtyStateError(
                f"{changed[0]} has uncommitted changes{more}",
                hint="commit or stash them first, or restore with "
                f"'git checkout -- {model_dir}'; modelreg commits only its own files",
            )
        return found.commit, current

    def _manifest_and_digest(
        self, commit: str, path: str
    ) -> tuple[manifest_mod.Manifest, str] | None:
        """The manifest at ``commit``:``path`` and the sha256 of its bytes (None: there
        is none; a broken one raises). A file at a commit never changes, so the state
        cache keeps what it read: a second read of a version (a ``show``, the gates
        and the event of a ``promote``) reads neither git nor YAML, only the fields as
        JSON, validated again as if read from the file. One whose JSON would not read
        back exactly the same (its keys out of order) is read from git each time."""
        import json

        from . import manifest as manifest_mod
        from .statecache import CACHE_ERRORS

        spec = f"{commit}:{path}"
        cache = self._cache() if is_object_id(commit) else None
        if cache is not None:
            try:
                kept = cache.manifest(spec)
            except CACHE_ERRORS:
                kept = None
            if kept is None and self.keeper is not None:
                kept = self.keeper.pending(spec)
            if kept is not None:
                try:
                    found, _problems = manifest_mod.validate(json.loads(kept[1]))
                except ValueError:
                    found = None
                if found is not None:
                    return found, kept[0]
        from .manifests import OnBroken, read_manifest

        stored = read_manifest(self.git, commit, path, on_broken=OnBroken.RAISE)
        if stored is None:
            return None
        sha256 = manifest_mod.digest(stored.data)
        if cache is not None:
            body = json.dumps(stored.manifest.to_dict())
            same = _same_manifest(manifest_mod.validate(json.loads(body))[0], stored.manifest)
            if same and self.keeper is not None:
                self.keeper.keep(spec, sha256, body)
            elif same:
                with suppress(*CACHE_ERRORS):
                    cache.keep_manifest(spec, sha256, body)
        return stored.manifest, sha256

    def _own_manifest(
        self, name: str, version: VersionState
    ) -> tuple[manifest_mod.Manifest | None, str | None]:
        """``name`` v``version``'s manifest, None where it is missing, broken or
        another version's (``check`` and ``show`` report those); and the sha256 of
        the file's bytes, None where there is no file."""
        path = self.manifest_path(name)
        try:
            found = self._manifest_and_digest(version.commit, path)
        except ManifestError:  # broken: its bytes still have a digest
            from .manifest import digest

            data = self.git.read_file(version.commit, path)
            return None, None if data is None else digest(data)
        if found is None:
            return None, None
        manifest, sha256 = found
        own = manifest.name == name and str(manifest.version) == version.version
        return (manifest if own else None), sha256

    def _manifests_at(self, commit: str, path: str) -> manifest_mod.Manifest | None:
        from .manifests import OnBroken, read_manifest

        stored = read_manifest(self.git, commit, path, on_broken=OnBroken.SKIP)
        return stored.manifest if stored else None

    def _require_registry(self) -> None:
        from .storage import is_initialised

        if not self.config.exists or not is_initialised(self.root):
            from .config import CONFIG_FILE

            missing = CONFIG_FILE if not self.config.exists else "DVC (.dvc/)"
            raise NotInitialisedError(
                f"{self.root} has no registry set up ({missing} is missing)",
                hint=self._set_up_hint(),
            )

    def _require_active(self, model: ModelState) -> None:
        if model.deprecated:
            raise PolicyError(
                f"{model.name} is deprecated",
                hint=f"register a new version of {model.name} to bring it back",
            )

    def gate_failures(
        self, model: ModelState, version: VersionState, stage: str, *, order: bool
    ) -> list[GateFailure]:
        """Every promotion gate the change ``model`` v``version`` -> ``stage`` fails
        (see :mod:`gates`, imported here on first use: reads need no gates)."""
        from .gates import gate_failures

        return gate_failures(self, model, version, stage, order=order)

    @contextmanager
    def _no_writer(self) -> Iterator[None]:
        """Refuse while another process holds the write lock; take no lock."""
        from .lock import writer

        holder = writer(self.git.common_dir / LOCK_FILE)
        if holder is not None:
            raise LockTimeoutError(
                f"another modelreg process is writing to this registry ({holder})",
                hint="run doctor again when it has finished",
            )
        yield

    @contextmanager
    def _locked(self, *, repairing: bool = False) -> Iterator[None]:
        """The write lock; a write also refuses to start on top of interrupted work."""
        from .lock import write_lock
        from .txn import refuse_pending

        with write_lock(self.git.common_dir / LOCK_FILE):
            if not repairing:
                refuse_pending(self.git.common_dir)
            yield
