"""The work tree and the index: what changed, and commits that never sweep a
user's work in (a private index, HEAD moved by compare-and-swap)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import GitError, RaceLostError
from ..records import Record
from .runner import ZERO_SHA, GitBase, _short, is_object_id


@dataclass(frozen=True, eq=False, repr=False)
class Identity(Record):
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class WorktreeOps(GitBase):
    """Reading the work tree and index; committing exactly the paths asked for."""

    def recent_commits(self, limit: int) -> list[tuple[str, str]]:
        """(id, subject) of the last ``limit`` commits on HEAD's first-parent line."""
        if self.head() is None:
            return []
        out = self.run("log", "--first-parent", f"-{limit}", "--format=%H %s")
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]  # type: ignore[misc]

    def current_branch(self) -> str | None:
        status, out, _ = self.try_run("symbolic-ref", "--quiet", "--short", "HEAD")
        return out.strip() if status == 0 else None

    def identity(self) -> Identity:
        """Who git says is committing (``user.name``/``user.email``, or GIT_* env),
        or :attr:`acting_as` when set."""
        if self.acting_as is not None:
            return self.acting_as
        name = os.environ.get("GIT_COMMITTER_NAME") or self.config_value("user.name")
        email = os.environ.get("GIT_COMMITTER_EMAIL") or self.config_value("user.email")
        if not name:
            raise GitError(
                "git does not know who you are",
                hint="set it with: git config user.name 'Your Name' && "
                "git config user.email you@example.com",
            )
        return Identity(name, email or "")

    def changed_paths(self, paths: Sequence[str]) -> list[str]:
        """Tracked paths under ``paths`` whose index or work tree differs from HEAD."""
        if not paths:
            return []
        out = self.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *paths, strip=False
        )
        return _porcelain_paths(out)

    def untracked_paths(self, paths: Sequence[str]) -> list[str]:
        out = self.run(
            "ls-files", "-z", "--others", "--exclude-standard", "--", *paths, strip=False
        )
        return [p for p in out.split("\0") if p]

    def index_entries(self, path: str) -> list[tuple[str, str]]:
        """(mode, path) of every index entry at or under ``path``: ``120000`` is a
        symlink."""
        return [(mode, name) for mode, _oid, _stage, name in self._index_listing([path])]

    def tracked_files(self, rev: str | None, path: str) -> list[str]:
        """Files tracked under ``path`` at ``rev`` (None: in the index)."""
        if rev is None:
            return list(dict.fromkeys(name for *_, name in self._index_listing([path])))
        return list(self._tree_listing(rev, [path]))

    def list_index(self, paths: Sequence[str]) -> None:
        """Read the index entries under ``paths`` in one ``git ls-files`` for the
        questions that follow about any of them: each read of a big registry's
        index costs ~10 ms (30,000 entries), and a registration asks three."""
        self._index_listing(paths)

    def _index_listing(self, paths: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(mode, object id, stage, path) of the index entries at or under ``paths``.
        The last listing is kept with the index file's identity (inode, size and
        times: git replaces the file on every write), and answers again while the
        file is the same and covers the paths asked."""
        stamp = self._index_stamp()
        kept = self._listed
        covered = kept is not None and all(any(_under(p, s) for s in kept[1]) for p in paths)
        if stamp is not None and kept is not None and kept[0] == stamp and covered:
            return [e for e in kept[2] if any(_under(e[3], p) for p in paths)]
        out = self.run("ls-files", "-s", "-z", "--", *paths, strip=False)
        entries = []
        for record in out.split("\0"):
            meta, _tab, name = record.partition("\t")
            fields = meta.split(" ")
            if name and len(fields) == 3:
                entries.append((fields[0], fields[1], fields[2], name))
        if stamp is not None:
            self._listed = (stamp, tuple(paths), entries)
        return entries

    def _index_stamp(self) -> tuple[int, ...] | None:
        if "GIT_INDEX_FILE" in os.environ:
            return None
        try:
            st = os.stat(self.git_dir / "index")
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def list_tree(self, rev: str, paths: Sequence[str]) -> None:
        """Read the files at or under ``paths`` at ``rev`` in one ``git ls-tree`` for
        the questions that follow about any of them (see :meth:`list_index`)."""
        self._tree_listing(rev, paths)

    def _tree_listing(self, rev: str, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
        """path -> (mode, object id) of the files at or under ``paths`` at ``rev``;
        the last answer is kept when ``rev`` is an object id (it never changes) and
        answers again for the paths it covers."""
        kept = self._tree_listed
        (kept_rev, specs), listing = kept if kept is not None else (("", ()), {})
        if kept_rev == rev and all(any(_under(p, spec) for spec in specs) for p in paths):
            return {n: e for n, e in listing.items() if any(_under(n, p) for p in paths)}
        out = self.run("ls-tree", "-r", "-z", rev, "--", *paths, strip=False)
        found = {}
        for entry in out.split("\0"):
            meta, _tab, name = entry.partition("\t")
            fields = meta.split(" ")
            if name and len(fields) == 3:
                found[name] = (fields[0], fields[2])
        if is_object_id(rev):
            self._tree_listed = ((rev, tuple(paths)), found)
        return found

    def worktree_matches(self, rev: str, paths: Sequence[str]) -> bool:
        """True when each path's work-tree content equals its blob at ``rev`` (a path
        absent from both counts as equal). Index and untracked state do not matter."""
        if not paths:
            return True
        at_rev = {name: oid for name, (_mode, oid) in self._tree_listing(rev, paths).items()}
        present = [p for p in paths if (self.root / p).is_file()]
        if set(present) != set(at_rev):
            return False
        if not present:
            return True
        hashed = self.run(
            "hash-object", "--stdin-paths", stdin="".join(p + "\n" for p in present).encode()
        ).split()
        return all(at_rev[p] == sha for p, sha in zip(present, hashed, strict=True))

    def index_differs(self, rev: str, paths: Sequence[str]) -> bool:
        """True when the index holds staged changes under ``paths`` relative to
        ``rev`` (what ``git diff --cached --quiet`` answers, from the listings)."""
        staged = self._index_listing(paths)
        if any(stage != "0" for _mode, _oid, stage, _name in staged):
            return True  # a conflict
        in_index = {name: (mode, oid) for mode, oid, _stage, name in staged}
        return in_index != self._tree_listing(rev, paths)

    def any_file_contains(self, text: str, rev: str, path: str) -> bool:
        """Whether a file under ``path`` at ``rev`` holds ``text`` (one ``git grep``,
        a fixed string; False when ``rev`` or ``path`` does not exist)."""
        status, _out, _err = self.try_run("grep", "-q", "-F", text, rev, "--", path)
        return status == 0

    def tree_id(self, rev: str, path: str) -> str | None:
        """The id of the tree at ``rev:path`` (None: no such rev or folder)."""
        status, out, _err = self.try_run("ls-tree", "-z", rev, "--", path)
        for entry in out.split("\0") if status == 0 else ():
            meta, _tab, name = entry.partition("\t")
            parts = meta.split(" ")
            if name == path.rstrip("/") and len(parts) == 3 and parts[1] == "tree":
                return parts[2]
        return None

    def files_containing(self, text: str, tree: str, paths: Sequence[str] = ()) -> list[str]:
        """Files in ``tree`` (of those ``paths`` only, when given) holding ``text``, a
        fixed string: one ``git grep -l``; paths relative to the tree."""
        args = ["grep", "-l", "-z", "-F", text, tree]
        if paths:
            args += ["--", *paths]
        status, out, err = self.try_run(*args)
        if status not in (0, 1):
            raise GitError(f"git grep failed: {_short(err)}")
        prefix = f"{tree}:"
        return [p[len(prefix) :] if p.startswith(prefix) else p for p in out.split("\0") if p]

    def changed_between(self, old_tree: str, new_tree: str) -> list[str] | None:
        """Files that differ between two trees (None: one of them is unknown here)."""
        status, out, _err = self.try_run(
            "diff-tree", "-r", "-z", "--no-renames", "--name-only", old_tree, new_tree
        )
        if status != 0:
            return None
        return [p for p in out.split("\0") if p]

    # --- writing -----------------------------------------------------------

    def _index_path(self) -> Path:
        return Path(self.run("rev-parse", "--path-format=absolute", "--git-path", "index"))

    def saved_index(self) -> bytes | None:
        """The user's index file as it is (None: there is none), for :meth:`restore_index`."""
        index = self._index_path()
        return index.read_bytes() if index.exists() else None

    def restore_index(self, saved: bytes | None) -> None:
        """Put the user's index back byte for byte (a tool run in the repository, like
        ``dvc init``, may have staged files in it)."""
        index = self._index_path()
        if saved is None:
            index.unlink(missing_ok=True)
            return
        staged = index.with_name(f"{index.name}.modelreg-{os.getpid()}")
        staged.write_bytes(saved)
        os.replace(staged, index)

    @contextmanager
    def _private_index(self, base: str | None) -> Iterator[dict[str, str]]:
        import tempfile  # here: reads, which import this module, never commit

        fd, name = tempfile.mkstemp(prefix="modelreg-index-", dir=self.git_dir)
        os.close(fd)
        os.unlink(name)
        env = {"GIT_INDEX_FILE": name}
        try:
            if base is not None:
                self.run("read-tree", base, env=env)
            yield env
        finally:
            for leftover in (name, name + ".lock"):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def commit_paths(self, paths: Sequence[str], message: str, *, parent: str | None) -> str:
        """Commit the work-tree state of exactly ``paths`` on top of ``parent``.

        Paths missing from the work tree are removed from the commit. Returns the
        new commit; HEAD, the user's index and other files are not touched.
        """
        base = self.run("rev-parse", "--verify", f"{parent}^{{tree}}") if parent else None
        blobs = self._blobs(paths) if base is not None else None
        if base is not None and blobs is not None:
            tree = self._edited_tree(base, blobs)
        else:
            with self._private_index(parent) as env:
                self.run(
                    "update-index", "--add", "--remove", "-z", "--stdin", env=env,
                    stdin=_nul(paths),
                )  # fmt: skip
                tree = self.run("write-tree", env=env)
        args = ["commit-tree", tree, "-m", message]
        if parent is not None:
            args[2:2] = ["-p", parent]
        commit = self.run(*args)
        # What the commit holds at these paths, for sync_index (None: not known).
        self._made = (commit, blobs) if blobs is not None else None
        return commit

    def _blobs(self, paths: Sequence[str]) -> dict[str, str | None] | None:
        """Each of ``paths`` as the blob ``git add`` would stage (written and hashed
        by ``git hash-object``, so the repository's filters apply), None for a
        missing path (a removal). None in all when a path is anything but a plain
        file or missing (a link, a folder, an executable) or has a name git would
        quote: ``update-index`` then reads the work tree itself."""
        found: dict[str, str | None] = {}
        for path in paths:
            if any(c in path for c in '\n\t"\\') or not path.isprintable():
                return None  # a name git would quote
            if any(part in ("", ".", "..") for part in path.split("/")):
                return None
            try:
                st = os.lstat(self.root / path)
            except FileNotFoundError:
                found[path] = None
                continue
            except OSError:
                return None
            if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o111:
                return None
            found[path] = ""
        existing = [path for path, blob in found.items() if blob is not None]
        if existing:
            stdin = _joined(existing, b"\n")
            written = self.run("hash-object", "-w", "--stdin-paths", stdin=stdin).split()
            found.update(zip(existing, written, strict=True))
        return found

    def _edited_tree(self, base: str, blobs: dict[str, str | None]) -> str:
        """The tree ``base`` with ``blobs`` applied (a blob id, or None to remove),
        made by rewriting only the trees on their paths: the folders are read in
        one ``cat-file --batch`` and each new tree written by ``hash-object``."""
        from .trees import apply, changes_in, folders_of, parse_tree, serialize_tree, splice

        size = len(base) // 2
        folders = folders_of(blobs)
        names = [(folder, f"{base}:{folder}" if folder else base) for folder in folders]
        read = {folder: data for folder, kind, data in self._cat_file(names) if kind == "tree"}
        files = {p: bytes.fromhex(b) if b is not None else None for p, b in blobs.items()}
        if "" not in read:
            raise GitError(f"the tree {base} cannot be read")
        made: dict[str, bytes | None] = {}  # folder -> its new tree (None: now empty)
        for folder in folders:  # deepest first: a folder's subfolders are made before it
            data = read.get(folder)
            changes = changes_in(folder, files, made)
            body = splice(data, size, changes) if data is not None else None
            if body is None:  # a new entry: the whole tree, sorted again
                try:
                    entries = parse_tree(data, size) if data is not None else {}
                except ValueError:
                    raise GitError(f"the tree {base}:{folder} cannot be read") from None
                body = serialize_tree(apply(entries, changes))
            if body == data:
                continue  # unchanged: its parent keeps its id
            if not body and folder:
                made[folder] = None
                continue
            written = self.run("hash-object", "-w", "-t", "tree", "--stdin", stdin=body)
            made[folder] = bytes.fromhex(written)
        root = made.get("")
        return root.hex() if root is not None else base

    def advance_head(self, new: str, old: str | None, reason: str) -> None:
        """Move HEAD (and its branch) from ``old`` to ``new``, failing if it moved meanwhile."""
        status, _, err = self.try_run("update-ref", "-m", reason, "HEAD", new, old or ZERO_SHA)
        if status != 0:
            raise RaceLostError(
                f"HEAD moved while modelreg was working ({_short(err)})",
                hint="another process committed at the same time; run the command again",
            )

    def reset_head_if(self, old: str | None, new: str) -> None:
        """Move HEAD back to ``old`` if it is still at ``new`` (a rollback step)."""
        if self.head() == new:
            self.reset_head(old, new)

    def reset_head(self, old: str | None, new: str) -> None:
        """Undo :meth:`advance_head`: HEAD back to ``old`` (or unborn), if still at ``new``."""
        if old is None:
            self.run("update-ref", "-d", "HEAD", new)
        else:
            self.advance_head(old, new, "modelreg: undo")

    def sync_index(self, paths: Sequence[str]) -> None:
        """Make the user's index match HEAD for exactly ``paths``. Where HEAD is the
        commit :meth:`commit_paths` just made of these paths, its entries are known
        and written as they are (``update-index --index-info``); else ``git reset``
        reads them from HEAD. Neither refreshes the stat data of every other entry
        (~40 ms at 30,000 files; ``git status`` refreshes what it needs): ``reset``
        is told so where git knows ``--no-refresh`` (2.36 and later)."""
        made = self._made
        if made is not None and set(paths) <= made[1].keys() and self.head() == made[0]:
            zero = "0" * len(made[0])
            lines = [
                f"100644 {blob}\t{path}\n" if blob is not None else f"0 {zero}\t{path}\n"
                for path, blob in ((p, made[1][p]) for p in paths)
            ]
            stdin = "".join(lines).encode("utf-8", "surrogateescape")
            if self.try_run("update-index", "--index-info", stdin=stdin)[0] == 0:
                return
        for refresh in (("--no-refresh",), ()):
            status, _out, _err = self.try_run(
                "reset", "--quiet", *refresh, "HEAD", "--pathspec-from-file=-",
                "--pathspec-file-nul", stdin=_nul(paths),
            )  # fmt: skip
            if status == 0:
                return

    def restore_worktree(self, rev: str, paths: Sequence[str]) -> None:
        """Write ``paths`` as they are at ``rev`` into the work tree (index untouched)."""
        if paths:
            self.run(
                "restore", f"--source={rev}", "--worktree", "--pathspec-from-file=-",
                "--pathspec-file-nul", stdin=_nul(paths),
            )  # fmt: skip


def _porcelain_paths(out: str) -> list[str]:
    paths = []
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        if len(entry) > 3:
            paths.append(entry[3:])
            if entry[0] in "RC":
                i += 1  # the rename's source follows
        i += 1
    return paths


def _under(path: str, spec: str) -> bool:
    """Whether a literal pathspec matches ``path``: itself, or a folder above it."""
    return path == spec or path.startswith(spec.rstrip("/") + "/")


def _nul(paths: Sequence[str]) -> bytes:
    return _joined(paths, b"\0")


def _joined(paths: Sequence[str], end: bytes) -> bytes:
    return b"".join(p.encode("utf-8", "surrogateescape") + end for p in paths)
