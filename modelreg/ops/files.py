"""get and checkout: a version's files, verified, into a folder or the work tree.

``get`` writes anywhere and commits nothing; ``checkout`` restores the model's
folder (manifest, ``.dvc`` files, bytes) to a version inside a journaled
transaction, never overwriting bytes no registered version has. ``files`` lists
a version's files as its manifest records them, and ``local_files`` finds their
bytes on this machine (fetching them into the DVC cache when needed), verified,
for whoever streams them from there (the server) instead of copying them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import manifest as manifest_mod
from ..errors import (
    FORCE_OR_OUT_DIR,
    VERIFY_REMOTE,
    DirtyStateError,
    IntegrityError,
    Remedy,
    UnknownFileError,
)
from ..faults import checkpoint
from ..paths import against
from ..refs import Ref, parse_ref
from ..results import CheckoutResult, FileResult, GetResult, LocalFile, LocalFiles, VersionFiles

if TYPE_CHECKING:
    from ..hashing import KnownDigests
    from ..registry import Registry
    from ..txn import Transaction
    from ..workspace import Staged


def get(
    self: Registry,
    ref: str | Ref,
    out_dir: str | Path | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    cwd: str | Path | None = None,
) -> GetResult:
    """Write a version's files into ``out_dir``, each verified against its sha256.

    Without ``out_dir``, a folder named after the model (the last part of
    ``team/fraud``). A relative ``out_dir`` is taken from ``cwd``, the caller's
    directory.

    Files are staged in a hidden folder inside ``out_dir`` and moved into place
    only when every one has verified; on any failure nothing is left behind. A
    different file already at a destination is refused unless ``force``. Up to
    ``jobs`` files are copied at once (default: 4 per CPU from a network remote,
    one per CPU from local files, at most 8).
    """
    from ..hashing import sha256_file
    from ..workspace import staged

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    shown = Path(out_dir) if out_dir is not None else Path(ref.name.rsplit("/", 1)[-1])
    out = against(cwd, shown)
    info = self._version_with_manifest(ref)
    assert info.manifest is not None
    if not force:
        for artifact in info.manifest.artifacts:
            existing = out / artifact.path
            if existing.is_file() and sha256_file(existing) != artifact.sha256:
                named = shown / artifact.path  # as the caller gave the folder
                raise DirtyStateError(
                    f"{named} exists and differs from {info.name} v{info.version}'s "
                    f"{artifact.path}",
                    hint=FORCE_OR_OUT_DIR,
                    remedy=Remedy("force", FORCE_OR_OUT_DIR),
                )
    storage, remote = self._storage_at(info.commit)
    with staged(
        storage, self.progress, info.manifest, out, remote, fill_cache=False, jobs=jobs
    ) as files:
        files.move_into_place()
    return GetResult(info.name, info.version, out.resolve(), files.files, self._warnings())


def files(self: Registry, ref: str | Ref) -> VersionFiles:
    """A version's files (path, size, sha256) as its manifest records them."""
    info = self._version_with_manifest(ref)
    assert info.manifest is not None
    found = tuple(FileResult(a.path, a.size, a.sha256) for a in info.manifest.artifacts)
    return VersionFiles(info.name, info.version, found)


def local_files(
    self: Registry,
    ref: str | Ref,
    paths: Sequence[str] | None = None,
    *,
    known: KnownDigests | None = None,
    verify: bool = True,
) -> LocalFiles:
    """Where this machine holds a version's files (``paths``: only those), each
    checked against the manifest's sha256: the promise of ``get`` — a wrong file is
    never handed over — for a caller that reads the bytes in place.

    The bytes are the local DVC cache's object, or the object of a local-folder DVC
    remote; from any other remote they are fetched into the cache first (verified
    against their md5 on the way). A corrupt cache object is repaired from the
    remote when the remote's copy is good. ``known`` remembers digests already
    computed, so a file that has not changed since is not read again. A path the
    manifest does not list is an :class:`UnknownFileError`.

    With ``verify=False``, a file ``known`` has no digest for is handed over unread,
    as ``verified=False``: for a caller that reads every byte anyway and checks the
    sha256 as it goes (the server streaming a download), so a 1 GiB file is not
    read twice before its first byte leaves. A file ``known`` remembers as wrong
    is checked (and repaired, or refused) as always.
    """
    from ..hashing import KnownDigests

    known = known if known is not None else KnownDigests()
    info = self._version_with_manifest(ref)
    manifest = info.manifest
    assert manifest is not None
    by_path = {a.path: a for a in manifest.artifacts}
    for path in paths or ():
        if path not in by_path:
            raise UnknownFileError(
                f"{info.name} v{info.version} has no file '{path}'",
                hint="its files are listed by their paths in the version's manifest",
            )
    wanted = list(manifest.artifacts) if paths is None else [by_path[p] for p in paths]
    storage, remote = self._storage_at(info.commit)
    md5s = [a.md5 for a in wanted]
    where: dict[str, Path] = {}
    with storage.sources(md5s, remote) as sources:
        for md5, source in sources.items():
            if isinstance(source, Path):
                where[md5] = source
    missing = [m for m in dict.fromkeys(md5s) if m not in where]
    if missing:  # on a remote that is not a folder here: into the cache, checked by md5
        storage.fetch(missing, remote, sizes={a.md5: a.size for a in wanted}, known=known)
        where.update(storage.cache_objects(missing))
    found = []
    for artifact in wanted:
        local = where[artifact.md5]
        if not verify and known.remembered(local) is None:
            found.append(LocalFile(artifact.path, artifact.size, artifact.sha256, local, False))
            continue
        got = known.sha256(local)
        if got != artifact.sha256 and storage.in_local_cache(local):
            known.forget(local)
            if storage.repair(artifact.md5, remote, known):
                got = known.sha256(local)
        if got != artifact.sha256:
            known.forget(local)
            raise IntegrityError(
                f"{info.name} v{info.version}: {artifact.path} does not match its sha256 "
                f"(expected {artifact.sha256[:12]}…, got {got[:12]}…): the object {local} "
                "is corrupt",
                hint=f"{VERIFY_REMOTE}; push the file again from a clone that holds good bytes",
                remedy=Remedy("remote", VERIFY_REMOTE),
            )
        found.append(LocalFile(artifact.path, artifact.size, artifact.sha256, local))
    return LocalFiles(info.name, info.version, tuple(found))


def checkout(self: Registry, ref: str | Ref) -> CheckoutResult:
    """Restore ``models/<name>/`` (manifest, ``.dvc`` files, bytes) to a version.

    Only the registry's own files change; bytes that no registered version has
    are never overwritten. The new bytes are fetched and verified first, then
    swapped in inside a journaled transaction.
    """
    from ..hashing import KnownDigests
    from ..registering import refuse_links
    from ..txn import Transaction
    from ..workspace import refuse_unregistered_bytes, staged

    info = self._version_with_manifest(ref)
    manifest = info.manifest
    assert manifest is not None
    model_dir = self.model_dir(info.name)
    folder = self.model_folder(info.name)
    with self._locked():
        refuse_links(self.root, model_dir, [a.path for a in manifest.artifacts])
        _base, current = self._worktree_base(info.name, model_dir)
        known = self._known_md5s(info.name)
        now = current.artifacts if current else ()
        refuse_links(self.root, model_dir, [a.path for a in (*now, *manifest.artifacts)])
        if current is not None:
            refuse_unregistered_bytes(self.storage, self.root, folder, now, known)
        _refuse_clobbering(self, folder, now, manifest.artifacts, known)
        # What the fetch hashes is vouched for: a server here need not hash it again.
        vouched = KnownDigests.of_repository(self.git.common_dir)
        with staged(
            self.storage, self.progress, manifest, folder, self.config.remote, known=vouched
        ) as new:
            description = f"checkout {info.name} v{info.version}"
            with Transaction.begin(self.git.common_dir, self.root, "checkout", description) as txn:
                _swap_in(self, txn, model_dir, info.commit, now, manifest, new)
        self.storage.remember([(folder / a.path, a.md5) for a in manifest.artifacts])
    return CheckoutResult(info.name, info.version, folder, new.files)


def _swap_in(
    self: Registry,
    txn: Transaction,
    model_dir: str,
    commit: str,
    now: Sequence[manifest_mod.ArtifactFile],
    manifest: manifest_mod.Manifest,
    new: Staged,
) -> None:
    from ..registering import registry_files

    folder = self.root / model_dir
    old_files = registry_files(model_dir, [a.path for a in now])
    new_files = registry_files(model_dir, [a.path for a in manifest.artifacts])
    txn.snapshot([self.root / p for p in sorted(set(old_files) | set(new_files))])
    aside = []
    for artifact in now:
        path = folder / artifact.path
        if path.is_file() or path.is_symlink():
            aside.append((txn.move_aside(path), artifact.md5))
    self.storage.ensure_cached(aside)
    checkpoint("checkout:after-move-aside")
    at_commit = set(self.git.tracked_files(commit, model_dir))
    for rel in old_files:
        if rel not in at_commit:
            (self.root / rel).unlink(missing_ok=True)
    self.git.restore_worktree(commit, [p for p in new_files if p in at_commit])
    checkpoint("checkout:after-restore")
    new.move_into_place(before=txn.will_place)
    checkpoint("checkout:after-place")


def _refuse_clobbering(
    self: Registry,
    folder: Path,
    now: Sequence[manifest_mod.ArtifactFile],
    wanted: Sequence[manifest_mod.ArtifactFile],
    known: set[str],
) -> None:
    """Refuse to overwrite a file the version would write where the user keeps
    something else: unregistered bytes, or a folder."""
    current = {a.path for a in now}
    for artifact in wanted:
        path = folder / artifact.path
        for parent in (p for p in path.relative_to(folder).parents if str(p) != "."):
            if (folder / parent).is_file() and parent.as_posix() not in current:
                raise DirtyStateError(
                    f"{(folder / parent).relative_to(self.root)} is a file in the way of "
                    f"{artifact.path}; move it away first"
                )
        if path.is_dir():
            raise DirtyStateError(
                f"{path.relative_to(self.root)} is a folder in the way; move it away first"
            )
    clash = [
        folder / a.path for a in wanted if a.path not in current and (folder / a.path).is_file()
    ]
    actual = self.storage.current_md5s(clash)
    for path, md5 in actual.items():
        if md5 not in known:
            raise DirtyStateError(
                f"{path.relative_to(self.root)} exists and is not part of any registered "
                "version; move it away first"
            )
