"""remotes, remote_add, remote_remove, remote_default: the DVC remotes in
``.dvc/config``, each change committed; credentials never.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnknownRemoteError
from ..paths import against

if TYPE_CHECKING:
    from ..registry import Registry
    from ..storage import RemoteSettings


def remotes(self: Registry) -> list[RemoteSettings]:
    """The DVC remotes: URL and shared options; credentials only by name."""
    self._require_registry()
    return self.storage.remote_settings()


def remote_add(
    self: Registry,
    name: str,
    url: str,
    *,
    default: bool = False,
    endpoint_url: str | None = None,
    options: dict[str, str] | None = None,
    local_options: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> RemoteSettings:
    """Add (or replace) a DVC remote and commit ``.dvc/config``. Credentials go
    to ``local_options`` (``.dvc/config.local``, never committed) or the
    environment; putting them in ``options`` or in the URL is refused. A local
    path is made absolute from ``cwd``, the caller's directory."""
    from ..credentials import refuse_password_in_url, shared_options, validate_remote_name
    from ..storage import DVC_CONFIG, is_local_url, normalise_remote_url

    self._require_registry()
    validate_remote_name(name)
    shared = shared_options(dict(options or {}), endpoint_url)
    refuse_password_in_url(url)
    url = normalise_remote_url(url, against(cwd, "."))
    if is_local_url(url):
        Path(url).mkdir(parents=True, exist_ok=True)
    with self._locked():
        self.storage.configure_remote(
            name, url, default=default, options=shared, local_options=dict(local_options or {})
        )
        _commit_own(self, [DVC_CONFIG], f"modelreg: DVC remote {name} -> {url}")
    return next(r for r in self.storage.remote_settings() if r.name == name)


def remote_remove(self: Registry, name: str) -> None:
    from ..storage import DVC_CONFIG

    _require_remote_named(self, name)
    with self._locked():
        self.storage.remove_remote(name)
        _commit_own(self, [DVC_CONFIG], f"modelreg: remove DVC remote {name}")


def remote_default(self: Registry, name: str) -> None:
    from ..storage import DVC_CONFIG

    _require_remote_named(self, name)
    with self._locked():
        self.storage.set_default_remote(name)
        _commit_own(self, [DVC_CONFIG], f"modelreg: default DVC remote {name}")


def missing_plugin(url: str) -> str | None:
    """The extra that installs the DVC plugin this URL's scheme needs, when that
    plugin is missing (``pip install 'modelreg[EXTRA]'``); None when none is."""
    from ..storage import missing_plugin as plugin_for

    return plugin_for(url)


def _require_remote_named(self: Registry, name: str) -> None:
    self._require_registry()
    if name not in {r.name for r in self.storage.remote_settings()}:
        raise UnknownRemoteError(f"no DVC remote named '{name}'", hint="see: modelreg remote list")


def _commit_own(self: Registry, paths: list[str], message: str) -> str | None:
    """Commit exactly these registry files (nothing when unchanged)."""
    head = self.git.head()
    if head is not None and not self.git.changed_paths(paths):
        return None
    commit = self.git.commit_paths(paths, message, parent=head)
    self.git.advance_head(commit, head, message)
    self.git.sync_index(paths)
    return commit
