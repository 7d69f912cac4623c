"""The door to DVC: importing it (its logging silenced, configobj writing UTF-8),
refusing a cache that a commit moved outside the repository, and turning its
exceptions (and those of the libraries beneath it) into one-line
:class:`StorageError` s with a hint.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import (
    INIT_REMOTE_RUN,
    REMOTE_LOCAL_OPTIONS,
    LockTimeoutError,
    Remedy,
    StorageError,
    UnsafePathError,
)
from .dvcfiles import committed_cache_dir, foreign_cache_problem

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
PLUGIN_EXTRAS = {
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


def import_repo() -> Any:
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
    import configobj  # type: ignore[import-untyped]

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


def refuse_foreign_cache(repo: Any, root: Path) -> None:
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


@contextmanager
def dvc_errors(doing: str, remote: str | None = None) -> Iterator[None]:
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
            extra = PLUGIN_EXTRAS.get(plugin)
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
