"""The HTTP face's own words: JSON answers, the error document, request bodies.

Every answer is a document from :mod:`modelreg.serialize` (the same bytes
``--json`` prints), and every failure is ``{"error": {"code", "message",
"hint"}}`` with the status :data:`modelreg.errors.HTTP_STATUS` gives its kind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import Kind, ModelregError
from ..serialize import dumps
from .context import context

T = TypeVar("T")

MAX_JSON_BODY = 1 << 20
"""A JSON request body larger than this (1 MiB) is refused before it is parsed."""


class BadRequest(ModelregError):
    """The request itself is malformed: its path, its query or its body."""

    kind = Kind.USAGE

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        allow: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        # a 405's ``Allow``: the methods the path takes
        self.headers = dict(headers or {}) | ({"Allow": allow} if allow else {})

    @property
    def http_status(self) -> int:
        return self.status


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """The first ``name`` header of an ASGI request (lower-case bytes, as ASGI
    gives names), decoded and stripped; None when it has none."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1").strip())
    return None


def json_response(document: Mapping[str, Any], status: int = 200) -> Response:
    """``document`` as ``--json`` prints it (with the final newline)."""
    return Response(dumps(document) + "\n", status_code=status, media_type="application/json")


def error_document(exc: ModelregError) -> dict[str, Any]:
    """The JSON an error becomes: its kind as the code, the library's own words,
    and the parameters that would fix it (``force``, ``allow_unresolved``...)."""
    error: dict[str, Any] = {"code": exc.kind.value, "message": exc.message, "hint": exc.hint}
    if exc.remedies:
        error["params"] = [remedy.param for remedy in exc.remedies]
    return {"error": error}


def error_response(
    exc: ModelregError, status: int | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    response = json_response(error_document(exc), status or exc.http_status)
    if isinstance(exc, BadRequest):
        response.headers.update(exc.headers)
    response.headers.update(headers or {})
    return response


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 that says what was wrong."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise BadRequest(f"the request body is over {MAX_JSON_BODY} bytes", status=413)
    # A client that promises a body and never sends it would hold a worker for ever.
    idle = context(request).settings.upload_idle_timeout
    raw = bytearray()
    try:
        async with asyncio.timeout(idle):
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > MAX_JSON_BODY:
                    raise BadRequest(f"the request body is over {MAX_JSON_BODY} bytes", status=413)
    except TimeoutError:
        raise BadRequest(f"the request body did not arrive within {idle:g} s", status=408) from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not JSON: {exc}") from None
    except RecursionError:  # '[[[[...' a million deep: no document of ours nests so
        raise BadRequest("the request body's JSON is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def only(body: Mapping[str, Any], *names: str) -> None:
    """Refuse a key the endpoint does not take: a misspelt or guessed field
    (``"reason"`` for ``"message"``) would otherwise be dropped without a word."""
    unknown = [key for key in body if key not in names]
    if unknown:
        raise BadRequest(f"unknown key {unknown[0]!r} (allowed: {', '.join(names)})")


def field(body: Mapping[str, Any], name: str, kind: type[T], default: T | None = None) -> T | None:
    """``body[name]`` if it has the right JSON type (absent or null: ``default``)."""
    value = body.get(name)
    if value is None:
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise BadRequest(f"{name!r} must be a JSON {_json_type(kind)}")
    return value


def required(body: Mapping[str, Any], name: str, kind: type[T]) -> T:
    value = field(body, name, kind)
    if value is None:
        raise BadRequest(f"{name!r} is required")
    return value


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter: ``?name``, ``?name=true|1|yes``; absent is false."""
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() in ("", "1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise BadRequest(f"query parameter {name!r} must be true or false")


def _json_type(kind: type) -> str:
    return {
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        dict: "object",
        list: "array",
    }.get(kind, kind.__name__)


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a library call (git and DVC block) on a worker thread."""
    return await run_in_threadpool(function, *args, **kwargs)
