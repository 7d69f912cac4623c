"""What one running server was started with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """A server's configuration: the registry it serves and how it listens.

    ``root`` is the registry's work tree (any clone, or the embedded default).
    ``sync`` is how often, in seconds, a replica fetches what others published
    (``None``: never). ``state_dir`` holds what the server keeps outside git
    (uploads, the webhook delivery log); it defaults to a folder inside the
    repository's git directory, never the work tree.
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
