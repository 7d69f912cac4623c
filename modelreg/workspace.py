"""Model bytes in a directory: staged from the DVC cache, verified, then moved into place.

Used by ``get`` (any directory), ``checkout`` and ``pull`` (the model folders of the
work tree). Every file is copied into a hidden staging folder inside the target
while its sha256 is computed; only when every file has verified are they renamed
into place, so a failure never leaves a partial or unverified file behind.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import (
    VERIFY_REMOTE,
    DirtyStateError,
    InputPathError,
    IntegrityError,
    ManifestError,
    Remedy,
)
from .hashing import KnownDigests, copy_file
from .manifest import MANIFEST_FILE, ArtifactFile, Manifest, loads
from .paths import inside, replace_into
from .progress import Progress, Task
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
            final = inside(self.directory, item.path, "artifact path", final_link=True)
            if final.is_dir() and not final.is_symlink():
                raise InputPathError(f"{final}: is a directory")
            if before is not None:
                before(final)
            replace_into(self.directory, item.path, self.staging / item.path, "artifact path")


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
    jobs: int | None = None,
    known: KnownDigests | None = None,
) -> Iterator[Staged]:
    """Fetch a version's objects, copy them next to ``directory`` and verify them.

    With ``fill_cache`` (checkout, pull: the work tree's files belong in the
    cache) missing objects are fetched into the local cache first (``known``:
    where to vouch for the sha256 of each, computed on its way in); without it
    (get) they are read straight from the remote, each byte read and written
    once. Several files are copied ``jobs`` at once (see :func:`_copy_all`). The
    staging folder is removed when the block ends, whether or not the files were
    moved into place.
    """
    artifacts = list(only if only is not None else manifest.artifacts)
    what = f"{manifest.name} v{manifest.version}: artifact"
    for artifact in artifacts:  # refused before any byte moves
        inside(directory, artifact.path, what, final_link=True)
    md5s = [a.md5 for a in artifacts]
    fetched: list[str] = []
    if fill_cache:
        sizes = {a.md5: a.size for a in artifacts}
        fetched = storage.fetch(md5s, remote, sizes=sizes, known=known)
    if directory.exists() and not directory.is_dir():
        raise InputPathError(f"{directory}: exists and is not a directory")
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    done = False
    try:
        with storage.sources(md5s, remote) as sources:

            def copy(artifact: ArtifactFile, task: Task) -> FileResult:
                source = sources[artifact.md5]
                return _verified_copy(
                    storage, remote, manifest, artifact, source, staging, task, fetched
                )

            streams = any(not isinstance(sources[md5], Path) for md5 in md5s)
            files = _copy_all(manifest, artifacts, copy, progress, _workers(jobs, streams))
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


MAX_DEFAULT_WORKERS = 8  # a copy of a big file holds 24 MiB of buffers (hashing.RING x CHUNK)
STOP_GRACE = 0.5  # seconds the other copies get to stop once one failed or Ctrl-C was pressed


def _workers(jobs: int | None, streams: bool) -> int:
    """Copies at once: ``jobs``, else 4 per CPU for a network remote (the time goes
    to round trips, as DVC's default) or one per CPU for local files (hashing
    bound), at most :data:`MAX_DEFAULT_WORKERS`."""
    if jobs is not None:
        return max(1, jobs)
    cpus = os.cpu_count() or 1
    return min(MAX_DEFAULT_WORKERS, 4 * cpus if streams else cpus)


class _Cancelled(BaseException):
    """A copy stopped because another one failed (or the user pressed Ctrl-C). Not an
    ``Exception``: error translators around the copy must let it through."""


class _StoppableTask:
    """One progress bar shared by parallel copies; each chunk first checks whether
    the whole transfer was called off, so the other copies stop within a chunk."""

    def __init__(self, task: Task, stop: threading.Event) -> None:
        self._task, self._stop, self._lock = task, stop, threading.Lock()

    def advance(self, amount: int) -> None:
        if self._stop.is_set():
            raise _Cancelled
        with self._lock:
            self._task.advance(amount)


def _copy_all(
    manifest: Manifest,
    artifacts: Sequence[ArtifactFile],
    copy: Callable[[ArtifactFile, Task], FileResult],
    progress: Progress,
    workers: int,
) -> list[FileResult]:
    """Every artifact copied and verified, under one progress bar: in turn when
    there is one file (or one worker), else ``workers`` at once, so a version of
    many files from a network remote costs its largest file rather than the sum of
    the round trips.

    The first failure (or Ctrl-C) stops the other copies at their next chunk and is
    raised after at most :data:`STOP_GRACE` seconds: the copies run in daemon
    threads, so a read that hangs on a dead connection cannot hold the command
    (or the interpreter's exit) hostage. A copy removes its own partial file."""
    total = sum(a.size for a in artifacts)
    label = (
        artifacts[0].path
        if len(artifacts) == 1
        else f"{len(artifacts)} files of {manifest.name} v{manifest.version}"
    )
    with progress.task(f"writing {label}", total) as task:
        workers = min(workers, len(artifacts))
        if workers <= 1:
            return [copy(artifact, task) for artifact in artifacts]
        return _in_parallel(artifacts, copy, task, workers)


def _in_parallel(
    artifacts: Sequence[ArtifactFile],
    copy: Callable[[ArtifactFile, Task], FileResult],
    task: Task,
    workers: int,
) -> list[FileResult]:
    todo: queue.SimpleQueue[tuple[int, ArtifactFile]] = queue.SimpleQueue()
    for item in enumerate(artifacts):
        todo.put(item)
    results: list[FileResult | None] = [None] * len(artifacts)
    errors: list[BaseException] = []
    stop, settled, lock = threading.Event(), threading.Event(), threading.Lock()
    shared = _StoppableTask(task, stop)
    running = [workers]

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    index, artifact = todo.get_nowait()
                except queue.Empty:
                    return
                results[index] = copy(artifact, shared)
        except _Cancelled:
            pass
        except BaseException as exc:  # the first real failure is the one reported
            with lock:
                errors.append(exc)
            stop.set()
            settled.set()
        finally:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    settled.set()

    threads = [
        threading.Thread(target=work, name=f"modelreg-copy-{i}", daemon=True)
        for i in range(workers)
    ]
    try:
        for thread in threads:
            thread.start()
        while not settled.wait(0.25):  # short waits: Ctrl-C is seen at once
            pass
    except BaseException:
        stop.set()
        _let_stop(threads)
        raise
    if errors:
        _let_stop(threads)
        raise errors[0]
    return [r for r in results if r is not None]


def _let_stop(threads: Sequence[threading.Thread]) -> None:
    """Give copies that were told to stop a moment to remove their partial files;
    one stuck in a read is left behind (a daemon thread: it ends with the process)."""
    deadline = time.monotonic() + STOP_GRACE
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _verified_copy(
    storage: Storage,
    remote: str | None,
    manifest: Manifest,
    artifact: ArtifactFile,
    source: Path | Callable[[], BinaryIO],
    staging: Path,
    task: Task,
    fetched: Sequence[str] = (),
) -> FileResult:
    """Copy one object into the staging folder, computing its sha256 on the way,
    and refuse it if that differs from the manifest's. A corrupt object of the
    local cache is repaired from the DVC remote when the remote's copy is good (a
    corrupt object this command just fetched into the cache is removed from it
    again); the remote itself is only read."""
    target = staging / artifact.path
    target.parent.mkdir(parents=True, exist_ok=True)
    got = _copy_one(storage, remote, artifact, source, target, task)
    if got == artifact.sha256:
        return FileResult(artifact.path, artifact.size, got)
    cached = isinstance(source, Path) and storage.in_local_cache(source)
    if cached and artifact.md5 not in fetched and storage.repair(artifact.md5, remote):
        target.unlink(missing_ok=True)
        got = _copy_one(storage, remote, artifact, source, target, task)
        if got == artifact.sha256:
            return FileResult(artifact.path, artifact.size, got)
    if artifact.md5 in fetched and isinstance(source, Path):
        storage.remove_cache_objects([source])
    if cached and artifact.md5 not in fetched:
        where = f"the DVC cache's object {source} is corrupt and the DVC remote has no good copy"
    elif isinstance(source, Path) and not cached:
        where = f"the DVC remote's object {source} is corrupt; it was left as it is"
    else:
        where = f"the DVC remote's object for md5 {artifact.md5} is corrupt"
    raise IntegrityError(
        f"{manifest.name} v{manifest.version}: {artifact.path} does not match its "
        f"sha256 (expected {artifact.sha256[:12]}…, got {got[:12]}…): {where}",
        hint=f"{VERIFY_REMOTE}; push the file again from a clone that holds good bytes",
        remedy=Remedy("remote", VERIFY_REMOTE),
    )


def _copy_one(
    storage: Storage,
    remote: str | None,
    artifact: ArtifactFile,
    source: Path | Callable[[], BinaryIO],
    target: Path,
    task: Task,
) -> str:
    if isinstance(source, Path):
        return copy_file(source, target, task).sha256
    with storage.remote_errors(remote), source() as stream:
        return copy_file(stream, target, task, size=artifact.size).sha256


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
