"""Running git: the one place a ``git`` process starts (``subprocess``).

:class:`GitBase` holds a repository's paths and the runner every part of
:class:`~modelreg.gitrepo.GitRepo` shares: one command (:meth:`GitBase.run`), and
file contents at many revisions through one ``git cat-file --batch``
(:meth:`GitBase.read_files`), streamed so neither pipe can fill up.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from ..errors import GitError

if TYPE_CHECKING:
    import subprocess

    from .worktree import Identity

ZERO_SHA = "0" * 40
# Git's messages in English, whatever the user's locale: errors are parsed.
_LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}
_PIPE_BUFFER = 1 << 16
K = TypeVar("K")


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
    import subprocess  # here: a read answered from the state cache starts no process

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


_KEEP_FILES = 64  # small files read at an object id, kept (see GitBase.read_files)
_KEEP_BYTES = 64 * 1024


def is_object_id(text: str) -> bool:
    """A full object id (SHA-1 or SHA-256, in hex): what it names never changes."""
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


# (index file's identity, pathspecs, [(mode, object id, stage, path)])
IndexListing = tuple[tuple[int, ...], tuple[str, ...], list[tuple[str, str, str, str]]]
# ((commit, pathspecs), {path: (mode, object id)})
TreeListing = tuple[tuple[str, tuple[str, ...]], dict[str, tuple[str, str]]]


class GitBase:
    """A repository's paths and the git runner; :class:`~modelreg.gitrepo.GitRepo`
    adds the named operations."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        # Who commits and tags, instead of git's configured user (a server writing
        # for a token's holder). Per instance, never os.environ: threads share that.
        self.acting_as: Identity | None = None
        self._files_read: dict[str, bytes] = {}  # REV:PATH at an object id -> bytes
        # The last index and tree listings (see WorktreeOps._index_listing).
        self._listed: IndexListing | None = None
        self._tree_listed: TreeListing | None = None
        self._made: tuple[str, dict[str, str | None]] | None = None  # the last commit_paths
        # A long-lived reader of objects by id, shared by a server's requests.
        self.objects: ObjectReader | None = None

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

    def try_run(
        self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
    ) -> tuple[int, str, str]:
        """Run git and return (status, stdout, stderr) without raising."""
        status, out, err = _git(args, self.root, self._actor(env), stdin)
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

    def read_files(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of ``REV:PATH`` specs through one ``cat-file --batch`` (None if
        missing). A small file read at an object id is kept for the next ask: it
        never changes (a registration reads its model's manifest at HEAD twice)."""
        out: dict[str, bytes | None] = {}
        asked = []
        for spec in dict.fromkeys(specs):
            kept = self._files_read.get(spec)
            if kept is not None:
                out[spec] = kept
            elif "\n" not in spec:
                asked.append(spec)
        for spec, kind, data in self._cat_file((spec, spec) for spec in asked):
            out[spec] = data if kind == "blob" else None
            if kind == "blob" and data is not None and len(data) <= _KEEP_BYTES:
                self._keep_file(spec, data)
        return {spec: out.get(spec) for spec in specs}

    def _keep_file(self, spec: str, data: bytes) -> None:
        if not is_object_id(spec.partition(":")[0]):
            return
        kept = self._files_read
        kept[spec] = data
        if len(kept) > _KEEP_FILES:  # the oldest goes (another thread may be at it too)
            with suppress(RuntimeError, KeyError, StopIteration):
                del kept[next(iter(kept))]

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
        if self.objects is not None and not check_only and self.objects.takes(items):
            answers = self.objects.read(items)
            if answers is not None:
                yield from answers
                return
        pending = deque(key for key, _name in items)
        payload = "".join(f"{name}\n" for _key, name in items).encode("utf-8", "surrogateescape")
        del items
        batch = "--batch-check" if check_only else "--batch"
        process = _cat_file_process(self.root, batch, "--buffer")
        assert process.stdin is not None and process.stdout is not None
        import threading

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

    def resolve(self, rev: str) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        return out.strip() if status == 0 and out.strip() else None

    def config_value(self, key: str) -> str | None:
        status, out, _ = self.try_run("config", "--get", key)
        return out.strip() if status == 0 and out.strip() else None


def _cat_file_process(root: Path, *options: str) -> subprocess.Popen[bytes]:
    """A ``git cat-file`` with ``options``, its questions and answers on pipes."""
    import subprocess

    return subprocess.Popen(
        ["git", "cat-file", *options],
        cwd=root,
        env=_environment(None),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=_PIPE_BUFFER,
    )


def _immutable(name: str) -> bool:
    """An object name whose answer never changes: an object id, or one's ``:path``
    (a path without a line break or NUL, which would split it into two names)."""
    return is_object_id(name.partition(":")[0]) and not any(c in name for c in "\n\r\0")


class ObjectReader:
    """One ``git cat-file --batch`` kept running, for the many small reads of a
    long-lived process (a server reading the manifest a request asks for): a read
    costs a write and a read on two pipes, not a git process (~5 ms from a large
    parent).

    Only names that always mean the same bytes are asked here (an object id, or
    ``<object id>:<path>``: never a ref, whose meaning moves), a few at a time;
    anything else goes through a ``cat-file`` of its own, and so does a read that
    finds this one busy for long (a git stuck on one object holds up nobody else)
    or closed. Objects git did not have when it started (a fetch since) are found:
    cat-file looks for new packs when an object is missing. A change to the pack
    folder (a repack, a gc) starts a new git, so the old one does not keep the
    deleted packs open. Any failure part-way through an answer stops git (its pipe
    could be out of step with the questions); one that stopped is started again
    once, then the read fails as a :class:`GitError`."""

    MOST = 64  # names per read; more go through a cat-file of their own
    PATIENCE = 1.0  # seconds a read waits for another before using a git of its own

    def __init__(self, root: Path, common_dir: Path) -> None:
        import threading

        self.root = root
        self._packs = common_dir / "objects" / "pack"
        self._guard = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at: tuple[int, int] | None = None  # the pack folder's stamp then
        self._closed = False

    def takes(self, items: Sequence[tuple[K, str]]) -> bool:
        return len(items) <= self.MOST and all(_immutable(name) for _key, name in items)

    def read(self, items: Sequence[tuple[K, str]]) -> list[tuple[K, str, bytes | None]] | None:
        """(key, object type, contents or None when missing) for each (key, name);
        None when this reader is closed or busy past :attr:`PATIENCE`."""
        if not self._guard.acquire(timeout=self.PATIENCE):
            return None
        try:
            if self._closed:
                return None
            if self._process is not None and self._stamp() != self._started_at:
                self._stop()  # repacked: let go of the packs it had open
            for attempt in (1, 2):
                try:
                    return [(key, *self._ask(name)) for key, name in items]
                except (OSError, ValueError):  # git gone (killed, a broken pipe)
                    self._stop()
                    if attempt == 2:
                        raise GitError("git cat-file stopped answering") from None
                except BaseException:
                    self._stop()  # the rest of an answer may be left in the pipe
                    raise
            raise AssertionError("unreachable")
        finally:
            self._guard.release()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._packs)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _ask(self, name: str) -> tuple[str, bytes | None]:
        process = self._process or self._start()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        process.stdin.flush()
        header = process.stdout.readline()
        if not header.endswith(b"\n"):
            raise ValueError("cat-file ended")
        fields = header.split()
        if len(fields) != 3 or not fields[2].isdigit():
            return "missing", None  # "<name> missing" or "<name> ambiguous"
        size = int(fields[2])
        data = process.stdout.read(size + 1)
        if len(data) != size + 1:
            raise ValueError("cat-file ended")
        return fields[1].decode(), data[:-1]

    def _start(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise ValueError("closed")
        self._started_at = self._stamp()
        self._process = _cat_file_process(self.root, "--batch")
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            with suppress(OSError):
                if pipe is not None:
                    pipe.close()
        with suppress(OSError):
            process.kill()
        process.wait()

    def close(self) -> None:
        """Stop git; later reads go through a ``cat-file`` of their own. A git that
        does not answer is killed under the read waiting for it (which then fails)."""
        self._closed = True
        if self._guard.acquire(timeout=5 * self.PATIENCE):
            try:
                self._stop()
            finally:
                self._guard.release()
        elif (process := self._process) is not None:
            with suppress(OSError):
                process.kill()


def _feed(pipe: IO[bytes], payload: bytes) -> None:
    """Write the requests to git and close its input (always)."""
    try:
        pipe.write(payload)
    except BrokenPipeError:
        pass  # git stopped reading; the reader reports it
    finally:
        with suppress(OSError):
            pipe.close()
