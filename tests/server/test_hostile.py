"""A new user's mistakes and a hostile client's tricks, against the real server:
each is a 4xx JSON error that says what to send instead, and changes nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from ..conftest import Showcase
from .conftest import Server

UPLOADS = Path(".git/modelreg-server/uploads")


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root, env={"MODELREG_UPLOAD_IDLE_TIMEOUT": "2"})


@pytest.fixture
def connect(server: Server) -> Iterator[Callable[[], socket.socket]]:
    opened: list[socket.socket] = []

    def open_one() -> socket.socket:
        host, port = server.url.removeprefix("http://").split(":")
        sock = socket.create_connection((host, int(port)), timeout=60)
        opened.append(sock)
        return sock

    yield open_one
    for sock in opened:
        sock.close()


@pytest.mark.parametrize(
    ("method", "path", "allow", "words"),
    [
        # ``curl -T FILE URL`` is a PUT; the upload takes POST.
        ("PUT", "/v2/models/upload", "POST", "PUT is not allowed here; this endpoint takes POST"),
        ("GET", "/v2/models/upload", "POST", "/v2/models/upload takes POST, not GET"),
        ("GET", "/v2/models/register", "POST", "/v2/models/register takes POST, not GET"),
        ("GET", "/v2/models/embedder@v1.0.0/promote", "POST", "promote takes POST"),
        ("POST", "/v2/models/embedder@v1.0.0/history", "GET, HEAD", "history is read with GET"),
        ("POST", "/v2/models/embedder@v1.0.0", "GET, HEAD", "a version is read with GET"),
        # A method no route takes: every method the path answers, whichever route
        # Starlette tried first (the web page's /m/ is read with GET, whatever follows)
        ("DELETE", "/v2/models/embedder@v1.0.0", "GET, HEAD", "this endpoint takes GET, HEAD"),
        ("DELETE", "/v2/models/embedder@v1.0.0/promote", "POST", "this endpoint takes POST"),
        ("DELETE", "/v2/models/upload", "POST", "this endpoint takes POST"),
        ("DELETE", "/m/embedder@v1.0.0/promote", "GET, HEAD", "this endpoint takes GET, HEAD"),
        ("DELETE", "/act/promote", "GET, HEAD, POST", "this endpoint takes GET, HEAD, POST"),
        ("DELETE", "/v2/history", "GET, HEAD", "this endpoint takes GET, HEAD"),
    ],
)
def test_a_wrong_method_says_which_one_the_endpoint_takes(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    method: str,
    path: str,
    allow: str,
    words: str,
) -> None:
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = requests.request(method, server.url + path, data=b"{}", timeout=60)
    assert answer.status_code == 405, answer.text
    assert answer.headers["Allow"] == allow  # RFC 9110: a 405 names the methods
    assert words in answer.json()["error"]["message"]


def test_a_form_upload_is_refused_not_stored_as_the_model(
    server: Server, showcase: Showcase, assert_unchanged: Callable[[Path], object]
) -> None:
    """``curl -F file=@model.pkl`` would store the form's envelope as the model's bytes."""
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = server.post("/v2/models/upload", files={"file": ("model.pkl", b"weights")})
    assert answer.status_code == 415, answer.text
    assert "raw bytes" in answer.json()["error"]["message"]
    assert not list((showcase.root / UPLOADS).glob("*/*"))


def test_a_client_gone_mid_body_is_no_bug(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    connect: Callable[[], socket.socket],
) -> None:
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        sock = connect()
        sock.sendall(
            b"POST /v2/models/embedder@v1.0.0/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"stage": '
        )
        sock.close()
        for _ in range(20):  # the server reads the close between these (one event loop)
            assert server.get("/v2/models").status_code == 200
    assert "Traceback" not in server.output()
    assert "a bug in modelreg" not in server.output()


def test_a_body_that_never_arrives_is_given_up(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    connect: Callable[[], socket.socket],
) -> None:
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        sock = connect()
        sock.sendall(
            b"POST /v2/models/embedder@v1.0.0/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = b""  # MODELREG_UPLOAD_IDLE_TIMEOUT=2 s, not for ever; then it closes
        while chunk := sock.recv(65536):  # head and body may come in two packets
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive" in answer


def test_the_open_probe_names_no_path(server: Server, showcase: Showcase) -> None:
    """``/readyz`` answers without a token: the server's folders are nobody's business."""
    answer = server.get("/readyz")
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert str(showcase.root) not in answer.text and "root" not in answer.json()


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a%2Fb", "only a-z, 0-9"),  # an encoded slash is not 'upper case'
        ("Fraud", "upper case is not allowed"),
        ("модель", "only a-z, 0-9"),
        ("a" * 300, "longer than"),
    ],
)
def test_a_bad_name_in_register_says_what_is_wrong(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    name: str,
    words: str,
) -> None:
    digest = server.post("/v2/models/upload", data=b"weights").json()["digest"]
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = server.post(
            "/v2/models/register",
            json={"metadata": {"name": name, "version": "1.0.0"}, "file_digest": digest},
        )
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        # history calls it "reason"; the body calls it "message": never dropped silently
        (
            "/v2/models/embedder@v1.0.0/promote",
            {"stage": "dev", "reason": "why"},
            400,
            "unknown key 'reason' (allowed: stage, message, force)",
        ),
        (
            "/v2/models/embedder/rollback",
            {"stage": "dev", "too": "1.0.0"},
            400,
            "'too'",
        ),
        ("/v2/models/embedder@v1.0.0/deprecate", {"mesage": "typo"}, 400, "'mesage'"),
        ("/v2/models/embedder@v1.0.0/deprecate", {"message": "a" * (1 << 20)}, 413, "over"),
    ],
)
def test_a_lifecycle_body_says_what_it_does_not_take(
    server: Server,
    showcase: Showcase,
    assert_unchanged: Callable[[Path], object],
    path: str,
    body: dict[str, object],
    status: int,
    words: str,
) -> None:
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = server.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]


def test_control_characters_in_a_message_never_reach_the_tag(
    server: Server, showcase: Showcase
) -> None:
    answer = server.post(
        "/v2/models/embedder@v1.0.0/promote",
        json={"stage": "dev", "force": True, "message": "line one\nline two\x00\x1b[31m red"},
    )
    assert answer.status_code == 200, answer.text
    event = server.get("/v2/models/embedder/history").json()["events"][-1]
    assert event["reason"] == "line one line two [31m red"


@pytest.mark.parametrize(
    "path", ["a" * 201, "é" * 101, "/".join(["ab"] * 400)], ids=["long-part", "utf8", "long"]
)
def test_a_path_no_filesystem_takes_is_bad_input_not_a_server_error(
    server: Server, showcase: Showcase, assert_unchanged: Callable[[Path], object], path: str
) -> None:
    """It was a 503 naming the server's folder: the write failed half-way."""
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        refused = server.post("/v2/models/upload", params={"filename": path}, data=b"w")
        digest = server.post("/v2/models/upload", data=b"w").json()["digest"]
        answer = server.post(
            "/v2/models/register",
            json={
                "metadata": {"name": "long", "version": "1.0.0"},
                "files": [{"path": path, "digest": digest}],
            },
        )
    for bad in (refused, answer):
        assert bad.status_code == 422, bad.text
        assert "longer than" in bad.json()["error"]["message"]
        assert str(showcase.root) not in bad.text


@pytest.mark.parametrize("path", ["/v2/models/register", "/v2/models/embedder@v1.0.0/promote"])
def test_json_nested_too_deeply_is_a_400(
    server: Server, showcase: Showcase, assert_unchanged: Callable[[Path], object], path: str
) -> None:
    """Under the size limit, ``{"a": {"a": ...`` 100,000 deep was a RecursionError: a 500."""
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    with assert_unchanged(showcase.root):  # type: ignore[operator]
        answer = server.post(path, data=deep, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"] == "the request body's JSON is nested too deeply"


def test_a_port_in_use_is_said_in_our_words(showcase: Showcase) -> None:
    """uvicorn started the application, logged ``[Errno 98]`` and exited 3 (a bug's code)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelreg",
                "-C",
                str(showcase.root),
                "serve",
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr
    assert "Errno" not in done.stderr and "Started server" not in done.stderr


def test_an_unknown_action_lists_the_known_ones(server: Server) -> None:
    answer = server.get("/v2/models/embedder@v1.0.0/download")
    assert answer.status_code == 400, answer.text
    assert "files" in answer.json()["error"]["hint"]
