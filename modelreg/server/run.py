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


def open_when_empty(settings: Settings) -> bool:
    """Whether having no token means serving everyone: on loopback, or when an open
    server was asked for. Beyond loopback, tokens are what let a server listen
    there at all, so removing the last one closes it instead of opening it."""
    return is_loopback(settings.host) or settings.public


def serve(settings: Settings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM finish the requests in flight)."""
    import uvicorn

    from .app import create_app
    from .context import ServerContext

    ctx = ServerContext.open(settings)
    if not open_when_empty(settings) and ctx.tokens.load().empty:
        raise ListenRefused(
            f"refusing to listen on {settings.host}: with no token every caller could write",
            f"add a token first, or {LISTEN_PUBLIC}",
            remedy=Remedy("public", LISTEN_PUBLIC),
        )
    app = create_app(settings, ctx)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=30
    )
