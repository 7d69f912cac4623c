"""What ``/metrics`` tells Prometheus, in its text format (version 0.0.4).

Hand-rolled rather than ``prometheus-client``: six series, a lock and a
formatter are all a server this size needs, and one dependency fewer to pin.
Requests are labelled by route *template* (``/v2/models/{model_id}/files/{path}``,
from :attr:`.refs.Target.template`), never by raw path: model names and file
paths are unbounded, and each label value is a series Prometheus keeps forever.

Others call :meth:`Metrics.event_written` (each event a write of this server
made) and :meth:`Metrics.synced` (each successful ``--sync`` fetch).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Request duration buckets, in seconds: a cached read is milliseconds, an upload minutes."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Any other method is counted as ``other`` (a client chooses it: bound the labels)."""

UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 for an unknown path)."""


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1


class Metrics:
    """One server's counters; every method is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.durations: dict[tuple[str, str], Histogram] = {}
        self.in_flight = 0
        self.uploads = 0
        self.last_sync = 0.0
        self.events: Counter[str] = Counter()

    def started(self, *, upload: bool) -> None:
        with self._lock:
            self.in_flight += 1
            self.uploads += upload

    def finished(
        self, route: str, method: str, status: int, seconds: float, *, upload: bool
    ) -> None:
        method = method if method in METHODS else "other"
        with self._lock:
            self.in_flight -= 1
            self.uploads -= upload
            self.requests[(route, method, str(status))] += 1
            self.durations.setdefault((route, method), Histogram()).observe(seconds)

    def event_written(self, event: str) -> None:
        """This server wrote an event (``register``, ``assign``, ``rollback``...)."""
        with self._lock:
            self.events[event] += 1

    def synced(self, at: float | None = None) -> None:
        """A ``--sync`` fetch succeeded (at ``at``, Unix seconds; default now)."""
        with self._lock:
            self.last_sync = time.time() if at is None else at

    def render(self) -> str:
        """Every series in the Prometheus text format."""
        with self._lock:
            out: list[str] = []
            header(out, "modelreg_http_requests_total", "counter", "HTTP requests answered")
            for (route, method, status), n in sorted(self.requests.items()):
                sample(
                    out,
                    "modelreg_http_requests_total",
                    n,
                    route=route,
                    method=method,
                    status=status,
                )
            name = "modelreg_http_request_duration_seconds"
            header(out, name, "histogram", "time from request to the answer's last byte")
            for (route, method), histogram in sorted(self.durations.items()):
                for bound, n in zip(BUCKETS, histogram.counts, strict=True):
                    sample(out, name + "_bucket", n, route=route, method=method, le=f"{bound:g}")
                sample(
                    out, name + "_bucket", histogram.count, route=route, method=method, le="+Inf"
                )
                sample(out, name + "_sum", histogram.total, route=route, method=method)
                sample(out, name + "_count", histogram.count, route=route, method=method)
            header(out, "modelreg_http_requests_in_flight", "gauge", "requests being answered")
            sample(out, "modelreg_http_requests_in_flight", self.in_flight)
            header(out, "modelreg_uploads_in_progress", "gauge", "uploads being received")
            sample(out, "modelreg_uploads_in_progress", self.uploads)
            name = "modelreg_last_sync_timestamp_seconds"
            header(out, name, "gauge", "Unix time of the last successful --sync fetch (0: never)")
            sample(out, name, self.last_sync)
            name = "modelreg_events_written_total"
            header(out, name, "counter", "events (tags) this server wrote, by event")
            for event, n in sorted(self.events.items()):
                sample(out, name, n, event=event)
            return "\n".join(out) + "\n"


def header(out: list[str], name: str, kind: str, text: str) -> None:
    out.append(f"# HELP {name} {text}")
    out.append(f"# TYPE {name} {kind}")


def sample(out: list[str], name: str, value: float, **labels: str) -> None:
    if labels:
        pairs = ",".join(f'{key}="{escape(value)}"' for key, value in labels.items())
        name = f"{name}{{{pairs}}}"
    out.append(f"{name} {value!r}")


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
