"""The server reads through the state cache the CLI keeps: after a CLI write or a
hand-made tag, ``GET /v2/models`` is ``list --json`` again, and only the changed
model's summary was rebuilt."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from modelreg.statecache import cache_path

from ..conftest import Cli, Showcase, git
from .conftest import Server


def summaries(showcase: Showcase) -> dict[str, int]:
    """Each model's summary row id (a rebuilt summary gets a new one)."""
    db = sqlite3.connect(cache_path(showcase.root / ".git"))
    try:
        return {name: rowid for rowid, name in db.execute("SELECT rowid, model FROM summaries")}
    finally:
        db.close()


def test_a_change_beside_the_server_rebuilds_only_its_model(
    showcase: Showcase, serve: Callable[..., Server], cli: Cli
) -> None:
    server = serve(showcase.root)
    assert server.get("/v2/models").text == cli.ok("-C", showcase.root, "list", "--json").stdout
    before = summaries(showcase)

    cli.ok("-C", showcase.root, "promote", "ranker@v1.0.0", "--to", "staging", "--force", "-m", "x")
    listed = server.get("/v2/models")
    assert listed.status_code == 200
    ranker = next(m for m in listed.json()["models"] if m["name"] == "ranker")
    assert ranker["stages"]["staging"] == "1.0.0"
    assert listed.text == cli.ok("-C", showcase.root, "list", "--json").stdout
    after = summaries(showcase)
    assert {n for n in before if after[n] != before[n]} == {"ranker"}

    commit = git(showcase.root, "rev-list", "-n1", "embedder@v1.0.0").strip()
    git(showcase.root, "tag", "-a", "-m", "by hand", "embedder#staging#9", commit)
    listed = server.get("/v2/models")
    assert listed.text == cli.ok("-C", showcase.root, "list", "--json").stdout
    again = summaries(showcase)
    assert {n for n in after if again[n] != after[n]} == {"embedder"}
