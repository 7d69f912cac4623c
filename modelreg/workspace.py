"""Model bytes in a directory: staged from the DVC cache, verified, then moved into place.

Used by ``get`` (any directory), ``checkout`` and ``pull`` (the model folders of the
work tree). Every file is copied into a hidden staging folder inside the target
while its sha256 is computed; only when every file has verified are they renamed
into place, so a failure never leaves a partial or unverified file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import DirtyStateError, InputPathError, IntegrityError, ManifestError
from .hashing import copy_file
from .manifest import MANIFEST_FILE, ArtifactFile, Manifest, loads
from .progress import Progress
from .results import FileResult
from .storage import Storage

STAGING_PREFIX = ".modelreg-"


class Staged:
    """Verified copies waiting in a staging folder inside ``directory``."""

    def __init__(self, directory: Path, staging: Path, files: tuple[FileResult, ...]) -> None:
        self.directory = directory
        self.staging = staging
        self.files = files

    def move_into_place(self, before: Callable[[Path], None] | None = None) -> None:
        """Rename every verified file into place (``before`` hears of each first)."""
        for item in self.files:
            final = self.directory / item.path
            if final.is_dir():
                raise InputPathError(f"{final}: is a directory")
            if before is not None:
                before(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / item.path, final)


@contextmanager
def staged(
    storage: Storage,
    progress: Progress,
    manifest: Manifest,
    directory: Path,
    remote: str | None,
    only: Sequence[ArtifactFile] | None = None,
    *,
    fill_cache: bool = True,
) -> Iterator[Staged]:
    """Fetch a version's objects, copy them next to ``directory`` and verify them.

    With ``fill_cache`` (checkout, pull: the work tree's files belong in the
    cache) missing objects are fetched into the local cache first; without it
    (get) they are read straight from the remote, each byte read and written
    once. The staging folder is removed when the block ends, whether or not the
    files were moved into place.
    """
    artifacts = list(only if only is not None else manifest.artifacts)
    md5s = [a.md5 for a in artifacts]
    fetched: list[str] = []
    if fill_cache:
        fetched = storage.fetch(md5s, remote, sizes={a.md5: a.size for a in artifacts})
    if directory.exists() and not directory.is_dir():
        raise InputPathError(f"{directory}: exists and is not a directory")
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    done = False
    try:
        with storage.sources(md5s, remote) as sources:
            files = [
                _verified_copy(
                    storage,
                    remote,
                    manifest,
                    artifact,
                    sources[artifact.md5],
                    staging,
                    progress,
                    fetched,
                )
                for artifact in artifacts
            ]
        yield Staged(directory, staging, tuple(files))
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:  # a failed command leaves no folder it made behind
            for folder in created:
                try:
                    folder.rmdir()
                except OSError:
                    break


def _verified_copy(
    storage: Storage,
    remote: str | None,
    manifest: Manifest,
    artifact: ArtifactFile,
    source: Path | Callable[[], BinaryIO],
    staging: Path,
    progress: Progress,
    fetched: Sequence[str] = (),
) -> FileResult:
    """Copy one object into the staging folder, computing its sha256 on the way,
    and refuse it if that differs from the manifest's (a corrupt object this
    command just fetched into the cache is removed from it again)."""
    target = staging / artifact.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with progress.task(f"writing {artifact.path}", artifact.size) as task:
        if isinstance(source, Path):
            got = copy_file(source, target, task).sha256
        else:
            with storage.remote_errors(remote), source() as stream:
                got = copy_file(stream, target, task).sha256
    if got != artifact.sha256:
        from_remote = (
            artifact.md5 in fetched
            or not isinstance(source, Path)
            or (storage.root / ".dvc" / "cache" not in source.parents)
        )
        if artifact.md5 in fetched and isinstance(source, Path):
            storage.remove_cache_objects([source])
        where = "DVC remote" if from_remote else "DVC cache"
        raise IntegrityError(
            f"{manifest.name} v{manifest.version}: {artifact.path} does not match its "
            f"sha256 (expected {artifact.sha256[:12]}…, got {got[:12]}…)",
            hint=f"the {where} holds corrupt bytes; run 'modelreg verify --remote'",
        )
    return FileResult(artifact.path, artifact.size, got)


def read_manifest(path: Path, shown: str) -> Manifest | None:
    """The manifest at ``path`` in the work tree, or None when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return loads(data, shown)


def manifests_under(root: Path, models_dir: str) -> list[Manifest]:
    """Every readable manifest in the work tree's models folder (broken ones skipped)."""
    base = root / models_dir
    found = []
    for path in sorted(base.rglob(MANIFEST_FILE)) if base.is_dir() else []:
        try:
            manifest = read_manifest(path, path.relative_to(root).as_posix())
        except ManifestError:
            continue
        if manifest is not None:
            found.append(manifest)
    return found


def refuse_unregistered_bytes(
    storage: Storage,
    root: Path,
    folder: Path,
    artifacts: Sequence[ArtifactFile],
    known: set[str],
) -> list[ArtifactFile]:
    """Stop if a model file in ``folder`` holds bytes no registered version has.

    Returns the artifacts whose file holds *another* registered version's bytes
    (after a pull, say): nothing is lost by replacing those.
    """
    present = [a for a in artifacts if (folder / a.path).is_file()]
    actual = storage.current_md5s([folder / a.path for a in present])
    stale = []
    for artifact in present:
        md5 = actual[folder / artifact.path]
        if md5 == artifact.md5:
            continue
        if md5 not in known:
            raise DirtyStateError(
                f"{(folder / artifact.path).relative_to(root)} has changes that are not registered",
                hint="register the changed file as a new version, or move it away",
            )
        stale.append(artifact)
    return stale
