"""A journaled transaction over the work tree, HEAD and the DVC cache.

A write (register, checkout) records what it is about to do in a journal in the
git directory *before* doing it, and each step can be taken back by looking at
the files as they are. So a failure rolls everything back, and after a crash
(even ``kill -9`` at any moment) ``modelreg doctor --repair`` reads the journal
and either finishes the work (the tag exists: the event happened) or takes it
all back. The same rollback code serves both.

The journal never holds model bytes: files being replaced are moved aside into
a backup folder next to them (same filesystem), and the registry's small text
files (manifest, ``.dvc``, ``.gitignore``) are snapshotted into the journal.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from .errors import REPAIR, ModelregError, PendingWorkError
from .gitrepo import GitRepo
from .paths import inside, write_replacing

JOURNAL_DIR = "modelreg"
BACKUP_PREFIX = ".modelreg-txn-"


@dataclass
class _Record:
    op: str
    pid: int
    root: str
    description: str
    tag: str | None = None  # the tag whose creation is the commit point
    snapshots: dict[str, str | None] = field(default_factory=dict)  # path -> b64 or None
    moved: list[tuple[str, str]] = field(default_factory=list)  # (original, backup)
    placed: list[str] = field(default_factory=list)  # files this transaction creates
    relinked: list[tuple[str, int]] = field(default_factory=list)  # in-place files, mode
    new_objects: list[str] = field(default_factory=list)  # cache objects it may create
    backups: list[str] = field(default_factory=list)  # backup folders
    head: tuple[str | None, str] | None = None  # (old, new) once HEAD is to move
    created_tag: tuple[str, str] | None = None  # (name, tag object) until published
    sync_paths: list[str] = field(default_factory=list)  # index entries to refresh at the end
    committed: bool = False


@dataclass(frozen=True)
class Recovery:
    """What ``doctor --repair`` did (or would do) with an interrupted transaction."""

    journal: str
    description: str
    action: str  # "rolled back" or "completed"


class Transaction:
    """One journaled change. Use ``with Transaction.begin(...) as txn:``; an exception
    inside rolls everything back unless :meth:`commit_point` was reached."""

    def __init__(self, journal: Path, record: _Record) -> None:
        self.journal = journal
        self.record = record
        self.root = Path(record.root)

    @classmethod
    @contextmanager
    def begin(cls, git_dir: Path, root: Path, op: str, description: str) -> Iterator[Transaction]:
        refuse_pending(git_dir)
        folder = git_dir / JOURNAL_DIR
        folder.mkdir(exist_ok=True)
        journal = folder / f"journal-{op}-{uuid.uuid4().hex[:8]}.json"
        txn = cls(journal, _Record(op, os.getpid(), str(root), description))
        txn._save()
        try:
            yield txn
        except BaseException as exc:
            if txn.record.committed:
                txn.finish()
                raise
            problems = txn.rollback()
            if problems and isinstance(exc, ModelregError):
                exc.message += f" (undoing it also failed: {problems[0]}; {REPAIR.text})"
                exc.with_remedy(REPAIR)
                exc.args = (exc.message,)
            raise
        else:
            txn.finish()

    # --- journaling -------------------------------------------------------------

    def _save(self) -> None:
        write_replacing(self.journal, json.dumps(asdict(self.record)).encode("utf-8"))

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def snapshot(self, paths: Sequence[Path]) -> None:
        """Remember small files (or their absence) to restore them on rollback."""
        for path in paths:
            rel = self._rel(path)
            if rel in self.record.snapshots:
                continue
            try:
                data = path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                self.record.snapshots[rel] = None
            else:
                self.record.snapshots[rel] = base64.b64encode(data).decode()
        self._save()

    def move_aside(self, path: Path) -> Path:
        """Move a file into a backup folder next to it; rollback moves it back."""
        backup = path.parent / f"{BACKUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}"
        saved = backup / path.name
        self.record.backups.append(self._rel(backup))
        self.record.moved.append((self._rel(path), self._rel(saved)))
        self._save()
        backup.mkdir()
        os.replace(path, saved)
        return saved

    def will_place(self, path: Path) -> None:
        """A file this transaction is about to create (removed on rollback)."""
        self.record.placed.append(self._rel(path))
        self._save()

    def will_relink(self, paths: Sequence[Path]) -> None:
        """In-place files DVC may turn into links to its cache: on rollback they
        become plain files again, with their old permissions."""
        for path in paths:
            mode = stat.S_IMODE(path.stat().st_mode)
            self.record.relinked.append((self._rel(path), mode))
        self._save()

    def will_create_objects(self, paths: Sequence[Path]) -> None:
        self.record.new_objects.extend(str(p) for p in paths if not p.exists())
        self._save()

    def will_move_head(self, old: str | None, new: str) -> None:
        self.record.head = (old, new)
        self._save()

    def will_tag(self, tag: str) -> None:
        self.record.tag = tag
        self._save()

    def tag_created(self, name: str, object_sha: str) -> None:
        """The tag exists but the event is not complete yet (it still has to be
        pushed): a rollback takes this unpublished tag back."""
        self.record.created_tag = (name, object_sha)
        self._save()

    def will_sync(self, paths: Sequence[str]) -> None:
        self.record.sync_paths = list(paths)
        self._save()

    def commit_point(self) -> None:
        """The event happened (its tag exists): from here on, finish, never undo."""
        self.record.committed = True
        self._save()

    # --- ending -----------------------------------------------------------------

    def finish(self) -> None:
        """Drop the backups and the journal (the bytes moved aside are in the cache)."""
        for backup in self.record.backups:
            with suppress(ModelregError):  # a journal's path outside: left alone
                folder = _at(self.root, backup)
                if folder.name.startswith(BACKUP_PREFIX) and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)
        self.journal.unlink(missing_ok=True)

    def rollback(self) -> list[str]:
        """Take every step back, judging by the files as they are now. Returns the
        steps that could not be taken back (empty when all went well)."""
        r = self.record
        problems: list[str] = []

        def attempt(what: str, step: Callable[[], object]) -> None:
            try:
                step()
            except Exception as exc:  # keep going: undo as much as possible
                problems.append(f"{what}: {exc}")

        if r.created_tag is not None:
            name, sha = r.created_tag
            attempt(f"taking back tag {name}", partial(_untag, self.root, name, sha))
        if r.head is not None:
            old, new = r.head
            attempt("moving HEAD back", partial(_reset_head, self.root, old, new))
        root = self.root
        # Every path below comes from the journal: each goes through paths.inside
        # (strictly inside the work tree, no symlink on the way), or is left alone.
        for rel, mode in r.relinked:
            attempt(f"restoring {rel}", partial(_unlink_from_cache, root, rel, mode))
        if r.new_objects:
            from .storage import remove_cache_object  # DVC's side: only an undo needs it

            for obj in r.new_objects:
                attempt(f"removing cache object {obj}", partial(remove_cache_object, Path(obj)))
        for rel in reversed(r.placed):
            attempt(f"removing {rel}", partial(_remove_placed, root, rel))
        for original, saved in reversed(r.moved):
            attempt(f"restoring {original}", partial(_move_back, root, original, saved))
        for rel, data in r.snapshots.items():
            attempt(f"restoring {rel}", partial(_restore_snapshot, root, rel, data))
        for backup in r.backups:
            with suppress(OSError, ModelregError):
                _at(root, backup).rmdir()
        for rel in list(r.snapshots) + r.placed:
            with suppress(ModelregError):
                _remove_empty_parents(_at(root, rel), self.root)
        if not problems:
            self.journal.unlink(missing_ok=True)
        return problems


def pending(git_dir: Path) -> list[Path]:
    folder = git_dir / JOURNAL_DIR
    return sorted(folder.glob("journal-*.json")) if folder.is_dir() else []


def refuse_pending(git_dir: Path) -> None:
    """Refuse to start a write on top of work an interrupted command left behind."""
    stale = pending(git_dir)
    if stale:
        raise PendingWorkError(
            f"an earlier modelreg command was interrupted ({stale[0].name})",
            hint=f"{REPAIR.text} to finish or undo it",
            remedy=REPAIR,
        )


def recover(journal: Path, tag_exists: Callable[[str], bool], repair: bool) -> Recovery:
    """Finish (the tag exists) or roll back (it does not) an interrupted transaction."""
    raw = json.loads(journal.read_text(encoding="utf-8"))
    raw["moved"] = [tuple(m) for m in raw.get("moved", [])]
    raw["relinked"] = [tuple(m) for m in raw.get("relinked", [])]
    raw["head"] = tuple(raw["head"]) if raw.get("head") else None
    raw["created_tag"] = tuple(raw["created_tag"]) if raw.get("created_tag") else None
    record = _Record(**raw)
    txn = Transaction(journal, record)
    done = record.committed or (record.tag is not None and tag_exists(record.tag))
    action = "completed" if done else "rolled back"
    if repair:
        if done:
            if record.sync_paths:
                GitRepo.discover(txn.root).sync_index(record.sync_paths)
            txn.finish()
        else:
            problems = txn.rollback()
            if problems:
                raise PendingWorkError(f"could not undo {record.description}: {problems[0]}")
    return Recovery(journal.name, record.description, action)


# --- idempotent steps: each looks at the files before acting ---------------------------


def _at(root: Path, rel: str) -> Path:
    """A journal's path, refused unless strictly inside the work tree (a symlink at
    the name itself is a file the journal moved or placed: it is replaced or
    unlinked, never followed)."""
    return inside(root, rel, "journal entry", final_link=True)


def _reset_head(root: Path, old: str | None, new: str) -> None:
    GitRepo.discover(root).reset_head_if(old, new)


def _untag(root: Path, name: str, sha: str) -> None:
    git = GitRepo.discover(root)
    if git.tag_object(name) == sha:
        git.delete_unpublished_tag(name, sha)


def _unlink_from_cache(root: Path, rel: str, mode: int) -> None:
    path = _at(root, rel)
    if path.is_symlink() or (path.exists() and path.stat().st_nlink > 1):
        staged = path.with_name(f".{path.name}.modelreg-restore")
        staged.unlink(missing_ok=True)  # never write through a name found there
        shutil.copyfile(path, staged)  # a symlink's target: copyfile follows it
        os.replace(staged, path)
    if path.exists():
        path.chmod(mode)


def _remove_placed(root: Path, rel: str) -> None:
    path = _at(root, rel)
    path.unlink(missing_ok=True)


def _move_back(root: Path, original_rel: str, saved_rel: str) -> None:
    original, saved = _at(root, original_rel), _at(root, saved_rel)
    if saved.exists():
        original.parent.mkdir(parents=True, exist_ok=True)
        os.replace(saved, original)


def _restore_snapshot(root: Path, rel: str, data: str | None) -> None:
    path = _at(root, rel)
    if data is None:
        with suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()
        return
    content = base64.b64decode(data)
    if path.exists() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_replacing(path, content)


def _remove_empty_parents(path: Path, stop: Path) -> None:
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
