"""Every request measured once: the metrics, and one access-log line on stderr.

:class:`Observed` wraps the whole application (outside Starlette's own error
middleware, so a request that ends in a bug's 500 is counted and logged too)
and, when the answer's last byte is sent, feeds :class:`.metrics.Metrics` and
writes one line to the ``modelreg.access`` logger: time, method, path, route
template, status, duration, bytes sent, client, and the token's name when the
request carried one (:data:`TOKEN_KEY`). The
``Authorization`` header is never read here, let alone logged.

:func:`configure_logging` replaces uvicorn's access log and formats every line
the server writes, its own and uvicorn's, as JSON (one object a line, for a log
collector) or as plain text (for a person at a terminal).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import UNMATCHED, Metrics
from .refs import TEMPLATE, parse

TOKEN_KEY = "modelreg.token"
"""Where in the ASGI scope the token a request was let in with is left (by the
token check, as the token itself, or by :func:`identify`, as its name)."""

UPLOAD_PATH = "/v2/models/upload"
CLIENT_CLOSED = 499
"""The status logged when the client went away before any answer (nginx's word for it)."""

access_log = logging.getLogger("modelreg.access")


def identify(request: Request, token_name: str) -> None:
    """The request was made with the token called ``token_name`` (for the access log)."""
    request.scope[TOKEN_KEY] = token_name


def token_name(scope: Scope) -> str | None:
    """The name of the token the request came with; never its secret or its hash."""
    found = scope.get(TOKEN_KEY)
    if found is None or isinstance(found, str):
        return found
    name = getattr(found, "name", None)
    return name if isinstance(name, str) else None


def route_template(scope: Scope, routes: Sequence[BaseRoute] = ()) -> str:
    """The route a request took, as the OpenAPI schema names it; never the raw path.

    A request answered before routing (a missing token's 401) is matched against
    ``routes`` here, so it is counted under the route it asked for."""
    route, params = scope.get("route"), scope.get("path_params", {})
    if route is None:
        for candidate in routes:
            match, child = candidate.matches(scope)
            if match != Match.NONE:
                route, params = candidate, child.get("path_params", {})
                break
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if path != "/v2/models/{rest:path}":
        return path
    try:
        return parse(params.get("rest", "")).template
    except Exception:
        return TEMPLATE  # a malformed reference: still this route


_SECRET_NAMES = ("token", "secret", "password", "passwd", "auth", "key", "signature", "sig")
REDACTED = "REDACTED"


def loggable_query(raw: bytes) -> str | None:
    """The query string as the access log keeps it: the value of a parameter that
    could carry a secret (a name like ``token``, ``access_token``, ``api_key``, or a
    value that is one of this server's token secrets) replaced by ``REDACTED``. A
    client that put its secret in the URL is refused (401: secrets go in a header),
    but the log must not keep it either."""
    if not raw:
        return None
    from urllib.parse import parse_qsl, urlencode

    text = raw.decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(_secret(name, value) for name, value in pairs):
        return text
    return urlencode(
        [(name, REDACTED if _secret(name, value) else value) for name, value in pairs],
        safe="/:",
    )


def _secret(name: str, value: str) -> bool:
    from ..tokens import SECRET_PREFIX

    lowered = name.lower()
    return SECRET_PREFIX in value or any(word in lowered for word in _SECRET_NAMES)


class Observed:
    """The ASGI application ``app``, each HTTP request measured and logged."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        upload = scope["method"] == "POST" and scope["path"] == UPLOAD_PATH
        status = CLIENT_CLOSED
        sent = 0

        async def measured(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        self.metrics.started(upload=upload)
        try:
            await self.app(scope, receive, measured)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, getattr(self.app, "routes", ()))
            self.metrics.finished(route, scope["method"], status, seconds, upload=upload)
            client = scope.get("client")
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "access": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "query": loggable_query(scope.get("query_string", b"")),
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "bytes": sent,
                        "client": client[0] if client else None,
                        "token": token_name(scope),
                    }
                },
            )


# --- formatting ------------------------------------------------------------------


def _time(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _logger(record: logging.LogRecord) -> str:
    """uvicorn logs its life (started, shutting down) as ``uvicorn.error``: say ``uvicorn``."""
    return "uvicorn" if record.name.startswith("uvicorn") else record.name


class JsonLines(logging.Formatter):
    """One JSON object a line: an access line's fields, or any other record's message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": _time(record), "level": record.levelname.lower()}
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            line |= {"logger": "access", **access}
        else:
            line |= {"logger": _logger(record), "message": record.getMessage()}
            if record.exc_info:
                line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=True, default=str)


class Text(logging.Formatter):
    """Lines for a person: ``TIME 127.0.0.1 "GET /v2/models" 200 1234B 3.1ms``."""

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            query = f"?{access['query']}" if access["query"] else ""
            who = f" token={access['token']}" if access["token"] else ""
            target = json.dumps(f"{access['method']} {access['path']}{query}")
            text = (
                f"{access['client']} {target} {access['status']} {access['bytes']}B "
                f"{access['duration_ms']}ms{who}"
            )
        else:
            text = f"{_logger(record)} {record.levelname.lower()}: {record.getMessage()}"
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
        return f"{_time(record)} {text}"


LOG_FORMATS = {"json": JsonLines, "text": Text}


def configure_logging(log_format: str) -> None:
    """Every line the server writes goes to stderr in ``log_format`` (json or text)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LOG_FORMATS[log_format]())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries' chatter stays out; their warnings do not
    for name in ("modelreg", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").disabled = True  # ours replaces it
