"""The only module that touches git (through GitPython).

Reads are built for large registries: every tag with its target, tagger, date
and message comes from one ``git for-each-ref``; file contents at many
revisions come through one persistent ``git cat-file --batch``.

Writes never sweep a user's work into a commit: :meth:`GitRepo.commit_paths`
builds the commit in a private index (``GIT_INDEX_FILE``), moves HEAD with a
compare-and-swap, and only then updates the user's index for exactly the paths
it committed.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GitError, NotARepositoryError, RaceLostError

if TYPE_CHECKING:
    import git

ZERO_SHA = "0" * 40
_FIELDS = (
    "%(refname)",
    "%(objecttype)",
    "%(objectname)",
    "%(*objectname)",
    "%(*objecttype)",
    "%(taggername)",
    "%(taggeremail)",
    "%(taggerdate:unix)",
    "%(creatordate:unix)",
    "%(contents)",
)
_FORMAT = "%00".join(_FIELDS) + "%00"


@dataclass(frozen=True)
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


class GitRepo:
    """A git working tree. Create with :meth:`discover`."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        if repo.working_tree_dir is None:
            raise NotARepositoryError(
                f"{repo.git_dir} is a bare repository; modelreg needs a clone"
            )
        self.root = Path(repo.working_tree_dir)
        self.git_dir = Path(repo.git_dir)
        self.common_dir = Path(repo.common_dir)

    @classmethod
    def discover(cls, path: Path) -> GitRepo:
        import git

        if not path.exists():
            raise NotARepositoryError(f"{path} does not exist")
        try:
            return cls(git.Repo(path, search_parent_directories=True))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotARepositoryError(
                f"{path.resolve()} is not inside a git repository",
                hint="run 'modelreg init' here, or 'git clone' a registry",
            ) from None

    @classmethod
    def init(cls, path: Path) -> GitRepo:
        import git

        path.mkdir(parents=True, exist_ok=True)
        return cls(git.Repo.init(path))

    @classmethod
    def clone(cls, url: str, dest: Path, *, no_checkout: bool = False) -> GitRepo:
        import git

        if url.startswith("-"):
            raise GitError(f"'{url}' is not a repository URL")
        args = ["--quiet"] + (["--no-checkout"] if no_checkout else [])
        try:
            git.Git().execute(["git", "clone", *args, "--", url, str(dest)])
        except git.GitCommandError as exc:
            raise GitError(
                f"cannot clone {url}: {_short(str(exc.stderr))}",
                hint="check the URL and that you can reach it with 'git ls-remote'",
            ) from None
        return cls(git.Repo(dest))

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
        """
        import git

        with tempfile.TemporaryFile() as handle:
            if stdin is not None:
                handle.write(stdin)
                handle.seek(0)
            try:
                out = self._repo.git.execute(
                    ["git", *args],
                    env={"GIT_LITERAL_PATHSPECS": "1", **(env or {})},
                    strip_newline_in_stdout=strip,
                    with_extended_output=False,
                    istream=handle if stdin is not None else None,
                )
            except git.GitCommandError as exc:
                if not check:
                    return ""
                raise GitError(f"git {args[0]} failed: {_short(str(exc.stderr))}") from None
        return str(out)

    def try_run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Run git and return (status, stdout, stderr) without raising."""
        status, out, err = self._repo.git.execute(
            ["git", *args],
            env={"GIT_LITERAL_PATHSPECS": "1", **(env or {})},
            with_extended_output=True,
            with_exceptions=False,
        )
        return int(status), str(out), str(err)

    # --- reading -----------------------------------------------------------

    def tags(self) -> list[TagRecord]:
        """Every tag, in one ``git for-each-ref`` call."""
        raw = self.run("for-each-ref", f"--format={_FORMAT}", "refs/tags", strip=False)
        return parse_for_each_ref(raw)

    def read_files(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """Contents of ``REV:PATH`` specs through one ``cat-file --batch`` (None if missing)."""
        out: dict[str, bytes | None] = {}
        for spec in specs:
            if "\n" in spec:
                out[spec] = None
                continue
            try:
                _sha, kind, _size, data = self._repo.git.get_object_data(spec)
            except ValueError:
                out[spec] = None
                continue
            kind_text = kind.decode() if isinstance(kind, bytes) else str(kind)
            out[spec] = bytes(data) if kind_text == "blob" else None
        return out

    def read_file(self, rev: str, path: str) -> bytes | None:
        return self.read_files([f"{rev}:{path}"])[f"{rev}:{path}"]

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
        """Who git says is committing (``user.name``/``user.email``, or GIT_* env)."""
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

    def worktree_differs(self, rev: str, paths: Sequence[str]) -> bool:
        """True when tracked files under ``paths`` in the work tree differ from ``rev``."""
        status, _, _ = self.try_run("diff", "--quiet", rev, "--", *paths)
        return status != 0

    # --- writing -----------------------------------------------------------

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

    def create_tag(self, name: str, target: str, message: str, *, sign: bool = False) -> str:
        """Create an annotated tag; :class:`RaceLostError` if the name exists."""
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False) as handle:
            handle.write(message)
        try:
            args = ["tag", "-s" if sign else "-a", "--cleanup=verbatim", "-F", handle.name]
            status, _, err = self.try_run(*args, "--", name, target)
        finally:
            os.unlink(handle.name)
        if status != 0:
            if "already exists" in err:
                raise RaceLostError(f"tag {name} already exists")
            raise GitError(f"cannot create tag {name}: {_short(err)}")
        return name

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
        conflicts = _rejected_tags(err)
        if status != 0 and not conflicts:
            raise GitError(f"git fetch from {remote} failed: {_short(err)}")
        return conflicts

    def fetch_tags(self, remote: str, names: Sequence[str]) -> list[str]:
        """Fetch just these tags; return those that exist here with other content."""
        if not names:
            return []
        specs = [f"refs/tags/{n}:refs/tags/{n}" for n in names]
        status, _out, err = self.try_run("fetch", "--no-write-fetch-head", remote, *specs)
        conflicts = _rejected_tags(err)
        if status != 0 and not conflicts and "couldn't find remote ref" not in err:
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

    def remote_tags(self, remote: str) -> dict[str, str]:
        """Tag name → tag object id on ``remote``."""
        out = self.run("ls-remote", "--tags", remote)
        tags: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                tags[ref[len("refs/tags/") :]] = sha
        return tags

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def parse_for_each_ref(raw: str) -> list[TagRecord]:
    """Parse the NUL-separated output of :data:`_FORMAT` (pure, for tests)."""
    fields = raw.split("\0")
    width = len(_FIELDS)
    records = []
    for start in range(0, len(fields) - width + 1, width):
        (ref, kind, sha, peeled, peeled_kind, tname, temail, tdate, cdate, contents) = fields[
            start : start + width
        ]
        ref = ref.lstrip("\n")
        if not ref.startswith("refs/tags/"):
            continue
        annotated = kind == "tag"
        target = peeled if annotated else sha
        if annotated and peeled_kind != "commit":
            continue  # a tag of a tree/blob/tag chain: not a registry event
        if not annotated and kind != "commit":
            continue
        when = tdate if annotated and tdate else cdate
        records.append(
            TagRecord(
                name=ref[len("refs/tags/") :],
                annotated=annotated,
                object_sha=sha,
                target=target,
                tagger_name=tname,
                tagger_email=temail.strip("<>"),
                timestamp=int(when) if when.strip().lstrip("-").isdigit() else 0,
                message=contents if annotated else "",
            )
        )
    return records


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


def _nul(paths: Sequence[str]) -> bytes:
    return b"".join(p.encode() + b"\0" for p in paths)


_REJECTED_RE = re.compile(r"^\s*!\s+\[rejected\]\s+\S+\s+->\s+(\S+)", re.MULTILINE)


def _rejected_tags(stderr: str) -> list[str]:
    """Tags ``git fetch`` refused to overwrite ("would clobber existing tag")."""
    return [m.group(1) for m in _REJECTED_RE.finditer(stderr) if "clobber" in stderr]
