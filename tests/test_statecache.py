"""statecache.py: the shared state cache is never a wrong answer.

Every read here is compared with a read that bypasses the cache
(``MODELREG_STATE_CACHE=0``): after tags change behind the cache's back (a
``git tag -a`` by hand, a fetch, a deleted tag, ``git pack-refs``), after the
cache file is corrupted or replaced by a hostile one, and while readers and a
writer run at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.statecache import FORMAT, cache_path, remove
from modelreg.tags import name_to_tag

from .conftest import Clock, Showcase, git


def age_refs(root: Path) -> None:
    """Put every ref folder and ``packed-refs`` a minute in the past, as in a
    registry nobody wrote to lately: the cache then trusts the refs' fingerprint
    alone (a fresh one is racy and is always checked against git's listing)."""
    common = root / ".git"
    past = time.time() - 60
    targets = [common / "packed-refs", *[p for p in (common / "refs").rglob("*") if p.is_dir()]]
    for path in [common / "refs", *targets]:
        if path.exists():
            os.utime(path, (past, past))


def answers(root: Path, monkeypatch: pytest.MonkeyPatch, *, cached: bool) -> object:
    """Everything the reads say about the registry, with or without the cache."""
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1" if cached else "0")
    registry = Registry(root)
    listed = registry.list_models(include_deprecated=True)
    one = Registry(root)
    histories = {m.name: [(h.tag, h.event, h.version) for h in one.history(m.name)] for m in listed}
    resolved = {m.name: Registry(root).show(m.name).version for m in listed if m.latest}
    full = Registry(root).state()
    return (
        list(listed),
        listed.warnings,
        histories,
        resolved,
        {
            n: (m.stages, m.deprecated, [v.version for v in m.versions])
            for n, m in full.models.items()
        },
    )


def same_as_git(root: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    truth = answers(root, monkeypatch, cached=False)
    assert answers(root, monkeypatch, cached=True) == truth
    return truth


def test_a_read_makes_the_cache_in_the_git_dir_and_agrees_with_git(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = showcase.root
    age_refs(root)
    same_as_git(root, monkeypatch)
    path = cache_path(root / ".git")
    assert path.is_file() and path.parent == root / ".git" / "modelreg"
    assert "modelreg" not in git(root, "status", "--porcelain", "--ignored")
    # Fresh by its fingerprint: a second read agrees without listing the tags again.
    same_as_git(root, monkeypatch)


@pytest.mark.parametrize("packed", [False, True])
def test_tags_changed_behind_the_caches_back_are_seen_by_the_next_read(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, clock: Clock, packed: bool
) -> None:
    root = showcase.root
    if packed:
        git(root, "pack-refs", "--all")
    age_refs(root)
    before = same_as_git(root, monkeypatch)

    # A hand-made annotated tag: ranker@v1.0.0 to staging, as GTO would write it.
    commit = git(root, "rev-list", "-n1", "ranker@v1.0.0").strip()
    clock.tick(60)
    git(root, "tag", "-a", "-m", "by hand", "ranker#staging#2", commit)
    after = same_as_git(root, monkeypatch)
    assert after != before
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1")
    [ranker] = [m for m in Registry(root).list_models() if m.name == "ranker"]
    assert ranker.stages == {"dev": "1.0.0", "staging": "1.0.0"}

    # A deleted tag (packed or loose), then every tag packed, then one moved with -f.
    age_refs(root)
    git(root, "tag", "-d", "ranker#staging#2")
    assert same_as_git(root, monkeypatch) == before
    age_refs(root)
    git(root, "pack-refs", "--all", "--prune")
    assert same_as_git(root, monkeypatch) == before
    age_refs(root)
    clock.tick(60)
    git(root, "tag", "-f", "-a", "-m", "moved", "ranker#dev#1", commit + "^")
    same_as_git(root, monkeypatch)


def test_the_quick_look_at_the_refs_sees_tags_in_new_and_old_namespace_folders(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """Once a full look found the folders' link counts right, a read does not list a
    folder whose link count says it has no subfolder: a tag in a namespace folder
    made since, or added to one that was there, is still seen."""
    from modelreg.statecache import stamp_ref_folders

    root = showcase.root
    age_refs(root)
    same_as_git(root, monkeypatch)
    common = str(root / ".git")
    full, _loose, links = stamp_ref_folders(common)
    with sqlite3.connect(cache_path(root / ".git")) as db:
        [(stored,)] = db.execute("SELECT value FROM meta WHERE key = 'links'").fetchall()
    assert stored == ("1" if links else "0")
    if not links:
        pytest.skip("this file system's folder link counts do not count subfolders")
    assert stamp_ref_folders(common, quick=True)[0] == full  # the same stamps, fewer listings

    commit = git(root, "rev-list", "-n1", "ranker@v1.0.0").strip()
    for tag in ("newteam/ranker#dev#1", "team/ranker#dev#1", "team/ranker#staging#2"):
        age_refs(root)
        clock.tick(60)
        before = same_as_git(root, monkeypatch)
        git(root, "tag", "-a", "-m", "by hand", tag, commit)
        assert same_as_git(root, monkeypatch) != before, tag


def test_a_fetch_from_another_clone_is_seen(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, clock: Clock, tmp_path: Path
) -> None:
    root = showcase.root
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(root), str(other))
    age_refs(other)
    before = same_as_git(other, monkeypatch)
    commit = git(root, "rev-list", "-n1", "team/fraud@v0.3.0").strip()
    clock.tick(60)
    git(root, "tag", "-a", "-m", "from the other side", "team/fraud#dev#9", commit)
    git(other, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    after = same_as_git(other, monkeypatch)
    assert after != before


def test_a_write_through_modelreg_is_seen_by_a_registry_opened_before_it(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    root = showcase.root
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1")
    reader = Registry(root)
    assert reader.list_models()  # the cache made
    clock.tick(60)
    Registry(root).deprecate("ranker")
    assert "ranker" not in [m.name for m in reader.list_models()]
    assert "ranker" not in [m.name for m in Registry(root).list_models()]
    same_as_git(root, monkeypatch)


@pytest.mark.parametrize(
    "edit",
    [
        "junk",
        "empty",
        "truncated",
        "UPDATE summaries SET latest = x'ff'",
        "UPDATE summaries SET versions = 'many'",
        "UPDATE summaries SET stages = 'not json'",
        "UPDATE summaries SET stages = '[1, 2]'",
        "UPDATE summaries SET skipped = '{\"a\": 1}'",
        "UPDATE objects SET time = 'soon'",
        "UPDATE objects SET message = x'00ff'",
        "UPDATE meta SET value = 'modelreg-state-cache 999' WHERE key = 'format'",
        "DROP TABLE summaries",
        "CREATE VIEW extra AS SELECT 1",
        "CREATE TRIGGER t AFTER INSERT ON tags BEGIN DELETE FROM objects; END",
    ],
)
def test_a_corrupt_or_hostile_cache_is_rebuilt_never_believed(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    root = showcase.root
    age_refs(root)
    truth = same_as_git(root, monkeypatch)
    path = cache_path(root / ".git")
    if edit == "junk":
        path.write_bytes(b"not a database at all" * 100)
    elif edit == "empty":
        path.write_bytes(b"")
    elif edit == "truncated":
        path.write_bytes(path.read_bytes()[:1500])
    else:
        db = sqlite3.connect(path)
        db.execute(edit)
        db.commit()
        db.close()
    assert answers(root, monkeypatch, cached=True) == truth
    # ...and a good one is back in its place.
    assert answers(root, monkeypatch, cached=True) == truth
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == FORMAT
    db.close()


def test_manifests_kept_for_later_are_answered_meanwhile_and_written_together(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server's registries hand the manifests they read to one keeper: a read
    of the same version before the write is answered from it, and one write
    keeps them all; a cache that cannot be written drops them, never the read."""
    from modelreg.statecache import ManifestKeeper, StateCache

    root = showcase.root
    remove(cache_path(root / ".git"))
    keeper = ManifestKeeper(Registry(root).git)
    keeper.DELAY = 3600  # written when flushed, here

    def reader() -> Registry:
        registry = Registry(root)
        registry.keeper = keeper
        return registry

    shown = [reader().show(ref) for ref in ("team/fraud@v0.1.0", "embedder", "ranker")]
    git, where = Registry(root).git, Registry(root).manifest_path
    specs = [f"{git.resolve(f'{name_to_tag(s.name)}@v{s.version}')}:{where(s.name)}" for s in shown]
    assert all(keeper.pending(spec) is not None for spec in specs)
    cache = StateCache.open(Registry(root).git)
    assert cache is not None and [cache.manifest(spec) for spec in specs] == [None] * 3
    # Answered from the keeper meanwhile: no git read (its git is made to fail).
    again = reader()
    monkeypatch.setattr(again.git, "read_files", lambda specs: pytest.fail("read git"))
    assert again.show("team/fraud@v0.1.0") == shown[0]
    keeper.flush()
    assert [keeper.pending(spec) for spec in specs] == [None] * 3
    assert [cache.manifest(spec) is not None for spec in specs] == [True] * 3
    cache.close()

    path = cache_path(root / ".git")
    remove(path)
    path.mkdir()  # a folder where the file should be: the cache cannot be had
    try:
        assert reader().show("legacy").version == "0.9.0"
        keeper.flush()
        assert keeper._pending == {}
    finally:
        path.rmdir()


def test_a_listing_that_is_not_the_refs_is_corrected_by_the_next_read(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache whose listing lost a tag and whose fingerprint is not the refs' (a
    copied repository, a hand edit): the listing is compared, the model rebuilt."""
    root = showcase.root
    age_refs(root)
    truth = same_as_git(root, monkeypatch)
    db = sqlite3.connect(cache_path(root / ".git"))
    db.execute("UPDATE meta SET value = '[]' WHERE key = 'fingerprint'")
    db.execute("DELETE FROM tags WHERE name = 'ranker#dev#1'")
    db.commit()
    db.close()
    assert answers(root, monkeypatch, cached=True) == truth


def test_an_unwritable_cache_falls_back_to_reading_git(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = showcase.root
    folder = root / ".git" / "modelreg"
    folder.mkdir(exist_ok=True)
    cache_path(root / ".git").unlink(missing_ok=True)
    cache_path(root / ".git").mkdir()  # a folder where the file should be: cannot be made
    try:
        truth = answers(root, monkeypatch, cached=False)
        assert answers(root, monkeypatch, cached=True) == truth
    finally:
        cache_path(root / ".git").rmdir()


def test_concurrent_readers_and_a_writer_never_see_a_wrong_answer(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readers in threads, each through its own Registry (as the server's requests
    are), while tags are added one by one: every answer a reader gets after tag N
    exists holds tag N."""
    root = showcase.root
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1")
    commit = git(root, "rev-list", "-n1", "ranker@v1.0.0").strip()
    written = [0]
    wrong: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            at_least = written[0]
            registry = Registry(root)
            events = [h.tag for h in registry.history("ranker")]
            have = sum(1 for t in events if t.startswith("ranker#qa"))
            if have < at_least:
                wrong.append(f"history: {have} < {at_least}")
            listed = {m.name: m for m in Registry(root).list_models()}
            if at_least and "qa" not in listed["ranker"].stages:
                wrong.append("list: no qa")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for n in range(1, 9):
            git(root, "tag", "-a", "-m", "qa", f"ranker#qa#{n}", commit)
            written[0] = n
            time.sleep(0.05)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert wrong == []
    same_as_git(root, monkeypatch)


def test_processes_making_the_cache_at_once_all_answer_right(showcase: Showcase) -> None:
    root = showcase.root
    cache_path(root / ".git").unlink(missing_ok=True)
    env = {**os.environ, "MODELREG_STATE_CACHE": "1"}
    command = [sys.executable, "-m", "modelreg", "-C", str(root), "list", "--json", "--all"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    documents = [json.loads(out) for out, _err in outs]
    truth = json.loads(
        subprocess.run(
            command, env={**env, "MODELREG_STATE_CACHE": "0"}, capture_output=True, check=True
        ).stdout
    )
    assert all(d == truth for d in documents)


def test_whether_any_model_declares_dependencies_follows_head(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """promote's question, answered from the cache's index of the models folder:
    right after every commit that adds, edits or removes a declaration, a commit
    of many files, and a cache that was dropped."""
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1")
    root = registry.root

    def commit(path: str, text: str | None) -> None:
        clock.tick()
        target = root / "models" / path
        if text is None:
            git(root, "rm", "-q", str(target))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            git(root, "add", str(target))
        git(root, "commit", "-q", "-m", f"edit {path}")

    def answer() -> bool:
        by_grep = (
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(root),
                    "grep",
                    "-q",
                    "-F",
                    "dependencies:",
                    "HEAD",
                    "--",
                    "models",
                ],
                check=False,
            ).returncode
            == 0
        )
        found = Registry(root)._declares_dependencies()
        assert found == by_grep
        return found

    assert answer() is False
    commit("a/modelreg.yaml", "name: a\n")
    assert answer() is False
    commit("b/modelreg.yaml", "name: b\ndependencies:\n  - a@^1\n")
    assert answer() is True
    commit("b/modelreg.yaml", "name: b\n")
    assert answer() is False
    commit("c/modelreg.yaml", "dependencies: []\n")
    assert answer() is True
    commit("c/modelreg.yaml", None)
    assert answer() is False
    for i in range(210):
        (root / "models" / f"m{i}").mkdir(parents=True)
        (root / "models" / f"m{i}" / "modelreg.yaml").write_text(f"name: m{i}\n")
    (root / "models" / "m7" / "modelreg.yaml").write_text("dependencies:\n")
    git(root, "add", "models")
    clock.tick()
    git(root, "commit", "-q", "-m", "many")
    assert answer() is True
    cache_path(root / ".git").unlink()
    assert answer() is True


def test_one_models_read_refreshes_the_cache_only_where_loose_refs_make_it_worth_it(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """Few loose refs: a stale cache is left alone and git is asked for the model's
    tags. Many (git reads each for any pattern query): the cache is brought up to
    date, and the next read of one model needs no git listing at all."""
    from modelreg import statecache
    from modelreg.statecache import StateCache

    root = showcase.root
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1")
    age_refs(root)
    Registry(root).list_models()
    commit = git(root, "rev-list", "-n1", "ranker@v1.0.0").strip()
    clock.tick(60)
    git(root, "tag", "-a", "-m", "by hand", "ranker#staging#2", commit)
    age_refs(root)

    def fresh() -> bool:
        cache = StateCache.open(Registry(root).git)
        assert cache is not None
        try:
            return cache.is_fresh()
        finally:
            cache.close()

    registry = Registry(root)
    assert registry.show("ranker#staging").version == "1.0.0"
    assert not fresh()
    monkeypatch.setattr(statecache, "LOOSE_REFS", 5)
    assert Registry(root).show("ranker#staging").version == "1.0.0"
    assert fresh()
    same_as_git(root, monkeypatch)
