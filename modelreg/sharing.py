"""Sharing a registry: file bytes through the DVC remote, events through the git remote.

Bytes go first, so whoever sees a tag can fetch what it names. Tags are never
force-pushed or force-fetched: a tag that differs between two places is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import manifest as manifest_mod
from .errors import GitError, ManifestError, ModelregError
from .gitrepo import GitRepo
from .state import RegistryState
from .storage import Storage
from .tags import parse_tag_name

REFSPECS_PER_PUSH = 500


@dataclass(frozen=True)
class Pushed:
    tags: int
    objects: int
    branch: str | None
    notes: tuple[str, ...]


def require_remote(git: GitRepo, remote: str) -> None:
    if remote.startswith("-") or git.remote_url(remote) is None:
        raise GitError(
            f"this repository has no git remote '{remote}'",
            hint=f"add one with: git remote add {remote} URL",
        )


def registered_md5s(
    git: GitRepo, state: RegistryState, manifest_path: dict[str, str]
) -> tuple[list[str], list[str]]:
    """md5s of every registered version's files (one cat-file pass), and notes."""
    specs = [
        f"{v.commit}:{manifest_path[m.name]}"
        for m in state.models.values()
        for v in m.versions
        if v.registered
    ]
    md5s: list[str] = []
    notes: list[str] = []
    for spec, blob in git.read_files(specs).items():
        if blob is None:
            continue  # registered by GTO alone: no files to move
        try:
            found = manifest_mod.loads(blob, spec)
        except ManifestError as exc:
            notes.append(f"skipped {exc.message}")
            continue
        md5s.extend(a.md5 for a in found.artifacts)
    return sorted(set(md5s)), notes


def push_all(
    git: GitRepo,
    storage: Storage | None,
    remote: str,
    dvc_remote: str | None,
    md5s: Sequence[str],
) -> Pushed:
    """Push the objects we hold, then the branch and every registry tag the remote lacks."""
    notes: list[str] = []
    objects = 0
    if storage is not None and md5s:
        cached = storage.cache_objects(md5s)
        present = [m for m, p in cached.items() if p.exists()]
        if len(present) < len(cached):
            notes.append(
                f"{len(cached) - len(present)} file(s) are not in this clone's DVC cache "
                "and were not pushed"
            )
        objects = storage.push(present, dvc_remote)
    branch = git.current_branch()
    remote_tags = git.remote_tags(remote)
    new_tags = [
        name
        for name, _oid in git.tag_refs()
        if name not in remote_tags and parse_tag_name(name) is not None
    ]
    refspecs = [f"refs/tags/{t}:refs/tags/{t}" for t in new_tags]
    if branch:
        refspecs.insert(0, f"refs/heads/{branch}:refs/heads/{branch}")
    for start in range(0, len(refspecs), REFSPECS_PER_PUSH):
        git.push(remote, refspecs[start : start + REFSPECS_PER_PUSH])
    return Pushed(len(new_tags), objects, branch, tuple(notes))


def push_event(
    git: GitRepo,
    storage: Storage,
    tag: str,
    md5s: Sequence[str],
    dvc_remote: str | None,
    with_branch: bool,
    done: str,
) -> None:
    """Push one event: its bytes, then (for a registration) the branch, then the tag.

    The event already stands locally; a failure here says so and how to retry.
    """
    try:
        require_remote(git, "origin")
        if md5s:
            storage.push(md5s, dvc_remote)
        refspecs = [f"refs/tags/{tag}:refs/tags/{tag}"]
        branch = git.current_branch()
        if with_branch and branch:
            refspecs.insert(0, f"refs/heads/{branch}:refs/heads/{branch}")
        git.push("origin", refspecs)
    except ModelregError as exc:
        raise type(exc)(
            f"{done} locally, but the push failed: {exc.message}",
            hint="run 'modelreg push' once the remote is reachable",
        ) from None


def fetch_and_fast_forward(git: GitRepo, remote: str) -> tuple[int, str | None, list[str]]:
    """Fetch tags and branches; fast-forward the current branch when possible."""
    before = {name for name, _oid in git.tag_refs()}
    git.fetch(remote)
    received = sum(1 for name, _oid in git.tag_refs() if name not in before)
    notes: list[str] = []
    branch = git.current_branch()
    if branch:
        upstream = git.upstream() or f"{remote}/{branch}"
        if git.resolve(upstream) and not git.fast_forward(upstream):
            notes.append(
                f"{branch} could not be fast-forwarded to {upstream}; merge it yourself "
                "(the registry reads tags, so no event is missing)"
            )
    return received, branch, notes
