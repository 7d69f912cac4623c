"""``/openapi.json`` describes every route the server has, and nothing else, and
the real server's answers on the showcase registry validate against it; ``/docs``
is built from it with nothing fetched from elsewhere."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from modelreg.server.app import create_app
from modelreg.server.openapi import OPERATIONS, SCHEMAS, app_operations
from modelreg.server.settings import Settings

from ..conftest import Cli, Showcase
from .conftest import Server

GOLDEN_DIR = Path(__file__).parent.parent / "golden" / "read"


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


def served_operations(schema: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, methods in schema["paths"].items() for method in methods
    }


def test_every_route_is_described_and_every_description_is_a_route(
    server: Server, showcase: Showcase
) -> None:
    routes = app_operations(create_app(Settings(showcase.root)).routes)
    assert routes - set(OPERATIONS) == set(), "routes the schema does not describe"
    assert set(OPERATIONS) - routes == set(), "descriptions of no route"
    schema = server.get("/openapi.json").json()
    assert served_operations(schema) == routes
    Draft202012Validator.check_schema({"$defs": schema["components"]["schemas"]})
    assert schema["openapi"].startswith("3.1")


WEIGHTS = b"weights, uploaded through the API\n"

# Each call: (method, the operation's template, the URL's path, what requests sends).
CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("GET", "/healthz", "/healthz", {}),
    ("GET", "/readyz", "/readyz", {}),
    ("GET", "/metrics", "/metrics", {}),
    ("GET", "/openapi.json", "/openapi.json", {}),
    ("GET", "/docs", "/docs", {}),
    ("GET", "/v2/models", "/v2/models", {}),
    ("GET", "/v2/models", "/v2/models?all=true", {}),
    ("GET", "/v2/models", "/v2/models?all=maybe", {}),
    ("GET", "/v2/models/{model_id}", "/v2/models/embedder@v2.0.0", {}),
    ("GET", "/v2/models/{model_id}", "/v2/models/team/fraud%23production", {}),
    ("GET", "/v2/models/{model_id}", "/v2/models/legacy", {}),
    ("GET", "/v2/models/{model_id}", "/v2/models/nobody", {}),
    ("GET", "/v2/models/{model_id}", "/v2/models/embedder@vNOPE", {}),
    ("GET", "/v2/models/{model_id}/history", "/v2/models/team/fraud/history", {}),
    ("GET", "/v2/models/{model_id}/history", "/v2/models/embedder/history?reverse=1", {}),
    ("GET", "/v2/models/{model_id}/resolve", "/v2/models/embedder@latest/resolve", {}),
    ("GET", "/v2/models/{model_id}/resolve", "/v2/models/ranker%23production/resolve", {}),
    ("GET", "/v2/models/{model_id}/deps", "/v2/models/ranker@v1.0.0/deps", {}),
    ("GET", "/v2/models/{model_id}/deps", "/v2/models/embedder/deps?reverse=true", {}),
    ("GET", "/v2/models/{model_id}/deps", "/v2/models/team/fraud/deps?stage=production", {}),
    ("GET", "/v2/history", "/v2/history", {}),
    ("GET", "/v2/diff", "/v2/diff?a=team/fraud@v0.2.0&b=team/fraud@v0.3.0", {}),
    ("GET", "/v2/diff", "/v2/diff?a=embedder@v1.0.0", {}),
    (
        "POST",
        "/v2/models/{model_id}/promote",
        "/v2/models/embedder@v1.0.0/promote",
        {"json": {"stage": "staging", "force": True}},
    ),
    (
        "POST",
        "/v2/models/{model_id}/promote",
        "/v2/models/embedder@v1.0.0/promote",
        {"json": {"stage": 3}},
    ),
    (
        "POST",
        "/v2/models/{model_id}/rollback",
        "/v2/models/embedder/rollback",
        {"json": {"stage": "staging"}},
    ),
    (
        "POST",
        "/v2/models/{model_id}/deprecate",
        "/v2/models/ranker/deprecate",
        {"json": {"message": "replaced"}},
    ),
    ("POST", "/v2/models/{model_id}/deprecate", "/v2/models/nobody/deprecate", {}),
    # the founding document's upload and register, then the version's files
    ("POST", "/v2/models/upload", "/v2/models/upload?filename=weights.bin", {"data": WEIGHTS}),
    (
        "POST",
        "/v2/models/register",
        "/v2/models/register",
        {
            "json": {
                "metadata": {"name": "fresh", "version": "1.0.0", "license": "MIT"},
                "file_digest": "sha256:" + hashlib.sha256(WEIGHTS).hexdigest(),
            }
        },
    ),
    (
        "POST",
        "/v2/models/register",
        "/v2/models/register",
        {"json": {"metadata": {"name": "fresh", "version": "1.0.1"}, "file_digest": "sha256:0"}},
    ),
    ("GET", "/v2/models/{model_id}/files", "/v2/models/embedder@v2.0.0/files", {}),
    ("GET", "/v2/models/{model_id}/files/{path}", "/v2/models/fresh/files/weights.bin", {}),
    (
        "GET",
        "/v2/models/{model_id}/files/{path}",
        "/v2/models/fresh/files/weights.bin",
        {"headers": {"Range": "bytes=0-3"}},
    ),
    ("GET", "/v2/models/{model_id}/files/{path}", "/v2/models/fresh/files/nothing.bin", {}),
    ("GET", "/v2/models/{model_id}/archive", "/v2/models/fresh@v1.0.0/archive", {}),
]


def answer_schema(schema: dict[str, Any], method: str, template: str, status: int) -> Any:
    """The answer's description for ``status``, its ``$ref`` followed."""
    responses = schema["paths"][template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {template} answered an undocumented {status}"
    found = responses[str(status)]
    if "$ref" in found:
        found = schema["components"]["responses"][found["$ref"].rsplit("/", 1)[1]]
    return found


def test_real_answers_validate_against_the_schema(server: Server) -> None:
    schema = server.get("/openapi.json").json()
    served = served_operations(schema)
    called = set()
    for method, template, path, kwargs in CALLS:
        answer = requests.request(method, server.url + path, timeout=60, **kwargs)
        called.add((method, template))
        described = answer_schema(schema, method, template, answer.status_code)
        if "content" not in described:
            continue  # 304: no body
        media = answer.headers["content-type"].split(";")[0]
        content = described["content"]
        assert media in content or "*/*" in content, (path, media)
        body = content.get(media, content.get("*/*"))["schema"]
        if media == "application/json":
            validator = Draft202012Validator({**body, "components": schema["components"]})
            errors = [e.message for e in validator.iter_errors(answer.json())]
            assert errors == [], (path, answer.status_code, errors[:3])
    assert served <= called, "operations never tried here"


def test_the_docs_page_is_built_from_the_schema_and_fetches_nothing_elsewhere(
    server: Server,
) -> None:
    page = server.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'fetch("/openapi.json")' in page.text
    # every src/href/url the page names is on this server
    for url in re.findall(r"""(?:src|href)=["']([^"']+)|url\(([^)]+)\)""", page.text):
        assert any(u.startswith(("/", "data:")) for u in url if u), url
    assert "http://" not in page.text and "https://" not in page.text


GOLDEN = {
    "list": "Models",
    "show": "Version",
    "history": "History",
    "resolve": "Resolved",
    "deps-reverse": "Dependents",
    "deps": "DependencyTree",
    "diff": "Diff",
}
"""The golden ``--json`` documents (tests/golden/read/) the server answers with."""


@pytest.mark.parametrize(
    "golden",
    sorted(p for p in GOLDEN_DIR.glob("*.json") if p.name.split("-")[0] in GOLDEN),
    ids=lambda p: p.stem,
)
def test_every_golden_document_the_server_answers_with_validates(golden: Path) -> None:
    stem = golden.stem
    kind = "deps-reverse" if stem.startswith("deps-reverse") else stem.split("-")[0]
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{GOLDEN[kind]}", "components": {"schemas": SCHEMAS}}
    )
    assert [e.message for e in validator.iter_errors(json.loads(golden.read_text()))] == []


def test_an_undocumented_method_is_a_405_whose_allow_names_the_documented_ones(
    server: Server,
) -> None:
    schema = server.get("/openapi.json").json()
    for template, operations in schema["paths"].items():
        path = example_path(template, next(iter(operations.values())))
        answer = requests.request("TRACE", server.url + path, timeout=60)
        assert answer.status_code == 405, (path, answer.text)
        assert answer.json()["error"]["code"] == "usage"
        allow = {method.strip() for method in answer.headers["allow"].split(",")}
        documented = {method.upper() for method in operations}
        assert allow - {"HEAD"} == documented, path
        if template in ("/v2/models/upload", "/v2/models/register"):
            continue  # a GET there reads the model called "upload" or "register"
        other = "POST" if "GET" in documented else "GET"
        answer = requests.request(other, server.url + path, timeout=60)
        assert answer.status_code == 405, (path, other, answer.text)
        assert set(answer.headers["allow"].replace(" ", "").split(",")) - {"HEAD"} == documented


def test_with_tokens_every_operation_documents_the_401_it_answers_without_one(
    showcase: Showcase, serve: Callable[..., Server], cli: Cli
) -> None:
    cli.ok("-C", showcase.root, "token", "add", "ci", "--role", "read")
    server = serve(showcase.root)
    schema = server.get("/openapi.json").json()  # open: it holds nothing of the registry's
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            answer = requests.request(
                method, server.url + example_path(template, operation), timeout=60
            )
            if answer.status_code != 401:
                assert answer.status_code == 200, (method, template, answer.text)
                continue  # an open path: health, readiness, the schema, its page
            described = answer_schema(schema, method, template, 401)
            body = described["content"]["application/json"]["schema"]
            validator = Draft202012Validator({**body, "components": schema["components"]})
            assert list(validator.iter_errors(answer.json())) == []


def example_path(template: str, operation: dict[str, Any]) -> str:
    """``template`` with each path parameter replaced by the schema's example."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            value = parameter["example"].replace("#", "%23")
            template = template.replace("{" + parameter["name"] + "}", value)
    return template


def test_the_faces_left_out_of_the_schema_are_the_web_pages_and_mlflow() -> None:
    """The schema leaves out exactly the web page's routes and MLflow's API: a new
    page route must be named in PAGE_PATHS, or the first test asks for its schema."""
    from starlette.routing import Route

    from modelreg.server.web.routes import PAGE_PATHS
    from modelreg.server.web.routes import routes as page_routes

    assert {r.path for r in page_routes() if isinstance(r, Route)} == PAGE_PATHS
