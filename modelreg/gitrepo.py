"""The only module that touches git: the ``git`` command, run as a subprocess.

No git library is imported (GitPython alone took a third of a read command's
time to import). Reads are built for large registries and spawn a fixed number
of processes whatever the registry's size: tag names and object ids come from
one ``git for-each-ref`` (optionally limited to patterns, so one model's tags
are read without touching the others), and the tag objects themselves, like
file contents at many revisions, through one ``git cat-file --batch``. Reading
tag objects that way is faster than asking ``for-each-ref`` for their fields,
and neither process holds every tag in memory at once.

Writes never sweep a user's work into a commit: :meth:`GitRepo.commit_paths`
builds the commit in a private index (``GIT_INDEX_FILE``), moves HEAD with a
compare-and-swap, and only then updates the user's index for exactly the paths
it committed.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TypeVar

from .errors import GitError, NotARepositoryError, RaceLostError

ZERO_SHA = "0" * 40
# Git's messages in English, whatever the user's locale: errors are parsed.
_LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}
_PIPE_BUFFER = 1 << 16
# The header of a tag object as git writes it: object, type, tag, tagger.
_TAG_HEADER = re.compile(
    rb"object ([0-9a-f]+)\ntype ([a-z]+)\ntag [^\n]*\n"
    rb"tagger ([^<\n]*)<([^>\n]*)> (-?[0-9]+)[^\n]*\n\n"
)
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class TagRecord:
    """One tag as git stores it. ``target`` is the peeled commit."""

    name: str
    annotated: bool
    object_sha: str
    target: str
    tagger_name: str
    tagger_email: str
    timestamp: int
    message: str


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


def _dubious_ownership(stderr: str, where: Path) -> GitError:
    """Git refuses a repository another user owns (``safe.directory``): say so, with
    git's own remedy as the hint, instead of "not a git repository"."""
    found = re.search(r"dubious ownership in repository at '([^\n]*)'", stderr)
    repository = found.group(1) if found else str(where.resolve())
    remedy = next(
        (
            line.strip()
            for line in stderr.splitlines()
            if line.strip().startswith("git config --global --add safe.directory")
        ),
        f"git config --global --add safe.directory {repository}",
    )
    return GitError(
        f"git refuses to work in {repository}: it is owned by another user (dubious ownership)",
        hint=f"if you trust this repository, run: {remedy}",
    )


def _short(stderr: str) -> str:
    lines = [
        line.strip()
        for line in stderr.strip().splitlines()
        if line.strip() and not line.startswith("hint:")
    ]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else "git failed"


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_LOCALE)
    if extra:
        env.update(extra)
    return env


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _git(
    args: Sequence[str],
    cwd: Path | None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_environment({"GIT_LITERAL_PATHSPECS": "1", **(env or {})}),
            input=stdin if stdin is not None else b"",
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError(
            "git is not installed (or not on PATH)", hint="install git, then try again"
        ) from None
    return done.returncode, _decode(done.stdout), _decode(done.stderr)


class GitRepo:
    """A git working tree. Create with :meth:`discover`."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        # Who commits and tags, instead of git's configured user (a server writing
        # for a token's holder). Per instance, never os.environ: threads share that.
        self.acting_as: Identity | None = None

    @classmethod
    def discover(cls, path: Path) -> GitRepo:
        """The work tree containing ``path`` (one ``git rev-parse``)."""
        if not path.exists():
            raise NotARepositoryError(f"{path} does not exist")
        where = path if path.is_dir() else path.parent
        status, out, err = _git(
            ["rev-parse", "--absolute-git-dir", "--git-common-dir", "--show-toplevel"], where
        )
        lines = out.splitlines()
        if status == 0 and len(lines) == 3 and lines[2]:
            common = Path(lines[1])
            common = common if common.is_absolute() else (where / common).resolve()
            return cls(Path(lines[2]), Path(lines[0]), common)
        if "dubious ownership" in err:
            raise _dubious_ownership(err, where)
        status, out, _err = _git(["rev-parse", "--is-bare-repository", "--absolute-git-dir"], where)
        if status == 0 and out.startswith("true"):
            git_dir = out.splitlines()[1] if len(out.splitlines()) > 1 else str(where)
            raise NotARepositoryError(f"{git_dir} is a bare repository; modelreg needs a clone")
        raise NotARepositoryError(
            f"{path.resolve()} is not inside a git repository",
            hint="run 'modelreg init' here, or 'git clone' a registry",
        )

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        status, _out, err = _git(["init", "--quiet", "--", str(path)], None)
        if status != 0:
            raise GitError(f"git init failed: {_short(err)}")
        return cls.discover(path)

    @classmethod
    def init_bare(cls, path: Path) -> GitRepo:
        path.mkdir(parents=True, exist_ok=True)
        status, _out, err = _git(["init", "--quiet", "--bare", "--", str(path)], None)
        if status != 0:
            raise GitError(f"git init failed: {_short(err)}")
        return cls.bare(path)

    @classmethod
    def bare(cls, path: Path) -> GitRepo:
        """A bare repository, for reading (a mirror of a remote registry): git runs
        in it, and ``root`` is the repository itself (there is no work tree)."""
        return cls(path, path, path)

    # --- running git -------------------------------------------------------

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        check: bool = True,
        strip: bool = True,
        stdin: bytes | None = None,
    ) -> str:
        """Run ``git args...`` in the work tree; raise :class:`GitError` on failure.

        Pathspecs are literal (``GIT_LITERAL_PATHSPECS``): a file named ``*.bin``
        means that file. Long path lists go through ``stdin``, never argv.
        ``strip`` removes one trailing newline from the output.
        """
        status, out, err = _git(args, self.root, self._actor(env), stdin)
        if status != 0:
            if not check:
                return ""
            raise GitError(f"git {args[0]} failed: {_short(err)}")
        return out[:-1] if strip and out.endswith("\n") else out

    def try_run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Run git and return (status, stdout, stderr) without raising."""
        status, out, err = _git(args, self.root, self._actor(env))
        return status, out[:-1] if out.endswith("\n") else out, err

    def _actor(self, env: dict[str, str] | None) -> dict[str, str] | None:
        """``env`` with :attr:`acting_as` as author and committer (tagger), if set."""
        who = self.acting_as
        if who is None:
            return env
        names = ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")
        emails = ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")
        return {**dict.fromkeys(names, who.name), **dict.fromkeys(emails, who.email), **(env or {})}

    # --- reading -----------------------------------------------------------

    def tag_refs(self, patterns: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(tag name, object id) of every tag, or of those matching ``patterns``
        (globs relative to ``refs/tags/``, e.g. ``fraud@*``), from one
        ``git for-each-ref``. Patterns let git skip other tags (a binary search
        in packed refs), so one model's tags cost the same in any registry."""
        if patterns is not None and not patterns:
            return []
        selected = ["refs/tags/"] if patterns is None else [f"refs/tags/{p}" for p in patterns]
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", *selected, strip=False)
        refs = []
        for line in out.splitlines():
            oid, _, ref = line.partition(" ")
            if ref.startswith("refs/tags/"):
                refs.append((ref[len("refs/tags/") :], oid))
        return refs

    def tag_records(
        self, refs: Iterable[tuple[str, str]], *, messages: Container[str] | None = None
    ) -> Iterator[TagRecord]:
        """The tags ``(name, object id)``, read through one ``git cat-file --batch``
        and yielded as they arrive (nothing but the records is held).

        Annotated tags of commits and lightweight tags of commits become records;
        tags of trees or blobs are left out; a tag of a tag is peeled to its commit.
        With ``messages``, only the tags named there keep their message.
        """
        nested: list[TagRecord] = []
        people: dict[bytes, tuple[str, str]] = {}  # one str per tagger, not per tag
        for (name, oid), kind, data in self._cat_file((ref, ref[1]) for ref in refs):
            if data is None:
                continue
            if kind == "commit":
                yield TagRecord(name, False, oid, oid, "", "", _commit_time(data), "")
            elif kind == "tag":
                target, target_kind, tagger, email, when, message = _parse_tag(data, people)
                if messages is not None and name not in messages:
                    message = ""
                record = TagRecord(name, True, oid, target, tagger, email, when, message)
                if target_kind == "commit":
                    yield record
                elif target_kind == "tag":
                    nested.append(record)
        if nested:
            peeled = self._peel([record.object_sha for record in nested])
            for record in nested:
                if peeled.get(record.object_sha):
                    yield replace(record, target=peeled[record.object_sha])

    def tags(self, patterns: Sequence[str] | None = None) -> list[TagRecord]:
        """Every tag (or those matching ``patterns``): two git processes in all."""
        return list(self.tag_records(self.tag_refs(patterns)))

    def _peel(self, oids: Sequence[str]) -> dict[str, str]:
        """Tag object id -> the commit it finally points at (absent: not a commit)."""
        answers = self._cat_file(((oid, f"{oid}^{{commit}}") for oid in oids), check_only=True)
        return {oid: data.decode() for oid, kind, data in answers if kind == "commit" and data}

    def read_files(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of ``REV:PATH`` specs through one ``cat-file --batch`` (None if missing)."""
        out: dict[str, bytes | None] = {spec: None for spec in specs}
        asked = [spec for spec in dict.fromkeys(specs) if "\n" not in spec]
        for spec, kind, data in self._cat_file((spec, spec) for spec in asked):
            out[spec] = data if kind == "blob" else None
        return out

    def read_file(self, rev: str, path: str) -> bytes | None:
        return self.read_files([f"{rev}:{path}"])[f"{rev}:{path}"]

    def _cat_file(
        self, requests: Iterable[tuple[K, str]], *, check_only: bool = False
    ) -> Iterator[tuple[K, str, bytes | None]]:
        """For each ``(key, object name)``, in order: (key, object type, contents or
        None when missing), streamed from one ``git cat-file --batch``. With
        ``check_only`` (``--batch-check``) the object id stands in for the contents.

        A thread writes the requests (one buffer, written without holding the GIL)
        while this generator reads the answers, so neither pipe can fill up and
        block the other, whatever the count; no git process starts when there is
        nothing to ask."""
        items = list(requests)
        if not items:
            return
        pending = deque(key for key, _name in items)
        payload = "".join(f"{name}\n" for _key, name in items).encode("utf-8", "surrogateescape")
        del items
        process = subprocess.Popen(
            ["git", "cat-file", "--batch-check" if check_only else "--batch", "--buffer"],
            cwd=self.root,
            env=_environment(None),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=_PIPE_BUFFER,
        )
        assert process.stdin is not None and process.stdout is not None
        writer = threading.Thread(target=_feed, args=(process.stdin, payload), daemon=True)
        writer.start()
        stream = process.stdout
        try:
            while header := stream.readline():
                key = pending.popleft()
                fields = header.split()
                if len(fields) != 3 or not fields[2].isdigit():
                    yield key, "missing", None  # "<name> missing" or "<name> ambiguous"
                elif check_only:
                    yield key, fields[1].decode(), fields[0]
                else:
                    data = stream.read(int(fields[2]) + 1)[:-1]  # contents, then a newline
                    yield key, fields[1].decode(), data
        finally:
            stream.close()
            writer.join()
            process.wait()
        if pending:
            raise GitError("git cat-file stopped before answering every request")

    def head(self) -> str | None:
        """The commit HEAD points at, or None on an unborn branch."""
        status, out, _ = self.try_run("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return out.strip() if status == 0 and out.strip() else None

    def recent_commits(self, limit: int) -> list[tuple[str, str]]:
        """(id, subject) of the last ``limit`` commits on HEAD's first-parent line."""
        if self.head() is None:
            return []
        out = self.run("log", "--first-parent", f"-{limit}", "--format=%H %s")
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]  # type: ignore[misc]

    def current_branch(self) -> str | None:
        status, out, _ = self.try_run("symbolic-ref", "--quiet", "--short", "HEAD")
        return out.strip() if status == 0 else None

    def resolve(self, rev: str) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        return out.strip() if status == 0 and out.strip() else None

    def config_value(self, key: str) -> str | None:
        status, out, _ = self.try_run("config", "--get", key)
        return out.strip() if status == 0 and out.strip() else None

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
        out = self.run("ls-files", "-s", "-z", "--", path, strip=False)
        entries = []
        for record in out.split("\0"):
            meta, _tab, name = record.partition("\t")
            if name:
                entries.append((meta.split(" ", 1)[0], name))
        return entries

    def tracked_files(self, rev: str | None, path: str) -> list[str]:
        """Files tracked under ``path`` at ``rev`` (None: in the index)."""
        if rev is None:
            out = self.run("ls-files", "-z", "--", path, strip=False)
        else:
            out = self.run("ls-tree", "-r", "-z", "--name-only", rev, "--", path, strip=False)
        return [p for p in out.split("\0") if p]

    def worktree_matches(self, rev: str, paths: Sequence[str]) -> bool:
        """True when each path's work-tree content equals its blob at ``rev`` (a path
        absent from both counts as equal). Index and untracked state do not matter."""
        if not paths:
            return True
        listed = self.run("ls-tree", "-z", rev, "--", *paths, strip=False)
        at_rev = {}
        for entry in listed.split("\0"):
            if entry:
                meta, _, name = entry.partition("\t")
                at_rev[name] = meta.split()[2]
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
        """True when the index holds staged changes under ``paths`` relative to ``rev``."""
        status, _, _ = self.try_run("diff", "--cached", "--quiet", rev, "--", *paths)
        return status != 0

    def any_file_contains(self, text: str, rev: str, path: str) -> bool:
        """Whether a file under ``path`` at ``rev`` holds ``text`` (one ``git grep``,
        a fixed string; False when ``rev`` or ``path`` does not exist)."""
        status, _out, _err = self.try_run("grep", "-q", "-F", text, rev, "--", path)
        return status == 0

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
        with self._private_index(parent) as env:
            self.run(
                "update-index", "--add", "--remove", "-z", "--stdin", env=env, stdin=_nul(paths)
            )
            tree = self.run("write-tree", env=env)
        args = ["commit-tree", tree, "-m", message]
        if parent is not None:
            args[2:2] = ["-p", parent]
        return self.run(*args)

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
        """Make the user's index match HEAD for exactly ``paths``."""
        self.run(
            "reset", "--quiet", "HEAD", "--pathspec-from-file=-", "--pathspec-file-nul",
            check=False, stdin=_nul(paths),
        )  # fmt: skip

    def restore_worktree(self, rev: str, paths: Sequence[str]) -> None:
        """Write ``paths`` as they are at ``rev`` into the work tree (index untouched)."""
        if paths:
            self.run(
                "restore", f"--source={rev}", "--worktree", "--pathspec-from-file=-",
                "--pathspec-file-nul", stdin=_nul(paths),
            )  # fmt: skip

    def create_tag(
        self, name: str, target: str, message: str, *, sign: bool = False, after: int | None = None
    ) -> str:
        """Create an annotated tag; :class:`RaceLostError` if the name exists.

        ``after``: the tagger time must be strictly later than this (unix seconds).
        GTO orders a model's events by tagger time alone, in whole seconds, so an
        event stamped in the same second as the one before it (or earlier, on a
        clone whose clock is behind) would read differently there. When git's own
        time (``GIT_COMMITTER_DATE`` or the clock) is not past ``after``, the tag
        is stamped ``after + 1``.
        """
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False) as handle:
            pass  # the message is written inside the try, so a full disk leaves no file
        try:
            Path(handle.name).write_text(message, encoding="utf-8")
            args = ["tag", "-s" if sign else "-a", "--cleanup=verbatim", "-F", handle.name]
            env = self._tagger_date_after(after) if after is not None else None
            status, _, err = self.try_run(*args, "--", name, target, env=env)
        finally:
            os.unlink(handle.name)
        if status != 0:
            if "already exists" in err:
                raise RaceLostError(f"tag {name} already exists")
            raise GitError(f"cannot create tag {name}: {_short(err)}")
        return name

    def _tagger_date_after(self, after: int) -> dict[str, str] | None:
        """The ``GIT_COMMITTER_DATE`` that puts a new tag after ``after``, or None
        when git's own time already does (git parses its date, in any format)."""
        status, out, _ = self.try_run("var", "GIT_COMMITTER_IDENT")
        parts = out.strip().rsplit(" ", 2)
        if status == 0 and len(parts) == 3 and parts[1].lstrip("-").isdigit():
            current, zone = int(parts[1]), parts[2]
        else:
            current, zone = int(time.time()), "+0000"
        if current > after:
            return None
        return {"GIT_COMMITTER_DATE": f"@{after + 1} {zone}"}

    def verify_tag(self, name: str) -> tuple[bool, str]:
        """Check a signed tag with git's own configuration (gpg, or
        ``gpg.ssh.allowedSignersFile`` for SSH keys): (good, git's one-line verdict)."""
        status, out, err = self.try_run("verify-tag", "--", name)
        lines = [line.strip() for line in (err + "\n" + out).splitlines() if line.strip()]
        return status == 0, (lines[0] if lines else ("good" if status == 0 else "bad"))

    def tag_exists(self, name: str) -> bool:
        status, _, _ = self.try_run("rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
        return status == 0

    # --- remotes -----------------------------------------------------------

    def remote_url(self, remote: str) -> str | None:
        return self.config_value(f"remote.{remote}.url")

    def push(
        self,
        remote: str,
        refspecs: Iterable[str],
        *,
        atomic: bool = False,
        create_only: Sequence[str] = (),
    ) -> None:
        """Push without force. A ref the remote already has differently (a tag
        taken by another clone, a branch that moved on) is a :class:`RaceLostError`;
        any other failure a :class:`GitError`."""
        refspecs = list(refspecs)
        if not refspecs:
            return
        args = ["push", "--porcelain"] + (["--atomic"] if atomic else [])
        # "--force-with-lease=REF:" with nothing expected: create REF, never replace it.
        args += [f"--force-with-lease={ref}:" for ref in create_only]
        args += [remote, *refspecs]
        status, out, err = self.try_run(*args)
        if status == 0:
            return
        rejected = [
            line.split("\t")[1].split(":")[-1]
            for line in out.splitlines()
            if line.startswith("!") and line.count("\t") >= 2 and "atomic push failed" not in line
        ]
        text = out + err
        if rejected and any(
            word in text for word in ("already exists", "fetch first", "non-fast-forward", "stale")
        ):
            raise RaceLostError(
                f"{remote} already has {', '.join(rejected[:3])} written differently",
                hint="another clone wrote first; run 'modelreg pull', then try again",
            )
        raise GitError(
            f"git push to {remote} failed: {_short(err or out)}",
            hint="check the remote with 'git ls-remote', then run 'modelreg push'",
        )

    def push_branch(self, remote: str, branch: str) -> None:
        """Push ``branch`` to the branch of that name on ``remote`` (no force)."""
        self.push(remote, [_same_ref(f"refs/heads/{branch}")])

    def push_tags(
        self,
        remote: str,
        tags: Sequence[str],
        *,
        branch: str | None = None,
        reserve: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Push ``tags`` (and ``branch`` first, when given) in one atomic push, with
        each ``(object id, ref)`` of ``reserve`` created on the remote, never replaced:
        all of it lands, or none (:meth:`push`'s errors)."""
        refspecs = [_same_ref(f"refs/heads/{branch}")] if branch else []
        refspecs += [_same_ref(f"refs/tags/{tag}") for tag in tags]
        refspecs += [f"{sha}:{ref}" for sha, ref in reserve]
        self.push(remote, refspecs, atomic=True, create_only=[ref for _sha, ref in reserve])

    def fetch_shallow(self, url: str, rev: str, into: str) -> tuple[bool, str]:
        """Fetch ``url``'s ``rev`` (depth 1) into the ref ``into``, replacing it, and
        its tags as they are: new ones added, one held here with other content never
        overwritten (:func:`rejected_tags` finds those in the stderr) and none pruned.
        Returns (success, git's stderr)."""
        # Tags without force and never pruned: a tag moved on the origin is rejected
        # by git, and refused by the caller, instead of silently replacing what was read.
        status, _out, err = self.try_run(
            "fetch",
            "--no-write-fetch-head",
            "--depth=1",
            "--no-tags",
            "--",
            url,
            f"+{rev}:{into}",
            "refs/tags/*:refs/tags/*",
        )
        return status == 0, err

    def branches_at(self, url: str) -> list[str]:
        """Branch names at ``url`` (one ``git ls-remote --heads``; none when it fails)."""
        status, out, _err = self.try_run("ls-remote", "--heads", url)
        return [
            line.partition("\t")[2].removeprefix("refs/heads/")
            for line in out.splitlines()
            if status == 0 and "\t" in line
        ]

    def read_remote_branch_files(
        self, remote: str, branches: Sequence[str], path: str
    ) -> dict[str, bytes | None]:
        """Branch -> contents of ``path`` on the fetched ``remote/branch`` (None: absent),
        through one ``cat-file --batch``."""
        specs = {b: f"refs/remotes/{remote}/{b}:{path}" for b in branches}
        found = self.read_files(list(specs.values()))
        return {b: found.get(spec) for b, spec in specs.items()}

    def fetch(self, remote: str) -> list[str]:
        """Fetch branches (as remote-tracking refs) and tags. A tag that exists here
        with other content is never overwritten: it is returned, the rest fetched."""
        status, _out, err = self.try_run(
            "fetch",
            "--no-write-fetch-head",
            remote,
            f"+refs/heads/*:refs/remotes/{remote}/*",
            "refs/tags/*:refs/tags/*",
        )
        conflicts = rejected_tags(err)
        if status != 0 and not conflicts:
            raise GitError(f"git fetch from {remote} failed: {_short(err)}")
        return conflicts

    def tag_object(self, name: str) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
        return out.strip() if status == 0 and out.strip() else None

    def delete_unpublished_tag(self, name: str, object_sha: str) -> None:
        """Take back a tag this command just made and could not publish (an event
        that did not complete). Only if it is still exactly that tag object."""
        self.run("update-ref", "-d", f"refs/tags/{name}", object_sha)

    def fast_forward(self, upstream: str) -> bool:
        """Fast-forward the current branch to ``upstream`` if that is possible."""
        status, _, _ = self.try_run("merge", "--ff-only", "--quiet", upstream)
        return status == 0

    def upstream(self) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
        return out.strip() if status == 0 and out.strip() else None

    def remote_names(self) -> list[str]:
        return self.run("remote").split()

    def remote_branches(self, remote: str) -> list[str]:
        """Branch names this clone has fetched from ``remote`` (``refs/remotes/<remote>/``)."""
        prefix = f"refs/remotes/{remote}/"
        out = self.run("for-each-ref", "--format=%(refname)", prefix)
        names = [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]
        return [n for n in names if n != "HEAD"]

    def has_remote_branches(self) -> bool:
        return bool(self.run("for-each-ref", "--count=1", "--format=%(refname)", "refs/remotes/"))

    def check_out_new_branch(self, branch: str, start: str) -> None:
        """Create ``branch`` at ``start``, tracking it, and check it out (HEAD has no
        commits yet: nothing of the user's is replaced; git refuses to overwrite an
        untracked file)."""
        if branch.startswith("-") or start.startswith("-"):
            raise GitError(f"'{branch}' is not a branch name")
        status, _out, err = self.try_run("checkout", "--quiet", "-b", branch, "--track", start)
        if status != 0:
            raise GitError(
                f"cannot check out {branch} from {start}: {_short(err)}",
                hint=f"move what is in the way, then run: git checkout -b {branch} --track {start}",
            )

    def remote_tags(self, remote: str) -> dict[str, str]:
        """Tag name → tag object id on ``remote``."""
        out = self.run("ls-remote", "--tags", remote)
        tags: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                tags[ref[len("refs/tags/") :]] = sha
        return tags


def _feed(pipe: IO[bytes], payload: bytes) -> None:
    """Write the requests to git and close its input (always)."""
    try:
        pipe.write(payload)
    except BrokenPipeError:
        pass  # git stopped reading; the reader reports it
    finally:
        with suppress(OSError):
            pipe.close()


def _person(line: bytes) -> tuple[str, str, int]:
    """``Name <email> 1750000000 +0000`` -> (name, email, unix time)."""
    open_at, close_at = line.find(b"<"), line.rfind(b">")
    if open_at < 0 or close_at < open_at:
        return _decode(line).strip(), "", 0
    name = _decode(line[:open_at]).strip()
    email = _decode(line[open_at + 1 : close_at])
    when = line[close_at + 1 :].split()
    stamp = when[0] if when else b""
    return name, email, int(stamp) if stamp.lstrip(b"-").isdigit() else 0


def _parse_tag(
    data: bytes, people: dict[bytes, tuple[str, str]]
) -> tuple[str, str, str, str, int, str]:
    """:func:`parse_tag_object`, with one regular expression for the usual header
    and each tagger decoded once (``people`` remembers them)."""
    match = _TAG_HEADER.match(data)
    if match is None:
        return parse_tag_object(data)
    target, kind, name, email, when = match.groups()
    raw = name + b"<" + email
    person = people.get(raw)
    if person is None:
        person = people[raw] = (_decode(name).strip(), _decode(email))
    return (
        target.decode(),
        kind.decode(),
        person[0],
        person[1],
        int(when),
        _decode(data[match.end() :]),
    )


def parse_tag_object(data: bytes) -> tuple[str, str, str, str, int, str]:
    """A tag object's (target id, target type, tagger name, tagger email, unix time,
    message). Pure, for tests; a missing tagger gives empty strings and time 0."""
    header, _, message = data.partition(b"\n\n")
    target = kind = ""
    tagger: tuple[str, str, int] = ("", "", 0)
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"object":
            target = value.decode("ascii", "replace")
        elif key == b"type":
            kind = value.decode("ascii", "replace")
        elif key == b"tagger":
            tagger = _person(value)
    return target, kind, tagger[0], tagger[1], tagger[2], _decode(message)


def _commit_time(data: bytes) -> int:
    header = data.partition(b"\n\n")[0]
    for line in header.split(b"\n"):
        if line.startswith(b"committer "):
            return _person(line[len(b"committer ") :])[2]
    return 0


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


def _same_ref(ref: str) -> str:
    """The refspec that sends ``ref`` to the ref of the same name."""
    return f"{ref}:{ref}"


def _nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode() + b"\0" for p in paths)


_REJECTED_RE = re.compile(r"^\s*!\s+\[rejected\]\s+\S+\s+->\s+(\S+)", re.MULTILINE)


def rejected_tags(stderr: str) -> list[str]:
    """Tags ``git fetch`` refused to overwrite ("would clobber existing tag")."""
    return [m.group(1) for m in _REJECTED_RE.finditer(stderr) if "clobber" in stderr]
