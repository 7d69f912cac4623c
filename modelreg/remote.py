"""Registries that are not the current directory: a clone path, or a git URL read
without a clone.

A git URL is mirrored into ``$XDG_CACHE_HOME/modelreg/repos/`` (``~/.cache``): a
bare repository holding the registry's tags and, shallowly, the commits they
point at, plus the default branch's tip for the config. It is refreshed on each
use and reused between uses, so a deploy job reads ``NAME#production`` with one
small fetch. For ``get``, a private DVC folder next to the mirror holds the
registry's DVC config and a cache of the files fetched so far.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from . import config as config_mod
from .errors import GitError, NotARepositoryError, NotInitialisedError
from .gitrepo import GitRepo, rejected_tags
from .lock import write_lock
from .paths import against
from .progress import Progress
from .registry import Registry
from .storage import DVC_CONFIG, DVC_DIR, Storage, detached

HEAD_REF = "refs/modelreg/remote-head"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelreg" / "repos"


def mirror_path(url: str) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    tail = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "registry"
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)[:40]
    return cache_root() / f"{safe}-{digest}.git"


def registry_at(
    url: str, *, progress: Progress | None = None, cwd: str | Path | None = None
) -> Registry:
    """The registry at ``url``: a local clone is used where it stands (with its own
    DVC cache); anything else is read through the mirror in the cache. A relative
    path is taken from ``cwd``, the caller's directory."""
    local = against(cwd, Path(url).expanduser())
    is_path = "://" not in url and not re.match(r"^[^/]+:", url)  # not user@host:path
    if is_path and not local.exists():
        raise GitError(
            f"no registry at {url}: {local.absolute()} does not exist",
            hint="check the path (a clone, or a bare repository), or give a git URL",
        )
    if "://" not in url and local.is_dir():
        try:
            return Registry(local, progress=progress)
        except NotARepositoryError:
            # A bare repository: mirror it like any URL, by its absolute path (git runs
            # in the mirror, where a relative path would mean another folder).
            url = str(local.resolve())
    return mirror_registry(url, progress=progress)


def mirror_registry(url: str, *, progress: Progress | None = None) -> Registry:
    if url.startswith("-"):
        raise GitError(f"'{url}' is not a repository URL")
    path = mirror_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(path.with_suffix(".lock")):
        git, stale = _refresh(url, path)
        config = _config(git)

    def storage() -> Storage:  # only get needs it: a registry made by GTO reads without
        with write_lock(path.with_suffix(".lock")):
            return _storage(git, path)

    registry = Registry.from_git(git, config, storage, progress=progress)
    if stale:
        registry.warnings.append(f"cannot reach {url}: showing the copy from the last fetch")
    return registry


def _refresh(url: str, path: Path) -> tuple[GitRepo, bool]:
    """Fetch the remote's tags and default branch tip into the mirror (shallow).

    Tags are fetched as ``pull`` fetches them: new ones are added, and one the
    mirror already holds is never overwritten or pruned. A tag that differs from
    the mirror's copy (moved on the origin) stops the read: a deploy job must not
    take a rewritten event silently."""
    if not path.exists():
        GitRepo.init_bare(path)
    git = GitRepo.bare(path)

    # A tag moved on the origin is rejected by git, and refused below.
    fetched, err = git.fetch_shallow(url, "HEAD", HEAD_REF)
    if not fetched and "couldn't find remote ref HEAD" in err:
        # HEAD names a branch that does not exist (a bare repository made where the
        # default branch is master, while the team pushes main): read the branch
        # that does.
        branch = _default_branch(git, url)
        if branch is not None:
            fetched, err = git.fetch_shallow(url, f"refs/heads/{branch}", HEAD_REF)
    moved = rejected_tags(err)
    if moved:
        more = f" (and {len(moved) - 1} more)" if len(moved) > 1 else ""
        raise GitError(
            f"tag {moved[0]}{more} at {url} differs from the one read from there before "
            "(moved on the origin); refusing it",
            hint="registry tags never move: ask the registry's owners why it changed "
            f"('git ls-remote --tags URL'); to trust the origin as it is now, delete {path}",
        )
    if not fetched and git.resolve(HEAD_REF) is None:
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
        last = (fatal or lines or ["git fetch failed"])[0]
        raise GitError(
            f"cannot read the registry at {url}: {last}",
            hint="check the URL, and that 'git ls-remote URL' works from here",
        )
    return git, not fetched


def _default_branch(git: GitRepo, url: str) -> str | None:
    """The remote's branch to read when its HEAD dangles: main, else master, else
    its only branch."""
    names = git.branches_at(url)
    for name in ("main", "master"):
        if name in names:
            return name
    return names[0] if len(names) == 1 else None


def _config(git: GitRepo) -> config_mod.Config:
    data = git.read_file(HEAD_REF, config_mod.CONFIG_FILE)
    return config_mod.parse(data) if data is not None else config_mod.Config()


def _storage(git: GitRepo, path: Path) -> Storage:
    """A private DVC folder (no git) holding the registry's DVC config."""
    folder = path.with_suffix(DVC_DIR)  # beside the mirror: NAME.git, NAME.dvc
    (folder / DVC_DIR).mkdir(parents=True, exist_ok=True)
    data = git.read_file(HEAD_REF, DVC_CONFIG)
    if data is None:
        raise NotInitialisedError(
            f"the registry has no DVC config ({DVC_CONFIG}) on its default branch",
            hint="it was set up without modelreg init: its files cannot be fetched",
        )
    return detached(folder, data)
