"""Listening: the loopback rule, uvicorn, graceful shutdown."""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import LISTEN_PUBLIC, Kind, ModelregError, Remedy
from .settings import Settings

if TYPE_CHECKING:
    import uvicorn


class ListenRefused(ModelregError):
    kind = Kind.POLICY


class AddressInUse(ModelregError):
    kind = Kind.UNAVAILABLE


def check_free(host: str, port: int) -> None:
    """Refuse a taken port in our own words before the server starts: uvicorn
    would start the application, then log ``[Errno 98]`` and exit 3, a bug's code."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except OSError:
        return  # a host that does not resolve: uvicorn says so
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return
            raise AddressInUse(
                f"port {port} on {host} is in use (another server listens there)",
                "stop it, or choose another port with --port",
            ) from None


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
    """Serve until SIGTERM or SIGINT: then stop accepting, give the requests in
    flight ``settings.grace`` seconds to finish, and return (the process exits 0).

    uvicorn runs on uvloop with httptools' parser where they are installed (they
    are dependencies, except uvloop on Windows): fewer copies and less Python per
    byte than asyncio and h11, which a 1 GiB download shows."""
    import uvicorn

    from .app import create_app
    from .context import ServerContext
    from .observe import Observed, configure_logging

    ctx = ServerContext.open(settings)
    if not open_when_empty(settings) and ctx.tokens.load().empty:
        raise ListenRefused(
            f"refusing to listen on {settings.host}: with no token every caller could write",
            f"add a token first, or {LISTEN_PUBLIC}",
            remedy=Remedy("public", LISTEN_PUBLIC),
        )
    configure_logging(settings.log_format)
    check_free(settings.host, settings.port)
    app = create_app(settings, ctx)
    config = uvicorn.Config(
        Observed(app, ctx.metrics),
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging's handlers, not uvicorn's
        access_log=False,  # Observed writes the access log
        timeout_graceful_shutdown=settings.grace,
    )
    graceful(config).run()


def graceful(config: uvicorn.Config) -> uvicorn.Server:
    """A uvicorn server whose stop on SIGTERM/SIGINT is a clean exit.

    uvicorn finishes the requests in flight (for ``timeout_graceful_shutdown``
    seconds at most, then cancels them), and then raises the signal again so the
    process dies of it: a service manager would read a stop it asked for as a
    crash. Here the signal only asks for the stop; a second SIGINT forces it.
    """
    import uvicorn

    class Graceful(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            before = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in before.items():
                    signal.signal(sig, handler)

    return Graceful(config)
