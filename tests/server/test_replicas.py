"""Two servers on two clones of one bare remote (``--sync``), with one DVC remote
folder: each serves what the other and a CLI elsewhere published, and writes on
both at once lose no event."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ..conftest import Cli, FileMaker, git
from .conftest import Server

T = TypeVar("T")
FORCED = {"force": True, "message": "a test"}


def eventually(probe: Callable[[], T], seconds: float = 60) -> T:
    """``probe()``'s first true answer (no assertion on time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{probe} never answered")


def holder(server: Server, stage: str) -> str | None:
    answer = server.get(f"/v2/models/m%23{stage}/resolve")
    version: str | None = answer.json()["version"] if answer.status_code == 200 else None
    return version


def history_tags(server: Server) -> list[str]:
    return [e["tag"] for e in server.get("/v2/models/m/history").json()["events"]]


@dataclass
class Replicas:
    bare: Path
    a: Path
    b: Path
    server_a: Server
    server_b: Server


@pytest.fixture
def replicas(pushed: Path, tmp_path: Path, serve: Callable[..., Server]) -> Replicas:
    """m v0.1.0 and v0.2.0 in a bare remote; two clones, each served with --sync."""
    a, b = tmp_path / "a", tmp_path / "b"
    for clone in (a, b):
        git(tmp_path, "clone", "-q", str(pushed), str(clone))
    return Replicas(pushed, a, b, serve(a, "--sync", "0.2"), serve(b, "--sync", "0.2"))


def test_a_write_through_one_replica_is_served_by_the_other(replicas: Replicas) -> None:
    answer = replicas.server_a.post(
        "/v2/models/m@v0.1.0/promote", json={"stage": "production", "message": "go"}
    )
    assert answer.status_code == 200, answer.text
    event = answer.json()
    assert event["pushed"] is True
    assert git(replicas.bare, "tag", "-l", event["tag"]).strip() == event["tag"]
    eventually(lambda: holder(replicas.server_b, "production") == "0.1.0")
    # the fetched tags are served as soon as git has them; the round is noted just after
    sync = eventually(lambda: (s := replicas.server_b.get("/readyz").json()["sync"])["last"] and s)
    assert sync["every"] == 0.2 and sync["error"] is None
    assert event["tag"] in history_tags(replicas.server_b)


def test_a_cli_push_elsewhere_is_picked_up_and_written_on(
    replicas: Replicas, tmp_path: Path, cli: Cli, files: FileMaker
) -> None:
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(replicas.bare), str(elsewhere))
    cli.ok("-C", elsewhere, "register", "m", files("model.pkl", b"third\n"), "--push")
    shown = eventually(
        lambda: (r := replicas.server_b.get("/v2/models/m@v0.3.0")).status_code == 200 and r.json()
    )
    assert shown["version"] == "0.3.0"
    # the replica's branch was fast-forwarded too (a registration commits on it)
    remote_head = git(replicas.bare, "rev-parse", "main").strip()
    eventually(lambda: git(replicas.b, "rev-parse", "HEAD").strip() == remote_head)
    # ... so a write through it, and a CLI registering beside it, go on top
    answer = replicas.server_b.post("/v2/models/m@v0.3.0/promote", json={"stage": "dev"})
    assert answer.status_code == 200, answer.text
    cli.ok("-C", replicas.b, "register", "m", files("model.pkl", b"fourth\n"), "--push")
    eventually(lambda: holder(replicas.server_a, "dev") == "0.3.0")
    eventually(lambda: replicas.server_a.get("/v2/models/m@v0.4.0").status_code == 200)


def test_a_replica_registers_again_after_others_registered_the_same_model(
    replicas: Replicas, tmp_path: Path, cli: Cli, files: FileMaker
) -> None:
    """B's work tree holds the bytes of the version it registered; once a newer
    one arrives by --sync, they are another version's: set aside (still cached),
    so B's next registration does not take them for unregistered changes."""
    cli.ok("-C", replicas.b, "register", "m", files("model.pkl", b"by b\n"), "--push")
    cli.ok("-C", replicas.a, "pull")
    cli.ok("-C", replicas.a, "register", "m", files("model.pkl", b"by a\n"), "--push")
    eventually(lambda: replicas.server_b.get("/v2/models/m@v0.4.0").status_code == 200)
    remote_head = git(replicas.bare, "rev-parse", "main").strip()
    eventually(lambda: git(replicas.b, "rev-parse", "HEAD").strip() == remote_head)
    # (set aside right after the fast-forward, in the same round)
    eventually(lambda: not (replicas.b / "models" / "m" / "model.pkl").exists(), 10)
    done = cli.ok("-C", replicas.b, "register", "m", files("model.pkl", b"b again\n"), "--push")
    assert "0.5.0" in done.stdout
    cli.ok("-C", replicas.b, "checkout", "m@v0.3.0")  # its bytes were kept
    assert (replicas.b / "models" / "m" / "model.pkl").read_bytes() == b"by b\n"


def test_racing_writes_on_both_replicas_lose_no_event(replicas: Replicas) -> None:
    rounds = 3
    answers: dict[str, list[Any]] = {"dev": [], "staging": []}

    def writer(server: Server, stage: str) -> None:
        for i in range(rounds):
            version = ("0.1.0", "0.2.0")[i % 2]
            answer = server.post(f"/v2/models/m@v{version}/promote", json=FORCED | {"stage": stage})
            answers[stage].append((answer.status_code, answer.json()))

    threads = [
        threading.Thread(target=writer, args=(replicas.server_a, "dev")),
        threading.Thread(target=writer, args=(replicas.server_b, "staging")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tags = []
    for found in answers.values():
        assert [status for status, _ in found] == [200] * rounds, found
        assert all(event["pushed"] and event["changed"] for _, event in found)
        tags += [event["tag"] for _, event in found]
    assert len(set(tags)) == 2 * rounds
    published = set(git(replicas.bare, "tag", "-l", "m#*").split())
    assert set(tags) <= published
    for server in (replicas.server_a, replicas.server_b):
        eventually(lambda s=server: set(tags) <= set(history_tags(s)))  # type: ignore[misc]
    assert history_tags(replicas.server_a) == history_tags(replicas.server_b)
    assert holder(replicas.server_a, "dev") == holder(replicas.server_b, "dev") == "0.1.0"
    assert holder(replicas.server_a, "staging") == "0.1.0"


def test_racing_registrations_on_both_replicas_lose_no_event(replicas: Replicas) -> None:
    """Registrations commit on the branch: the loser of a race catches up and
    registers again on top (the next version), instead of failing."""
    pytest.importorskip("modelreg.server.uploads", reason="needs the upload endpoints")
    rounds = 3
    answers: dict[str, list[tuple[int, Any]]] = {"a": [], "b": []}

    def writer(key: str, server: Server) -> None:
        for i in range(rounds):
            uploaded = server.post(
                "/v2/models/upload", data=f"{key} {i}\n".encode(), params={"filename": "m.pkl"}
            )
            assert uploaded.status_code == 200, uploaded.text
            answer = server.post(
                "/v2/models/register",
                json={"metadata": {"name": "m"}, "file_digest": uploaded.json()["digest"]},
            )
            answers[key].append((answer.status_code, answer.json()))

    threads = [
        threading.Thread(target=writer, args=("a", replicas.server_a)),
        threading.Thread(target=writer, args=("b", replicas.server_b)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = [found["version"] for key in answers for status, found in answers[key]
                if status == 201]  # fmt: skip
    assert len(versions) == 2 * rounds, answers
    published = set(git(replicas.bare, "tag", "-l", "m@v*").split())
    assert {f"m@v{v}" for v in versions} <= published
    assert len(published) == 2 + 2 * rounds


def test_a_replica_whose_remote_is_gone_keeps_serving(replicas: Replicas, tmp_path: Path) -> None:
    replicas.bare.rename(tmp_path / "moved.git")
    eventually(lambda: "sync from origin failed" in replicas.server_a.output())
    assert replicas.server_a.get("/v2/models").status_code == 200
    ready = replicas.server_a.get("/readyz")
    assert ready.status_code == 200  # reads are served, from what it has
    assert "does not appear to be a git repository" in ready.json()["sync"]["error"]
    answer = replicas.server_a.post("/v2/models/m@v0.1.0/promote", json={"stage": "dev"})
    assert answer.status_code == 503  # unavailable: published or not made
    assert "git fetch from origin failed" in answer.json()["error"]["message"]
    assert git(replicas.a, "tag", "-l", "m#dev#*") == ""
    # the outage is logged once, not at every round
    assert replicas.server_a.output().count("sync from origin failed") == 1
