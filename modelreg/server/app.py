"""The Starlette application: every module's routes, one error boundary."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from ..errors import Kind, ModelregError
from ..storage import preload
from . import about, api, auth, files, mlflow
from .context import ServerContext, context
from .http import BadRequest, error_response, json_response
from .refs import parse
from .run import is_loopback, open_when_empty
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
    if exc.status_code == 405:
        headers["Allow"] = allowed(request)
    words = {
        404: "no such endpoint",
        405: f"{request.method} is not allowed here; this endpoint takes {headers.get('Allow')}",
    }
    message = words.get(exc.status_code, str(exc.detail))
    return error_response(BadRequest(message, status=exc.status_code, headers=headers))


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed(request: Request) -> str:
    """Every method the request's path answers, for a 405's ``Allow`` (RFC 9110).

    Starlette names the methods of the first route whose path matched, but a path
    can match several routes (``/act/{action}``'s GET and POST, a model path's GET
    and POST), and under ``/v2/models/`` what a path answers depends on its action
    (:func:`.api.allowed`): ``.../promote`` takes POST alone, a version GET alone.
    The web page's ``/m/...`` is read with GET whatever its path says."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, child = route.matches(request.scope)
        if match is Match.NONE:
            continue
        named = set(getattr(route, "methods", None) or ())
        if getattr(route, "path", None) == api.MODEL_PATH:
            try:
                target = parse(child.get("path_params", {}).get("rest", ""))
            except BadRequest:  # any method is a 400 there
                target = None
            if target is not None and target.action is None and target.ref in api.FOUNDING_POSTS:
                continue  # their own route's POST (a GET reads a model so named, if any)
            if target is not None:
                named = {m.strip() for m in api.allowed(target).split(",") if m.strip()}
        methods |= named
    order = {method: index for index, method in enumerate(METHOD_ORDER)}
    return ", ".join(sorted(methods, key=lambda m: (order.get(m, len(order)), m)))


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


def _preload() -> None:
    """What the first file download and the first read of the state cache load
    (DVC, SQLite: ~130 ms), loaded before the server answers: a download right
    after a restart took ~100 ms longer while these imports ran beside it. One
    that fails is no news here: the request that needs it says why."""
    try:
        preload()
        import_module("modelreg.statecache")
    except Exception as exc:  # the request that needs it reports it
        log.debug("preload failed: %s", exc)


def create_app(settings: Settings, ctx: ServerContext | None = None) -> Starlette:
    """The application serving the registry at ``settings.root``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from .watch import Background

        context = app.state.context
        # Imports, before the first request (a load balancer waits for /healthz)
        await asyncio.get_running_loop().run_in_executor(None, _preload)
        background = Background(context)
        background.start()
        app.state.background = background
        try:
            async with files.upkeep(context.uploads, context.root):
                yield
        finally:
            try:
                background.stop()
            finally:
                context.objects.close()
                if context.keeper is not None:
                    context.keeper.flush()

    ctx = ctx or ServerContext.open(settings)
    guard = Middleware(
        auth.Guard,
        watch=auth.TokenWatch(ctx.tokens),
        open_when_empty=open_when_empty(settings),
        local_only=is_loopback(settings.host) and not settings.public,
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
