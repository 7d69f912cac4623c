"""The founding read endpoint and the lifecycle, against ``modelreg serve`` on the
showcase registry: each answer is the document ``--json`` prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from modelreg.registry import Registry

from ..conftest import Cli, Showcase, git
from .conftest import Server


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


def test_list_is_list_json(server: Server, showcase: Showcase, cli: Cli) -> None:
    answer = server.get("/v2/models")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.text == cli.ok("-C", showcase.root, "list", "--json").stdout


@pytest.mark.parametrize(
    "model_id",
    ["embedder@v2.0.0", "embedder@2.0.0", "embedder@latest", "embedder", "team/fraud#production"],
)
def test_every_version_reference_is_a_model_id(
    server: Server, showcase: Showcase, cli: Cli, model_id: str
) -> None:
    answer = server.get("/v2/models/" + quote(model_id, safe="/@"))
    assert answer.status_code == 200, answer.text
    assert answer.text == cli.ok("-C", showcase.root, "show", model_id, "--json").stdout


def test_history_resolve_deps_diff(server: Server, showcase: Showcase, cli: Cli) -> None:
    root = showcase.root
    same = [
        ("/v2/models/team/fraud/history", ["history", "team/fraud", "--json"]),
        ("/v2/history", ["history", "--json"]),
        (
            "/v2/models/team/fraud%23production/resolve",
            ["resolve", "team/fraud#production", "--json"],
        ),
        ("/v2/models/ranker@v1.0.0/deps", ["deps", "ranker@v1.0.0", "--json"]),
        ("/v2/models/embedder/deps?reverse=true", ["deps", "embedder", "--reverse", "--json"]),
        (
            "/v2/diff?a=embedder@v1.0.0&b=embedder@v2.0.0",
            ["diff", "embedder@v1.0.0", "embedder@v2.0.0", "--json"],
        ),
    ]
    for path, argv in same:
        answer = server.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.text == cli("-C", root, *argv).stdout, path


def test_promote_is_the_cli_s_tag(server: Server, showcase: Showcase) -> None:
    answer = server.post(
        "/v2/models/embedder@v1.0.0/promote",
        json={"stage": "staging", "message": "canary ok", "force": True},
    )
    assert answer.status_code == 200, answer.text
    event = answer.json()
    assert event["tag"].startswith("embedder#staging#") and event["changed"] is True
    assert Registry(showcase.root).resolve("embedder#staging").version == "1.0.0"
    message = git(showcase.root, "tag", "-l", "--format=%(contents)", event["tag"])
    assert "Modelreg-Reason: canary ok" in message
    # the cached list noticed the new tag at once
    listed = {m["name"]: m for m in server.get("/v2/models").json()["models"]}
    assert listed["embedder"]["stages"]["staging"] == "1.0.0"


def test_rollback_and_deprecate(server: Server, showcase: Showcase) -> None:
    answer = server.post(
        "/v2/models/embedder/rollback",
        json={"stage": "production", "to": "1.0.0", "force": True, "message": "drill"},
    )
    assert answer.status_code == 200, answer.text
    assert Registry(showcase.root).resolve("embedder#production").version == "1.0.0"
    answer = server.post("/v2/models/ranker/deprecate", json={"message": "replaced"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["event"] == "deprecate"


def test_a_cli_write_beside_the_server_is_seen(
    server: Server, showcase: Showcase, cli: Cli
) -> None:
    before = server.get("/v2/models/embedder%23staging").json()["version"]
    cli.ok(
        "-C", showcase.root, "promote", "embedder@v1.0.0", "--to", "staging", "--force", "-m", "x"
    )
    after = server.get("/v2/models/embedder%23staging").json()["version"]
    assert (before, after) == ("2.0.0", "1.0.0")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v2/models/nobody", None, 404, "not-found"),
        ("GET", "/v2/models/embedder@v9.9.9", None, 404, "not-found"),
        ("GET", "/v2/models/embedder@vNOPE", None, 422, "invalid"),
        ("GET", "/v2/models/Bad Name!", None, 422, "invalid"),
        # requests drops dot segments itself: the server sees /etc
        ("GET", "/v2/models/embedder/../../etc", None, 404, "usage"),
        ("GET", "/v2/models/embedder@v2.0.0/%2e%2e/x", None, 400, "usage"),
        ("GET", "/v2/models/embedder@v2.0.0/bogus", None, 400, "usage"),
        ("GET", "/v2/diff?a=embedder@v1.0.0", None, 400, "usage"),
        ("GET", "/nowhere", None, 404, "usage"),
        ("POST", "/v2/models/embedder@v1.0.0/promote", "[1", 400, "usage"),
        ("POST", "/v2/models/embedder@v1.0.0/promote", "[1]", 400, "usage"),
        ("POST", "/v2/models/embedder@v1.0.0/promote", "{}", 400, "usage"),
        ("POST", "/v2/models/embedder@v1.0.0/promote", '{"stage": 3}', 400, "usage"),
        ("POST", "/v2/models/embedder@v1.0.0/promote", '{"stage": "nope"}', 409, "policy"),
        ("POST", "/v2/models/nobody@v1.0.0/promote", '{"stage": "dev"}', 404, "not-found"),
        ("POST", "/v2/models/embedder@v1.0.0", "{}", 405, "usage"),
        ("GET", "/v2/models/embedder@v1.0.0/promote", None, 405, "usage"),
    ],
)
def test_bad_requests_are_4xx_json_and_change_nothing(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    method: str,
    path: str,
    body: str | None,
    status: int,
    code: str,
) -> None:
    import requests

    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = requests.request(method, server.url + path, data=body, timeout=60)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert "\n" not in json.dumps(error["message"])
