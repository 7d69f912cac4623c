"""The only package that imports DVC, and only inside the calls that move bytes.

DVC runs in-process (``dvc.repo.Repo``, one instance per operation): tens of
milliseconds a call instead of most of a second for the ``dvc`` command. Its
errors become :class:`StorageError` with a hint; its own logging and progress
bars are silenced, and progress reaches the user through :class:`Progress`.

:class:`Storage` is the one way in, as ``Registry`` is for the operations: it
opens DVC's ``Repo`` for each call and tracks files here; the rest is bound into
its class body from the modules beside this one:

- ``remotes.py``: remote URLs and plugins, and reading and editing the remotes
  in DVC's config;
- ``transfer.py``: push, fetch, repair and reading objects from the remote;
- ``cache.py``: the local cache's objects, written without DVC;
- ``dvcfiles.py``: DVC's folder and file names, ``.dvc`` files and their
  ``.gitignore`` lines, the committed ``cache.dir`` (no DVC import);
- ``gateway.py``: importing DVC quietly and turning its errors into ours;
- ``plain.py``: small work without DVC where its config is plain (the lock, the
  cache, a local-folder remote): a small ``register`` imports no DVC.

Every name the rest of modelreg uses is importable from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from ..progress import NullProgress, Progress
from . import remotes as _remotes
from . import transfer as _transfer
from .cache import LocalCache, link_file, remove_cache_object, same_file
from .dvcfiles import (
    DVC_CACHE,
    DVC_CONFIG,
    DVC_DIR,
    DVC_FILE_SUFFIX,
    DVC_IGNORE,
    DVC_LOCAL_CONFIG,
    DVC_SET_UP_FILES,
    DVC_WORK_FOLDERS,
    StoredFile,
    committed_cache_dir,
    dvc_file_name,
    foreign_cache_problem,
    is_dvc_file_name,
    is_initialised,
    objects_dir,
    own_out_path,
    read_dvc_out,
    remove_dvc_file,
    tracked_name,
    write_dvc_file,
)
from .gateway import dvc_errors, import_repo, refuse_foreign_cache
from .plain import PlainDvc, dvc_lock, plain_dvc, small
from .remotes import (
    DEFAULT_REMOTE_NAME,
    SCHEME_PLUGINS,
    RemoteSettings,
    is_local_url,
    missing_plugin,
    normalise_remote_url,
)
from .transfer import corrupt_on_remote

if TYPE_CHECKING:
    from dvc.repo import Repo

__all__ = [
    "DEFAULT_REMOTE_NAME",
    "DVC_CACHE",
    "DVC_CONFIG",
    "DVC_DIR",
    "DVC_FILE_SUFFIX",
    "DVC_IGNORE",
    "DVC_LOCAL_CONFIG",
    "DVC_SET_UP_FILES",
    "DVC_WORK_FOLDERS",
    "SCHEME_PLUGINS",
    "LocalCache",
    "RemoteSettings",
    "Storage",
    "StoredFile",
    "committed_cache_dir",
    "corrupt_on_remote",
    "detached",
    "dvc_file_name",
    "foreign_cache_problem",
    "is_dvc_file_name",
    "is_initialised",
    "is_local_url",
    "link_file",
    "missing_plugin",
    "normalise_remote_url",
    "own_out_path",
    "read_dvc_out",
    "remove_cache_object",
    "tracked_name",
    "write_dvc_file",
]


def preload() -> None:
    """Import what finding a version's bytes needs (DVC's config, its schema and
    file systems: ~150 ms) now: for a server, whose first download should not
    wait for it."""
    from importlib import import_module

    with dvc_errors("load DVC"):
        for name in ("configobj", "dvc.config", "dvc.config_schema", "dvc.dirs", "dvc.fs"):
            import_module(name)


def detached(folder: Path, config: bytes, progress: Progress | None = None) -> Storage:
    """A private DVC folder (no git) holding this DVC config: the registry's files
    are fetched through it where no work tree has a DVC set-up."""
    dvc_dir = folder / DVC_DIR
    dvc_dir.mkdir(parents=True, exist_ok=True)
    (folder / DVC_CONFIG).write_bytes(config)
    return Storage(folder, progress, overrides={"core": {"no_scm": True}})


class Storage:
    """DVC operations for one registry work tree."""

    def __init__(
        self,
        root: Path,
        progress: Progress | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        guard: Callable[[], None] | None = None,
        index: Path | None = None,
    ) -> None:
        self.root = root
        self.progress = progress or NullProgress()
        self.overrides = overrides  # DVC config on top of the files (e.g. no_scm)
        # Run before DVC opens the work tree (each time: a pull may have changed
        # it): refuses what a commit put in DVC's own folder.
        self.guard = guard
        # git's index: when it changes (a pull, a checkout), the guard runs again
        # before DVC's side is used without DVC (see plain()).
        self.index = index
        self._plain: tuple[object, PlainDvc | None] | None = None  # (config files' stat, it)

    # --- set-up ------------------------------------------------------------

    def init(self) -> list[str]:
        """``dvc init`` when the repository has no ``.dvc``; return files created."""
        if is_initialised(self.root):
            return []
        with dvc_errors("dvc init"):
            Repo = import_repo()
            Repo.init(str(self.root)).close()
        return [p for p in DVC_SET_UP_FILES if (self.root / p).exists()]

    # --- remotes (remotes.py) ----------------------------------------------

    remotes = _remotes.remotes
    remote_is_local = _remotes.remote_is_local
    set_remote = _remotes.set_remote
    remote_settings = _remotes.remote_settings
    configure_remote = _remotes.configure_remote
    remove_remote = _remotes.remove_remote
    set_default_remote = _remotes.set_default_remote

    # --- tracking files ----------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold DVC's own repository lock (as ``dvc add`` would) while modelreg writes
        to the cache and ``.dvc`` files, so ``dvc gc`` or another ``dvc`` command
        cannot act on them halfway. Held elsewhere: a clean :class:`LockTimeoutError`."""
        plain = self.plain()
        if plain is not None:
            with dvc_lock(self.root):
                yield
            return
        with self._repo("lock the DVC repository") as repo:
            with dvc_errors("lock the DVC repository"):
                repo.lock.lock()
            try:
                yield
            finally:
                repo.lock.unlock()

    def local_cache(self) -> LocalCache:
        """The local DVC cache: where its objects go and which links DVC may use."""
        plain = self.plain()
        if plain is not None:
            return plain.cache
        with self._repo("read the DVC cache") as repo:
            odb = repo.cache.local
            return LocalCache(Path(odb.path), tuple(odb.cache_types))

    def add(self, files: Sequence[StoredFile]) -> None:
        """Track files whose objects are in the local cache already (put there by
        :meth:`LocalCache.commit`): write the ``.dvc`` file and ``.gitignore``
        entry ``dvc add`` writes for a file (DVC's documented format), and hand
        the md5 to DVC's state database so DVC never hashes the bytes again.

        Not ``dvc add`` itself: it would copy each file into the cache and, on a
        filesystem without reflinks, back out again (two more copies of every
        byte); it parses every ``.dvc`` file of the repository to check for
        overlapping outputs (12 s with 10,000 models); and its check that git
        does not track the file reads git's whole index in Python (0.5 s at
        30,000 files). The caller has made those checks that matter here: each
        file is alone in its model folder, and not tracked by git.
        """
        for item in files:
            write_dvc_file(item.path, item.md5, item.size)
        self.remember([(item.path, item.md5) for item in files])

    def cache_objects(self, md5s: Sequence[str]) -> dict[str, Path]:
        with self._repo("read the DVC cache") as repo:
            return {m: Path(repo.cache.local.oid_to_path(m)) for m in md5s}

    def ensure_cached(self, items: Sequence[tuple[Path, str]]) -> None:
        """Make sure the cache holds each object intact, copying the file in (verified
        against its md5) where it does not, or where the object there is corrupt:
        bytes about to leave the work tree must stay retrievable, so the cache's
        copy is checked before the work tree's is let go."""
        if not items:
            return
        with self._cache_dir("keep files in the DVC cache") as objects:
            cache = LocalCache(objects, ())
            for path, md5 in items:
                target = cache.object_path(md5)
                if target.exists() and (same_file(path, target) or cache.intact(md5)):
                    continue
                from ..hashing import copy_file

                staged = cache.staging_file()
                try:
                    got = copy_file(path, staged, md5=True).md5
                    if got != md5:
                        raise StorageError(f"{path} changed while modelreg was keeping it ({md5})")
                    cache.commit(staged, md5, replace=True)
                finally:
                    staged.unlink(missing_ok=True)

    def remove_cache_objects(self, paths: Sequence[Path]) -> None:
        """Undo helper: delete cache objects this operation created."""
        for path in paths:
            remove_cache_object(path)

    def untrack(self, dvc_files: Sequence[Path]) -> None:
        """Stop tracking outputs: remove their ``.dvc`` files and ``.gitignore`` entries
        (the bytes stay in the cache, and the work-tree files are left alone), as
        ``dvc remove --keep-outs`` would, without DVC's walk over the work tree."""
        for dvc_file in dvc_files:
            remove_dvc_file(dvc_file)

    def current_md5s(self, paths: Sequence[Path]) -> dict[Path, str]:
        """The md5 of each work-tree file. DVC's state database answers for files it
        has seen unchanged since (by inode, size and mtime); the others are read and
        hashed once, and remembered."""
        if not paths:
            return {}
        if small(paths) and self.plain() is not None:
            from ..hashing import digest_file

            return {path: digest_file(path).md5 for path in paths}
        with self._repo("compare files with the registry") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            from ..hashing import digest_file

            out = {}
            for path in paths:
                _meta, known = repo.state.get(str(path), repo.fs)
                if known is not None and known.name == "md5":
                    out[path] = str(known.value)
                else:
                    out[path] = digest_file(path).md5
                    repo.state.save(str(path), repo.fs, HashInfo("md5", out[path]))
            return out

    def differing(self, items: Sequence[tuple[Path, str]]) -> list[Path]:
        """The work-tree files whose md5 is not the expected one."""
        actual = self.current_md5s([path for path, _md5 in items])
        return [path for path, md5 in items if actual[path] != md5]

    def remember(self, items: Sequence[tuple[Path, str]]) -> None:
        """Tell DVC's state database the md5 of files just written and verified (not
        of small ones where DVC's config is plain: DVC hashes those again faster
        than modelreg could import it)."""
        if not items or (small([path for path, _md5 in items]) and self.plain() is not None):
            return
        with self._repo("record file digests") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            for path, md5 in items:
                repo.state.save(str(path), repo.fs, HashInfo("md5", md5))

    # --- moving bytes (transfer.py) ----------------------------------------

    push = _transfer.push
    remote_sha256 = _transfer.remote_sha256
    fetch = _transfer.fetch
    repair = _transfer.repair
    sources = _transfer.sources
    _local_sources = _transfer._local_sources

    def in_local_cache(self, path: Path) -> bool:
        """Whether ``path`` is an object of the local DVC cache (DVC's config only)."""
        return self._cache_objects(self._config()) in path.parents

    @staticmethod
    def remote_errors(remote: str | None) -> AbstractContextManager[None]:
        """Around reading a stream from :meth:`sources`: DVC's and the network's
        errors become one-line :class:`StorageError` s."""
        return dvc_errors("read from the DVC remote", remote)

    # --- plumbing ----------------------------------------------------------

    def plain(self) -> PlainDvc | None:
        """DVC's config read without DVC where it is plain (see ``plain.py``), else
        None. Read again, the guard first (as before DVC opens the work tree), when
        DVC's config files or git's index change (a pull, a checkout)."""
        watched = [self.root / DVC_CONFIG, self.root / DVC_LOCAL_CONFIG, self.index]
        stamp = tuple(_stat(path) if path is not None else None for path in watched)
        if self._plain is None or self._plain[0] != stamp or self.index is None:
            if self.guard is not None:
                self.guard()
            self._plain = (stamp, plain_dvc(self.root) if self.overrides is None else None)
        return self._plain[1]

    @contextmanager
    def _cache_dir(self, doing: str) -> Iterator[Path]:
        """The local cache's objects folder (``files/md5``)."""
        plain = self.plain()
        if plain is not None:
            yield plain.cache.objects
            return
        with self._repo(doing) as repo:
            yield Path(repo.cache.local.path)

    @contextmanager
    def _repo(self, doing: str) -> Iterator[Repo]:
        if self.guard is not None:
            self.guard()
        with dvc_errors(doing):
            repo = import_repo()(str(self.root), config=self.overrides)
        try:
            refuse_foreign_cache(repo, self.root)
            yield repo
        finally:
            repo.close()

    def _config(self) -> Any:
        with dvc_errors("read DVC's config"):
            from dvc.config import Config

            return Config(dvc_dir=str(self.root / DVC_DIR))

    def _cache_objects(self, config: Any) -> Path:
        return objects_dir(Path(config["cache"].get("dir") or self.root / DVC_CACHE))


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
