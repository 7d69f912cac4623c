"""DVC remotes: their URLs and the plugin each kind needs, and the ``Storage``
methods that read and edit them in DVC's config (URL and options in the committed
``.dvc/config``, credentials in ``.dvc/config.local``, never committed). The
methods are bound into :class:`~modelreg.storage.Storage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .gateway import PLUGIN_EXTRAS, dvc_errors

if TYPE_CHECKING:
    from . import Storage

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
    return PLUGIN_EXTRAS[plugin]


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


# --- bound into Storage ----------------------------------------------------


def remotes(self: Storage) -> tuple[str | None, dict[str, str]]:
    """(default remote name, {name: url}) from DVC's merged config."""
    with self._repo("read DVC config") as repo:
        config = repo.config
        default = config["core"].get("remote")
        urls = {name: str(section.get("url", "")) for name, section in config["remote"].items()}
    return default, urls


def remote_is_local(self: Storage, remote: str | None) -> bool:
    """Whether ``remote`` (None: the default) is a folder on this machine."""
    plain = self.plain()
    if plain is not None:
        found = plain.url(remote)
        return bool(found) and is_local_url(str(found))
    default, urls = self.remotes()
    url = urls.get(remote or default or "")
    return bool(url) and is_local_url(str(url))


def set_remote(self: Storage, name: str, url: str, *, default: bool = True) -> None:
    with self._repo("configure the DVC remote") as repo, repo.config.edit("repo") as conf:
        conf["remote"][name] = {"url": url}
        if default:
            conf["core"]["remote"] = name


def remote_settings(self: Storage) -> list[RemoteSettings]:
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
    self: Storage,
    name: str,
    url: str,
    *,
    default: bool,
    options: dict[str, str],
    local_options: dict[str, str],
) -> None:
    """Add or replace a remote: URL and options in the committed config,
    credentials in DVC's local config (``.dvc/config.local``, never committed)."""
    with self._repo("configure the DVC remote") as repo, dvc_errors("configure the remote"):
        with repo.config.edit("repo") as conf:
            conf["remote"][name] = {"url": url, **options}
            if default:
                conf["core"]["remote"] = name
        if local_options:
            with repo.config.edit("local") as conf:
                conf["remote"][name] = {**conf["remote"].get(name, {}), **local_options}


def remove_remote(self: Storage, name: str) -> None:
    with self._repo("configure the DVC remote") as repo, dvc_errors("remove the remote"):
        for level in ("local", "repo"):
            with repo.config.edit(level) as conf:
                conf["remote"].pop(name, None)
                if conf["core"].get("remote") == name:
                    del conf["core"]["remote"]


def set_default_remote(self: Storage, name: str) -> None:
    with self._repo("configure the DVC remote") as repo, repo.config.edit("repo") as conf:
        conf["core"]["remote"] = name
