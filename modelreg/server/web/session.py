"""Signing in to the web page: a token pasted once, kept in a cookie.

A browser cannot send ``Authorization: Bearer``, so the sign-in form takes the
token's secret and the server sets it as the ``modelreg_session`` cookie:
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
sends it), ``Secure`` behind HTTPS, for the browser session only. The guard
(:mod:`..auth`) accepts the cookie for the web page's own paths and for reads
(a file's download link), never for a write to the API, which needs its
header. Every form that writes carries a CSRF token derived from the secret
with a key this process drew at start, checked before anything is written.

While no token exists the server serves everyone (on loopback) and the pages
are read-only: a write from the page needs a signed-in write token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from ..http import header

COOKIE = "modelreg_session"
SIGN_IN = "/signin"
# Open without a token: the sign-in page itself, and the stylesheet and script
# it uses (the same for every modelreg server; nothing of the registry's).
OPEN_PREFIXES = ("/static/",)
OPEN_PATHS = frozenset({SIGN_IN})
_PAGES = ("/m/", "/act/")
_KEY = secrets.token_bytes(32)  # CSRF tokens die with the process, as sessions may
MAX_FORM = 64 * 1024


def is_page(path: str) -> bool:
    """The web page's own paths (where the cookie counts and a refusal is a
    redirect to the sign-in page rather than JSON)."""
    return path in ("/", "/diff", "/signout", SIGN_IN) or path.startswith(_PAGES)


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def cookie_secret(scope: MutableMapping[str, Any]) -> str | None:
    """The secret in the session cookie: for the pages, and for reading anything
    (a file's download link, the JSON the footer links to); a write to the API
    needs its header."""
    if not is_page(scope["path"]) and scope.get("method", "GET") not in ("GET", "HEAD"):
        return None
    return _cookie(scope, COOKIE)


def _cookie(scope: MutableMapping[str, Any], wanted: str) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, found = part.strip().partition("=")
                if key == wanted and found:
                    return str(found)
    return None


# The sign-in form's own check (login CSRF): another site's page could post the
# form with its owner's secret and sign the visitor's browser in as them (their
# writes from the page then named as that token). The form carries a random value
# that the page also set as a cookie only this site's pages send (SameSite=Strict);
# a post whose field and cookie differ is refused, and so is one the browser says
# came from another origin (Sec-Fetch-Site). No Origin or Host check: those break
# behind a proxy that rewrites them.
FORM_COOKIE = "modelreg_signin"


def form_value() -> str:
    return secrets.token_urlsafe(16)


def form_cookie_header(value: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{FORM_COOKIE}={value}; Path={SIGN_IN}; HttpOnly; SameSite=Strict{flags}"


def form_ok(scope: MutableMapping[str, Any], sent: str | None) -> bool:
    """The sign-in form was posted by a page of this site (its field is its cookie),
    and, where the browser says where the post came from (``Sec-Fetch-Site``),
    by this origin: a page on another port of this host or a sibling subdomain is
    "same-site" (cookies ignore ports) and could set the cookie itself."""
    fetched_from = header(scope, b"sec-fetch-site")
    if fetched_from is not None and fetched_from.lower() not in ("same-origin", "none"):
        return False
    cookie = _cookie(scope, FORM_COOKIE)
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie or "", sent or "")


def to_sign_in(scope: MutableMapping[str, Any]) -> Any:
    """A redirect to the sign-in form that comes back to the page asked for (and
    drops a cookie whose token is gone)."""
    from urllib.parse import quote

    from starlette.responses import RedirectResponse

    path = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    back = path + ("?" + query if query else "")
    response = RedirectResponse(SIGN_IN + "?next=" + quote(back, safe=""), status_code=303)
    if cookie_secret(scope) is not None:
        response.headers["Set-Cookie"] = clear_cookie_header(scope.get("scheme") == "https")
    return response


def csrf_token(token_sha256: str) -> str:
    return hmac.new(_KEY, token_sha256.encode(), hashlib.sha256).hexdigest()


def csrf_ok(token_sha256: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(token_sha256), sent or "")


def cookie_header(secret: str, secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict{flags}"


def clear_cookie_header(secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{flags}"


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body: the first value of each field."""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass(frozen=True)
class Session:
    """Who the page is shown to: what the header and the write buttons need."""

    tokens: bool  # the server has tokens (so signing in means something)
    user: str | None = None
    role: str | None = None
    csrf: str | None = None

    @property
    def may_write(self) -> bool:
        return self.role == "write"

    def key(self) -> tuple[object, ...]:
        """What a cached page depends on."""
        return (self.tokens, self.user, self.role, self.csrf)


def session_of(token: Any, tokens_exist: bool) -> Session:
    """The page's session from the guard's token (None: the server is open)."""
    if token is None:
        return Session(tokens=tokens_exist)
    return Session(True, token.name, token.role, csrf_token(token.sha256))


def form_fields(found: Mapping[str, str], *names: str) -> list[str]:
    return [found.get(name, "").strip() for name in names]
