"""The only module that imports DVC, and only inside the calls that move bytes.

DVC runs in-process (``dvc.repo.Repo``, one instance per operation): tens of
milliseconds a call instead of most of a second for the ``dvc`` command. Its
errors become :class:`StorageError` with a hint; its own logging and progress
bars are silenced, and progress reaches the user through :class:`Progress`.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import yamlio
from .errors import (
    ADD_DEFAULT_REMOTE,
    INIT_REMOTE,
    INIT_REMOTE_RUN,
    REGISTERED_WITHOUT_PUSH,
    REMOTE_LOCAL_OPTIONS,
    VERIFY_REMOTE_FINDS,
    IntegrityError,
    LockTimeoutError,
    Remedy,
    StorageError,
    UnsafePathError,
)
from .paths import write_replacing
from .progress import NullProgress, Progress

if TYPE_CHECKING:
    from dvc.repo import Repo

DVC_DIR = ".dvc"
DVC_CONFIG = f"{DVC_DIR}/config"  # committed
DVC_LOCAL_CONFIG = f"{DVC_DIR}/config.local"  # this clone's settings, never committed
DVC_CACHE = f"{DVC_DIR}/cache"  # the default cache folder
DVC_WORK_FOLDERS = (f"{DVC_DIR}/tmp", DVC_CACHE)  # what DVC writes as it works
DVC_IGNORE = ".dvcignore"
# What ``dvc init`` makes that a registry commits (with ``.modelreg.yaml``).
DVC_SET_UP_FILES = (DVC_CONFIG, f"{DVC_DIR}/.gitignore", DVC_IGNORE)
DVC_FILE_SUFFIX = ".dvc"
DEFAULT_REMOTE_NAME = "modelreg"
_URL_SCHEMES = (
    "s3",
    "gs",
    "gcs",
    "azure",
    "ssh",
    "sftp",
    "http",
    "https",
    "webdav",
    "webdavs",
    "hdfs",
    "oss",
    "gdrive",
)

# Errors raised by these libraries are about the remote (unreachable, refused,
# misconfigured), not bugs in modelreg: DVC itself, its plugins and the
# filesystem and HTTP libraries beneath them.
_STORAGE_LIBRARIES = frozenset(
    {
        "dvc",
        "dvc_data",
        "dvc_objects",
        "scmrepo",
        "dvc_s3",
        "dvc_gs",
        "dvc_azure",
        "dvc_ssh",
        "dvc_webdav",
        "dvc_http",
        "fsspec",
        "s3fs",
        "aiobotocore",
        "botocore",
        "gcsfs",
        "google",
        "adlfs",
        "azure",
        "sshfs",
        "asyncssh",
        "webdav4",
        "httpx",
        "httpcore",
        "aiohttp",
    }
)
# This package's extra that installs each DVC plugin: pip install 'modelreg[s3]'.
_PLUGIN_EXTRAS = {
    "dvc-s3": "s3",
    "dvc-ssh": "ssh",
    "dvc-gs": "gs",
    "dvc-azure": "azure",
    "dvc-webdav": "webdav",
}
# Exception class names (anywhere in the class's MRO) by what they mean.
_CREDENTIAL_ERRORS = frozenset(
    {
        "NoCredentialsError",  # botocore
        "PartialCredentialsError",  # botocore
        "AuthError",  # dvc_objects (dvc-azure's AzureAuthError, ...)
        "ClientAuthenticationError",  # azure.core
        "DefaultCredentialsError",  # google.auth
        "PermissionDenied",  # asyncssh: the server refused every key
    }
)
_CONNECTION_ERRORS = frozenset(
    {
        "EndpointConnectionError",  # botocore
        "ConnectTimeoutError",  # botocore
        "ServiceRequestError",  # azure.core
        "NetworkError",  # httpx (ConnectError, ...)
        "TimeoutException",  # httpx
        "ClientConnectorError",  # aiohttp
        "ConnectionError",  # the builtin, and botocore's
        "TimeoutError",
    }
)


# The DVC plugin each kind of remote needs.
SCHEME_PLUGINS = {
    "s3": "dvc-s3",
    "ssh": "dvc-ssh",
    "sftp": "dvc-ssh",
    "gs": "dvc-gs",
    "gcs": "dvc-gs",
    "azure": "dvc-azure",
    "webdav": "dvc-webdav",
    "webdavs": "dvc-webdav",
}


@dataclass(frozen=True)
class RemoteSettings:
    name: str
    url: str
    default: bool
    options: dict[str, str]  # committed (.dvc/config)
    local_keys: tuple[str, ...]  # set in .dvc/config.local; values never shown


def missing_plugin(url: str) -> str | None:
    """The extra to install for this URL's scheme, when its DVC plugin is missing."""
    import importlib.util

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    plugin = SCHEME_PLUGINS.get(scheme)
    if plugin is None or importlib.util.find_spec(plugin.replace("-", "_")) is not None:
        return None
    return _PLUGIN_EXTRAS[plugin]


@dataclass(frozen=True)
class StoredFile:
    """A file to track: its path in the work tree and the md5 already computed."""

    path: Path
    md5: str
    size: int


def dvc_file_name(path: str) -> str:
    """The ``.dvc`` file that tracks ``path`` (``model.pkl`` -> ``model.pkl.dvc``)."""
    return path + DVC_FILE_SUFFIX


def is_dvc_file_name(name: str) -> bool:
    return name.endswith(DVC_FILE_SUFFIX)


def tracked_name(dvc_file: str) -> str:
    """The file a ``.dvc`` file tracks (``model.pkl.dvc`` -> ``model.pkl``)."""
    return dvc_file[: -len(DVC_FILE_SUFFIX)]


def is_initialised(root: Path) -> bool:
    return (root / DVC_DIR).is_dir()


def detached(folder: Path, config: bytes, progress: Progress | None = None) -> Storage:
    """A private DVC folder (no git) holding this DVC config: the registry's files
    are fetched through it where no work tree has a DVC set-up."""
    dvc_dir = folder / DVC_DIR
    dvc_dir.mkdir(parents=True, exist_ok=True)
    (folder / DVC_CONFIG).write_bytes(config)
    return Storage(folder, progress, overrides={"core": {"no_scm": True}})


def normalise_remote_url(url: str, cwd: Path) -> str:
    """Local paths become absolute (a committed relative path would mean another
    folder in every clone); URLs are kept as written."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in _URL_SCHEMES:
        return url
    if scheme == "file":
        url = url[len("file://") :]
    return str((cwd / Path(url).expanduser()).resolve())


def is_local_url(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


class Storage:
    """DVC operations for one registry work tree."""

    def __init__(
        self,
        root: Path,
        progress: Progress | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.progress = progress or NullProgress()
        self.overrides = overrides  # DVC config on top of the files (e.g. no_scm)
        # Run before DVC opens the work tree (each time: a pull may have changed
        # it): refuses what a commit put in DVC's own folder.
        self.guard = guard

    # --- set-up ------------------------------------------------------------

    def init(self) -> list[str]:
        """``dvc init`` when the repository has no ``.dvc``; return files created."""
        if is_initialised(self.root):
            return []
        with _dvc_errors("dvc init"):
            Repo = _import_repo()
            Repo.init(str(self.root)).close()
        return [p for p in DVC_SET_UP_FILES if (self.root / p).exists()]

    def remotes(self) -> tuple[str | None, dict[str, str]]:
        """(default remote name, {name: url}) from DVC's merged config."""
        with self._repo("read DVC config") as repo:
            config = repo.config
            default = config["core"].get("remote")
            urls = {name: str(section.get("url", "")) for name, section in config["remote"].items()}
        return default, urls

    def remote_is_local(self, remote: str | None) -> bool:
        """Whether ``remote`` (None: the default) is a folder on this machine."""
        default, urls = self.remotes()
        url = urls.get(remote or default or "")
        return bool(url) and is_local_url(str(url))

    def set_remote(self, name: str, url: str, *, default: bool = True) -> None:
        with self._repo("configure the DVC remote") as repo, repo.config.edit("repo") as conf:
            conf["remote"][name] = {"url": url}
            if default:
                conf["core"]["remote"] = name

    def remote_settings(self) -> list[RemoteSettings]:
        """Every DVC remote: URL and options from the committed config, and the
        names (never the values) of options kept in the local, uncommitted one."""
        with self._repo("read DVC config") as repo:
            committed = repo.config.load_one("repo")
            local = repo.config.load_one("local")
        default = local.get("core", {}).get("remote") or committed.get("core", {}).get("remote")
        out = []
        names = sorted(set(committed.get("remote", {})) | set(local.get("remote", {})))
        for name in names:
            shared = dict(committed.get("remote", {}).get(name, {}))
            private = dict(local.get("remote", {}).get(name, {}))
            url = str(shared.pop("url", private.pop("url", "")))
            out.append(
                RemoteSettings(
                    name=name,
                    url=url,
                    default=name == default,
                    options={k: str(v) for k, v in sorted(shared.items())},
                    local_keys=tuple(sorted(private)),
                )
            )
        return out

    def configure_remote(
        self,
        name: str,
        url: str,
        *,
        default: bool,
        options: dict[str, str],
        local_options: dict[str, str],
    ) -> None:
        """Add or replace a remote: URL and options in the committed config,
        credentials in DVC's local config (``.dvc/config.local``, never committed)."""
        with self._repo("configure the DVC remote") as repo, _dvc_errors("configure the remote"):
            with repo.config.edit("repo") as conf:
                conf["remote"][name] = {"url": url, **options}
                if default:
                    conf["core"]["remote"] = name
            if local_options:
                with repo.config.edit("local") as conf:
                    conf["remote"][name] = {**conf["remote"].get(name, {}), **local_options}

    def remove_remote(self, name: str) -> None:
        with self._repo("configure the DVC remote") as repo, _dvc_errors("remove the remote"):
            for level in ("local", "repo"):
                with repo.config.edit(level) as conf:
                    conf["remote"].pop(name, None)
                    if conf["core"].get("remote") == name:
                        del conf["core"]["remote"]

    def set_default_remote(self, name: str) -> None:
        with self._repo("configure the DVC remote") as repo, repo.config.edit("repo") as conf:
            conf["core"]["remote"] = name

    # --- tracking files ----------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold DVC's own repository lock (as ``dvc add`` would) while modelreg writes
        to the cache and ``.dvc`` files, so ``dvc gc`` or another ``dvc`` command
        cannot act on them halfway. Held elsewhere: a clean :class:`LockTimeoutError`."""
        with self._repo("lock the DVC repository") as repo:
            with _dvc_errors("lock the DVC repository"):
                repo.lock.lock()
            try:
                yield
            finally:
                repo.lock.unlock()

    def local_cache(self) -> LocalCache:
        """The local DVC cache: where its objects go and which links DVC may use."""
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
        from .hashing import copy_file

        with self._repo("keep files in the DVC cache") as repo:
            cache = LocalCache(Path(repo.cache.local.path), ())
            for path, md5 in items:
                target = cache.object_path(md5)
                if target.exists() and (_same_file(path, target) or cache.intact(md5)):
                    continue
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
            try:
                data = yamlio.load(dvc_file.read_bytes())
            except FileNotFoundError:
                continue
            except yamlio.YamlError as exc:
                raise StorageError(f"cannot read {dvc_file}: {exc}") from None
            outs = data.get("outs") if isinstance(data, dict) else None
            for out in outs if isinstance(outs, list) else []:
                if isinstance(out, dict) and "path" in out:
                    _ignore_remove(dvc_file.parent / own_out_path(dvc_file, out["path"]))
            dvc_file.unlink()

    def current_md5s(self, paths: Sequence[Path]) -> dict[Path, str]:
        """The md5 of each work-tree file. DVC's state database answers for files it
        has seen unchanged since (by inode, size and mtime); the others are read and
        hashed once, and remembered."""
        if not paths:
            return {}
        with self._repo("compare files with the registry") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            from .hashing import digest_file

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
        """Tell DVC's state database the md5 of files just written and verified."""
        if not items:
            return
        with self._repo("record file digests") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            for path, md5 in items:
                repo.state.save(str(path), repo.fs, HashInfo("md5", md5))

    # --- moving bytes ------------------------------------------------------

    def push(self, md5s: Sequence[str], remote: str | None, jobs: int | None = None) -> int:
        """Copy these objects from the cache to the remote; return how many moved."""
        wanted = sorted(set(md5s))
        if not wanted:
            return 0
        with self._repo("push to the DVC remote") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            missing = [m for m in wanted if not os.path.exists(repo.cache.local.oid_to_path(m))]
            if missing:
                raise StorageError(
                    f"{len(missing)} file(s) to push are not in the local DVC cache "
                    f"(first: {missing[0]})",
                    hint="run 'modelreg pull' or register the files again from a complete clone",
                )
            size = sum(_size(repo.cache.local.oid_to_path(m)) for m in wanted)
            label = f"pushing {len(wanted)} file(s)"
            with _dvc_errors("push", remote), self._callback(label, size) as cb:
                odb = _remote_odb(repo, remote, "push")
                result = repo.cloud.transfer(
                    repo.cache.local,
                    odb,
                    [HashInfo("md5", m) for m in wanted],
                    jobs=jobs,
                    cache_odb=repo.cache.local,
                    callback=cb,
                )
            if result.failed:
                raise StorageError(f"{len(result.failed)} file(s) failed to push to the DVC remote")
            return len(result.transferred)

    def remote_sha256(self, md5s: Sequence[str], remote: str | None) -> dict[str, str | None]:
        """sha256 of each object as the DVC remote holds it (None: not there), read
        as a stream; nothing is written to the cache."""
        from .hashing import copy_to

        out: dict[str, str | None] = {}
        with self._repo("read the DVC remote") as repo, _dvc_errors("read the remote", remote):
            odb = _remote_odb(repo, remote, "fetch")
            paths = [odb.oid_to_path(md5) for md5 in md5s]
            for md5, path, there in zip(md5s, paths, _on_remote_all(odb, paths), strict=True):
                if not there:
                    out[md5] = None
                    continue
                with odb.fs.open(path, "rb") as handle:
                    out[md5] = copy_to(handle, []).sha256
        return out

    def fetch(
        self,
        md5s: Sequence[str],
        remote: str | None,
        jobs: int | None = None,
        sizes: dict[str, int] | None = None,
    ) -> list[str]:
        """Make sure these objects are in the local cache, fetching the missing ones;
        return the md5s fetched (``sizes``, when known, sizes the progress bar).

        Each object is read from the remote as a stream and enters the cache only
        once its md5 matches; the remote is only read, never written. (DVC's own
        transfer deletes an object it finds corrupt from a local-folder remote:
        shared evidence destroyed, and later readers told it was never pushed.)
        """
        with self._repo("fetch from the DVC remote") as repo:
            cache = LocalCache(Path(repo.cache.local.path), ())
            missing = sorted({m for m in md5s if not cache.object_path(m).exists()})
            if not missing:
                return []
            size = sum((sizes or {}).get(m, 0) for m in missing)
            with _dvc_errors("fetch", remote):
                odb = _remote_odb(repo, remote, "pull")
                paths = [odb.oid_to_path(m) for m in missing]
                there = _on_remote_all(odb, paths)
                absent = [m for m, found in zip(missing, there, strict=True) if not found]
                if absent:
                    raise _not_found(absent)
                with self.progress.task(f"fetching {len(missing)} file(s)", size) as task:
                    corrupt = _download_all(odb, cache, missing, _LockedTask(task), jobs)
            if corrupt:
                raise corrupt_on_remote([str(odb.oid_to_path(m)) for m in corrupt])
            return missing

    def repair(self, md5: str, remote: str | None) -> bool:
        """Replace a corrupt cache object with the remote's copy when that one
        matches the md5 (the remote is only read). False when the remote has no
        good copy, or cannot be read."""
        try:
            with self._repo("repair the DVC cache") as repo, _dvc_errors("read", remote):
                cache = LocalCache(Path(repo.cache.local.path), ())
                odb = _remote_odb(repo, remote, "pull")
                if not _on_remote(odb, odb.oid_to_path(md5)):
                    return False
                return not _download_all(odb, cache, [md5], None, 1)
        except StorageError:
            return False

    @contextmanager
    def sources(
        self, md5s: Sequence[str], remote: str | None
    ) -> Iterator[dict[str, Path | Callable[[], BinaryIO]]]:
        """Where to read each object: the local cache when it holds it, else the
        DVC remote itself (a path when the remote is a local folder, else an opener
        of a stream), so the bytes are read once and the cache is left as it is.
        For ``get``, whose files go to a folder outside the registry."""
        local = self._local_sources(md5s, remote)
        if local is not None:
            yield local
            return
        with self._repo("read the DVC cache") as repo:
            found: dict[str, Path | Callable[[], BinaryIO]] = {}
            missing = []
            for md5 in dict.fromkeys(md5s):
                cached = Path(repo.cache.local.oid_to_path(md5))
                if cached.exists():
                    found[md5] = cached
                else:
                    missing.append(md5)
            if missing:
                with _dvc_errors("read from the DVC remote", remote):
                    odb = _remote_odb(repo, remote, "pull")
                    paths = {md5: odb.oid_to_path(md5) for md5 in missing}
                    there = _on_remote_all(odb, list(paths.values()))
                    absent = [md5 for md5, found in zip(paths, there, strict=True) if not found]
                if absent:
                    raise _not_found(absent)
                for md5, path in paths.items():
                    if _is_local(odb.fs):
                        found[md5] = Path(path)
                    else:
                        found[md5] = partial(odb.fs.open, path, "rb")
            yield found

    def _local_sources(
        self, md5s: Sequence[str], remote: str | None
    ) -> dict[str, Path | Callable[[], BinaryIO]] | None:
        """:meth:`sources` from DVC's config alone, when the cache and the remote
        are local folders: every object is then a path, and importing and opening
        DVC's Repo (0.3 s, a third of a 1 GiB get) is not needed. None otherwise."""
        config = self._config()
        cache = config["cache"]
        name = remote or config["core"].get("remote")
        section = config["remote"].get(name) if name else None
        if cache.get("local") or section is None:
            return None  # a named cache remote, or no remote: let DVC's Repo decide
        url = str(section.get("url", ""))
        if not url or not is_local_url(url):
            return None
        objects = self._cache_objects(config)
        store = Path(url.removeprefix("file://")) / "files" / "md5"
        found: dict[str, Path | Callable[[], BinaryIO]] = {}
        absent = []
        for md5 in dict.fromkeys(md5s):
            for base in (objects, store):
                candidate = base / md5[:2] / md5[2:]
                if candidate.is_file():
                    found[md5] = candidate
                    break
            else:
                absent.append(md5)
        if absent and not store.parent.parent.exists():
            raise StorageError(
                f"the DVC remote is the folder {store.parent.parent}, which does not exist on "
                "this machine",
                hint="a local-folder remote works on the machine that made it; share files "
                f"through one every clone reaches: {ADD_DEFAULT_REMOTE}",
                remedy=Remedy("default", ADD_DEFAULT_REMOTE),
            )
        if absent:
            raise _not_found(absent)
        return found

    def in_local_cache(self, path: Path) -> bool:
        """Whether ``path`` is an object of the local DVC cache (DVC's config only)."""
        return self._cache_objects(self._config()) in path.parents

    def _config(self) -> Any:
        with _dvc_errors("read DVC's config"):
            from dvc.config import Config

            return Config(dvc_dir=str(self.root / DVC_DIR))

    def _cache_objects(self, config: Any) -> Path:
        return Path(config["cache"].get("dir") or self.root / DVC_DIR / "cache") / "files" / "md5"

    @staticmethod
    def remote_errors(remote: str | None) -> AbstractContextManager[None]:
        """Around reading a stream from :meth:`sources`: DVC's and the network's
        errors become one-line :class:`StorageError` s."""
        return _dvc_errors("read from the DVC remote", remote)

    # --- plumbing ----------------------------------------------------------

    @contextmanager
    def _repo(self, doing: str) -> Iterator[Repo]:
        if self.guard is not None:
            self.guard()
        with _dvc_errors(doing):
            repo = _import_repo()(str(self.root), config=self.overrides)
        try:
            _refuse_foreign_cache(repo, self.root)
            yield repo
        finally:
            repo.close()

    @contextmanager
    def _callback(self, description: str, total: int) -> Iterator[Any]:
        """A DVC transfer callback that reports bytes (DVC's per-file children) to
        :attr:`progress`; DVC's own file counts are ignored."""
        from fsspec.callbacks import Callback  # type: ignore[import-untyped]

        with self.progress.task(description, total) as task:

            class _Bytes(Callback):  # type: ignore[misc]
                def call(self, *args: Any, **kwargs: Any) -> None:
                    pass

                def relative_update(self, inc: int = 1) -> None:
                    task.advance(inc)

            class _Files(Callback):  # type: ignore[misc]
                def call(self, *args: Any, **kwargs: Any) -> None:
                    pass

                def branched(self, path_1: Any, path_2: Any, **kwargs: Any) -> Any:
                    return _Bytes()

            yield _Files()


def committed_cache_dir(root: Path) -> str | None:
    """``cache.dir`` as the committed ``.dvc/config`` sets it (None: not set, or the
    file is unreadable), read without DVC for ``check`` and ``verify``."""
    import configobj  # type: ignore[import-untyped]  # DVC's own config reader; light

    path = root / DVC_CONFIG
    if not path.is_file():
        return None
    try:
        cache = configobj.ConfigObj(str(path), encoding="utf-8").get("cache", {})
    except (configobj.ConfigObjError, UnicodeDecodeError, OSError):
        return None
    value = cache.get("dir") if isinstance(cache, dict) else None
    return value if isinstance(value, str) and value else None


def foreign_cache_problem(root: Path, cache_dir: str) -> str | None:
    """Why a committed ``cache.dir`` is refused: it puts DVC's cache (written on
    every fetch) outside the repository, where whoever pushed it chose."""
    target = Path(os.path.realpath(root / DVC_DIR / os.path.expanduser(cache_dir)))
    inside = Path(os.path.realpath(root))
    if target == inside or inside in target.parents:
        return None
    return (
        f"cache.dir '{cache_dir}' puts the DVC cache outside the repository ({target}); "
        "a committed setting may not make modelreg write there"
    )


def _refuse_foreign_cache(repo: Any, root: Path) -> None:
    """Refuse a DVC cache outside the repository that only the committed config
    (anyone who can push) asked for. A cache shared by the clones on a machine is
    that machine's choice: set in ``.dvc/config.local`` or DVC's global or system
    config, it is used as it is."""
    cache = Path(os.path.realpath(repo.cache.local.path))
    inside = Path(os.path.realpath(root))
    if inside in cache.parents:
        return
    for level in ("local", "global", "system"):
        if repo.config.load_one(level).get("cache", {}).get("dir"):
            return
    committed = committed_cache_dir(root) or str(cache)
    problem = foreign_cache_problem(root, committed) or f"the DVC cache {cache} is outside"
    repo.close()
    raise UnsafePathError(
        f".dvc/config: {problem}; refused",
        hint="for a cache shared by this machine's clones, set it for this clone: "
        "'dvc cache dir --local PATH'",
    )


def _remote_odb(repo: Any, remote: str | None, command: str) -> Any:
    """DVC's object store for the remote, with a clear word when it is a local
    folder that this machine does not have (the embedded default, cloned)."""
    odb = repo.cloud.get_remote_odb(remote, command)
    if odb.fs.protocol in ("local", "file"):
        base = Path(str(odb.path)).parent.parent
        if not base.exists():
            raise StorageError(
                f"the DVC remote is the folder {base}, which does not exist on this machine",
                hint="a local-folder remote works on the machine that made it; share files "
                f"through one every clone reaches: {INIT_REMOTE} (s3://, ssh://...)",
                remedy=Remedy("remote", INIT_REMOTE),
            )
    return odb


def read_dvc_out(data: bytes) -> dict[str, Any] | None:
    """The first output a ``.dvc`` file lists (its ``md5``, ``size``, ``path``), or
    None when the bytes are not such a file."""
    try:
        out = yamlio.load(data)["outs"][0]
    except (yamlio.YamlError, KeyError, IndexError, TypeError):
        return None
    return out if isinstance(out, dict) else None


def write_dvc_file(path: Path, md5: str, size: int) -> Path:
    """``PATH.dvc`` and the ``/PATH`` line in its folder's ``.gitignore``, as
    ``dvc add PATH`` writes them for a file (keys in DVC's order)."""
    out: dict[str, object] = {"md5": md5, "size": size}
    if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        out["isexec"] = True
    out["hash"] = "md5"
    out["path"] = path.name
    dvc_file = path.with_name(dvc_file_name(path.name))
    write_replacing(dvc_file, yamlio.dump({"outs": [out]}).encode("utf-8"))
    _ignore_add(path)
    return dvc_file


def _gitignore_entry(path: Path) -> str:
    # As DVC (scmrepo) writes it: anchored, with gitignore's wildcards escaped.
    return "/" + "".join("\\" + c if c in "[]!*#?" else c for c in path.name)


def own_out_path(dvc_file: Path, path: object) -> str:
    """A ``.dvc`` file's ``outs.path``, accepted only as modelreg writes it: the
    plain name of the file beside it (``model.pkl`` in ``model.pkl.dvc``). Any
    other path (``../../x``, ``/etc/x``, ``sub/x``) is someone else's and refused."""
    expected = tracked_name(dvc_file.name)
    if path != expected:
        raise UnsafePathError(
            f"{dvc_file}: outs path '{path}' is not the file beside it ('{expected}'); refused",
            hint="modelreg writes the name of the file beside it; 'modelreg check' lists all",
        )
    return expected


def _gitignore_of(path: Path) -> Path:
    """The ``.gitignore`` beside ``path``; never a symlink (it would be written through)."""
    gitignore = path.parent / ".gitignore"
    if gitignore.is_symlink():
        raise UnsafePathError(
            f"{gitignore} is a symlink; refused (modelreg never writes through one)",
            hint="remove the symlink ('git rm' it if committed); 'modelreg check' lists all",
        )
    return gitignore


def _ignore_add(path: Path) -> None:
    gitignore = _gitignore_of(path)
    entry = _gitignore_entry(path)
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if entry in text.splitlines():
        return
    prefix = "\n" if text and not text.endswith("\n") else ""
    write_replacing(gitignore, f"{text}{prefix}{entry}\n".encode())


def _ignore_remove(path: Path) -> None:
    gitignore = _gitignore_of(path)
    try:
        lines = gitignore.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return
    entries = {_gitignore_entry(path), "/" + path.name}
    kept = [line for line in lines if line.strip() not in entries]
    if not kept:
        gitignore.unlink()
    elif kept != lines:
        write_replacing(gitignore, "".join(kept).encode())


class LocalCache:
    """The local DVC cache's objects (``<cache>/files/md5/ab/cdef...``), written
    here without DVC: bytes are copied once, straight into it, while they are
    hashed, then put in place under their md5 and made read-only as DVC does."""

    def __init__(self, objects: Path, link_types: Sequence[str]) -> None:
        self.objects = objects
        self.link_types = tuple(link_types) or ("reflink", "copy")

    def object_path(self, md5: str) -> Path:
        return self.objects / md5[:2] / md5[2:]

    def staging_file(self) -> Path:
        """A new name in the cache's folder for bytes whose md5 is not known yet."""
        self.objects.mkdir(parents=True, exist_ok=True)
        return self.objects / f".modelreg-{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp"

    def intact(self, md5: str) -> bool:
        """Whether the object ``md5`` is there and its bytes still have that md5."""
        from .hashing import digest_file

        try:
            return digest_file(self.object_path(md5)).md5 == md5
        except FileNotFoundError:
            return False

    def commit(self, staged: Path, md5: str, *, replace: bool = False) -> tuple[Path, bool]:
        """Make ``staged`` (whose md5 the caller computed) the object ``md5``; (its
        path, whether it is new). An object already there is kept when it is intact
        (``replace``: the caller knows it is not), else replaced: a corrupt object
        is never trusted over good bytes in hand."""
        final = self.object_path(md5)
        if final.exists() and not replace and self.intact(md5):
            staged.unlink(missing_ok=True)
            return final, False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged, _CACHE_MODE)
        os.replace(staged, final)
        return final, True

    def link_kind(self, folder: Path) -> str:
        """The first of DVC's ``cache.type`` entries that works from the cache to
        ``folder`` (tried on a small probe file, as DVC does): ``reflink``,
        ``hardlink``, ``symlink``, else ``copy``."""
        for kind in self.link_types:
            if kind == "copy":
                return kind
            probe = self.staging_file()
            target = folder / f".{probe.name}"
            try:
                probe.write_bytes(b"modelreg link probe\n")
                link_file(kind, probe, target)
                return kind
            except OSError:
                continue
            finally:
                probe.unlink(missing_ok=True)
                target.unlink(missing_ok=True)
        return "copy"

    def link(self, kind: str, md5: str, target: Path) -> None:
        """Create ``target`` (which must not exist) as a ``kind`` link to the object."""
        link_file(kind, self.object_path(md5), target)


_CACHE_MODE = 0o444  # DVC's mode for cache objects (dvc_data LocalHashFileDB.CACHE_MODE)
_FICLONE = 0x40049409  # Linux ioctl: share the extents of another file (reflink)


def link_file(kind: str, source: Path, target: Path) -> None:
    """Create ``target`` as a ``reflink``, ``hardlink`` or ``symlink`` of ``source``."""
    if kind == "hardlink":
        os.link(source, target)
    elif kind == "symlink":
        os.symlink(source, target)
    elif kind == "reflink":
        import fcntl

        with open(source, "rb") as src, open(target, "xb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            except OSError:
                dst.close()
                target.unlink(missing_ok=True)
                raise
    else:
        raise OSError(f"unknown link type {kind}")


def _is_local(fs: Any) -> bool:
    return bool(fs.protocol == "local")


class _LockedTask:
    """One progress task advanced from several download threads."""

    def __init__(self, task: Any) -> None:
        self._task, self._lock = task, threading.Lock()

    def advance(self, amount: int) -> None:
        with self._lock:
            self._task.advance(amount)


def _download_all(
    odb: Any, cache: LocalCache, md5s: Sequence[str], task: Any, jobs: int | None
) -> list[str]:
    """Copy each object from the remote into the cache, verified against its md5 on
    the way; return those whose remote copy does not match (left as they are)."""
    if len(md5s) <= 1 or jobs == 1:
        return [m for m in md5s if not _download(odb, cache, m, task)]
    from concurrent.futures import ThreadPoolExecutor

    workers = min(len(md5s), jobs or min(8, 4 * (os.cpu_count() or 1)))
    with ThreadPoolExecutor(workers, thread_name_prefix="modelreg-fetch") as pool:
        fine = list(pool.map(lambda m: _download(odb, cache, m, task), md5s))
    return [m for m, ok in zip(md5s, fine, strict=True) if not ok]


def _download(odb: Any, cache: LocalCache, md5: str, task: Any) -> bool:
    from .hashing import copy_file

    staged = cache.staging_file()
    try:
        with odb.fs.open(odb.oid_to_path(md5), "rb") as handle:
            got = copy_file(handle, staged, task, md5=True).md5
        if got != md5:
            return False
        cache.commit(staged, md5, replace=True)
        return True
    finally:
        staged.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths are one file (a hardlink): its bytes are checked once."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def corrupt_on_remote(objects: Sequence[str]) -> IntegrityError:
    more = f" (and {len(objects) - 1} more)" if len(objects) > 1 else ""
    return IntegrityError(
        f"the DVC remote's object {objects[0]}{more} does not match its md5; "
        "it was refused and left as it is",
        hint="push the file again from a clone whose cache holds good bytes "
        f"({VERIFY_REMOTE_FINDS})",
        remedy=Remedy("remote", VERIFY_REMOTE_FINDS),
    )


def _on_remote(odb: Any, path: str) -> bool:
    """Whether the remote holds ``path``. fsspec's ``exists`` answers False for any
    error, an unreachable server included, which would report every object as
    missing; only "not found" means missing here, other errors propagate."""
    try:
        odb.fs.info(path)
    except FileNotFoundError:
        return False
    return True


def _on_remote_all(odb: Any, paths: Sequence[str]) -> list[bool]:
    """:func:`_on_remote` for each path, several round trips at once. The first is
    asked alone: it sets up the remote's client, which concurrent first calls
    would each set up again (20 objects on S3: 0.88 s that way, 0.31 s this way)."""
    if not paths:
        return []
    first = _on_remote(odb, paths[0])
    if len(paths) == 1:
        return [first]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(len(paths) - 1, 8), thread_name_prefix="modelreg-info") as pool:
        return [first, *pool.map(partial(_on_remote, odb), paths[1:])]


def remove_cache_object(path: Path) -> None:
    """Delete one cache object (read-only, as DVC leaves it), and its two-letter
    shard folder when that held nothing else."""
    try:
        os.chmod(path, 0o644)
        path.unlink()
    except FileNotFoundError:
        pass
    with suppress(OSError):
        path.parent.rmdir()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _import_repo() -> Any:
    from dvc.repo import Repo

    _silence_dvc()
    _write_config_as_utf8()
    return Repo


def _write_config_as_utf8() -> None:
    """DVC writes its config files through configobj, which encodes them as ASCII
    unless told an encoding: a remote path such as ``/srv/données`` or ``/data/模型``
    failed with UnicodeEncodeError half-way through ``init``. DVC reads them back as
    UTF-8 text, so make configobj's default for writing UTF-8 (DVC imports ConfigObj
    from the module at each write)."""
    import configobj

    if getattr(configobj.ConfigObj, "modelreg_utf8", False):
        return

    class Utf8ConfigObj(configobj.ConfigObj):  # type: ignore[misc]
        modelreg_utf8 = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("default_encoding", "utf-8")
            super().__init__(*args, **kwargs)

    configobj.ConfigObj = Utf8ConfigObj


def _silence_dvc() -> None:
    """DVC logs to stdout/stderr through its own handlers; modelreg speaks for it."""
    logger = logging.getLogger("dvc")
    logger.handlers = [logging.NullHandler()]
    logger.propagate = False
    logger.setLevel(logging.CRITICAL)


@contextmanager
def _dvc_errors(doing: str, remote: str | None = None) -> Iterator[None]:
    """Turn DVC's exceptions into one-line :class:`StorageError`s with a hint."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        name = type(exc).__name__
        text = " ".join(str(exc).split()) or name
        if name == "LockError":
            raise LockTimeoutError(
                f"cannot {doing}: another DVC process holds the lock ({text})",
                hint="wait for it to finish, then try again",
            ) from None
        if name in ("NoRemoteError", "RemoteNotFoundError"):
            raise StorageError(
                f"cannot {doing}: no DVC remote is configured"
                + (f" (asked for '{remote}')" if remote else ""),
                hint=f"{INIT_REMOTE_RUN} or 'dvc remote add -d NAME URL'",
                remedy=Remedy("remote", INIT_REMOTE_RUN),
            ) from None
        if name == "RemoteMissingDepsError" or isinstance(exc, ImportError):
            plugin = _missing_plugin(exc, text)
            if plugin is None:
                raise StorageError(
                    f"cannot {doing}: {text}",
                    hint="install the DVC plugin for this remote, e.g. pip install 'modelreg[s3]'",
                ) from None
            extra = _PLUGIN_EXTRAS.get(plugin)
            raise StorageError(
                f"cannot {doing}: this DVC remote needs the plugin {plugin}, "
                "which is not installed",
                hint=f"pip install 'modelreg[{extra}]'" if extra else f"pip install '{plugin}'",
            ) from None
        if name in ("NotDvcRepoError",):
            raise StorageError(
                f"cannot {doing}: this repository has no DVC set-up",
                hint="run 'modelreg init'",
            ) from None
        about_remote = type(exc).__module__.split(".")[0] in _STORAGE_LIBRARIES
        if not (about_remote or isinstance(exc, OSError)):
            raise
        which = f"the DVC remote '{remote}'" if remote else "the DVC remote"
        kinds = _kinds(exc)
        if kinds & _CREDENTIAL_ERRORS:
            raise StorageError(
                f"cannot {doing}: no valid credentials for {which} ({text})",
                hint="give them in the environment (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_CONNECTION_STRING, "
                "GOOGLE_APPLICATION_CREDENTIALS) or in DVC's local config, never committed: "
                f"{REMOTE_LOCAL_OPTIONS} access_key_id=... (keyfile, "
                "secret_access_key, connection_string...)",
                remedy=Remedy("local_options", REMOTE_LOCAL_OPTIONS),
            ) from None
        if kinds & _CONNECTION_ERRORS:
            raise StorageError(
                f"cannot {doing}: {which} cannot be reached ({text})",
                hint="check that its server is up and that its URL and endpointurl are "
                "right ('modelreg remote list')",
            ) from None
        raise StorageError(f"cannot {doing}: {text}") from None


def _kinds(exc: BaseException) -> set[str]:
    """Class names of ``exc`` and of the errors it was raised from (sshfs turns
    asyncssh's PermissionDenied into a plain PermissionError, for one)."""
    names: set[str] = set()
    seen: BaseException | None = exc
    for _depth in range(5):
        if seen is None:
            break
        names.update(cls.__name__ for cls in type(seen).__mro__)
        seen = seen.__cause__ or seen.__context__
    return names


def _missing_plugin(exc: BaseException, text: str) -> str | None:
    """The DVC plugin package whose absence ``exc`` reports, when it names one."""

    protocol = getattr(exc, "protocol", None)
    if isinstance(protocol, str) and protocol:
        aliases = {"gcs": "gs", "sftp": "ssh", "webdavs": "webdav", "https": "http"}
        return "dvc-" + aliases.get(protocol, protocol)
    found = re.search(r"requires '(dvc-[a-z0-9-]+)'", text)
    return found.group(1) if found else None


def _not_found(absent: Sequence[str]) -> StorageError:
    return StorageError(
        f"{len(absent)} file(s) are neither in the local cache nor on the DVC remote "
        f"(first: {absent[0]})",
        hint=REGISTERED_WITHOUT_PUSH,
        remedy=Remedy("push", REGISTERED_WITHOUT_PUSH),
    )
