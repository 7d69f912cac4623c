"""init: set up a registry (``.modelreg.yaml``, DVC, a DVC remote) and commit it.

Bound as the classmethod ``Registry.init``. Also the two helpers set-up shares
with the rest: whether a repository is a clone of a registry, and removing a
file or folder modelreg made.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config as config_mod
from ..errors import NotARepositoryError, NotInitialisedError
from ..gitrepo import GitRepo
from ..paths import against
from ..progress import Progress
from ..results import InitResult
from ..tags import parse_tag_name

if TYPE_CHECKING:
    from ..registry import Registry


def init(
    cls: type[Registry],
    path: str | Path = ".",
    *,
    remote: str | None = None,
    progress: Progress | None = None,
    cwd: str | Path | None = None,
) -> tuple[Registry, InitResult]:
    """Set up ``.modelreg.yaml``, DVC and a DVC remote, and commit them.

    Outside a git repository this runs ``git init`` first. Without ``remote``, a
    repository with no default DVC remote gets a local-folder one. Running it
    again changes nothing. If it fails, the repository is left as it was: the
    files it made are removed and the user's index (where ``dvc init`` stages its
    files) is put back. A relative ``path`` or local ``remote`` is taken from
    ``cwd``, the caller's directory.
    """
    target = against(cwd, path).absolute()
    git_initialised = False
    try:
        git = GitRepo.discover(target)
    except NotARepositoryError:
        git = GitRepo.init(target)
        git_initialised = True
    try:
        git.identity()  # fail before creating anything when git cannot commit
    except BaseException:
        if git_initialised:  # the folder was not a repository: it is not one now either
            remove_path(git.root / ".git")
        raise
    if not git_initialised and git.head() is None and clones_a_registry(git):
        raise NotInitialisedError(
            f"{git.root} is a clone of an existing registry with no branch checked out; "
            "init would start an unrelated history",
            hint="run 'modelreg pull' to check out the registry's branch",
        )
    from ..storage import DVC_CONFIG, DVC_DIR, DVC_IGNORE

    ours = (config_mod.CONFIG_FILE, DVC_DIR, DVC_IGNORE)
    existed = [rel for rel in ours if (git.root / rel).exists()]
    dvc_config = git.root / DVC_CONFIG
    config_before = dvc_config.read_bytes() if dvc_config.is_file() else None
    head, index = git.head(), git.saved_index()
    try:
        return _set_up(cls, git, git_initialised, remote, progress, against(cwd, "."))
    except BaseException:
        if git.head() == head:  # the set-up was not committed: take it all back
            git.restore_index(index)
            for rel in ours:
                if rel not in existed:
                    remove_path(git.root / rel)
            if config_before is not None:
                dvc_config.write_bytes(config_before)
            if git_initialised and head is None:  # the `git init` was ours too
                remove_path(git.root / ".git")
        raise


def _set_up(
    cls: type[Registry],
    git: GitRepo,
    git_initialised: bool,
    remote: str | None,
    progress: Progress | None,
    cwd: Path,
) -> tuple[Registry, InitResult]:
    from ..lock import write_lock
    from ..registry import LOCK_FILE
    from ..storage import (
        DEFAULT_REMOTE_NAME,
        DVC_SET_UP_FILES,
        Storage,
        is_local_url,
        normalise_remote_url,
    )

    root = git.root
    created: list[str] = []
    config_path = root / config_mod.CONFIG_FILE
    if config_path.exists():
        config_mod.load(root)  # refuse a broken config before touching anything
    else:
        config_path.write_text(config_mod.Config().to_yaml(), encoding="utf-8")
        created.append(config_mod.CONFIG_FILE)
    storage = Storage(root, progress)
    created += storage.init()
    default, urls = storage.remotes()
    remote_name, remote_url = default, urls.get(default) if default else None
    if remote is not None or default is None:
        remote_name = DEFAULT_REMOTE_NAME
        if remote is not None:
            remote_url = normalise_remote_url(remote, cwd)
            if is_local_url(remote_url):
                Path(remote_url).mkdir(parents=True, exist_ok=True)
        else:
            remote_dir = default_remote_dir(root)
            remote_dir.mkdir(parents=True, exist_ok=True)
            remote_url = str(remote_dir)
        storage.set_remote(remote_name, remote_url)
    own = [p for p in (config_mod.CONFIG_FILE, *DVC_SET_UP_FILES) if (root / p).exists()]
    head = git.head()
    commit = None
    if head is None or git.changed_paths(own) or git.untracked_paths(own):
        with write_lock(git.common_dir / LOCK_FILE):
            commit = git.commit_paths(own, "modelreg: set up the registry", parent=head)
            git.advance_head(commit, head, "modelreg init")
            git.sync_index(own)
    return cls(root, progress=progress), InitResult(
        root=root,
        created=tuple(created),
        remote_name=remote_name,
        remote_url=remote_url,
        git_initialised=git_initialised,
        commit=commit,
    )


def default_remote_dir(root: Path) -> Path:
    """Where ``modelreg init`` puts the embedded local-folder DVC remote: outside the
    work tree (so clones on this machine share it), under the user's data folder."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "modelreg" / "storage" / f"{root.name}-{uuid.uuid4().hex[:8]}"


def clones_a_registry(git: GitRepo) -> bool:
    """Whether this repository holds an existing registry's events or branches (a
    clone of one): its registry tags, or branches fetched from a remote."""
    tags = git.tag_refs()
    return any(parse_tag_name(name) is not None for name, _oid in tags) or (
        git.has_remote_branches()
    )


def remove_path(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():  # a symlink is removed, never followed
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
