"""What one running server was started with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Kind, ModelregError

DAY = 24 * 3600.0
UPLOAD_MAX_SIZE = 1 << 40  # 1 TiB: larger than any model file, smaller than a runaway stream


class SettingError(ModelregError):
    kind = Kind.USAGE


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment (the server's knobs without flags)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise SettingError(f"{name}={text!r}: not a positive number")
    return value


@dataclass(frozen=True)
class Settings:
    """A server's configuration: the registry it serves and how it listens.

    ``root`` is the registry's work tree (any clone, or the embedded default).
    ``sync`` is how often, in seconds, a replica fetches what others published
    (``None``: never). ``state_dir`` holds what the server keeps outside git
    (uploads, the webhook delivery log); it defaults to a folder inside the
    repository's git directory, never the work tree. The digests the server has
    checked are kept in the repository's own store whatever ``state_dir`` says
    (:func:`modelreg.hashing.known_digests_store`): the CLI adds to them.

    ``upload_max_age`` (seconds; ``MODELREG_UPLOAD_MAX_AGE``, a day by default) is
    how long an upload nobody registered is kept; ``upload_max_size`` (bytes;
    ``MODELREG_UPLOAD_MAX_SIZE``, 1 TiB by default) the largest body an upload
    may have; ``upload_idle_timeout`` (seconds; ``MODELREG_UPLOAD_IDLE_TIMEOUT``,
    5 minutes by default) how long an upload may send nothing before it is given
    up (a client gone without closing its connection would hold it for ever).
    """

    root: Path
    host: str = "127.0.0.1"
    port: int = 8080
    sync: float | None = None
    state_dir: Path | None = None
    public: bool = False  # listening beyond loopback without tokens was asked for explicitly
    log_format: str = "json"  # stderr's lines: "json" (one object a line) or "text"
    grace: int = 30  # seconds in-flight requests get to finish after SIGTERM/SIGINT
    extra: dict[str, str] = field(default_factory=dict)
    upload_max_age: float = field(
        default_factory=lambda: _env_number("MODELREG_UPLOAD_MAX_AGE", DAY)
    )
    upload_idle_timeout: float = field(
        default_factory=lambda: _env_number("MODELREG_UPLOAD_IDLE_TIMEOUT", 300.0)
    )
    upload_max_size: int = field(
        default_factory=lambda: int(_env_number("MODELREG_UPLOAD_MAX_SIZE", UPLOAD_MAX_SIZE))
    )
