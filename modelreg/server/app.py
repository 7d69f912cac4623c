"""The Starlette application: every module's routes, one error boundary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import Kind, ModelregError
from . import about, api, auth, files, mlflow
from .context import ServerContext, context
from .http import BadRequest, error_response, json_response
from .refs import parse
from .run import open_when_empty
from .settings import Settings
from .web import routes as web

log = logging.getLogger("modelreg.server")


async def healthz(request: Request) -> Response:
    """The process answers."""
    return json_response({"ok": True})


async def readyz(request: Request) -> Response:
    """The registry can be read: git answers and the refs can be listed."""
    ctx = context(request)
    from .http import blocking

    def probe() -> dict[str, object]:
        registry = ctx.registry()
        # Probes need no token: no filesystem path in the answer.
        found: dict[str, object] = {"ok": True, "head": registry.git.head()}
        background = getattr(request.app.state, "background", None)
        if background is not None and ctx.settings.sync:
            found["sync"] = background.sync_status()  # a replica: how fresh it is
        return found

    return json_response(await blocking(probe))


def routes() -> list[BaseRoute]:
    """Every route, the fixed paths before ``/v2/models/{rest:path}``."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *about.routes(),
        *api.routes(),
        *web.routes(),
        *mlflow.routes(),
    ]


async def on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ModelregError)
    return error_response(exc)


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and "rest" in request.path_params:
        # Starlette names the methods of the first /v2/models/{rest:path} route it
        # tried; which ones this path answers depends on its action
        with suppress(BadRequest):
            headers["Allow"] = api.allowed(parse(request.path_params["rest"]))
    words = {
        404: "no such endpoint",
        405: f"{request.method} is not allowed here; this endpoint takes {headers.get('Allow')}",
    }
    message = words.get(exc.status_code, str(exc.detail))
    return error_response(BadRequest(message, status=exc.status_code, headers=headers))


async def on_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up mid-request is not a bug: nobody reads this answer,
    and the write it was sending never started."""
    return error_response(BadRequest("the client went away before the request body ended"))


async def on_bug(request: Request, exc: Exception) -> Response:
    log.exception("a bug in modelreg answering %s %s", request.method, request.url.path)
    bug = ModelregError(
        f"a bug in modelreg: {type(exc).__name__}", "the server's log has the traceback"
    )
    bug.kind = Kind.BUG
    return error_response(bug)


def create_app(settings: Settings, ctx: ServerContext | None = None) -> Starlette:
    """The application serving the registry at ``settings.root``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from .watch import Background

        context = app.state.context
        background = Background(context)
        background.start()
        app.state.background = background
        try:
            async with files.upkeep(context.uploads, context.root):
                yield
        finally:
            background.stop()

    ctx = ctx or ServerContext.open(settings)
    guard = Middleware(
        auth.Guard,
        watch=auth.TokenWatch(ctx.tokens),
        open_when_empty=open_when_empty(settings),
    )
    app = Starlette(
        routes=routes(),
        middleware=[guard],
        exception_handlers={
            ModelregError: on_error,
            HTTPException: on_http,
            ClientDisconnect: on_gone,
            Exception: on_bug,
        },
        lifespan=lifespan,
    )
    app.state.context = ctx
    return app
