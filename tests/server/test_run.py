"""The server process: its access log on stderr, and its graceful stop."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

import pytest

from modelreg.registry import Registry
from modelreg.statecache import cache_path, remove

from ..conftest import Cli, Showcase
from .conftest import Server


def access_lines(server: Server) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "access"]


def test_one_json_access_line_per_request_and_never_the_secret(
    showcase: Showcase, serve: Callable[..., Server]
) -> None:
    server = serve(showcase.root)
    secret = "s3cret-never-logged"
    headers = {"Authorization": f"Bearer {secret}"}
    assert server.get("/v2/models/team/fraud%23production", headers=headers).status_code == 200
    assert server.get("/v2/models?all=true", headers=headers).status_code == 200
    assert server.get("/v2/models/nobody", headers=headers).status_code == 404
    # A secret put in the URL (refused by a server with tokens) is not logged either.
    assert server.get(f"/v2/models?token={secret}&all=1").status_code == 200
    assert server.get("/v2/models?api_key=mrt_abc&page=2&x=mrt_def").status_code == 200
    assert server.stop() == 0
    output = server.output()
    assert secret not in output and "Bearer" not in output
    # every line on stderr is JSON, uvicorn's own included
    for line in output.splitlines():
        assert json.loads(line)["time"].endswith("Z"), line
    lines = [line for line in access_lines(server) if line["path"] != "/healthz"]
    assert [(line["path"], line["route"], line["status"]) for line in lines] == [
        ("/v2/models/team/fraud#production", "/v2/models/{model_id}", 200),
        ("/v2/models", "/v2/models", 200),
        ("/v2/models/nobody", "/v2/models/{model_id}", 404),
        ("/v2/models", "/v2/models", 200),
        ("/v2/models", "/v2/models", 200),
    ]
    assert [line["query"] for line in lines[3:]] == [
        "token=REDACTED&all=1",
        "api_key=REDACTED&page=2&x=REDACTED",
    ]
    first = lines[0]
    assert set(first) >= {"time", "method", "path", "status", "duration_ms", "bytes", "client"}
    assert first["method"] == "GET" and first["client"] == "127.0.0.1"
    assert first["bytes"] > 0 and first["duration_ms"] >= 0
    assert first["token"] is None  # no tokens on this server
    assert lines[1]["query"] == "all=true"


def _cat_files(pid: int) -> set[int]:
    """The ``git cat-file --batch`` processes (no ``--buffer``: the long-lived one)
    among ``pid``'s children."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):
            children |= {int(c) for c in (task / "children").read_text().split()}
    found = set()
    for child in children:
        with suppress(OSError):
            if Path(f"/proc/{child}/cmdline").read_bytes() == b"git\0cat-file\0--batch\0":
                found.add(child)
    return found


def test_requests_read_versions_through_one_git_that_stops_with_the_server(
    showcase: Showcase, serve: Callable[..., Server]
) -> None:
    """A version's manifest is read by one long-lived ``git cat-file`` that every
    request shares (not a git process each); it ends when the server does."""
    remove(cache_path(showcase.root / ".git"))  # no manifest kept from building it
    server = serve(showcase.root)
    assert server.get("/v2/models/team/fraud@v0.1.0").status_code == 200
    (reader,) = _cat_files(server.process.pid)
    assert server.get("/v2/models/embedder@v1.0.0").status_code == 200
    assert server.get("/v2/models/team/fraud%23production").status_code == 200
    assert _cat_files(server.process.pid) == {reader}
    assert server.stop() == 0
    assert not Path(f"/proc/{reader}").exists()
    # The manifests it read were kept for the next start, in one write at the latest
    # as it stopped.
    db = sqlite3.connect(cache_path(showcase.root / ".git"))
    kept = {spec.partition(":")[2] for (spec,) in db.execute("SELECT spec FROM manifests")}
    db.close()
    assert kept == {"models/team/fraud/model.yaml", "models/embedder/model.yaml"}


def test_text_log_format_is_for_people(showcase: Showcase, serve: Callable[..., Server]) -> None:
    server = serve(showcase.root, "--log-format", "text")
    assert server.get("/v2/models").status_code == 200
    assert server.stop() == 0
    line = next(line for line in server.output().splitlines() if "/v2/models" in line)
    assert ' 127.0.0.1 "GET /v2/models" 200 ' in line and line.endswith("ms")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (a bounded number of times): the server's state, not a clock."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:  # queued just as the listener closed: ask again
        return False
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(
    showcase: Showcase, serve: Callable[..., Server], sig: signal.Signals
) -> None:
    server = serve(showcase.root)
    body = json.dumps({"stage": "staging", "force": True, "message": "during the stop"}).encode()
    head = (
        "POST /v2/models/embedder@v1.0.0/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as client:
        client.sendall(head.encode() + body[:10])  # the request is in flight, its body half sent

        def in_flight() -> bool:
            metrics = server.get("/metrics").text
            return "modelreg_http_requests_in_flight 2" in metrics  # it and /metrics

        wait_for(in_flight, "the promote in flight")
        server.process.send_signal(sig)
        wait_for(lambda: refused(server.url), "new connections refused")
        assert server.process.poll() is None  # still finishing the promote
        client.sendall(body[10:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 200 OK", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["changed"] is True
    assert server.process.wait(timeout=60) == 0, server.output()
    assert Registry(showcase.root).resolve("embedder#staging").version == "1.0.0"
    promote = [line for line in access_lines(server) if line["method"] == "POST"]
    assert [line["status"] for line in promote] == [200]


def test_a_request_still_unfinished_after_the_grace_is_cut_and_changes_nothing(
    showcase: Showcase,
    serve: Callable[..., Server],
    assert_unchanged: Callable[[Path], AbstractContextManager[None]],
) -> None:
    server = serve(showcase.root, "--grace", "1")
    head = (
        "POST /v2/models/embedder@v1.0.0/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    host, port = server.url.removeprefix("http://").split(":")
    with (
        assert_unchanged(showcase.root),
        socket.create_connection((host, int(port)), timeout=60) as client,
    ):
        client.sendall(head.encode())  # and never the rest
        wait_for(
            lambda: "modelreg_http_requests_in_flight 2" in server.get("/metrics").text,
            "the promote in flight",
        )
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0, server.output()
    cut = [line for line in access_lines(server) if line["method"] == "POST"]
    assert [line["status"] for line in cut] == [499]  # no answer was sent


def test_the_access_log_names_the_token_never_its_secret(
    showcase: Showcase, serve: Callable[..., Server], cli: Cli
) -> None:
    secret = cli.ok("-C", showcase.root, "token", "add", "ci-bot", "--role", "read")
    secret_word = secret.stdout.split()[-1]
    server = serve(showcase.root)
    bearer = {"Authorization": f"Bearer {secret_word}"}
    assert server.get("/v2/models/embedder", headers=bearer).status_code == 200
    assert server.get("/v2/models/embedder/history").status_code == 401  # no token
    metrics = server.get("/metrics", headers=bearer).text
    history = 'modelreg_http_requests_total{route="/v2/models/{model_id}/history"'
    assert history + ',method="GET",status="401"} 1' in metrics  # counted by its route
    assert server.stop() == 0
    assert secret_word not in server.output()
    lines = [line for line in access_lines(server) if line["path"] != "/healthz"]
    assert [(line["route"], line["status"], line["token"]) for line in lines] == [
        ("/v2/models/{model_id}", 200, "ci-bot"),
        ("/v2/models/{model_id}/history", 401, None),
        ("/metrics", 200, "ci-bot"),
    ]
