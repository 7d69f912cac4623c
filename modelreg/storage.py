"""The only module that imports DVC, and only inside the calls that move bytes.

DVC runs in-process (``dvc.repo.Repo``, one instance per operation): tens of
milliseconds a call instead of most of a second for the ``dvc`` command. Its
errors become :class:`StorageError` with a hint; its own logging and progress
bars are silenced, and progress reaches the user through :class:`Progress`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import IntegrityError, LockTimeoutError, StorageError
from .progress import NullProgress, Progress

if TYPE_CHECKING:
    from dvc.repo import Repo

DVC_DIR = ".dvc"
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


@dataclass(frozen=True)
class StoredFile:
    """A file to track: its path in the work tree and the md5 already computed."""

    path: Path
    md5: str
    size: int


def is_initialised(root: Path) -> bool:
    return (root / DVC_DIR).is_dir()


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

    def __init__(self, root: Path, progress: Progress | None = None) -> None:
        self.root = root
        self.progress = progress or NullProgress()

    # --- set-up ------------------------------------------------------------

    def init(self) -> list[str]:
        """``dvc init`` when the repository has no ``.dvc``; return files created."""
        if is_initialised(self.root):
            return []
        with _dvc_errors("dvc init"):
            Repo = _import_repo()
            Repo.init(str(self.root)).close()
        return [
            p for p in (".dvc/config", ".dvc/.gitignore", ".dvcignore") if (self.root / p).exists()
        ]

    def remotes(self) -> tuple[str | None, dict[str, str]]:
        """(default remote name, {name: url}) from DVC's merged config."""
        with self._repo("read DVC config") as repo:
            config = repo.config
            default = config["core"].get("remote")
            urls = {name: str(section.get("url", "")) for name, section in config["remote"].items()}
        return default, urls

    def set_remote(self, name: str, url: str, *, default: bool = True) -> None:
        with self._repo("configure the DVC remote") as repo, repo.config.edit("repo") as conf:
            conf["remote"][name] = {"url": url}
            if default:
                conf["core"]["remote"] = name

    # --- tracking files ----------------------------------------------------

    def add(self, files: Sequence[StoredFile]) -> None:
        """Track files with DVC (``.dvc`` files, ``.gitignore`` entries, cache objects).

        The md5 computed by the caller is handed to DVC's state database first, so
        DVC does not read the bytes a second time to hash them.
        """
        if not files:
            return
        with self._repo("track the files with DVC") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            repo.scm_context.quiet = True
            for item in files:
                repo.state.save(str(item.path), repo.fs, HashInfo("md5", item.md5))
            with _dvc_errors("dvc add"):
                repo.add([str(f.path) for f in files])

    def cache_objects(self, md5s: Sequence[str]) -> dict[str, Path]:
        with self._repo("read the DVC cache") as repo:
            return {m: Path(repo.cache.local.oid_to_path(m)) for m in md5s}

    def ensure_cached(self, items: Sequence[tuple[Path, str]]) -> None:
        """Make sure the cache holds each object, copying the file in (verified
        against its md5) where it does not: bytes about to leave the work tree must
        stay retrievable."""
        if not items:
            return
        from .hashing import copy_file

        with self._repo("keep files in the DVC cache") as repo:
            for path, md5 in items:
                target = Path(repo.cache.local.oid_to_path(md5))
                if target.exists():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                staged = target.with_name(f".{target.name}.modelreg-{os.getpid()}")
                got = copy_file(path, staged, md5=True).md5
                if got != md5:
                    staged.unlink()
                    raise StorageError(f"{path} changed while modelreg was keeping it ({md5})")
                staged.chmod(0o444)
                os.replace(staged, target)

    def remove_cache_objects(self, paths: Sequence[Path]) -> None:
        """Undo helper: delete cache objects this operation created."""
        for path in paths:
            try:
                os.chmod(path, 0o644)
                path.unlink()
            except FileNotFoundError:
                pass
            with suppress(OSError):
                path.parent.rmdir()  # the two-letter shard, when this was its only object

    def untrack(self, dvc_files: Sequence[Path]) -> None:
        """Stop tracking outputs: remove their ``.dvc`` files and ``.gitignore`` entries
        (the bytes stay in the cache, and the work-tree files are left alone)."""
        existing = [str(p) for p in dvc_files if p.exists()]
        if not existing:
            return
        with self._repo("untrack files with DVC") as repo, _dvc_errors("dvc remove"):
            repo.scm_context.quiet = True
            for target in existing:
                repo.remove(target, outs=False)

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
        import hashlib

        out: dict[str, str | None] = {}
        with self._repo("read the DVC remote") as repo, _dvc_errors("read the remote", remote):
            odb = _remote_odb(repo, remote, "fetch")
            for md5 in md5s:
                path = odb.oid_to_path(md5)
                if not _on_remote(odb, path):
                    out[md5] = None
                    continue
                sha = hashlib.sha256()
                with odb.fs.open(path, "rb") as handle:
                    while chunk := handle.read(4 * 1024 * 1024):
                        sha.update(chunk)
                out[md5] = sha.hexdigest()
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

        DVC does not verify here (its verification deletes a corrupt object from a
        local remote, destroying the evidence): callers verify every byte against the
        manifest's sha256 as they copy it out of the cache.
        """
        with self._repo("fetch from the DVC remote") as repo:
            from dvc_data.hashfile.hash_info import HashInfo

            missing = sorted(
                {m for m in md5s if not os.path.exists(repo.cache.local.oid_to_path(m))}
            )
            if not missing:
                return []
            size = sum((sizes or {}).get(m, 0) for m in missing)
            label = f"fetching {len(missing)} file(s)"
            with _dvc_errors("fetch", remote), self._callback(label, size) as cb:
                odb = _remote_odb(repo, remote, "pull")
                # DVC deletes an object from a local-folder remote when it finds it
                # corrupt: note what was there, to tell corrupt from never pushed.
                present = {m for m in missing if _on_remote(odb, odb.oid_to_path(m))}
                result = repo.cloud.transfer(
                    odb,
                    repo.cache.local,
                    [HashInfo("md5", m) for m in missing],
                    jobs=jobs,
                    verify=False,
                    cache_odb=repo.cache.local,
                    callback=cb,
                )
            still = [m for m in missing if not os.path.exists(repo.cache.local.oid_to_path(m))]
            corrupt = [m for m in still if m in present]
            if corrupt:
                raise IntegrityError(
                    f"the DVC remote's copy of {len(corrupt)} file(s) does not match its md5 "
                    f"(first: {corrupt[0]}), so it was refused",
                    hint="push the files again from a clone whose cache holds them "
                    "('modelreg verify' there first)",
                )
            if still or result.failed:
                raise StorageError(
                    f"{len(still) or len(result.failed)} file(s) are neither in the local cache "
                    f"nor on the DVC remote (first: {(still or ['?'])[0]})",
                    hint="the version was registered without '--push'; run 'modelreg push' in "
                    "the clone that registered it",
                )
            return missing

    # --- plumbing ----------------------------------------------------------

    @contextmanager
    def _repo(self, doing: str) -> Iterator[Repo]:
        with _dvc_errors(doing):
            repo = _import_repo()(str(self.root))
        try:
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
                "through one every clone reaches: modelreg init --remote URL (s3://, ssh://...)",
            )
    return odb


def _on_remote(odb: Any, path: str) -> bool:
    """Whether the remote holds ``path``. fsspec's ``exists`` answers False for any
    error, an unreachable server included, which would report every object as
    missing; only "not found" means missing here, other errors propagate."""
    try:
        odb.fs.info(path)
    except FileNotFoundError:
        return False
    return True


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _import_repo() -> Any:
    from dvc.repo import Repo

    _silence_dvc()
    return Repo


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
                hint="run 'modelreg init --remote URL' or 'dvc remote add -d NAME URL'",
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
                hint="give them in DVC's local config, which is never committed "
                "('dvc remote modify --local NAME keyfile|access_key_id|secret_access_key|"
                "connection_string VALUE'), or in the environment (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AZURE_STORAGE_CONNECTION_STRING, "
                "GOOGLE_APPLICATION_CREDENTIALS)",
            ) from None
        if kinds & _CONNECTION_ERRORS:
            raise StorageError(
                f"cannot {doing}: {which} cannot be reached ({text})",
                hint="check that its server is up and that the URL or endpointurl in "
                ".dvc/config is right ('dvc remote list')",
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
    import re

    protocol = getattr(exc, "protocol", None)
    if isinstance(protocol, str) and protocol:
        aliases = {"gcs": "gs", "sftp": "ssh", "webdavs": "webdav", "https": "http"}
        return "dvc-" + aliases.get(protocol, protocol)
    found = re.search(r"requires '(dvc-[a-z0-9-]+)'", text)
    return found.group(1) if found else None
