"""What a running server does between requests: catch up with the remote, notice
new events, deliver webhooks. Three daemon threads, started and stopped by the
application's lifespan (:func:`modelreg.server.app.create_app`).

- **replica** (``--sync SECONDS``): every SECONDS, in the server's write turn,
  :meth:`ServerContext.catch_up` (fetch the remote's tags and branch,
  fast-forward). A failure is logged and the next round tries again.
- **watcher**: the server notices every new event, whoever wrote it — its own
  API writes, a CLI beside it, GTO, a fetch by the replica thread — by comparing
  the event tags present with the ones it has seen. It looks only when the refs'
  fingerprint (:mod:`.cache`: a few ``stat`` calls) changed, and only while no
  writer holds the registry's lock, so a tag a writer may still take back (a
  push that lost a race) is never announced.
- **pages**: after every change, the web page's home page is read again
  (:func:`.web.routes.keep_warm`), so its first visitor does not wait for it.
- **courier**: delivers each new event to every webhook that wants it
  (:mod:`modelreg.webhooks`), retrying with growing delays. Requests never wait
  for it, and a slow receiver delays only other deliveries.

What the server keeps for this lives under its state folder (never the work
tree): the tags seen and the delivery log (compacted at each start and as it
grows). Delivery is at least once (see :mod:`modelreg.webhooks`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from pathlib import Path

from .. import serialize
from ..errors import GitError, ModelregError
from ..lock import quiet
from ..registry import LOCK_FILE
from ..tags import parse_tag_name
from ..webhooks import Delivery, DeliveryLog, SeenTags, attempt, delay, notices
from .cache import fingerprint
from .context import ServerContext

log = logging.getLogger("modelreg.server")

POLL = 0.5  # seconds between looks at the refs' fingerprint (a few stat calls)


class Courier:
    """Deliveries waiting for their time, sent one at a time on one thread."""

    def __init__(self, deliveries: DeliveryLog, stopping: threading.Event) -> None:
        self.log = deliveries
        self._stopping = stopping
        self._due: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()

    def put(self, delivery: Delivery, after: float = 0.0) -> None:
        with self._wake:
            entry = (time.monotonic() + after, next(self._order), delivery)
            heapq.heappush(self._due, entry)
            self._wake.notify()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def run(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                now = time.monotonic()
                if not self._due or self._due[0][0] > now:
                    wait = self._due[0][0] - now if self._due else None
                    self._wake.wait(wait)
                    continue
                _due, _order, delivery = heapq.heappop(self._due)
            try:
                sent, outcome = attempt(delivery)
                self.log.attempted(sent, outcome)
            except Exception:  # a bug: keep delivering the others
                log.exception("webhook delivery %s to %s failed", delivery.id, delivery.url)
                continue
            if outcome.state == "retrying":
                self.put(sent, delay(sent.attempt))
            log.info(
                "webhook %s, attempt %d to %s: %s%s",
                sent.document["event"]["tag"],
                sent.attempt,
                sent.url,
                outcome.state,
                f" ({outcome.error})" if outcome.error else "",
            )


class Watcher:
    """Notices new event tags and queues one delivery per interested webhook."""

    def __init__(self, ctx: ServerContext, courier: Courier, folder: Path) -> None:
        self.ctx = ctx
        self.courier = courier
        self.seen = SeenTags(folder)
        self._last: object = None

    def start(self) -> None:
        """Read (or, on a first start, take) the tags seen: before the server answers,
        so its own first write is news."""
        registry = self.ctx.registry()
        self.seen.load(name for name, _oid in registry.git.tag_refs() if parse_tag_name(name))

    def look(self) -> int:
        """Queue deliveries for the events not seen yet; how many events were new."""
        before = fingerprint(self.ctx.git_dir)
        if before == self._last:
            return 0
        registry = self.ctx.registry()
        with quiet(self.ctx.git_dir / LOCK_FILE) as free:
            if not free:
                return 0  # a writer is at work: look again when it is done
            tags = registry.git.tag_refs()
        self._last = before
        new = [(n, oid) for n, oid in tags if n not in self.seen.names and parse_tag_name(n)]
        if not new:
            return 0
        try:
            hooks = registry.config.webhooks
        except ModelregError as exc:
            log.error("webhooks not delivered: %s", exc.message)
            hooks = ()
        if hooks:
            for notice in notices(registry, new):
                document = serialize.webhook_notice(notice)
                for hook in hooks:
                    if hook.wants(notice.entry.event):
                        delivery = Delivery.of(hook, document)
                        self.courier.log.queued(delivery)
                        self.courier.put(delivery)
        self.seen.add(name for name, _oid in new)
        return len(new)


class Background:
    """The replica, watcher and courier threads of one server."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.stopping = threading.Event()
        folder = ctx.state_dir / "webhooks"
        self.courier = Courier(DeliveryLog(folder), self.stopping)
        self.watcher = Watcher(ctx, self.courier, folder)
        self._threads: list[threading.Thread] = []
        self._synced: float | None = None  # the last catch-up that worked (Unix time)
        self._sync_error: str | None = None  # what the last one said, if it failed

    def sync_status(self) -> dict[str, object]:
        """For ``/readyz``: how often, when it last worked, and what fails now."""
        return {
            "every": self.ctx.settings.sync,
            "last": serialize.iso_time(int(self._synced)) if self._synced else None,
            "error": self._sync_error,
        }

    def start(self) -> None:
        """Start the threads; with no state folder to write to (a read-only
        repository), the server serves and syncs, and says webhooks are off."""
        if self.ctx.settings.sync:
            self._spawn("replica", self._sync)
        from .web.routes import keep_warm

        self._spawn("pages", lambda: keep_warm(self.ctx, self.stopping))
        try:
            self.watcher.start()
            self.courier.log.compact()  # what finished long ago is forgotten
            unfinished = self.courier.log.unfinished()
        except OSError as exc:
            log.error("webhooks are off: cannot keep their state in %s: %s",
                      self.ctx.state_dir, exc)  # fmt: skip
            return
        for delivery in unfinished:
            self.courier.put(delivery)  # queued before the last stop: at least once
        self._spawn("courier", self.courier.run)
        self._spawn("watcher", self._watch)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread; a delivery under way is finished or given up within
        ``timeout`` (what is not delivered is sent at the next start)."""
        self.stopping.set()
        self.courier.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _spawn(self, name: str, target: object) -> None:
        assert callable(target)
        thread = threading.Thread(target=target, name=f"modelreg-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _watch(self) -> None:
        while not self.stopping.wait(POLL):
            try:
                self.watcher.look()
            except Exception:  # git failed, the state folder is full...: next round
                log.exception("noticing new events failed; trying again")

    def _sync(self) -> None:
        """Catch up every ``--sync`` seconds; an outage is logged when it starts and
        when it ends, not at every round."""
        interval = float(self.ctx.settings.sync or 0)
        failing: str | None = None
        while not self.stopping.wait(interval):
            try:
                with self.ctx.write_turn:
                    registry = self.ctx.registry()
                    if not self.ctx.publishes(registry):
                        raise GitError("this repository has no git remote 'origin'")
                    result = self.ctx.catch_up(registry)
            except ModelregError as exc:
                self._sync_error = exc.message
                if exc.message != failing:
                    log.warning("sync from origin failed (retried every %gs): %s",
                                interval, exc.message)  # fmt: skip
                failing = exc.message
                continue
            except Exception as exc:
                log.exception("sync from origin failed (retried every %gs)", interval)
                failing = self._sync_error = f"a bug in modelreg: {type(exc).__name__}"
                continue
            self._synced, self._sync_error = time.time(), None
            self.ctx.metrics.synced(self._synced)
            if failing is not None:
                log.warning("sync from origin works again")
                failing = None
            for note in result.notes:
                log.warning("sync: %s", note)
            if result.tags:
                log.info("sync: %d new event(s) from origin", result.tags)
