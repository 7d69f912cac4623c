"""The git boundary: the only code that touches git (the ``git`` command, run as
a subprocess), here and in its parts under ``modelreg/git/``.

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

:class:`GitRepo` is put together from those parts, each a class of named
operations over one runner: ``git/runner.py`` (the only ``subprocess``: one
command, and ``cat-file --batch``), ``git/tagging.py`` (reading, parsing and
writing tags), ``git/worktree.py`` (the work tree, the index, commits) and
``git/remotes.py`` (push, fetch, what a remote holds) and ``git/notes.py``
(where versions were published: notes on their commits). Callers import from here.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import GitError, NotARepositoryError
from .git.notes import OCI_NOTES, NotesOps
from .git.remotes import RemoteOps, rejected_tags
from .git.runner import ZERO_SHA, ObjectReader, _git, _short, is_object_id
from .git.tagging import TagOps, TagRecord, parse_tag_object
from .git.worktree import Identity, WorktreeOps

__all__ = [
    "OCI_NOTES",
    "ZERO_SHA",
    "GitRepo",
    "Identity",
    "ObjectReader",
    "TagRecord",
    "is_object_id",
    "parse_tag_object",
    "rejected_tags",
]


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


# Git's variables that move where it looks for the repository, or that could set
# ``core.worktree``: with any of them set, git itself is asked.
_DISCOVERY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)


def _plainly_found(where: Path) -> Path | None:
    """The work tree around ``where`` when finding it needs no git: the nearest
    ``.git`` above it is a folder (not a linked worktree's or a submodule's file),
    owned by this user as the work tree is (so git's ``safe.directory`` has nothing
    to say), whose config moves neither the work tree nor makes it bare, found
    without crossing a file system or passing a bare repository or a ``.git``
    folder. None in every other case: ``git rev-parse`` then decides (and says what
    is wrong). Saves a read answered from the state cache its only git process.
    ``tests/test_gitrepo.py`` checks it finds what git finds."""
    if any(os.environ.get(name) for name in _DISCOVERY_VARIABLES):
        return None
    try:
        here = where.resolve(strict=True)
        if ".git" in here.parts:
            return None
        me, device = os.geteuid(), os.stat(here).st_dev
        while True:
            dot = here / ".git"
            try:
                found = os.lstat(dot)
            except FileNotFoundError:
                found = None
            if found is not None:
                if not stat.S_ISDIR(found.st_mode) or found.st_uid != me:
                    return None
                if os.stat(here).st_uid != me or os.path.exists(dot / "commondir"):
                    return None
                if not (os.path.isfile(dot / "HEAD") and os.path.isdir(dot / "objects")):
                    return None
                with open(dot / "config", "rb") as config:
                    settings = [line.strip() for line in config.read().lower().splitlines()]
                if any(b"worktree" in line for line in settings):
                    return None
                if any(line.startswith(b"bare") and line != b"bare = false" for line in settings):
                    return None
                return here
            if os.path.exists(here / "HEAD") and os.path.isdir(here / "objects"):
                return None  # perhaps a bare repository: git's to say
            parent = here.parent
            if parent == here or os.stat(parent).st_dev != device:
                return None
            here = parent
    except OSError:
        return None


class GitRepo(WorktreeOps, TagOps, RemoteOps, NotesOps):
    """A git working tree. Create with :meth:`discover`."""

    @classmethod
    def discover(cls, path: Path) -> GitRepo:
        """The work tree containing ``path``: found by looking (:func:`_plainly_found`)
        in the plain case, else by one ``git rev-parse``."""
        if not path.exists():
            raise NotARepositoryError(f"{path} does not exist")
        where = path if path.is_dir() else path.parent
        found = _plainly_found(where)
        if found is not None:
            return cls(found, found / ".git", found / ".git")
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
