"""``/metrics``: the Prometheus text format, requests labelled by route template
(never by raw path), durations, requests in flight, events written, last sync."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg.server.metrics import Metrics

from ..conftest import Showcase, git
from .conftest import Server

SAMPLE = re.compile(r'^([a-z_]+)(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')


def samples(text: str) -> dict[str, float]:
    """Every sample line of an exposition, checked against the format's grammar."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        assert SAMPLE.match(line), line
        key, value = line.rsplit(" ", 1)
        found[key] = float(value)
    return found


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


def test_requests_are_counted_by_route_template_never_by_path(server: Server) -> None:
    for path in ("/v2/models/embedder@v2.0.0", "/v2/models/team/fraud%23production"):
        assert server.get(path).status_code == 200
    assert server.get("/v2/models/nobody/history").status_code == 404
    assert server.get("/no/such/thing").status_code == 404
    assert server.get("/v2/models/embedder@v2.0.0/bogus").status_code == 400
    answer = server.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)
    route = 'modelreg_http_requests_total{route="/v2/models/{model_id}",method="GET",'
    assert found[route + 'status="200"}'] == 2
    assert found[route + 'status="400"}'] == 1  # a malformed path under the same route
    history = 'modelreg_http_requests_total{route="/v2/models/{model_id}/history"'
    assert found[history + ',method="GET",status="404"}'] == 1
    assert found['modelreg_http_requests_total{route="unmatched",method="GET",status="404"}'] == 1
    for name in ("embedder", "fraud", "nobody", "no/such", "bogus"):
        assert name not in answer.text, name
    duration = 'modelreg_http_request_duration_seconds_count{route="/v2/models/{model_id}"'
    assert found[duration + ',method="GET"}'] == 3
    buckets = 'modelreg_http_request_duration_seconds_bucket{route="/v2/models/{model_id}"'
    assert found[buckets + ',method="GET",le="+Inf"}'] == 3
    assert found["modelreg_http_requests_in_flight"] == 1  # this very request
    assert found["modelreg_uploads_in_progress"] == 0
    assert found["modelreg_last_sync_timestamp_seconds"] == 0


def test_events_written_are_counted(server: Server) -> None:
    promote = server.post(
        "/v2/models/embedder@v1.0.0/promote",
        json={"stage": "staging", "force": True, "message": "canary"},
    )
    assert promote.status_code == 200, promote.text
    again = server.post(
        "/v2/models/embedder@v1.0.0/promote",
        json={"stage": "staging", "force": True, "message": "canary"},
    )
    assert again.json()["changed"] is False  # nothing written: not counted
    found = samples(server.get("/metrics").text)
    assert found['modelreg_events_written_total{event="assign"}'] == 1


def test_a_sync_and_label_values_render_in_the_format() -> None:
    metrics = Metrics()
    metrics.synced(at=1_764_000_000.5)
    metrics.started(upload=True)
    assert samples(metrics.render())["modelreg_uploads_in_progress"] == 1
    metrics.finished('we"ird\\\n', "BREW", 418, 0.2, upload=True)
    found = samples(metrics.render())
    assert found["modelreg_last_sync_timestamp_seconds"] == 1_764_000_000.5
    assert found["modelreg_uploads_in_progress"] == 0
    label = 'modelreg_http_requests_total{route="we\\"ird\\\\\\n",method="other",status="418"}'
    assert found[label] == 1


def test_an_upload_in_progress_is_counted_until_it_ends(server: Server) -> None:
    body = b"some weights\n" * 100
    head = (
        "POST /v2/models/upload?filename=w.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as client:
        client.sendall(head.encode() + body[:100])
        for _ in range(600):  # until the server has it (bounded; no clock asserted)
            found = samples(server.get("/metrics").text)
            if found["modelreg_uploads_in_progress"] == 1:
                break
            time.sleep(0.05)
        assert found["modelreg_uploads_in_progress"] == 1
        assert found["modelreg_http_requests_in_flight"] == 2
        client.sendall(body[100:])
        answer = b""
        while not answer.rstrip().endswith(b"}") and (chunk := client.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    found = samples(server.get("/metrics").text)
    assert found["modelreg_uploads_in_progress"] == 0
    upload = 'modelreg_http_requests_total{route="/v2/models/upload",method="POST",status="200"}'
    assert found[upload] == 1


def test_a_registration_through_the_api_is_an_event_written(server: Server) -> None:
    weights = b"weights\n"
    assert server.post("/v2/models/upload?filename=w.bin", data=weights).status_code == 200
    digest = "sha256:" + hashlib.sha256(weights).hexdigest()
    metadata = {"name": "fresh", "version": "1.0.0", "license": "MIT"}
    answer = server.post("/v2/models/register", json={"metadata": metadata, "file_digest": digest})
    assert answer.status_code == 201, answer.text
    found = samples(server.get("/metrics").text)
    assert found['modelreg_events_written_total{event="register"}'] == 1


def test_a_replica_reports_its_last_successful_sync(
    pushed: Path, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    clone = tmp_path / "replica"
    git(tmp_path, "clone", "-q", str(pushed), str(clone))
    replica = serve(clone, "--sync", "0.2")
    for _ in range(600):  # until a catch-up has worked (bounded; no clock asserted)
        found = samples(replica.get("/metrics").text)
        if found["modelreg_last_sync_timestamp_seconds"] > 0:
            break
        time.sleep(0.05)
    assert found["modelreg_last_sync_timestamp_seconds"] > 0
    assert replica.get("/readyz").json()["sync"]["last"] is not None
