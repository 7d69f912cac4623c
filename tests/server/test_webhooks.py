"""Webhooks, received by a real HTTP listener on 127.0.0.1: every event the server
sees — its own API writes, a CLI beside it, events fetched by ``--sync`` — is
POSTed, signed, retried while the receiver fails, and logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Cli, Showcase, git
from .conftest import Server

SECRET = "a webhook secret"
ENV = {"HOOK_SECRET": SECRET}
FORCED = {"force": True, "message": "a test"}


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found

    @property
    def tag(self) -> str:
        tag: str = self.document["event"]["tag"]
        return tag


class Receiver:
    """An HTTP listener that records every POST; the first ``failing`` answer 500."""

    def __init__(self, failing: int = 0) -> None:
        self.received: list[Received] = []
        self.failing = failing
        self._guard = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._guard:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    fail = len(receiver.received) <= receiver.failing
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, enough: Callable[[list[Received]], bool], seconds: float = 90) -> list[Received]:
        """The requests so far, once ``enough`` says so (no assertion on time)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._guard:
                got = list(self.received)
            if enough(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {[r.tag for r in self.received]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def hooks(root: Path, url: str, events: str = "['*']") -> None:
    """Commit a ``webhooks:`` section to the registry's config."""
    config = root / ".modelreg.yaml"
    config.write_text(
        config.read_text()
        + f"webhooks:\n- url: {url}\n  events: {events}\n  secret_env: HOOK_SECRET\n"
    )
    git(root, "commit", "-q", "-m", "webhooks", "--", ".modelreg.yaml")


def got(tag: str) -> Callable[[list[Received]], bool]:
    return lambda received: any(r.tag == tag for r in received)


def deliveries(root: Path) -> list[dict[str, Any]]:
    log = root / ".git" / "modelreg-server" / "webhooks" / "deliveries.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def promote(cli: Cli, root: Path, ref: str, stage: str, *more: str) -> str:
    """A promote by the CLI (forced past the gates); its tag."""
    argv = ["promote", ref, "--to", stage, "--force", "-m", "canary", "--json", *more]
    tag: str = json.loads(cli.ok("-C", root, *argv).stdout)["tag"]
    return tag


def history_entry(cli: Cli, root: Path, tag: str) -> dict[str, Any]:
    events = json.loads(cli.ok("-C", root, "history", "--json").stdout)["events"]
    found: dict[str, Any] = next(e for e in events if e["tag"] == tag)
    return found


def test_an_api_write_is_posted_signed(
    showcase: Showcase, serve: Callable[..., Server], receiver: Receiver, cli: Cli
) -> None:
    root = showcase.root
    hooks(root, receiver.url)
    server = serve(root, env=ENV)
    answer = server.post(
        "/v2/models/embedder@v1.0.0/promote",
        json={"stage": "staging", "message": "canary ok", "force": True},
    )
    assert answer.status_code == 200, answer.text
    tag = answer.json()["tag"]
    received = receiver.wait(got(tag))
    # the history present at start-up is not announced: ours is the first and only one
    assert [r.tag for r in received] == [tag]
    hook = received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["X-Modelreg-Signature"], expected)
    assert hook.headers["Content-Type"] == "application/json"
    document = hook.document
    assert hook.headers["X-Modelreg-Event"] == document["id"]
    assert document["id"] == git(root, "rev-parse", f"refs/tags/{tag}").strip()
    assert hook.headers["X-Modelreg-Delivery"] == document["delivery"]["id"]
    assert hook.headers["X-Modelreg-Timestamp"].isdigit()
    assert document["delivery"]["attempt"] == 1
    assert document["event"] == history_entry(cli, root, tag)
    assert document["event"]["event"] == "assign"
    assert document["event"]["reason"] == "canary ok"
    assert document["model"]["name"] == "embedder"
    assert document["model"]["stages"]["staging"] == "1.0.0"
    assert document["registry"] == root.name


def test_a_cli_write_beside_the_server_is_posted_to_the_hooks_that_want_it(
    showcase: Showcase, serve: Callable[..., Server], receiver: Receiver, cli: Cli
) -> None:
    root = showcase.root
    hooks(root, receiver.url, events="[assign, rollback]")
    serve(root, env=ENV)
    cli.ok("-C", root, "deprecate", "team/fraud@v0.1.0", "-m", "superseded")
    tag = promote(cli, root, "embedder@v1.0.0", "staging")
    received = receiver.wait(got(tag))
    assert [r.tag for r in received] == [tag]  # the deprecation was not wanted
    assert received[0].document["event"] == history_entry(cli, root, tag)
    assert received[0].document["model"]["stages"]["staging"] == "1.0.0"


def test_an_event_fetched_by_sync_is_posted(
    showcase: Showcase,
    serve: Callable[..., Server],
    receiver: Receiver,
    cli: Cli,
    tmp_path: Path,
) -> None:
    root = showcase.root
    hooks(root, receiver.url)
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "-q", "origin", "main", "--tags")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    serve(root, "--sync", "0.2", env=ENV)
    tag = promote(cli, other, "embedder@v1.0.0", "staging", "--push")
    received = receiver.wait(got(tag))
    assert [r.tag for r in received] == [tag]
    assert received[0].document["id"] == git(other, "rev-parse", f"refs/tags/{tag}").strip()


def test_a_failing_receiver_is_retried_and_every_attempt_logged(
    showcase: Showcase, serve: Callable[..., Server], receiver: Receiver
) -> None:
    root = showcase.root
    receiver.failing = 2
    hooks(root, receiver.url)
    server = serve(root, env=ENV)
    answer = server.post("/v2/models/embedder@v1.0.0/promote", json=FORCED | {"stage": "dev"})
    assert answer.status_code == 200, answer.text
    tag = answer.json()["tag"]
    received = receiver.wait(lambda r: len(r) >= 3)
    assert [r.tag for r in received] == [tag] * 3
    assert [r.document["delivery"]["attempt"] for r in received] == [1, 2, 3]
    assert len({r.headers["X-Modelreg-Delivery"] for r in received}) == 1
    for hook in received:  # each attempt signed anew (its time is in the body)
        expected = "sha256=" + hmac.new(SECRET.encode(), hook.body, hashlib.sha256).hexdigest()
        assert hook.headers["X-Modelreg-Signature"] == expected

    def logged() -> list[tuple[str, int | None, int | None]]:
        return [(line["state"], line.get("attempt"), line.get("status")) for line in
                deliveries(root)]  # fmt: skip

    deadline = time.monotonic() + 30
    while logged()[-1:] != [("delivered", 3, 204)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logged() == [
        ("queued", None, None),
        ("retrying", 1, 500),
        ("retrying", 2, 500),
        ("delivered", 3, 204),
    ]
    assert all(line["tag"] == tag for line in deliveries(root)[1:])
    assert not (root / "modelreg-server").exists()  # nothing in the work tree


def test_a_restart_sends_what_happened_while_stopped_and_nothing_twice(
    showcase: Showcase, serve: Callable[..., Server], receiver: Receiver, cli: Cli
) -> None:
    root = showcase.root
    hooks(root, receiver.url)
    first = serve(root, env=ENV)
    answer = first.post("/v2/models/embedder@v1.0.0/promote", json=FORCED | {"stage": "dev"})
    before = answer.json()["tag"]
    receiver.wait(got(before))
    first.stop()
    during = promote(cli, root, "embedder@v1.0.0", "staging")
    serve(root, env=ENV)
    received = receiver.wait(got(during))
    assert [r.tag for r in received] == [before, during]


def test_a_receiver_that_is_down_does_not_slow_requests(
    showcase: Showcase, serve: Callable[..., Server], cli: Cli
) -> None:
    root = showcase.root
    nobody = Receiver()
    url = nobody.url
    nobody.close()  # nothing listens there any more: every attempt is refused
    hooks(root, url)
    server = serve(root, env=ENV)
    for stage in ("dev", "staging"):
        answer = server.post("/v2/models/embedder@v1.0.0/promote", json=FORCED | {"stage": stage})
        assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [(line["state"], line.get("error")) for line in deliveries(root)]
        if sum(1 for state, _ in states if state == "retrying") >= 2:
            break
        time.sleep(0.05)
    assert any(state == "retrying" and error for state, error in states)
    assert server.get("/v2/models").status_code == 200


def test_the_delivery_log_keeps_the_unfinished_and_the_last_finished(tmp_path: Path) -> None:
    """``deliveries.jsonl`` does not grow for ever: past ``compact_at`` bytes (and at
    each start) it keeps every line of the deliveries not finished, and of the
    finished ones the last ``keep_finished``."""
    from modelreg.webhooks import Delivery, DeliveryLog, Outcome

    log = DeliveryLog(tmp_path, keep_finished=3, compact_at=8192)
    pending, finished = [], []
    for number in range(60):
        document = {"id": f"event-{number}", "event": {"tag": f"m@v{number}.0.0"}}
        delivery = Delivery(f"d{number}", "http://127.0.0.1:9/hook", None, document)
        log.queued(delivery)
        sent = Delivery(delivery.id, delivery.url, None, document, attempt=1)
        if number % 4 == 0:  # its receiver failed once: to be sent again
            log.attempted(sent, Outcome("retrying", 500, "answered 500"))
            pending.append(delivery.id)
        else:
            log.attempted(sent, Outcome("delivered", 204, None))
            finished.append(delivery.id)
    grown = log.path.stat().st_size
    assert grown <= 2 * 8192  # compacted on the way
    assert [(d.id, d.attempt) for d in log.unfinished()] == [(p, 1) for p in pending]

    DeliveryLog(tmp_path, keep_finished=3).compact()  # as a start does
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    done = [line["delivery"] for line in lines if line["state"] == "delivered"]
    assert done == finished[-3:]
    assert {line["delivery"] for line in lines} == set(pending) | set(finished[-3:])
    assert [(d.id, d.attempt) for d in DeliveryLog(tmp_path).unfinished()] == [
        (p, 1) for p in pending
    ]
    assert not list(tmp_path.glob("*.compacting"))
