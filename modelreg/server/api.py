"""The registry's endpoints: each one is a library operation and its serializer.

The founding document's four (``POST /v2/models/upload``, ``POST
/v2/models/register``, ``GET /v2/models/{model_id}``, ``GET /v2/models``) and
the lifecycle beside them. Reads answer from :class:`.cache.AnswerCache` while the
refs are unchanged; writes take the server's turn, then the registry's own lock
and journal, exactly as the CLI's do, and are published when the repository has
a git remote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import serialize
from ..errors import Kind, ModelregError
from ..registry import Registry
from ..results import EventResult
from . import files
from .context import ServerContext, context
from .http import BadRequest, blocking, field, flag, json_body, json_response, only, required
from .refs import Target, parse

Handler = Callable[[Request, Target], Awaitable[Response]]


async def cached(
    request: Request, key: tuple[Any, ...], document: Callable[[Registry], dict[str, Any]]
) -> Response:
    """A read's answer, computed on a worker thread unless the refs are unchanged
    since it was last computed."""
    ctx = context(request)

    def compute() -> bytes:
        return (serialize.dumps(document(ctx.registry())) + "\n").encode()

    body = await blocking(ctx.answers.get, key, compute)
    return Response(body, media_type="application/json")


async def write(request: Request, operation: Callable[[Registry, bool], EventResult]) -> Response:
    """A lifecycle write: the server's turn, then the library (lock, journal, push),
    retried on top of what another replica published first (:meth:`ServerContext.write`)."""
    ctx = context(request)
    result = await blocking(ctx.write, operation, commits=False)
    if result.changed:
        ctx.metrics.event_written(result.event)
    return json_response(serialize.event_result(result))


# --- reads ------------------------------------------------------------------------


async def list_models(request: Request) -> Response:
    include = flag(request, "all")
    return await cached(
        request,
        ("list", include),
        lambda registry: serialize.models(registry.list_models(include_deprecated=include)),
    )


async def show(request: Request, target: Target) -> Response:
    return await cached(
        request, ("show", target.ref), lambda r: serialize.version_info(r.show(target.ref))
    )


async def history(request: Request, target: Target) -> Response:
    reverse = flag(request, "reverse")
    return await cached(
        request,
        ("history", target.ref, reverse),
        lambda r: serialize.history(r.history(target.ref, reverse=reverse)),
    )


async def all_history(request: Request) -> Response:
    reverse = flag(request, "reverse")
    return await cached(
        request,
        ("history", None, reverse),
        lambda r: serialize.history(r.history(None, reverse=reverse)),
    )


async def resolve(request: Request, target: Target) -> Response:
    return await cached(
        request, ("resolve", target.ref), lambda r: serialize.resolved(r.resolve(target.ref))
    )


async def deps(request: Request, target: Target) -> Response:
    stage = request.query_params.get("stage") or None
    if flag(request, "reverse"):
        return await cached(
            request,
            ("dependents", target.ref, stage),
            lambda r: serialize.dependents(
                target.ref, stage, r.dependents(target.ref, stage=stage)
            ),
        )
    return await cached(
        request,
        ("deps", target.ref, stage),
        lambda r: serialize.tree(r.deps(target.ref, stage=stage)),
    )


async def version_files(request: Request, target: Target) -> Response:
    """``files``: the version's file list; ``files/PATH``: that file's bytes."""
    if target.path is not None:
        return await files.one_file(request, target, target.path)
    return await cached(
        request, ("files", target.ref), lambda r: serialize.version_files(r.files(target.ref))
    )


async def diff(request: Request) -> Response:
    a, b = request.query_params.get("a"), request.query_params.get("b")
    if not a or not b:
        raise BadRequest("diff needs two versions: ?a=NAME@vA&b=NAME@vB")
    return await cached(request, ("diff", a, b), lambda r: serialize.version_diff(r.diff(a, b)))


# --- lifecycle writes ---------------------------------------------------------------


async def promote(request: Request, target: Target) -> Response:
    body = await json_body(request)
    only(body, "stage", "message", "force")
    stage = required(body, "stage", str)
    message = field(body, "message", str)
    force = field(body, "force", bool, False)
    return await write(
        request,
        lambda r, push: r.promote(target.ref, stage, message=message, push=push, force=bool(force)),
    )


async def rollback(request: Request, target: Target) -> Response:
    body = await json_body(request)
    only(body, "stage", "to", "message", "force")
    stage = required(body, "stage", str)
    to = field(body, "to", str)
    message = field(body, "message", str)
    force = field(body, "force", bool, False)
    return await write(
        request,
        lambda r, push: r.rollback(
            target.ref, stage, to=to, message=message, push=push, force=bool(force)
        ),
    )


async def deprecate(request: Request, target: Target) -> Response:
    body = await json_body(request)
    only(body, "message")
    message = field(body, "message", str)
    return await write(request, lambda r, push: r.deprecate(target.ref, message=message, push=push))


# --- dispatch under /v2/models/{model_id} --------------------------------------------

READS: dict[str | None, Handler] = {
    None: show,
    "history": history,
    "resolve": resolve,
    "deps": deps,
    "files": version_files,
    "archive": files.archive,
}
WRITES: dict[str | None, Handler] = {
    "promote": promote,
    "rollback": rollback,
    "deprecate": deprecate,
}


def allowed(target: Target) -> str:
    """The methods a path under ``/v2/models/`` answers (a 405's ``Allow``)."""
    methods = [("GET, HEAD", READS), ("POST", WRITES)]
    return ", ".join(method for method, table in methods if target.action in table)


MODEL_PATH = "/v2/models/{rest:path}"
"""The route of every path under a model id (its action decides what it answers)."""

FOUNDING_POSTS = frozenset({"upload", "register"})
"""``/v2/models/upload`` and ``/register`` take POST; a GET of them reads a model of
that name if one exists, else says which method the endpoint takes."""


async def model_get(request: Request) -> Response:
    target = parse(request.path_params["rest"])
    handler = READS.get(target.action)
    if handler is None:
        what = target.action or "this"
        raise BadRequest(
            f"{what} takes POST with a JSON body, not {request.method}",
            status=405,
            allow=allowed(target),
        )
    if target.action is None and target.ref in FOUNDING_POSTS:
        try:
            return await handler(request, target)
        except ModelregError as exc:  # no model of that name: the client meant the endpoint
            if exc.kind is not Kind.NOT_FOUND:
                raise
            raise BadRequest(
                f"/v2/models/{target.ref} takes POST, not {request.method}",
                status=405,
                allow="POST",
            ) from None
    return await handler(request, target)


async def model_post(request: Request) -> Response:
    target = parse(request.path_params["rest"])
    handler = WRITES.get(target.action)
    if handler is None:
        what = target.action or "a version"
        raise BadRequest(f"{what} is read with GET, not POST", status=405, allow=allowed(target))
    return await handler(request, target)


def routes() -> list[Route]:
    return [
        Route("/v2/models", list_models, methods=["GET"]),
        Route("/v2/history", all_history, methods=["GET"]),
        Route("/v2/diff", diff, methods=["GET"]),
        # The founding endpoints, before the paths of model ids.
        Route("/v2/models/upload", files.upload, methods=["POST"]),
        Route("/v2/models/register", files.register, methods=["POST"]),
        Route(MODEL_PATH, model_get, methods=["GET"]),
        Route(MODEL_PATH, model_post, methods=["POST"]),
    ]


__all__ = ["ServerContext", "routes"]
