"""Bad requests to the MLflow endpoints: MLflow's error document with a 4xx status
(the code MLflow's own server would give), never a 500, the repository unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from ..conftest import Showcase
from ..server.conftest import Server

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"
NOT_FOUND = (404, "RESOURCE_DOES_NOT_EXIST")
INVALID = (400, "INVALID_PARAMETER_VALUE")


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


Case = tuple[str, str, dict[str, str], bytes | None, tuple[int, str]]
CASES: list[Case] = [
    ("GET", f"{API}/registered-models/get", {}, None, INVALID),
    ("GET", f"{API}/registered-models/get", {"name": "nope"}, None, NOT_FOUND),
    ("GET", f"{API}/model-versions/get", {"name": "embedder", "version": "x"}, None, INVALID),
    ("GET", f"{API}/model-versions/get", {"name": "embedder", "version": "99"}, None, NOT_FOUND),
    ("GET", f"{API}/model-versions/get", {"name": "embedder"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"filter": "name ~ 'x'"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"filter": "owner = 'x'"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"filter": "name = 'x' OR"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"max_results": "0"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"max_results": "abc"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"max_results": "5000"}, None, INVALID),
    # Digits to str.isdigit, not to int(): each was a 500
    ("GET", f"{API}/registered-models/search", {"max_results": "²"}, None, INVALID),
    ("GET", f"{API}/model-versions/search", {"max_results": "①"}, None, INVALID),
    ("GET", f"{API}/model-versions/get", {"name": "embedder", "version": "²"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"page_token": "!!"}, None, INVALID),
    ("GET", f"{API}/registered-models/search", {"order_by": "owner"}, None, INVALID),
    ("GET", f"{API}/model-versions/search", {"filter": "version_number > 'a'"}, None, INVALID),
    ("GET", f"{API}/registered-models/alias", {"name": "ranker", "alias": "x"}, None, NOT_FOUND),
    ("POST", f"{API}/registered-models/alias", {}, b"{not json", INVALID),
    ("POST", f"{API}/registered-models/alias", {}, b'{"name": "ranker", "alias": "dev"}', INVALID),
    (
        "POST", f"{API}/registered-models/alias", {},
        b'{"name": "ranker", "alias": "dev", "version": "7"}', NOT_FOUND,
    ),
    (
        "POST", f"{API}/registered-models/alias", {},
        b'{"name": "ranker", "alias": "bad alias!", "version": "1"}', INVALID,
    ),
    (
        "DELETE", f"{API}/registered-models/alias", {},
        b'{"name": "ranker", "alias": "production"}', NOT_FOUND,
    ),
    (
        "POST", f"{API}/model-versions/transition-stage", {},
        b'{"name": "ranker", "version": "1"}', INVALID,
    ),
    ("GET", ART, {"path": "modelreg/embedder"}, None, NOT_FOUND),
    ("GET", ART, {"path": "modelreg/embedder/1/../../x"}, None, INVALID),
    ("GET", ART, {"path": "modelreg/embedder/1/nope"}, None, NOT_FOUND),
    ("GET", f"{ART}/modelreg/embedder/1/nope.bin", {}, None, NOT_FOUND),
    ("GET", f"{ART}/elsewhere/file", {}, None, NOT_FOUND),
    ("GET", f"{ART}/modelreg/embedder/1", {}, None, INVALID),
    ("PUT", f"{ART}/modelreg/embedder/1/x.bin", {}, b"bytes", INVALID),
    ("PUT", f"{ART}/uploads/x.bin", {}, b"bytes", INVALID),
    ("PUT", f"{ART}/uploads/f/.hidden", {}, b"bytes", INVALID),
    (
        "POST", f"{API}/model-versions/create", {},
        b'{"name": "m", "source": "mlflow-artifacts:/uploads/none"}', INVALID,
    ),
    (
        "POST", f"{API}/model-versions/create", {},
        b'{"name": "m", "source": "mlflow-artifacts:/uploads/f", "tags": "x"}', INVALID,
    ),
    ("POST", f"{API}/registered-models/create", {}, b'{"name": "embedder"}',
     (400, "RESOURCE_ALREADY_EXISTS")),
    ("POST", f"{API}/registered-models/create", {}, b'{"name": "bad name!"}', INVALID),
]  # fmt: skip


def test_refused_in_mlflow_words(
    server: Server, showcase: Showcase, assert_unchanged: Callable[[Path], object]
) -> None:
    # One server for every case (a showcase and a server each would take minutes).
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        for method, path, query, body, expected in CASES:
            answer = requests.request(
                method, server.url + path, params=query, data=body, timeout=60,
                headers={"content-type": "application/json"} if body else {},
            )  # fmt: skip
            found = (answer.status_code, answer.json().get("error_code"))
            assert found == expected, (method, path, query, body, answer.text)
            assert answer.json()["message"]


def test_what_is_not_supported_says_so(server: Server) -> None:
    # MLflow's web page spells the prefix /ajax-api: the same endpoints answer there.
    page = server.get("/ajax-api/2.0/mlflow/registered-models/search")
    assert page.status_code == 200 and page.json()["registered_models"]
    answer = server.post(f"{API}/registered-models/rename", json={"name": "ranker"})
    assert answer.status_code == 501
    assert answer.json()["error_code"] == "NOT_IMPLEMENTED"


def test_an_upload_over_the_size_limit_is_refused_and_not_kept(
    showcase: Showcase, serve: Callable[..., Server]
) -> None:
    server = serve(showcase.root, env={"MODELREG_UPLOAD_MAX_SIZE": "10"})
    url = f"{server.url}{ART}/uploads/f/model.bin"
    assert requests.put(url, data=b"x" * 10, timeout=60).status_code == 200
    answer = requests.put(url.replace("model.bin", "big.bin"), data=b"x" * 11, timeout=60)
    assert (answer.status_code, answer.json()["error_code"]) == INVALID
    area = showcase.root / ".git" / "modelreg-server" / "mlflow-uploads" / "uploads" / "f"
    assert sorted(p.name for p in area.iterdir()) == ["model.bin"]
