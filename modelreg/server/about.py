"""The server describing itself: ``/openapi.json``, ``/docs`` and ``/metrics``."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .context import context
from .http import json_response
from .openapi import document

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 schema of this application's routes."""
    return json_response(document(request.app.routes))


async def docs(request: Request) -> Response:
    """A page that reads /openapi.json and lets a person try each endpoint."""
    page = files(__package__).joinpath("docs.html").read_text(encoding="utf-8")
    return HTMLResponse(page)


async def metrics(request: Request) -> Response:
    return Response(context(request).metrics.render(), media_type=METRICS_TYPE)


def routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
