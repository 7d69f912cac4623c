"""What may go into the committed DVC config: remote names, and no secrets. Pure.

``.dvc/config`` is committed and pushed with the registry, so anything that
looks like a credential belongs in ``.dvc/config.local`` or the environment.
"""

from __future__ import annotations

import re

from .errors import (
    LOCAL_OPTION,
    PASSWORD_LOCAL_OPTION,
    CommittedSecretError,
    InvalidNameError,
    Remedy,
)

_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_SECRET_WORDS = ("secret", "password", "passphrase", "token", "key_id", "account_key",
                 "connection_string", "credential", "keyfile", "sas")  # fmt: skip


def is_secret(key: str) -> bool:
    """Whether a DVC remote option named ``key`` holds a credential."""
    return any(word in key.lower() for word in _SECRET_WORDS)


def validate_remote_name(name: str) -> None:
    if not _REMOTE_NAME.fullmatch(name):
        raise InvalidNameError(f"invalid remote name '{name}': use letters, digits, - and _")


def shared_options(options: dict[str, str], endpoint_url: str | None) -> dict[str, str]:
    """The options to commit for a remote, refusing any that is a credential."""
    shared = dict(options)
    if endpoint_url:
        shared["endpointurl"] = endpoint_url
    secret = sorted(k for k in shared if is_secret(k))
    if secret:
        raise CommittedSecretError(
            f"'{secret[0]}' is a credential: it would be committed in .dvc/config",
            hint=f"{LOCAL_OPTION} {secret[0]}=... (kept in .dvc/config.local) "
            "or in the environment",
            remedy=Remedy("local_options", LOCAL_OPTION),
        )
    return shared


def refuse_password_in_url(url: str) -> None:
    """Refuse ``scheme://user:password@host/...``: the URL is committed."""
    if "://" not in url:
        return
    authority = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in authority and ":" in authority.split("@", 1)[0]:
        raise CommittedSecretError(
            "the URL holds a password: it would be committed in .dvc/config",
            hint=f"put the user in the URL and the password {PASSWORD_LOCAL_OPTION} password=...",
            remedy=Remedy("local_options", PASSWORD_LOCAL_OPTION),
        )
