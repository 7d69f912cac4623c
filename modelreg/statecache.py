"""The state cache: what was read from tags, kept beside git's own data and shared
by every command and the server.

Reading a registry's state means listing every tag and reading every tag
object; at 10,000 models that is most of ``list``'s time. This cache keeps, in
one SQLite file under the git common dir (``<common>/modelreg/state-cache.db``,
never the work tree):

* ``tags``: the last listing of ``refs/tags`` (name -> object id), each name's
  model (parsed once);
* ``objects``: each tag object read, by object id. A tag object never changes, so
  a record is valid for as long as some tag points at it;
* ``summaries``: per model, what ``list`` prints (latest version, stages, count,
  deprecated), rebuilt only for the models whose tags changed;
* ``declares``: the files of the models folder (at the tree last looked at)
  that declare dependencies, so ``promote`` knows whether any model does
  without grepping every manifest: only the files changed since are read.

**Never a wrong answer.** Before the cache is believed, the refs' fingerprint is
compared: git writes every ref by renaming ``NAME.lock`` over ``NAME`` and
rewrites ``packed-refs`` (or ``reftable/tables.list``) the same way, so any
change to any tag — by modelreg, GTO, a ``git fetch``, a hand-made ``git tag``,
a deletion, ``git pack-refs`` — changes the stat of a folder under ``refs/`` or
of ``packed-refs`` (a few ``stat`` calls, no git process). A fingerprint whose
newest time is too close to the moment it was taken is *racy* (a second change
in the same clock tick would not show, as git's own index has it) and is never
trusted alone. When the fingerprint differs, the full listing (one
``git for-each-ref``) is compared with the stored one and only what changed is
read and rebuilt. The fingerprint is always taken before the listing it is
stored with, so a change that lands between them shows as a difference next
time.

**Untrusted input.** The file is anyone's to break: a schema that is not exactly
ours, a format version we did not write, a value of the wrong type, or any
SQLite error makes :class:`Unusable`, and the caller deletes the file and
reads git again (``Registry`` falls back to reading tags directly when even a
fresh cache cannot be made: a read-only repository, a full disk).
What a well-formed cache says is believed while its listing is the refs': it
holds nothing more trusted than ``.git`` itself (whoever can write it can write
the refs), and a summary is a function of the listing alone (tag objects are
named by their content), so a cache copied with its repository stays right.
``trusted_schema`` is off, so a crafted file cannot run functions through views
or triggers. Writes are transactions; a first build is written to a temporary
file and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .gitrepo import TagRecord, is_object_id
from .records import Record
from .state import ModelState, build_model
from .tags import EventKind, in_grammar, name_to_tag, parse_tag_name

if TYPE_CHECKING:
    from .gitrepo import GitRepo

FORMAT = "modelreg-state-cache 3"
FILE = "state-cache.db"
# A fingerprint taken within this long of its newest stamp may miss a second change
# made in the same tick of the file system's clock (1-2 s on some file systems).
RACY_NS = 2_500_000_000

_SCHEMA = {
    "meta": "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "tags": (
        "CREATE TABLE tags (name TEXT PRIMARY KEY, oid TEXT NOT NULL, model TEXT, "
        "unreadable INTEGER NOT NULL)"
    ),
    "tags_model": "CREATE INDEX tags_model ON tags (model)",
    # The few unreadable tags, found without scanning every tag (a read of one model
    # asks for them: ~3,000 pages at 120,000 tags).
    "tags_unreadable": "CREATE INDEX tags_unreadable ON tags (name) WHERE unreadable = 1",
    "objects": (
        "CREATE TABLE objects (oid TEXT PRIMARY KEY, annotated INTEGER NOT NULL, "
        "target TEXT NOT NULL, tagger TEXT NOT NULL, email TEXT NOT NULL, "
        "time INTEGER NOT NULL, message TEXT NOT NULL)"
    ),
    "summaries": (
        "CREATE TABLE summaries (model TEXT PRIMARY KEY, latest TEXT, stages TEXT NOT NULL, "
        "versions INTEGER NOT NULL, deprecated INTEGER NOT NULL, skipped TEXT NOT NULL)"
    ),
    "declares": "CREATE TABLE declares (path TEXT PRIMARY KEY)",
    "manifests": (
        "CREATE TABLE manifests (id INTEGER PRIMARY KEY, spec TEXT NOT NULL UNIQUE, "
        "sha256 TEXT NOT NULL, body TEXT NOT NULL)"
    ),
    "config": "CREATE TABLE config (data BLOB PRIMARY KEY, body TEXT NOT NULL)",
}
# The manifests read lately that are kept (as JSON): the oldest go first.
MANIFESTS_KEPT = 20_000
DECLARES = "dependencies:"
# More changed files than this since the last look: grep the whole tree instead.
_MOST_PATHS = 200

# This many loose refs and more: a read of one model refreshes the whole cache.
LOOSE_REFS = 1000

Stamp = tuple[str, int, int, int]


class Unusable(Exception):
    """The cache file cannot be believed (broken, foreign, hostile): rebuild it."""


# What a read of the cache may raise that means "drop it and read git".
CACHE_ERRORS = (Unusable, sqlite3.Error)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Summary(Record):
    """What ``list`` prints of one model."""

    name: str
    latest: str | None
    stages: dict[str, str]
    versions: int  # registered and active
    deprecated: bool
    skipped: tuple[str, ...]  # its tags that are lightweight (not events)


def cache_path(common_dir: Path) -> Path:
    return common_dir / "modelreg" / FILE


def _stamp(path: str) -> Stamp | None:
    try:
        return _stamp_of(path, os.stat(path))
    except OSError:
        return None


def _stamp_of(path: str, st: os.stat_result) -> Stamp:
    return (path, st.st_mtime_ns, st.st_ino, st.st_size)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Fingerprint(Record):
    """The stat of ``packed-refs``, of every folder under ``refs/`` and of the
    reftable (if any); the newest modification time among them; how many loose
    refs there are (each one a file git reads for any pattern query); and whether
    this file system's folder link counts can be trusted (see
    :func:`stamp_ref_folders`; None: not checked, by a quick look)."""

    stamps: str
    newest: int
    loose: int
    taken: int  # when (time.time_ns() just before the first stat)
    links: bool | None = None


def refs_fingerprint(common_dir: Path, *, quick: bool = False) -> Fingerprint:
    """The refs' fingerprint; ``quick``: without listing the folders whose link
    count says they have no subfolder (then ``loose`` is not counted)."""
    taken = time.time_ns()
    base = str(common_dir)
    stamps = stamp_files(base, ("packed-refs", "reftable", os.path.join("reftable", "tables.list")))
    folders, loose, links = stamp_ref_folders(base, quick=quick)
    stamps += folders
    stamps.sort()
    newest = max((s[1] for s in stamps), default=0)
    return Fingerprint(json.dumps(stamps), newest, loose, taken, None if quick else links)


def stamp_files(base: str, names: Iterable[str]) -> list[Stamp]:
    """The stamps of those of ``names`` (under ``base``) that exist."""
    return [found for name in names if (found := _stamp(os.path.join(base, name))) is not None]


def stamp_ref_folders(base: str, *, quick: bool = False) -> tuple[list[Stamp], int, bool]:
    """The stamp of every folder under ``base``/refs (git renames a ref into its
    folder to write it, so a folder's stamp moves with any ref in it), how many
    loose refs they hold, and whether every folder listed had a link count of 2
    plus its subfolders (as ext4, XFS and tmpfs keep them; btrfs says 1).

    With ``quick``, a folder with a link count of 2 is not listed: it has no
    subfolder to stamp, and its own stamp covers the refs in it. 12,000 loose
    tags in one folder then cost one ``stat`` instead of a listing (~10 ms); the
    caller asks for it only where a full look found the link counts right.
    ``loose`` then counts the refs of the folders listed only."""
    stamps: list[Stamp] = []
    loose = 0
    links = True
    pending = [os.path.join(base, "refs")]
    while pending:
        folder = pending.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        stamps.append(_stamp_of(folder, st))
        if quick and st.st_nlink == 2:
            continue
        subfolders = 0
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                        subfolders += 1
                    else:
                        loose += 1
        except OSError:
            continue
        links = links and st.st_nlink == 2 + subfolders
    return stamps, loose, links


def summarize(model: ModelState, skipped: Sequence[str] = ()) -> Summary:
    latest = model.latest
    return Summary(
        name=model.name,
        latest=latest.version if latest else None,
        stages=dict(model.stages),
        versions=sum(1 for v in model.versions if v.registered and v.active),
        deprecated=model.deprecated,
        skipped=tuple(skipped),
    )


class StateCache:
    """One open cache file of one repository. Not shared between threads: each
    ``Registry`` (one per request in the server) opens its own."""

    def __init__(self, git: GitRepo, db: sqlite3.Connection) -> None:
        self.git = git
        self.db = db

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, git: GitRepo) -> StateCache | None:
        """The repository's cache, made when missing and remade when unusable;
        None when it cannot be had at all (read-only repository, locked too long)."""
        path = cache_path(git.common_dir)
        for _attempt in range(2):
            try:
                if not path.exists():
                    _create(path)
                return cls(git, _connect(path))
            except (Unusable, sqlite3.Error, OSError) as exc:
                if busy(exc):
                    return None
                remove(path)
        return None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    # ------------------------------------------------------------------ freshness

    def is_fresh(self) -> bool:
        """The stored listing is the refs' listing, by the fingerprint alone (no git
        process). False when unsure: the caller then compares or reads git."""
        return self._meta("fingerprint") == self.fingerprint().stamps

    def fingerprint(self) -> Fingerprint:
        """The refs' fingerprint, by a quick look where an earlier full look found
        this file system's folder link counts right."""
        links = self._meta("links")
        found = refs_fingerprint(self.git.common_dir, quick=links == "1")
        if links is None and found.links is not None:  # a cache made before it was noted
            with contextlib.suppress(sqlite3.Error):
                self._set_meta("links", "1" if found.links else "0")
        return found

    def ready(self, *, one_model: bool = False) -> bool:
        """Bring the cache in line with the refs (see :meth:`refresh`) and say True;
        or, for a read of one model, say False when the cache is not fresh by its
        fingerprint and git's pattern query for that model's tags is cheaper than
        the full listing (so unless many loose refs, which git reads one file each
        for a pattern query as for the full listing, cost the same either way)."""
        found = self.fingerprint()
        if self._meta("fingerprint") == found.stamps:
            return True
        if found.links is None:  # a quick look: count the loose refs
            found = refs_fingerprint(self.git.common_dir)
        if one_model and found.loose < LOOSE_REFS:
            return False
        self.refresh(found)
        return True

    def refresh(self, found: Fingerprint | None = None) -> None:
        """Bring the cache in line with the refs: compare the fingerprint, then
        (when it differs) the full listing; read and rebuild only what changed."""
        found = found or refs_fingerprint(self.git.common_dir)
        if self._meta("fingerprint") == found.stamps:
            return
        # Racy: a change in the same tick as the newest stamp would not show.
        trusted = found.stamps if found.newest < found.taken - RACY_NS else ""
        listing = self.git.tag_refs(None)
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self._sync(listing)
            self._set_meta("fingerprint", trusted)
            if found.links is not None:
                self._set_meta("links", "1" if found.links else "0")
            self.db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    def _sync(self, listing: list[tuple[str, str]]) -> None:
        stored: dict[str, str] = {}
        for name, oid in self.db.execute("SELECT name, oid FROM tags"):
            stored[_text(name)] = _text(oid)
        current = dict(listing)
        gone = [name for name in stored if name not in current]
        changed = [(n, oid) for n, oid in current.items() if stored.get(n) != oid]
        if not gone and not changed:
            return
        models: set[str] = set()
        rows = []
        for name in gone:
            parsed = parse_tag_name(name)
            if parsed is not None:
                models.add(parsed.name)
        self.db.executemany("DELETE FROM tags WHERE name = ?", ((n,) for n in gone))
        for name, oid in changed:
            parsed = parse_tag_name(name)
            if parsed is not None:
                models.add(parsed.name)
            rows.append(
                (
                    name,
                    oid,
                    parsed.name if parsed else None,
                    int(parsed is None and in_grammar(name)),
                )
            )
        self.db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", rows)
        wanted = [(n, oid) for n, oid, model, _u in rows if model is not None]
        self.db.executemany(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    r.object_sha,
                    int(r.annotated),
                    r.target,
                    r.tagger_name,
                    r.tagger_email,
                    r.timestamp,
                    r.message,
                )
                for r in self.git.tag_records(wanted)
            ),
        )
        if gone or any(name in stored for name, _oid in changed):
            self.db.execute("DELETE FROM objects WHERE oid NOT IN (SELECT oid FROM tags)")
        for model in sorted(models):
            self._summarize(model)

    def _summarize(self, name: str) -> None:
        records = list(self._records_of([name]))
        built = build_model(name, (r for _m, r in records))
        if built is None:
            self.db.execute("DELETE FROM summaries WHERE model = ?", (name,))
            return
        skipped = [r.name for _m, r in records if not r.annotated]
        summary = summarize(built, skipped)
        self.db.execute(
            "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                summary.latest,
                json.dumps(summary.stages),
                summary.versions,
                int(summary.deprecated),
                json.dumps(list(summary.skipped)),
            ),
        )

    # ------------------------------------------------------------------ reading

    def summaries(self) -> tuple[list[Summary], list[str]]:
        """Every model's summary, by name, and the unreadable event-shaped tags."""
        out = []
        for name, latest, stages, versions, deprecated, skipped in self.db.execute(
            "SELECT model, latest, stages, versions, deprecated, skipped FROM summaries "
            "ORDER BY model"
        ):
            out.append(
                Summary(
                    name=_text(name),
                    latest=None if latest is None else _text(latest),
                    stages=_str_dict(stages),
                    versions=_int(versions),
                    deprecated=bool(_int(deprecated)),
                    skipped=tuple(_str_list(skipped)),
                )
            )
        return out, self.unreadable(None)

    def unreadable(self, names: Sequence[str] | None) -> list[str]:
        """Tags shaped like events that cannot be read as one (of ``names`` only:
        those their tag patterns would list)."""
        found = [
            _text(n)
            for (n,) in self.db.execute("SELECT name FROM tags WHERE unreadable = 1 ORDER BY name")
        ]
        if names is None:
            return found
        prefixes = tuple(f"{name_to_tag(n)}{c}" for n in names for c in "@#")
        return [tag for tag in found if tag.startswith(prefixes)]

    def records(self, names: Sequence[str] | None) -> list[TagRecord]:
        """The tag records of ``names`` (every model's: None), in tag-name order."""
        return [r for _m, r in self._records_of(names)]

    def known_records(self, refs: Sequence[tuple[str, str]]) -> list[TagRecord]:
        """Records of the tags ``(name, object id)`` whose objects are stored (by
        object id: right whether or not the listing is fresh)."""
        found: dict[str, tuple[bool, str, str, str, int, str]] = {}
        oids = sorted({oid for _name, oid in refs})
        for start in range(0, len(oids), 500):
            chunk = oids[start : start + 500]
            for oid, annotated, target, tagger, email, when, message in self.db.execute(
                "SELECT oid, annotated, target, tagger, email, time, message FROM objects "
                f"WHERE oid IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                found[_text(oid)] = (
                    bool(_int(annotated)),
                    _text(target),
                    _text(tagger),
                    _text(email),
                    _int(when),
                    _text(message),
                )
        out = []
        for name, oid in refs:
            if oid in found:
                annotated, target, tagger, email, when, message = found[oid]
                out.append(TagRecord(name, annotated, oid, target, tagger, email, when, message))
        return out

    def _records_of(self, names: Sequence[str] | None) -> Iterator[tuple[str, TagRecord]]:
        query = (
            f"SELECT t.model, {_RECORD} FROM tags t JOIN objects o ON o.oid = t.oid "
            "WHERE t.model IS NOT NULL"
        )
        chunks: Iterable[tuple[str, ...]] = [()]
        if names is not None:
            unique = sorted(set(names))
            chunks = [tuple(unique[i : i + 500]) for i in range(0, len(unique), 500)]
        for chunk in chunks:
            sql = query
            if names is not None:
                sql += f" AND t.model IN ({', '.join('?' * len(chunk))})"
            for row in self.db.execute(sql + " ORDER BY t.name", chunk):
                yield _text(row[0]), _record(row[1:])

    def newest(self, names: Sequence[str] | None) -> dict[str, list[TagRecord]]:
        """Per model (of ``names``; every model's: None), the records of its annotated
        tags at its newest tagger time and of every tag of it at the commits those
        point at: enough for :func:`.state.build_model` to tell the model's last
        event (events of one second are ordered among themselves alone; an
        assignment's version is the registration at its commit) without reading
        the rest of its history. The home page's "last event" column."""
        out: dict[str, list[TagRecord]] = {}
        for where, chunk in _model_chunks(names):
            sql = (
                "WITH newest AS (SELECT t.model AS model, max(o.time) AS time FROM tags t "
                "JOIN objects o ON o.oid = t.oid WHERE t.model IS NOT NULL AND o.annotated = 1"
                f"{where} GROUP BY t.model), "
                "top AS (SELECT DISTINCT t.model AS model, o.target AS target FROM tags t "
                "JOIN objects o ON o.oid = t.oid JOIN newest n ON n.model = t.model "
                "AND n.time = o.time WHERE o.annotated = 1) "
                f"SELECT t.model, {_RECORD} FROM tags t JOIN objects o ON o.oid = t.oid "
                "JOIN top p ON p.model = t.model AND p.target = o.target ORDER BY t.name"
            )
            for row in self.db.execute(sql, chunk):
                out.setdefault(_text(row[0]), []).append(_record(row[1:]))
        return out

    def registrations(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """The commits the registration tags of each ``(model, version)`` point at
        (``NAME@vVERSION``, with or without a counter; annotated only), so a
        version's manifest can be read without building its model's state. More
        than one commit, or none, and the caller builds the state."""
        out: dict[tuple[str, str], list[str]] = {}
        pairs = sorted(set(wanted))
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            values = ", ".join("(?, ?, ?)" for _ in chunk)
            args = [x for m, v in chunk for x in (m, v, f"{name_to_tag(m)}@v{v}")]
            sql = (
                f"WITH wanted(model, version, tag) AS (VALUES {values}) "
                "SELECT w.model, w.version, t.name, o.target FROM wanted w "
                "JOIN tags t ON t.model = w.model JOIN objects o ON o.oid = t.oid "
                "WHERE o.annotated = 1 AND (t.name = w.tag "
                "OR substr(t.name, 1, length(w.tag) + 1) = w.tag || '#')"
            )
            for model, version, name, target in self.db.execute(sql, args):
                parsed = parse_tag_name(_text(name))
                if parsed is None or parsed.kind is not EventKind.REGISTER:
                    continue  # a deregistration (``!#``) or not ours
                if str(parsed.version) == version:
                    out.setdefault((_text(model), _text(version)), []).append(_text(target))
        return out

    # ------------------------------------------------------------------ dependencies

    def declares_dependencies(self, tree: str) -> bool:
        """Whether a file of the models folder's ``tree`` holds ``dependencies:``:
        from the files that did at the tree last seen, and a grep of only the files
        changed since (the whole tree the first time)."""
        seen = self._meta("declares-tree") or ""
        if seen == tree:
            return self.db.execute("SELECT 1 FROM declares LIMIT 1").fetchone() is not None
        found = {_text(p) for (p,) in self.db.execute("SELECT path FROM declares")}
        changed = self.git.changed_between(seen, tree) if is_object_id(seen) else None
        if changed is None or len(changed) > _MOST_PATHS:
            found = set(self.git.files_containing(DECLARES, tree))
        elif changed:
            found.difference_update(changed)
            found.update(self.git.files_containing(DECLARES, tree, changed))
        try:
            self.db.execute("BEGIN IMMEDIATE")
            if (self._meta("declares-tree") or "") == seen:  # nobody moved it meanwhile
                self.db.execute("DELETE FROM declares")
                self.db.executemany("INSERT INTO declares VALUES (?)", ((p,) for p in found))
                self._set_meta("declares-tree", tree)
            self.db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        return bool(found)

    def declaring(self, tree: str) -> set[str]:
        """The files of the models folder's ``tree`` that hold ``dependencies:``
        (paths relative to it), the index brought up to date as
        :meth:`declares_dependencies` does: the models ``dependents`` need read."""
        self.declares_dependencies(tree)
        if (self._meta("declares-tree") or "") != tree:  # another process moved it on
            return set(self.git.files_containing(DECLARES, tree))
        return {_text(p) for (p,) in self.db.execute("SELECT path FROM declares")}

    # ------------------------------------------------------------------ meta

    # ------------------------------------------------------------------ manifests

    def manifest(self, spec: str) -> tuple[str, str] | None:
        """What was kept for the manifest at ``COMMIT:PATH``: the sha256 of its bytes
        and its fields as JSON (a file at a commit never changes)."""
        row = self.db.execute(
            "SELECT sha256, body FROM manifests WHERE spec = ?", (spec,)
        ).fetchone()
        return None if row is None else (_text(row[0]), _text(row[1]))

    def keep_manifest(self, spec: str, sha256: str, body: str) -> None:
        self.keep_manifests([(spec, sha256, body)])

    def keep_manifests(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Keep each ``(COMMIT:PATH, sha256, fields as JSON)``, in one write."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            last = None
            for row in rows:
                last = self.db.execute(
                    "INSERT OR REPLACE INTO manifests (spec, sha256, body) VALUES (?, ?, ?)", row
                ).lastrowid
            if last is not None and last > MANIFESTS_KEPT:
                self.db.execute("DELETE FROM manifests WHERE id <= ?", (last - MANIFESTS_KEPT,))
            self.db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ the config

    def config(self, data: bytes) -> str | None:
        """The YAML document ``data`` (``.modelreg.yaml``'s bytes) as JSON, if it is
        the config last read here (a cache that fails is a cache that misses)."""
        try:
            row = self.db.execute("SELECT body FROM config WHERE data = ?", (data,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else _text(row[0])

    def keep_config(self, data: bytes, body: str) -> None:
        """Keep ``body`` as the config ``data`` parsed (the only one kept); a cache
        that cannot be written is left as it was."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("DELETE FROM config")
                self.db.execute("INSERT INTO config VALUES (?, ?)", (data, body))
                self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                raise

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else _text(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


# ---------------------------------------------------------------------- the file


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        found = {
            (_text(name), _text(sql))
            for name, sql in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%'"
            )
        }
        if found != set(_SCHEMA.items()):
            raise Unusable("not this version's schema")
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != FORMAT:
            raise Unusable("another format")
    except BaseException:
        db.close()
        raise
    return db


def _create(path: Path) -> None:
    """A new empty cache, put in place whole (a reader never sees half a schema)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    remove(temporary)
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            db.execute("BEGIN")
            for sql in _SCHEMA.values():
                db.execute(sql)
            db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            db.execute("INSERT INTO meta VALUES ('fingerprint', '')")
            db.execute("COMMIT")
        finally:
            db.close()
        if not path.exists():  # another process made one meanwhile: keep theirs
            os.replace(temporary, path)
    finally:
        remove(temporary)


def remove(path: Path) -> None:
    """The cache file and what SQLite keeps beside it."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


def busy(error: Exception) -> bool:
    """SQLite's "locked" or "busy": another process holds the file, nothing is wrong."""
    return isinstance(error, sqlite3.OperationalError) and any(
        word in str(error) for word in ("locked", "busy")
    )


_RECORD = "t.name, o.oid, o.annotated, o.target, o.tagger, o.email, o.time, o.message"


def _record(row: Sequence[object]) -> TagRecord:
    """A :class:`TagRecord` from the columns of :data:`_RECORD`."""
    name, oid, annotated, target, tagger, email, when, message = row
    return TagRecord(
        _text(name),
        bool(_int(annotated)),
        _text(oid),
        _text(target),
        _text(tagger),
        _text(email),
        _int(when),
        _text(message),
    )


def _model_chunks(names: Sequence[str] | None) -> list[tuple[str, tuple[str, ...]]]:
    """``(" AND t.model IN (?, ...)", names)`` for at most 500 names at a time; one
    unfiltered query for every model (None)."""
    if names is None:
        return [("", ())]
    unique = sorted(set(names))
    out = []
    for start in range(0, len(unique), 500):
        chunk = tuple(unique[start : start + 500])
        out.append((f" AND t.model IN ({', '.join('?' * len(chunk))})", chunk))
    return out


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise Unusable("a text field holds something else")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unusable("a number field holds something else")
    return value


def _str_dict(value: object) -> dict[str, str]:
    try:
        loaded = json.loads(_text(value))
    except ValueError:
        raise Unusable("a stages field is not JSON") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise Unusable("a stages field is not a map of names")
    return loaded


def _str_list(value: object) -> list[str]:
    try:
        loaded = json.loads(_text(value))
    except ValueError:
        raise Unusable("a skipped field is not JSON") from None
    if not isinstance(loaded, list) or not all(isinstance(v, str) for v in loaded):
        raise Unusable("a skipped field is not a list of names")
    return loaded


class ManifestKeeper:
    """Manifests a long-lived process read, written to the state cache together.

    A server's requests each reading a version for the first time would each
    commit a write of their own, and every reader of the cache (every request)
    waits out each commit: with 16 clients, requests queued behind one another
    for most of a second. Kept here, the manifests are written at most every
    :attr:`DELAY` seconds, in one write, and answered from memory meanwhile
    (:meth:`pending`). What is not written yet when the process stops is read
    from git again next time: a cache, nothing more."""

    DELAY = 0.5

    def __init__(self, git: GitRepo) -> None:
        self._git = git
        self._pending: dict[str, tuple[str, str]] = {}
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None

    def keep(self, spec: str, sha256: str, body: str) -> None:
        with self._guard:
            self._pending[spec] = (sha256, body)
            if self._timer is None:
                self._timer = threading.Timer(self.DELAY, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def pending(self, spec: str) -> tuple[str, str] | None:
        """What is waiting to be written for ``spec``: (sha256, fields as JSON)."""
        with self._guard:
            return self._pending.get(spec)

    def flush(self) -> None:
        """Write what is waiting (a cache that cannot be had or written drops it)."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
            rows = [(spec, *kept) for spec, kept in self._pending.items()]
            self._timer = None
        if not rows:
            return
        try:
            cache = StateCache.open(self._git)
            if cache is not None:
                try:
                    cache.keep_manifests(rows)
                finally:
                    cache.close()
        except (*CACHE_ERRORS, OSError):
            pass
        finally:
            with self._guard:
                for spec, *_kept in rows:
                    self._pending.pop(spec, None)
