"""push and pull: share the registry through a git remote (branch and tags)
and a DVC remote (the bytes), and bring the work tree's model files up to date
after a pull.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from .. import manifest as manifest_mod
from ..errors import DirtyStateError, ManifestError, RaceLostError, UnsafePathError
from ..manifest import MANIFEST_FILE
from ..results import SyncResult

if TYPE_CHECKING:
    from ..registry import Registry


def push(
    self: Registry,
    remote: str = "origin",
    *,
    dvc_remote: str | None = None,
    jobs: int | None = None,
) -> SyncResult:
    """Send file bytes to the DVC remote (``jobs`` transfers at once; DVC's default
    otherwise), then the branch and registry tags to git. Objects the remote has
    already are skipped, so an interrupted push resumes where it stopped."""
    from ..sharing import push_all, push_objects, registered_md5s, require_remote
    from ..storage import is_initialised

    storage = self.storage if is_initialised(self.root) else None
    # No git remote at all: the bytes are pushed alone. A remote named that this
    # clone lacks (a typo) is refused.
    no_git_remote = storage is not None and remote == "origin" and not self.git.remote_names()
    if not no_git_remote:
        require_remote(self.git, remote)
    state = self.state(refresh=True)
    paths = {name: self.manifest_path(name) for name in state.models}
    md5s, notes = registered_md5s(self.git, state, paths)
    if no_git_remote:
        # No git remote at all (the embedded default, say): the bytes still go to
        # the DVC remote, so they outlive this clone; the events stay here.
        objects, more = push_objects(storage, dvc_remote or self.config.remote, md5s, jobs)
        skipped = (
            f"no git remote '{remote}': the git part (branch and tags) was skipped; "
            f"add one with: git remote add {remote} URL"
        )
        return SyncResult(remote, 0, objects, None, (*notes, *more, skipped))
    pushed = push_all(self.git, storage, remote, dvc_remote or self.config.remote, md5s, jobs=jobs)
    if pushed.conflicts:
        shown = ", ".join(pushed.conflicts[:3])
        raise RaceLostError(
            f"pushed the rest, but {len(pushed.conflicts)} event(s) clash with events "
            f"another clone published first (same tag or same counter): {shown}",
            hint="keep the remote's: 'git tag -d NAME' here, 'modelreg pull', then record "
            "the event again (it takes the next counter)",
        )
    return SyncResult(
        remote, pushed.tags, pushed.objects, pushed.branch, tuple(notes) + pushed.notes
    )


def pull(
    self: Registry,
    remote: str = "origin",
    *,
    dvc_remote: str | None = None,
    jobs: int | None = None,
    files: bool = True,
) -> SyncResult:
    """Fetch tags and commits, fast-forward the branch, and fetch the bytes of the
    versions now in the work tree (``jobs`` transfers at once).

    Without ``files``, the events and the branch alone: what a replica
    (``serve --sync``) needs, since it reads bytes from the DVC remote when asked.
    Model files the fast-forward left holding another registered version's bytes
    are then removed (kept in the DVC cache), so the next registration of that
    model does not take them for unregistered changes.
    """
    from ..hashing import KnownDigests
    from ..sharing import fetch_and_fast_forward, require_remote
    from ..storage import is_initialised
    from ..workspace import manifests_under

    require_remote(self.git, remote)
    with self._locked():
        before = self.git.head()
        received, branch, notes = fetch_and_fast_forward(self.git, remote)
        self._forget()
        self._load_config()
        objects = 0
        if not files and is_initialised(self.root) and before not in (None, self.git.head()):
            assert before is not None
            notes += _set_aside_superseded(self, before)
        if files and is_initialised(self.root):
            wanted = dvc_remote or self.config.remote
            manifests = _safe(self, manifests_under, notes)
            md5s = [a.md5 for m in manifests for a in m.artifacts]
            # Hashed as they arrive: a server on this repository need not read them again.
            digests = KnownDigests.of_repository(self.git.common_dir)
            objects = len(self.storage.fetch(md5s, wanted, jobs=jobs, known=digests))
            # The tags and manifests of every pulled model in one read each.
            names = [m.name for m in manifests]
            models = self._read_models(names).models.values() if names else []
            known = self._known_md5s_of(list(models))
            for found in manifests:
                notes += _refresh_bytes(self, found, wanted, known.get(found.name, set()), jobs)
            notes += _remove_superseded(self, manifests, known)
    return SyncResult(remote, received, objects, branch, tuple(notes))


def _set_aside_superseded(self: Registry, before: str) -> list[str]:
    """After a fast-forward from ``before`` with no bytes fetched: in each model
    folder whose manifest changed, remove the files holding another registered
    version's bytes (kept in the DVC cache first) and those no manifest lists any
    more. Missing files stay missing; bytes nobody registered stay (and are reported).
    Only changed manifests are read: one ``git ls-files`` and one ``cat-file``."""
    from ..workspace import read_manifest, refuse_unregistered_bytes

    paths = [
        p
        for p in self.git.tracked_files(None, self.config.models_dir)
        if p.rsplit("/", 1)[-1] == MANIFEST_FILE
    ]
    old = self.git.read_files([f"{before}:{p}" for p in paths])
    changed: list[manifest_mod.Manifest] = []
    notes: list[str] = []
    for path in paths:
        try:
            now = (self.root / path).read_bytes()
        except OSError:
            continue
        if now != old[f"{before}:{path}"]:
            with suppress(ManifestError):
                found = read_manifest(self.root / path, path)
                if found is not None:
                    changed.append(found)
    manifests = _safe(self, lambda _root, _dir: changed, notes)
    if not manifests:
        return notes
    models = self._read_models([m.name for m in manifests]).models.values()
    known = self._known_md5s_of(list(models))
    for manifest in manifests:
        folder = self.model_folder(manifest.name)
        try:
            stale = refuse_unregistered_bytes(
                self.storage, self.root, folder, manifest.artifacts, known.get(manifest.name, set())
            )
        except DirtyStateError as exc:
            notes.append(f"{exc.message}: left as it is")
            continue
        kept = self.storage.current_md5s([folder / a.path for a in stale])
        self.storage.ensure_cached(list(kept.items()))
        for artifact in stale:
            (folder / artifact.path).unlink(missing_ok=True)
    return notes + _remove_superseded(self, manifests, known)


def _safe(
    self: Registry, found: Callable[[Path, str], list[manifest_mod.Manifest]], notes: list[str]
) -> list[manifest_mod.Manifest]:
    """The work tree's manifests whose files can be written: a hostile name,
    symlink or path (read from git) is skipped with one note each."""
    from ..paths import inside
    from ..registering import refuse_links

    try:
        inside(self.root, self.config.models_dir, "models folder")
    except UnsafePathError as exc:
        notes.append(f"{exc.message}; no model files pulled")
        return []
    safe = []
    for manifest in found(self.root, self.config.models_dir):
        try:
            self.model_folder(manifest.name)
            refuse_links(
                self.root, self.model_dir(manifest.name), [a.path for a in manifest.artifacts]
            )
        except UnsafePathError as exc:
            notes.append(f"{exc.message}; skipped")
            continue
        safe.append(manifest)
    return safe


def _refresh_bytes(
    self: Registry,
    manifest: manifest_mod.Manifest,
    remote: str | None,
    known: set[str],
    jobs: int | None = None,
) -> list[str]:
    """After a pull, write the files of the version now in the work tree: the
    missing ones, and those still holding another registered version's bytes.
    Bytes nobody registered are left alone (and reported)."""
    from ..workspace import refuse_unregistered_bytes, staged

    folder = self.model_folder(manifest.name)
    try:
        stale = refuse_unregistered_bytes(
            self.storage, self.root, folder, manifest.artifacts, known
        )
    except DirtyStateError as exc:
        return [f"{exc.message}: left as it is"]
    if stale:  # their bytes leave the work tree: make sure the cache keeps them intact
        kept = self.storage.current_md5s([folder / a.path for a in stale])
        self.storage.ensure_cached(list(kept.items()))
    redo = stale + [a for a in manifest.artifacts if not (folder / a.path).exists()]
    if redo:
        try:
            with staged(
                self.storage, self.progress, manifest, folder, remote, redo, jobs=jobs
            ) as files:
                files.move_into_place()
        except UnsafePathError as exc:  # a symlink swapped in since the check
            return [f"{exc.message}; skipped"]
    return []


def _remove_superseded(
    self: Registry, manifests: Sequence[manifest_mod.Manifest], known: dict[str, set[str]]
) -> list[str]:
    """After a pull, remove from each model folder the files the registry placed
    there and no longer needs: untracked, unignored (``git add -A`` would commit
    them), listed by no current manifest, and holding the bytes of a registered
    version of that model (kept in the DVC cache first, so nothing is lost).
    Anything else was made by the user: it stays, and is reported."""
    from ..paths import inside
    from ..registering import registry_files

    dirs = {self.model_dir(m.name): m for m in manifests}
    if not dirs:
        return []
    listed = {
        rel for d, m in dirs.items() for rel in registry_files(d, [a.path for a in m.artifacts])
    }
    found: list[tuple[Path, str]] = []  # (file, its model's name)
    for rel in self.git.untracked_paths([f"{d}/" for d in sorted(dirs)]):
        owner = max((d for d in dirs if rel.startswith(f"{d}/")), key=len, default=None)
        if owner is None or rel in listed or Path(rel).name.startswith(".modelreg-"):
            continue  # not a model's, still listed, or another command's staging file
        try:  # the one check that keeps a path inside the work tree, links refused
            path = inside(self.root, rel, "a file pull would remove")
        except UnsafePathError:
            continue  # never removed through a link: left as it is
        if path.is_file():
            found.append((path, dirs[owner].name))
    md5s = self.storage.current_md5s([path for path, _name in found])
    notes = []
    superseded = []
    for path, name in found:
        if md5s[path] in known.get(name, set()):
            superseded.append((path, md5s[path]))
        else:
            notes.append(
                f"{path.relative_to(self.root)} is not part of any registered version of "
                f"{name}: left as it is"
            )
    self.storage.ensure_cached(superseded)
    for path, _md5 in superseded:
        path.unlink(missing_ok=True)
        with suppress(OSError):  # folders inside the model folder, now empty
            parent = path.parent
            while parent.name and not (parent / MANIFEST_FILE).exists():
                parent.rmdir()
                parent = parent.parent
    return notes
