"""Who we are to an OCI registry: credentials, and the ``WWW-Authenticate`` challenge.

Credentials come from ``MODELREG_OCI_USERNAME``/``MODELREG_OCI_PASSWORD`` when both
are set, else from the ``auths`` of ``$DOCKER_CONFIG/config.json`` (default
``~/.docker/config.json``: what ``docker login``, ``oras login`` and ``kit login``
write), as a base64 ``auth`` or ``username``/``password``, or an ``identitytoken``
(an OAuth refresh token, used by Azure). Credential helpers (``credsStore``) are
not run: set the environment variables instead. A secret is never put into a
message, a log line or git.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ENV_USER = "MODELREG_OCI_USERNAME"
ENV_PASSWORD = "MODELREG_OCI_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    source: str = ""  # where they came from, for messages (never the secret)

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def _docker_config(environ: dict[str, str]) -> Path:
    folder = environ.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    return Path(environ.get("HOME", str(Path.home()))) / ".docker" / "config.json"


def _auth_keys(host: str) -> list[str]:
    """The keys docker writes for a host (Docker Hub's is a URL of its own)."""
    keys = [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]
    if host in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        keys.append("https://index.docker.io/v1/")
    return keys


def find_credentials(host: str, environ: dict[str, str] | None = None) -> Credentials | None:
    """Credentials for ``host`` (``HOST[:PORT]``), or None to go anonymous."""
    env = dict(os.environ) if environ is None else environ
    user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
    if user and password is not None:
        return Credentials(user, password, source=f"{ENV_USER}/{ENV_PASSWORD}")
    path = _docker_config(env)
    try:
        auths = json.loads(path.read_text(encoding="utf-8")).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(auths, dict):
        return None
    for key in _auth_keys(host):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        token = entry.get("identitytoken")
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                name, _colon, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                continue
        else:
            name, secret = str(entry.get("username", "")), str(entry.get("password", ""))
        if name or isinstance(token, str):
            refresh = token if isinstance(token, str) and token else None
            return Credentials(name, secret, refresh, source=str(path))
    return None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer", lower-case
    params: dict[str, str]


_PARAM = re.compile(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"|([A-Za-z_]+)=([^,\s]+)')


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="...",service="...",scope="..."`` (or ``Basic realm=...``)."""
    scheme, _space, rest = header.strip().partition(" ")
    params = {}
    for match in _PARAM.finditer(rest):
        if match.group(1):
            params[match.group(1).lower()] = match.group(2).replace('\\"', '"')
        else:
            params[match.group(3).lower()] = match.group(4)
    return Challenge(scheme.lower(), params)
