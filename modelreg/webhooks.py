"""Webhooks: tell other programs about every registry event, signed.

``modelreg serve`` (:mod:`modelreg.server.watch`) notices new event tags, whoever
wrote them, and hands them here. This module has the parts that are not HTTP
serving: which new tags are events and what each one says (:func:`notices`),
the JSON document a receiver gets (built by :func:`modelreg.serialize.webhook_event`,
the one serializer), its HMAC-SHA256 signature, one delivery attempt with
a bounded wait and a bounded read of the answer, the retry schedule, and two
append-only files under the server's state folder (never the work tree):

- ``seen``: the event tags already noticed, one per line, so a restart does not
  announce the whole history again (on the first start every tag present counts
  as seen);
- ``deliveries.jsonl``: one line when a delivery is queued (with the whole
  document, so it survives a restart) and one per attempt. It is compacted at
  each start and whenever it has grown past :data:`COMPACT_AT` bytes: every
  line of the deliveries not finished yet stays, and of the finished ones, the
  last :data:`KEEP_FINISHED` (older ones are forgotten).

Delivery is **at least once**: a delivery queued and not finished when the server
stopped is sent again at the next start, and a receiver that answered 2xx after
its connection was cut may get the event twice. Receivers deduplicate by the
``X-Modelreg-Event`` header (the event tag's object id: the same on every retry,
every restart and every replica that sees the event) and refuse stale
``X-Modelreg-Timestamp`` values (the time is in the signed body too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tags import parse_tag_name

if TYPE_CHECKING:
    from .config import Webhook
    from .registry import Registry
    from .results import HistoryEntry, ModelSummary

SIGNATURE = "X-Modelreg-Signature"  # "sha256=<hex>": HMAC-SHA256 of the raw body
EVENT_ID = "X-Modelreg-Event"  # the event's id: its tag object id
DELIVERY_ID = "X-Modelreg-Delivery"  # this event for this URL: the same on every retry
TIMESTAMP = "X-Modelreg-Timestamp"  # when this attempt was sent (Unix seconds)

ATTEMPTS = 8  # then the delivery is given up (and logged as failed)
FIRST_DELAY = 1.0  # seconds before the second attempt; doubled after each failure
LONGEST_DELAY = 300.0
TIMEOUT = 10.0  # seconds to connect, and to wait for each read of the answer

FEW_MODELS = 8  # new events of more models than this are read with one read of all tags

LOG_FILE = "deliveries.jsonl"
SEEN_FILE = "seen"
DONE = ("delivered", "failed")  # the states after which a delivery is never sent again
KEEP_FINISHED = 1000  # finished deliveries the log keeps when it is compacted
COMPACT_AT = 8 << 20  # bytes past which the log is compacted (and past twice what it kept)


@dataclass(frozen=True)
class Notice:
    """One event the server saw: its id, what ``history`` says of it, and its
    model as ``list`` shows it just after."""

    id: str  # the tag object id
    entry: HistoryEntry
    model: ModelSummary | None
    registry: str  # the registry's folder name


def notices(registry: Registry, tags: Sequence[tuple[str, str]]) -> list[Notice]:
    """The events among ``tags`` (name, object id), oldest first. Only the
    models they belong to are read; tags that are not events are left out."""
    by_model: dict[str, set[str]] = {}
    for name, _oid in tags:
        parsed = parse_tag_name(name)
        if parsed is not None:
            by_model.setdefault(parsed.name, set()).add(name)
    if not by_model:
        return []
    ids = dict(tags)
    summaries = {s.name: s for s in registry.list_models(include_deprecated=True)}
    if len(by_model) > FEW_MODELS:  # (a fetch brought many: one read of every tag)
        entries = list(registry.history(None))
    else:  # each model's tags alone
        entries = [entry for model in by_model for entry in registry.history(model)]
    wanted = {tag for names in by_model.values() for tag in names}
    found = [
        Notice(ids[entry.tag], entry, summaries.get(entry.name), registry.root.name)
        for entry in entries
        if entry.tag in wanted
    ]
    found.sort(key=lambda n: (n.entry.timestamp, n.entry.tag))
    return found


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver checks (in constant time)."""
    return hmac.compare_digest(sign(secret, body), header)


def delivery_id(url: str, event_id: str) -> str:
    return hashlib.sha256(f"{url}\0{event_id}".encode()).hexdigest()[:32]


def delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...)."""
    return float(min(LONGEST_DELAY, FIRST_DELAY * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Delivery:
    """One event for one URL; ``document`` is the event without its ``delivery`` part."""

    id: str
    url: str
    secret_env: str | None
    document: dict[str, Any]
    attempt: int = 0  # attempts made so far

    @classmethod
    def of(cls, hook: Webhook, document: dict[str, Any]) -> Delivery:
        return cls(delivery_id(hook.url, document["id"]), hook.url, hook.secret_env, document)


@dataclass(frozen=True)
class Outcome:
    state: str  # delivered, retrying, failed
    status: int | None  # the receiver's HTTP status (None: no answer)
    error: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: never followed (a POST
    re-sent elsewhere, or turned into a GET, is not what was configured)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def attempt(delivery: Delivery, env: Mapping[str, str] | None = None) -> tuple[Delivery, Outcome]:
    """Send ``delivery`` once; the delivery with its attempt counted, and what happened."""
    from .serialize import webhook_event

    env = os.environ if env is None else env
    number = delivery.attempt + 1
    sent = replace(delivery, attempt=number)
    now = int(time.time())
    body = (json.dumps(webhook_event(delivery.document, delivery.id, number, now)) + "\n").encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "modelreg-webhook",
        EVENT_ID: delivery.document["id"],
        DELIVERY_ID: delivery.id,
        TIMESTAMP: str(now),
    }
    if delivery.secret_env:
        secret = env.get(delivery.secret_env)
        if not secret:
            unset = f"the environment variable {delivery.secret_env} (secret_env) is not set"
            return sent, Outcome("failed", None, unset)
        headers[SIGNATURE] = sign(secret.encode(), body)
    status, error = _post(delivery.url, body, headers)
    if status is not None and 200 <= status < 300:
        return sent, Outcome("delivered", status, None)
    state = "failed" if number >= ATTEMPTS else "retrying"
    return sent, Outcome(state, status, error)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """POST; (the answer's status, what went wrong). The answer is untrusted: only
    its status line and headers are read (http.client bounds their number and
    length), never its body, and every read waits :data:`TIMEOUT` at most."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            return int(answer.status), None
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), _short(f"answered {exc.code} {exc.reason}")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # refused, timed out, reset, a malformed answer, a bad URL...
        reason = getattr(exc, "reason", exc)
        return None, _short(f"{type(exc).__name__}: {reason}")


def _short(text: str) -> str:
    """A receiver's words, as logged: one line, bounded."""
    return " ".join(text.split())[:200]


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeliveryLog:
    """``deliveries.jsonl``: a line when a delivery is queued, one per attempt;
    compacted (:meth:`compact`) when it has grown past ``compact_at`` bytes.

    Safe for threads; each line is written with one ``write`` call."""

    def __init__(
        self, folder: Path, keep_finished: int = KEEP_FINISHED, compact_at: int = COMPACT_AT
    ) -> None:
        self.path = folder / LOG_FILE
        self.keep_finished = keep_finished
        self._compact_at = compact_at
        self._guard = threading.Lock()

    def _append(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, sort_keys=False) + "\n").encode()
        with self._guard:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as out:
                out.write(data)
                size = out.tell()
            if size > self._compact_at:
                self._compact()

    def compact(self) -> None:
        """Rewrite the log with every line of the deliveries not finished, and of the
        finished ones the last ``keep_finished`` (in the order they finished).
        The new file replaces the old one whole (a crash leaves one or the other)."""
        with self._guard:
            self._compact()

    def _compact(self) -> None:
        lines = self.lines()
        finished: dict[str, int] = {}  # delivery -> the index of its last line
        for index, line in enumerate(lines):
            if line.get("state") in DONE and isinstance(line.get("delivery"), str):
                finished[line["delivery"]] = index
        newest = sorted(finished, key=finished.__getitem__)[-self.keep_finished :]
        forgotten = set(finished) - set(newest) if self.keep_finished else set(finished)
        kept = [
            line
            for line in lines
            if isinstance(line.get("delivery"), str) and line["delivery"] not in forgotten
        ]
        data = "".join(json.dumps(line, sort_keys=False) + "\n" for line in kept).encode()
        if self.path.exists():
            temporary = self.path.with_suffix(".compacting")
            temporary.write_bytes(data)
            temporary.replace(self.path)
        # what is kept is never compacted again at every line
        self._compact_at = max(self._compact_at, 2 * len(data))

    def queued(self, delivery: Delivery) -> None:
        self._append(
            {
                "time": _now_iso(),
                "delivery": delivery.id,
                "state": "queued",
                "url": delivery.url,
                "secret_env": delivery.secret_env,
                "event": delivery.document,
            }
        )

    def attempted(self, delivery: Delivery, outcome: Outcome) -> None:
        self._append(
            {
                "time": _now_iso(),
                "delivery": delivery.id,
                "state": outcome.state,
                "attempt": delivery.attempt,
                "url": delivery.url,
                "event": delivery.document["id"],
                "tag": delivery.document["event"]["tag"],
                "status": outcome.status,
                "error": outcome.error,
            }
        )

    def lines(self) -> list[dict[str, Any]]:
        """Every readable line (a line cut short by a crash is skipped)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found

    def unfinished(self) -> list[Delivery]:
        """Deliveries queued and neither delivered nor given up: resumed at a start."""
        queued: dict[str, Delivery] = {}
        for line in self.lines():
            key = line.get("delivery")
            if not isinstance(key, str):
                continue
            state = line.get("state")
            event, url, secret_env = line.get("event"), line.get("url"), line.get("secret_env")
            if state == "queued" and isinstance(event, dict) and isinstance(url, str):
                if not isinstance(event.get("id"), str) or not isinstance(event.get("event"), dict):
                    continue  # not a document this module wrote
                secret_env = secret_env if isinstance(secret_env, str) else None
                queued[key] = Delivery(key, url, secret_env, event)
            elif state in DONE:
                queued.pop(key, None)
            elif state == "retrying" and key in queued:
                number = line.get("attempt")
                if isinstance(number, int):
                    queued[key] = replace(queued[key], attempt=number)
        return list(queued.values())


class SeenTags:
    """The event tags already noticed (``seen``: one tag name per line, appended)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SEEN_FILE
        self.names: set[str] = set()

    def load(self, present: Iterable[str]) -> None:
        """Read the file; where there is none yet, every tag ``present`` counts as
        seen (a new server announces what happens from now on, not the past)."""
        try:
            self.names = set(self.path.read_text(encoding="utf-8").splitlines())
        except FileNotFoundError:
            self.names = set(present)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".new")
            temporary.write_text("".join(f"{n}\n" for n in sorted(self.names)), encoding="utf-8")
            temporary.replace(self.path)

    def add(self, names: Iterable[str]) -> None:
        new = [n for n in names if n not in self.names]
        if not new:
            return
        with self.path.open("a", encoding="utf-8") as out:
            out.write("".join(f"{n}\n" for n in new))
        self.names.update(new)
