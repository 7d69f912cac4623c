"""The webhook parts that are not the server (modelreg.webhooks): signatures, the
retry schedule, one attempt against a real listener, the delivery log, the tags seen."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelreg import serialize, webhooks
from modelreg.config import Webhook
from modelreg.registry import Registry
from modelreg.webhooks import Delivery, DeliveryLog, Outcome, SeenTags

from .conftest import git

DOCUMENT = {"id": "0" * 40, "event": {"tag": "m#dev#1"}, "model": None, "registry": "r"}


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """127.0.0.1: ``/ok`` answers 200 with a large body (never read), ``/moved`` a
    redirect to ``/ok``."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ok")
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * (1 << 20))

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


def test_a_signature_is_the_hmac_of_the_exact_body() -> None:
    body = b'{"id": "x"}\n'
    header = webhooks.sign(b"secret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert webhooks.verify(b"secret", body, header)
    assert not webhooks.verify(b"secret", body.replace(b"x", b"y"), header)
    assert not webhooks.verify(b"other", body, header)


def test_retries_wait_longer_each_time_up_to_a_bound() -> None:
    waits = [webhooks.delay(n) for n in range(1, 12)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert waits == sorted(waits) and max(waits) == webhooks.LONGEST_DELAY


def test_one_attempt_signs_and_counts(listener: tuple[str, list[bytes]]) -> None:
    url, bodies = listener
    delivery = Delivery.of(Webhook(url + "/ok", ("*",), "SECRET"), DOCUMENT)
    sent, outcome = webhooks.attempt(delivery, env={"SECRET": "s"})
    assert outcome == Outcome("delivered", 200, None)  # the long answer was cut short, fine
    assert sent.attempt == 1 and sent.id == webhooks.delivery_id(url + "/ok", DOCUMENT["id"])
    document = json.loads(bodies[0])
    assert document == serialize.webhook_event(DOCUMENT, sent.id, 1, 0) | {
        "delivery": document["delivery"]
    }
    assert document["delivery"]["attempt"] == 1


def test_a_redirect_is_an_answer_not_followed(listener: tuple[str, list[bytes]]) -> None:
    url, bodies = listener
    _sent, outcome = webhooks.attempt(Delivery.of(Webhook(url + "/moved"), DOCUMENT), env={})
    assert (outcome.state, outcome.status) == ("retrying", 302)
    assert len(bodies) == 1  # /ok never got it


def test_an_unset_secret_fails_without_sending(listener: tuple[str, list[bytes]]) -> None:
    url, bodies = listener
    hook = Webhook(url + "/ok", ("*",), "NOT_SET_ANYWHERE")
    _sent, outcome = webhooks.attempt(Delivery.of(hook, DOCUMENT), env={})
    assert outcome.state == "failed" and "NOT_SET_ANYWHERE" in (outcome.error or "")
    assert bodies == []


def test_nobody_listening_is_retried_then_given_up() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}/"
    delivery = Delivery.of(Webhook(url), DOCUMENT)
    sent, outcome = webhooks.attempt(delivery, env={})
    assert outcome.state == "retrying" and outcome.status is None and outcome.error
    last = Delivery(sent.id, sent.url, None, sent.document, webhooks.ATTEMPTS - 1)
    _sent, outcome = webhooks.attempt(last, env={})
    assert outcome.state == "failed"


def test_the_log_resumes_what_was_not_finished(tmp_path: Path) -> None:
    log = DeliveryLog(tmp_path)
    done, pending, gave_up = (
        Delivery.of(Webhook(f"http://127.0.0.1:9/{n}"), DOCUMENT) for n in range(3)
    )
    for delivery in (done, pending, gave_up):
        log.queued(delivery)
    log.attempted(Delivery(**{**done.__dict__, "attempt": 1}), Outcome("delivered", 204, None))
    log.attempted(Delivery(**{**pending.__dict__, "attempt": 2}), Outcome("retrying", 500, "x"))
    log.attempted(Delivery(**{**gave_up.__dict__, "attempt": 8}), Outcome("failed", None, "x"))
    with log.path.open("a") as out:
        out.write('{"delivery": "x", "state": "queued", "url": 1, "event": {}}\n')  # not ours
        out.write('{"delivery": "y", "state": "queued", "url": "http://h/", "event": {}}\n')
        out.write("[1, 2]\n")
        out.write('{"delivery": "cut short by a cr')  # a crash mid-line
    (resumed,) = log.unfinished()
    assert resumed == Delivery(pending.id, pending.url, None, DOCUMENT, 2)


def test_seen_tags_start_from_the_present_and_persist(tmp_path: Path) -> None:
    seen = SeenTags(tmp_path / "state")
    seen.load(["m@v0.1.0", "m#dev#1"])
    assert seen.names == {"m@v0.1.0", "m#dev#1"}
    seen.add(["m#dev#2", "m@v0.1.0"])
    again = SeenTags(tmp_path / "state")
    again.load(["ignored: the file is there"])
    assert again.names == {"m@v0.1.0", "m#dev#1", "m#dev#2"}
    assert seen.path.read_text().count("m@v0.1.0") == 1


def test_notices_are_history_entries_with_their_model(two_weights: Registry) -> None:
    promoted = two_weights.promote("m@v0.2.0", "dev", message="try it").tag
    assert promoted is not None
    root = two_weights.root
    git(root, "tag", "not-an-event")
    tags = [
        (name, git(root, "rev-parse", f"refs/tags/{name}").strip())
        for name in (promoted, "m@v0.1.0", "not-an-event")
    ]
    found = webhooks.notices(Registry(root), tags)
    assert [(n.entry.tag, n.entry.event) for n in found] == [
        ("m@v0.1.0", "register"),
        (promoted, "assign"),
    ]
    assert found[1].entry.reason == "try it"
    assert found[1].id == tags[0][1]
    assert found[1].model is not None and found[1].model.stages == {"dev": "0.2.0"}
    document = serialize.webhook_notice(found[1])
    assert list(document) == ["id", "event", "model", "registry"]
    assert document["event"] == serialize.history_entry(found[1].entry)
