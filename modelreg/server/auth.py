"""Who is asking, and whether they may: the server's side of :mod:`modelreg.tokens`.

While the registry has no token the server serves everyone (and :mod:`.run`
listens only on loopback then, unless told it is meant to be open). Once one
exists, every request needs ``Authorization: Bearer <secret>`` — or HTTP basic
auth with the secret as the password, which is what MLflow's clients send
(``MLFLOW_TRACKING_USERNAME``/``PASSWORD``; the user name is not checked: the
secret alone names the token) — else 401; a read token asking to write (any
method but GET, HEAD and OPTIONS) gets 403.

Open without a token, on purpose:

- ``/healthz`` and ``/readyz``: load balancers and orchestrators probe them
  without credentials;
- ``/openapi.json`` and ``/docs``: the schema and its page are the same for
  every modelreg server and hold nothing of the registry's; clients and the
  schema fuzzer read them before they have a token, and they say how to send one.
- the web page's sign-in form (``/signin``) and ``/static/``; the web page's
  other paths also take the session cookie that form sets, and send a person
  without a token to it instead of answering 401 (:mod:`.web.session`).

``/metrics`` is not open: its counters name models and show who uses the
registry how much. Prometheus sends a read token (``authorization:
{credentials_file: ...}`` in its scrape config).

The store is read again whenever its file changes (a ``stat`` per request), so
``token add`` and ``token remove`` take effect on the next request, no restart.
A store that cannot be read refuses every request (503) rather than opening up.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from ..errors import ModelregError
from ..gitrepo import Identity
from ..tokens import (
    Forbidden,
    Token,
    TokenSet,
    TokenStore,
    TokenStoreError,
    Unauthenticated,
    authorize,
)
from .http import error_response, header, json_response
from .run import is_loopback
from .web import session as web_session

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs"})


def is_open(path: str) -> bool:
    """Served without a token: the paths above, and the web page's sign-in form
    with its stylesheet and script (:mod:`.web.session`)."""
    return path in OPEN_PATHS or web_session.is_open(path)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MLFLOW_PATHS = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
# Reads that MLflow's client sends as POST (its proto lists POST first): a read
# token may make them.
READ_POSTS = frozenset(
    f"{prefix}/mlflow/registered-models/get-latest-versions"
    for prefix in ("/api/2.0", "/ajax-api/2.0")
)
TOKEN_KEY = "modelreg.token"  # the request scope's entry for the caller's token
_CALLER: ContextVar[Token | None] = ContextVar("modelreg_caller", default=None)
CHALLENGE = 'Bearer realm="modelreg", Basic realm="modelreg", charset="UTF-8"'


class TokenWatch:
    """The store's tokens, read again only when its file has changed."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self._guard = threading.Lock()
        self._seen: tuple[tuple[int, int, int, int] | None, TokenSet] | None = None

    def current(self) -> TokenSet:
        stamp = self.store.stamp()
        with self._guard:
            if self._seen is not None and self._seen[0] == stamp:
                return self._seen[1]
        tokens = self.store.load()
        if self.store.stamp() == stamp:  # not rewritten while it was read
            with self._guard:
                self._seen = (stamp, tokens)
        return tokens


def credentials(header: str | None) -> str | None:
    """The secret in an ``Authorization`` header (Bearer, or Basic's password)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _user, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None


class Guard:
    """ASGI middleware: every request but the open ones shows a token that may do it.

    ``open_when_empty``: whether a store with no token means "serve everyone"
    (the server listens on loopback, or was started as a public one). A server
    listening beyond loopback because tokens existed does not open up when the
    last one is removed: it refuses every request until one is added again."""

    def __init__(
        self, app: App, watch: TokenWatch, open_when_empty: bool, local_only: bool = False
    ) -> None:
        self.app = app
        self.watch = watch
        self.open_when_empty = open_when_empty
        self.local_only = local_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open(scope["path"]):
            await self.app(scope, receive, send)  # lifespan events, the open paths
            return
        try:
            caller = self.check(scope)
        except ModelregError as exc:
            if scope["type"] == "websocket":  # none is served today; refused all the same
                await send({"type": "websocket.close", "code": 1008})
                return
            if web_session.is_page(scope["path"]) and exc.http_status == 401:
                # a person at the web page: to the sign-in form, then back here
                await web_session.to_sign_in(scope)(scope, receive, send)
                return
            response = error_response(exc)
            if scope["path"].startswith(MLFLOW_PATHS):  # in MLflow's words, for its client
                from ..mlflow_map import error_document

                document, _status = error_document(exc)
                response = json_response(document, exc.http_status)
            if exc.http_status == 401:
                response.headers["WWW-Authenticate"] = CHALLENGE
            await response(scope, receive, send)
            return
        scope[TOKEN_KEY] = caller
        # The request's task (and the worker threads it hands library calls to:
        # they copy its context) sees its own caller; no other request does.
        reset = _CALLER.set(caller)
        try:
            await self.app(scope, receive, send)
        finally:
            _CALLER.reset(reset)

    def check(self, scope: Scope) -> Token | None:
        """The caller's token (None while the server is open to everyone)."""
        tokens = self.watch.current()
        if tokens.empty:
            if self.open_when_empty:
                if self.local_only:
                    refuse_foreign_host(scope)
                refuse_cross_site(scope)
                return None
            raise TokenStoreError(
                "this server listens beyond loopback and its last token was removed",
                hint="add a token to the registry the server runs in",
            )
        # the web page's own paths also take the session cookie its sign-in form set
        secret = credentials(header(scope, b"authorization")) or web_session.cookie_secret(scope)
        if secret is None:
            raise Unauthenticated(
                "this server needs a token",
                hint="send 'Authorization: Bearer SECRET' (or basic auth, the secret as password)",
            )
        token = tokens.verify(secret)
        # The web page's forms post to its own paths, which check the role
        # themselves and answer a read token with a page, not a JSON 403; MLflow
        # clients read with a few POSTs (READ_POSTS).
        method = scope.get("method", "GET")
        writes = method not in READ_METHODS and scope["path"] not in READ_POSTS
        authorize(token, writes=writes and not web_session.is_page(scope["path"]))
        return token


def refuse_foreign_host(scope: Scope) -> None:
    """Refuse a request to an open loopback server that names another host.

    DNS rebinding: a page on ``evil.example`` points that name at 127.0.0.1 and
    its scripts then read (and, ``Origin`` matching ``Host``, write) the registry
    as the same site. Nothing but the ``Host`` header tells the two apart, and a
    server that only this machine can reach is only ever asked for by a local
    name (``localhost``, a loopback address). A server with tokens, or one
    started ``--public`` (behind a proxy that names it), does not check."""
    host = header(scope, b"host")
    if host is None:  # HTTP/1.0 without Host: nothing a browser sends
        return
    host = host.lower()
    bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if bare.endswith(".localhost") or is_loopback(bare.removeprefix("[").removesuffix("]")):
        return
    raise Forbidden(
        f"this server answers only to a local name, not '{host[:100]}'",
        hint="open it as http://127.0.0.1:PORT or http://localhost:PORT; "
        "to serve under another name, add a token (modelreg token add)",
    )


def refuse_cross_site(scope: Scope) -> None:
    """Refuse a write a browser sends from another site's page to an open server.

    With no token, nothing else stops it: a form (``text/plain``, urlencoded) or a
    ``fetch`` without a body needs no CORS preflight, so any page a developer
    opens could promote or deprecate on their ``127.0.0.1:8080``. Browsers name
    the page's origin on every POST; curl, requests and MLflow's client send
    none. Only the open server checks: with tokens, an API write needs a header
    a page cannot add, and the web page's forms carry a CSRF token (and a proxy
    that rewrites ``Host`` would make the comparison wrong there)."""
    if scope.get("method", "GET") in READ_METHODS:
        return
    origin, host = header(scope, b"origin"), header(scope, b"host")
    if origin is None:
        return
    origin, host = origin.lower(), host.lower() if host is not None else None
    if origin == "null" or host is None or urlsplit(origin).netloc != host:
        raise Forbidden(
            f"a write from another site's page ({origin}) is refused",
            hint="write from a script or the CLI, or add a token (modelreg token add)",
        )


def caller() -> Identity | None:
    """Who the request being served in this context writes as (its token's name
    and email); None outside a request or while the server is open.
    :meth:`.context.ServerContext.registry` asks this, so every write a request
    makes, through any endpoint, is tagged by its token without each one passing it."""
    found = _CALLER.get()
    return found.identity() if found is not None else None


def token(request: Request) -> Token | None:
    """The token the request was let in with (None: the server is open)."""
    found: Token | None = request.scope.get(TOKEN_KEY)
    return found


def identity(request: Request) -> Identity | None:
    """Who the events this request writes name as their tagger: its token's name
    and email; None (git's configured user) while the server is open."""
    found = token(request)
    return found.identity() if found is not None else None
