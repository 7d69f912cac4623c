"""Sharing a registry: file bytes through the DVC remote, events through the git remote.

Bytes go first, so whoever sees a tag can fetch what it names. Tags are never
force-pushed or force-fetched: a tag that differs between two places is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import GitError, RaceLostError
from .gitrepo import GitRepo
from .manifests import OnBroken, read_manifests
from .state import RegistryState
from .storage import Storage
from .tags import name_to_tag, parse_tag_name

REFSPECS_PER_PUSH = 500


@dataclass(frozen=True)
class Pushed:
    tags: int
    objects: int
    branch: str | None
    notes: tuple[str, ...]
    conflicts: tuple[str, ...]  # tags the remote has with other content: left alone


COUNTER_REFS = "refs/modelreg/counters"


def reservations(tags: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(tag object id, ref) pairs that reserve each event's per-model counter on
    the remote (``refs/modelreg/counters/<name>@<n>``, pointing at the tag), for
    :meth:`GitRepo.push_tags` to create, never replace.

    Tag names differ by stage (``m#dev#7``, ``m#staging#7``), so git alone would
    let two clones publish the same counter; a counter ref can only be created
    once, and it travels in the same atomic push as its tag.
    """
    refs = []
    for name, sha in tags:
        parsed = parse_tag_name(name)
        if parsed is None or parsed.counter is None:
            continue
        refs.append((sha, f"{COUNTER_REFS}/{name_to_tag(parsed.name)}@{parsed.counter}"))
    return refs


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
    # A version without a manifest was registered by GTO alone: no files to move.
    read = read_manifests(git, specs, on_broken=OnBroken.COLLECT)
    md5s = [a.md5 for stored in read.found.values() for a in stored.manifest.artifacts]
    notes = [f"skipped {problem}" for problem in read.broken.values()]
    return sorted(set(md5s)), notes


def push_all(
    git: GitRepo,
    storage: Storage | None,
    remote: str,
    dvc_remote: str | None,
    md5s: Sequence[str],
    jobs: int | None = None,
) -> Pushed:
    """Push the objects we hold, then the branch and every registry tag the remote lacks."""
    objects, notes = push_objects(storage, dvc_remote, md5s, jobs)
    branch = git.current_branch()
    remote_tags = git.remote_tags(remote)
    local = {name: oid for name, oid in git.tag_refs() if parse_tag_name(name) is not None}
    new_tags = [name for name in local if name not in remote_tags]
    conflicts = tuple(
        sorted(name for name, sha in local.items() if remote_tags.get(name, sha) != sha)
    )
    if branch:
        git.push_branch(remote, branch)
    refused: list[str] = []
    for start in range(0, len(new_tags), REFSPECS_PER_PUSH):
        chunk = new_tags[start : start + REFSPECS_PER_PUSH]
        try:
            _push_tags(git, remote, [(t, local[t]) for t in chunk])
        except RaceLostError:
            for tag in chunk:  # find which ones: push them one by one
                try:
                    _push_tags(git, remote, [(tag, local[tag])])
                except RaceLostError:
                    refused.append(tag)
    pushed = len(new_tags) - len(refused)
    if not git.push_publications(remote):
        notes.append(
            f"where versions were published (git notes) differs on {remote}: run "
            "'modelreg pull' to merge them, then push again"
        )
    return Pushed(pushed, objects, branch, tuple(notes), tuple(sorted([*conflicts, *refused])))


def push_objects(
    storage: Storage | None, dvc_remote: str | None, md5s: Sequence[str], jobs: int | None = None
) -> tuple[int, list[str]]:
    """Push the objects this clone's cache holds; (how many moved, notes)."""
    notes: list[str] = []
    if storage is None or not md5s:
        return 0, notes
    cached = storage.cache_objects(md5s)
    present = [m for m, p in cached.items() if p.exists()]
    if len(present) < len(cached):
        notes.append(
            f"{len(cached) - len(present)} file(s) are not in this clone's DVC cache "
            "and were not pushed"
        )
    return storage.push(present, dvc_remote, jobs=jobs), notes


def _push_tags(git: GitRepo, remote: str, tags: Sequence[tuple[str, str]]) -> None:
    git.push_tags(remote, [t for t, _sha in tags], reserve=reservations(tags))


def push_event(
    git: GitRepo,
    storage: Storage,
    remote: str,
    tag: str,
    md5s: Sequence[str],
    dvc_remote: str | None,
    with_branch: bool,
) -> None:
    """Push one event: its bytes first, then the tag (and for a registration the
    branch, atomically with it). Raises :class:`RaceLostError` when another clone
    wrote the same tag or moved the branch first."""
    if md5s:
        storage.push(md5s, dvc_remote)
    branch = git.current_branch() if with_branch else None
    sha = git.tag_object(tag)
    git.push_tags(remote, [tag], branch=branch, reserve=reservations([(tag, sha)] if sha else []))


def fetch_and_fast_forward(git: GitRepo, remote: str) -> tuple[int, str | None, list[str]]:
    """Fetch tags and branches; fast-forward the current branch when possible."""
    before = {name for name, _oid in git.tag_refs()}
    conflicts = git.fetch(remote)
    received = sum(1 for name, _oid in git.tag_refs() if name not in before)
    notes = [
        f"tag {name} differs between here and {remote}; neither was changed "
        "(compare them with 'git ls-remote --tags')"
        for name in conflicts
    ]
    if not git.fetch_publications(remote):  # where versions were published: merged
        notes.append(
            f"where versions were published (git notes) could not be merged from {remote}; "
            f"theirs is kept in refs/notes/remotes/{remote}/modelreg-oci"
        )
    if git.head() is None:
        _check_out_registry_branch(git, remote, notes)
    branch = git.current_branch()
    if branch:
        upstream = git.upstream() or f"{remote}/{branch}"
        if git.resolve(upstream) and not git.fast_forward(upstream):
            notes.append(
                f"{branch} could not be fast-forwarded to {upstream}; merge it yourself "
                "(the registry reads tags, so no event is missing)"
            )
    return received, branch, notes


def _check_out_registry_branch(git: GitRepo, remote: str, notes: list[str]) -> None:
    """HEAD has no commits (a clone of a remote whose HEAD names a branch that does
    not exist): check out the remote branch that holds the registry, or say what to do.

    That is the one with ``.modelreg.yaml`` (else any branch): the one HEAD names if
    it is among them, else the only one."""
    from .config import CONFIG_FILE

    branches = git.remote_branches(remote)
    if not branches:
        return
    configs = git.read_remote_branch_files(remote, branches, CONFIG_FILE)
    with_config = [b for b in branches if configs[b] is not None]
    candidates = with_config or branches
    named = git.current_branch()
    if named in candidates:
        chosen = named
    elif len(candidates) == 1:
        chosen = candidates[0]
    else:
        shown = ", ".join(candidates[:5])
        raise GitError(
            f"this clone has no branch checked out, and {remote} has several that may hold "
            f"the registry ({shown})",
            hint=f"check out the registry's: git checkout -b BRANCH --track {remote}/BRANCH",
        )
    assert chosen is not None
    git.check_out_new_branch(chosen, f"{remote}/{chosen}")
    notes.append(f"checked out {chosen} from {remote} (this clone had no branch checked out)")
