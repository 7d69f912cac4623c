"""Listening: the loopback rule, uvicorn, graceful shutdown."""

from __future__ import annotations

import ipaddress

from ..errors import LISTEN_PUBLIC, Kind, ModelregError, Remedy
from .settings import Settings


class ListenRefused(ModelregError):
    kind = Kind.POLICY


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM finish the requests in flight)."""
    import uvicorn

    from .app import create_app

    if not is_loopback(settings.host) and not settings.public:
        raise ListenRefused(
            f"refusing to listen on {settings.host}: with no token every caller could write",
            f"add a token first, or {LISTEN_PUBLIC}",
            remedy=Remedy("public", LISTEN_PUBLIC),
        )
    app = create_app(settings)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=30
    )
