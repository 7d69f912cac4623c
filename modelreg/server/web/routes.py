"""The web page's routes on ``modelreg serve``: each is one :mod:`.views` call
rendered by :mod:`.pages`.

``/`` (the models; ``?q=&label=&stage=&deprecated=1`` filter them, so a filtered
list is a link too), ``/m/NAME`` (a model), ``/m/NAME@vV`` (a version; any
reference the CLI takes works: ``@latest``, ``#production`` as ``%23``),
``/diff?a=REF&b=REF``, and ``/static/...``. A failure is an HTML page with the
status the API would answer, and the library's own words.

Pages are kept in the server's answer cache while the refs are unchanged, as the
API's answers are, and sent gzipped to browsers that take it.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ...errors import ModelregError
from ...registry import Registry
from ..context import context
from ..http import BadRequest, blocking
from ..refs import parse
from . import pages, views
from .links import Links

Build = Callable[[Registry, Links], str]


async def _page(request: Request, key: tuple[Any, ...], build: Build) -> Response:
    """A page from the cache or built on a worker thread; errors as HTML pages."""
    ctx = context(request)
    links = Links(str(request.base_url))
    zipped = "gzip" in request.headers.get("accept-encoding", "")

    def compute() -> bytes:
        return build(ctx.registry(), links).encode()

    def answer() -> bytes:
        html = ctx.answers.get(("web", links.base_url, *key), compute)
        if not zipped:
            return html
        return ctx.answers.get(("web-gzip", links.base_url, *key), lambda: gzip.compress(html, 6))

    try:
        body = await blocking(answer)
    except ModelregError as exc:
        return error_page(links, exc)
    headers = {"Vary": "Accept-Encoding", "Cache-Control": "no-cache"}
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def error_page(links: Links, exc: ModelregError) -> Response:
    titles = {404: "Not found", 400: "Bad request", 409: "Refused", 422: "Not valid"}
    status = exc.http_status
    html = pages.render(
        "error.html",
        links,
        title=titles.get(status, "Something went wrong"),
        message=exc.message,
        hint=exc.hint,
    )
    return Response(html, status_code=status, media_type="text/html; charset=utf-8")


async def home(request: Request) -> Response:
    filters = views.Filters.from_query(request.query_params)
    return await _page(
        request,
        ("home", filters),
        lambda r, links: pages.render("home.html", links, **views.home(r, filters)),
    )


async def model_or_version(request: Request) -> Response:
    rest = request.path_params["rest"]
    try:
        target = parse(rest)
        if target.action is not None:
            raise BadRequest(f"no page at /m/{rest}", status=404)
    except ModelregError as exc:
        return error_page(Links(str(request.base_url)), exc)
    ref = target.ref
    if "@" in ref or "#" in ref:
        return await _page(
            request,
            ("version", ref),
            lambda r, links: pages.render("version.html", links, **views.version(r, ref)),
        )
    return await _page(
        request,
        ("model", ref),
        lambda r, links: pages.render("model.html", links, **views.model(r, ref)),
    )


async def diff(request: Request) -> Response:
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    if not a or not b:
        error = BadRequest(
            "a diff needs two versions", "open a model's page and pick two versions to compare"
        )
        return error_page(Links(str(request.base_url)), error)
    return await _page(
        request,
        ("diff", a, b),
        lambda r, links: pages.render("diff.html", links, **views.diff(r, a, b)),
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/m/{rest:path}", model_or_version, methods=["GET"]),
        Route("/diff", diff, methods=["GET"]),
        Mount("/static", StaticFiles(directory=pages.STATIC), name="static"),
    ]
