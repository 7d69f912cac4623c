"""The web page's routes on ``modelreg serve``: each is one :mod:`.views` call
rendered by :mod:`.pages`.

``/`` (the models, 100 rows a page; ``?q=&label=&stage=&ns=&deprecated=1`` filter
them, ``?page=N`` and ``?all=1`` page them, so any list is a link too),
``/m/NAME`` (a model), ``/m/NAME@vV`` (a version; any reference the CLI takes
works: ``@latest``, ``#production`` as ``%23``),
``/diff?a=REF&b=REF``, and ``/static/...``. A failure is an HTML page with the
status the API would answer, and the library's own words.

Writes (a signed-in write token only, :mod:`.session`): ``GET
/act/promote?ref=&stage=``, ``/act/rollback?name=&stage=`` and
``/act/deprecate?ref=`` show what would happen and what the gates say; the
form there posts to the same path, with its CSRF token, and the write goes
through the same write path as the API's
(:meth:`..context.ServerContext.write`).

Pages are kept in the server's answer cache while the refs are unchanged, as the
API's answers are (per signed-in token: the header names it), and sent gzipped
to browsers that take it.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ... import serialize
from ...errors import ModelregError
from ...registry import Registry
from .. import auth
from ..cache import fingerprint
from ..context import ServerContext, context
from ..http import BadRequest, blocking
from ..refs import parse
from . import pages, session, views
from .links import Links

Data = Callable[[Registry], dict[str, Any]]
log = logging.getLogger("modelreg.server")
POLL = 0.5  # seconds between looks at the refs' fingerprint
HTML = "text/html; charset=utf-8"


def _session(request: Request) -> session.Session:
    token = auth.token(request)
    return session.session_of(token, tokens_exist=token is not None)


async def _page(request: Request, key: tuple[Any, ...], template: str, data: Data) -> Response:
    """A page from the cache or built on a worker thread; errors as HTML pages."""
    ctx = context(request)
    links = Links(str(request.base_url))
    who = _session(request)
    zipped = "gzip" in request.headers.get("accept-encoding", "")
    page = key  # the document: the same for everyone
    key = (links.base_url, who.key(), *key)  # the HTML names the reader and the host

    def compute() -> bytes:
        found = ctx.pages.get(page, lambda: data(ctx.registry()))
        return pages.render(template, links, session=who, write=who.may_write, **found).encode()

    def answer() -> bytes:
        html = ctx.answers.get(("web", *key), compute)
        if not zipped:
            return html
        return ctx.answers.get(("web-gzip", *key), lambda: gzip.compress(html, 6))

    try:
        body = await blocking(answer)
    except ModelregError as exc:
        return error_page(request, exc)
    headers = {"Vary": "Accept-Encoding, Cookie", "Cache-Control": "no-cache"}
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=HTML, headers=headers)


HOME = ("home", views.Filters())


def keep_warm(ctx: ServerContext, stopping: threading.Event) -> None:
    """Read the home page's document again after every change to the refs (a few
    ``stat`` calls tell), until ``stopping``: the refs listed again into the state
    cache and the first page's rows read (a fifth of a second at 12,000 tags on a
    busy machine), which the first visitor after a change would otherwise wait
    for. Runs on one of the server's background threads."""
    seen = None
    while not stopping.wait(POLL):
        now = fingerprint(ctx.git_dir, ctx.found.root if ctx.found else ctx.root)
        if now == seen:
            continue
        try:
            ctx.pages.get(HOME, lambda: views.home(ctx.registry(), views.Filters()))
        except Exception:  # a registry being set up, git busy...: the next change retries
            log.exception("reading the home page in the background failed")
        seen = now


def error_page(request: Request, exc: ModelregError, status: int | None = None) -> Response:
    titles = {
        404: "Not found",
        400: "Bad request",
        403: "Not allowed",
        409: "Refused",
        422: "Not valid",
    }
    status = status or exc.http_status
    html = pages.render(
        "error.html",
        Links(str(request.base_url)),
        session=_session(request),
        title=titles.get(status, "Something went wrong"),
        message=exc.message,
        hint=exc.hint,
    )
    return Response(html, status_code=status, media_type=HTML)


async def home(request: Request) -> Response:
    filters = views.Filters.from_query(request.query_params)
    return await _page(request, ("home", filters), "home.html", lambda r: views.home(r, filters))


async def model_or_version(request: Request) -> Response:
    rest = request.path_params["rest"]
    try:
        target = parse(rest)
        if target.action is not None:
            raise BadRequest(f"no page at /m/{rest}", status=404)
    except ModelregError as exc:
        return error_page(request, exc)
    ref = target.ref
    if "@" in ref or "#" in ref:
        return await _page(
            request, ("version", ref), "version.html", lambda r: views.version(r, ref)
        )
    return await _page(request, ("model", ref), "model.html", lambda r: views.model(r, ref))


async def diff(request: Request) -> Response:
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    if not a or not b:
        error = BadRequest(
            "a diff needs two versions", "open a model's page and pick two versions to compare"
        )
        return error_page(request, error)
    return await _page(request, ("diff", a, b), "diff.html", lambda r: views.diff(r, a, b))


# --- signing in -----------------------------------------------------------------


async def sign_in(request: Request) -> Response:
    """The form that takes a token's secret and sets the session cookie."""
    ctx = context(request)
    links = Links(str(request.base_url))
    target = session.safe_next(request.query_params.get("next"))
    tokens_exist = not (await blocking(ctx.tokens.load)).empty
    problem = None
    status = 200
    if request.method == "POST":
        fields = session.parse_form(await _form_body(request))
        secret = fields.get("token", "").strip()
        target = session.safe_next(fields.get("next"))
        if not session.form_ok(request.scope, fields.get("form")):
            problem, status = "the form is stale or came from another page: sign in here", 403
        else:
            try:
                await blocking(ctx.tokens.verify, secret)
            except ModelregError as exc:
                problem, status = exc.message, 401
            else:
                done = RedirectResponse(target, status_code=303)
                done.headers["Set-Cookie"] = session.cookie_header(secret, _secure(request))
                return done
    form = session.form_value()
    html = pages.render(
        "signin.html",
        links,
        session=session.Session(tokens=tokens_exist),
        next=target,
        problem=problem,
        tokens_exist=tokens_exist,
        form=form,
    )
    answer = Response(html, status_code=status, media_type=HTML)
    answer.headers["Set-Cookie"] = session.form_cookie_header(form, _secure(request))
    return answer


async def sign_out(request: Request) -> Response:
    who = _session(request)
    fields = session.parse_form(await _form_body(request))
    token = auth.token(request)
    if token is not None and not session.csrf_ok(token.sha256, fields.get("csrf")):
        return error_page(request, BadRequest("the form is stale: reload the page"), 403)
    done = RedirectResponse("/signin" if who.tokens else "/", status_code=303)
    done.headers["Set-Cookie"] = session.clear_cookie_header(_secure(request))
    return done


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _form_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > session.MAX_FORM:
            raise BadRequest("the form is too large", status=413)
    return body


# --- writes: a confirmation, then the change --------------------------------------

ACTIONS = ("promote", "rollback", "deprecate")


async def act(request: Request) -> Response:
    """``GET``: what the change would do and what the gates say; ``POST``: do it."""
    action = request.path_params["action"]
    links = Links(str(request.base_url))
    who = _session(request)
    if action not in ACTIONS:
        return error_page(request, BadRequest(f"no action {action!r}", status=404))
    if not who.may_write:
        words = "sign in with a write token" if who.tokens else "add a write token"
        refusal = BadRequest(
            f"{action} from the web page needs a signed-in write token",
            hint=f"{words} (modelreg token add NAME --role write), or use the CLI",
        )
        return error_page(request, refusal, 403)
    fields: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        fields = session.parse_form(await _form_body(request))
        token = auth.token(request)
        assert token is not None  # may_write
        if not session.csrf_ok(token.sha256, fields.get("csrf")):
            return error_page(request, BadRequest("the form is stale: reload the page"), 403)
    ref, name, stage = (fields.get(k, "").strip() for k in ("ref", "name", "stage"))
    to = fields.get("to", "").strip().removeprefix("v") or None
    message = fields.get("message", "").strip() or None
    force = fields.get("force") in ("1", "on")
    ctx = context(request)

    def preview() -> dict[str, Any]:
        registry = ctx.registry()
        if action == "promote":
            if not ref:
                raise BadRequest("which version? ?ref=NAME@vVERSION")
            if not stage:
                info = registry.show(ref)
                return {"choose": True, "name": info.name, "version": info.version,
                        "stages": list(registry.config.stages)}  # fmt: skip
            return serialize.stage_preview(registry.promote_preview(ref, stage))
        if action == "rollback":
            if not name or not stage:
                raise BadRequest("which model and stage? ?name=NAME&stage=STAGE")
            return serialize.stage_preview(registry.rollback_preview(name, stage, to=to))
        if not ref:
            raise BadRequest("which model or version? ?ref=NAME or ?ref=NAME@vVERSION")
        info = registry.show(ref if "@" in ref else f"{ref}@latest")
        whole = "@" not in ref
        dependents = registry.dependents(info.name) if whole else []
        return {
            "name": info.name,
            "version": None if whole else info.version,
            "stages": list(info.stages),
            "dependents": [serialize.dependent(d) for d in dependents],
        }

    def render(status: int = 200, problem: ModelregError | None = None, **data: Any) -> Response:
        html = pages.render(
            "confirm.html", links, session=who, action=action, ref=ref, name_=name,
            stage=stage, to=to, message=message or "", force=force, problem=problem, **data,
        )  # fmt: skip
        return Response(html, status_code=status, media_type=HTML)

    try:
        shown = await blocking(preview)
    except ModelregError as exc:
        return error_page(request, exc)
    if request.method == "GET" or shown.get("choose"):
        return render(preview=shown)

    def operation(registry: Registry, push: bool) -> Any:
        if action == "promote":
            return registry.promote(ref, stage, message=message, push=push, force=force)
        if action == "rollback":
            return registry.rollback(name, stage, to=to, message=message, push=push, force=force)
        return registry.deprecate(ref, message=message, push=push)

    try:
        result = await blocking(ctx.write, operation, commits=False)
    except ModelregError as exc:
        return render(exc.http_status, problem=exc, preview=shown)
    html = pages.render("done.html", links, session=who, result=serialize.event_result(result))
    return Response(html, media_type=HTML)


PAGE_PATHS = frozenset({"/", "/m/{rest:path}", "/diff", "/signin", "/signout", "/act/{action}"})
"""The web page's routes (not part of the REST API's OpenAPI schema)."""


def routes() -> list[BaseRoute]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/m/{rest:path}", model_or_version, methods=["GET"]),
        Route("/diff", diff, methods=["GET"]),
        Route("/signin", sign_in, methods=["GET", "POST"]),
        Route("/signout", sign_out, methods=["POST"]),
        Route("/act/{action}", act, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=pages.STATIC), name="static"),
    ]
