"""The upload area: bytes a client sent, kept by their sha256 until registered or expired.

``POST /v2/models/upload`` streams its body into ``incoming/`` under a fresh
name while its sha256 and md5 (DVC's address) are computed (never whole in
memory), and renames it to
``sha256/<hex>`` only once the body is complete: the area never holds a partial
upload under a digest. The same bytes uploaded twice are stored once (the second
upload refreshes the first one's age and its recorded file name). What nobody
registers within ``max_age`` seconds is swept away; at start-up every partial
file is, since no upload is in flight then (a server killed mid-upload leaves one).

Registering links the uploads it names into a staging folder in the work tree
(``.modelreg-upload-*``: the register operation refuses files inside ``.git``,
where the area is) at the paths they get in the version, then hands that folder
to :meth:`~modelreg.registry.Registry.register`, which copies the bytes into DVC
as it does for the CLI, with the digests computed on arrival (``known_digests``:
a 1 GiB file is not read and hashed a second time). A hardlink costs no copy;
across file systems the bytes are copied. An upload stays after it was
registered, until it expires: another version may be registered from the same
bytes (a retry after a refused dependency, say), and the DVC cache holds its own
copy anyway.

Nothing here imports Starlette: the HTTP handlers are in :mod:`.files`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import Kind, ModelregError
from ..hashing import Digests
from ..manifest import MANIFEST_FILE, safe_relative_path
from ..paths import write_error, write_replacing

DEFAULT_NAME = "model.bin"
STAGING_PREFIX = ".modelreg-upload-"  # in the work tree; doctor's TEMP_MARK is in it
_DIGEST = re.compile(r"sha256:([0-9a-fA-F]{64})")
_MD5 = re.compile(r"[0-9a-f]{32}")


def staging_folder(root: Path) -> Path:
    """A new folder name in the work tree ``root`` for files on their way into a
    registration (under :data:`STAGING_PREFIX`, so start-up sweeps what a killed
    server left)."""
    return root / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """``target`` as a hardlink of ``source`` where the file system allows, else a
    copy (a missing ``source`` raises ``FileNotFoundError`` either way)."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise
    except OSError:
        shutil.copyfile(source, target)


class UploadError(ModelregError):
    """An upload or a reference to one that cannot be used as given."""

    kind = Kind.INVALID


class UnknownUploadError(ModelregError):
    """A digest that no upload (still kept) has."""

    kind = Kind.NOT_FOUND


def parse_digest(text: str, where: str = "digest") -> str:
    """``sha256:<64 hex digits>`` → the lower-case hex digits."""
    found = _DIGEST.fullmatch(text)
    if found is None:
        raise UploadError(
            f"{where} '{text[:80]}' is not a digest: write sha256:<64 hex digits>",
            hint="the digest POST /v2/models/upload answered",
        )
    return found.group(1).lower()


def name_problem(rel: str) -> str | None:
    """Why ``rel`` cannot be a file's path in a version registered from uploads.

    A manifest's artifact path first (:func:`~modelreg.manifest.safe_relative_path`:
    no ``..``, nothing absolute, no control character, not the registry's own
    files); then what registering a folder would silently leave out: a part named
    ``.git``, ``.dvc`` or ``.modelreg-*``, and a ``model.yaml`` below the top (its
    folder would be taken for another model's)."""
    problem = safe_relative_path(rel)
    if problem:
        return problem
    parts = rel.split("/")
    if any(p in (".git", ".dvc") or p.startswith(".modelreg-") for p in parts):
        return "has a part named .git, .dvc or .modelreg-*"
    if parts[-1] == MANIFEST_FILE:
        return f"is named {MANIFEST_FILE}, the registry's manifest"
    return None


def checked_name(rel: str, where: str) -> str:
    problem = name_problem(rel)
    if problem:
        shown = rel.encode("unicode_escape").decode("ascii")[:200]
        raise UploadError(f"{where} '{shown}' {problem}", hint="give a plain relative path")
    return rel


def client_file_name(given: str) -> str:
    """A name a client sent in ``Content-Disposition``: only its last part counts
    (RFC 6266: a recipient ignores the folders of the sender's machine)."""
    last = given.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return checked_name(last, "the file name")


@dataclass(frozen=True)
class Upload:
    """A complete upload: its bytes at ``path``, under the name it was sent with."""

    sha256: str
    size: int
    filename: str
    path: Path
    md5: str | None = None  # None: an upload recorded before md5 was kept

    def digests(self) -> Digests | None:
        """What register may take as known for these bytes (None: hash them)."""
        return Digests(self.size, self.sha256, self.md5) if self.md5 else None

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256}"


class Receiving:
    """One upload being written: each block is hashed and appended (on a worker
    thread, md5 on a second one meanwhile: hashlib releases the GIL on big
    buffers); :meth:`abort` waits for a block in progress, then removes the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._sha = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._md5_thread = ThreadPoolExecutor(1, thread_name_prefix="upload-md5")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        self._fd: int | None = os.open(path, flags, 0o644)
        self._guard = threading.Lock()

    def write(self, block: bytes | bytearray) -> None:
        with self._guard:
            if self._fd is None:
                return  # aborted meanwhile
            view = memoryview(block)
            md5 = self._md5_thread.submit(self._md5.update, view)
            try:
                self._sha.update(view)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                raise write_error(self.path, exc) from None
            finally:
                md5.result()
            self.size += len(block)

    def close(self) -> tuple[str, str]:
        """Close the file; its sha256 and md5."""
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._md5_thread.shutdown()
        return self._sha.hexdigest(), self._md5.hexdigest()

    def abort(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class UploadArea:
    """``<state_dir>/uploads``: ``incoming/`` (bodies being received) and
    ``sha256/`` (complete uploads, ``<hex>`` and ``<hex>.json`` with the name)."""

    def __init__(self, folder: Path, max_age: float, max_size: int) -> None:
        self.folder = folder
        self.incoming = folder / "incoming"
        self.blobs = folder / "sha256"
        self.max_age = max_age
        self.max_size = max_size
        # Finishing an upload, linking one for a registration and sweeping take
        # turns, so a sweep never removes bytes on their way into a version.
        self._guard = threading.Lock()
        self._receiving: set[Path] = set()

    def _ensure(self) -> None:
        for folder in (self.incoming, self.blobs):
            folder.mkdir(parents=True, exist_ok=True)

    # --- receiving ---------------------------------------------------------------

    def begin(self) -> Receiving:
        self._ensure()
        path = self.incoming / f"{os.getpid()}-{uuid.uuid4().hex}.part"
        try:
            receiving = Receiving(path)
        except OSError as exc:
            raise write_error(path, exc) from None
        with self._guard:
            self._receiving.add(path)
        return receiving

    def finish(self, receiving: Receiving, filename: str) -> Upload:
        """The complete body becomes the upload of its sha256 (stored once)."""
        sha256, md5 = receiving.close()
        blob = self.blobs / sha256
        try:
            with self._guard:
                self._receiving.discard(receiving.path)
                if blob.exists():
                    receiving.path.unlink()
                    os.utime(blob)  # uploaded again: kept another max_age from now
                else:
                    os.chmod(receiving.path, 0o444)
                    os.replace(receiving.path, blob)
                record = {"filename": filename, "size": receiving.size, "md5": md5}
                write_replacing(self._record(sha256), json.dumps(record).encode())
        except OSError as exc:
            raise write_error(blob, exc) from None
        finally:
            receiving.path.unlink(missing_ok=True)
        return Upload(sha256, receiving.size, filename, blob, md5)

    def drop(self, receiving: Receiving) -> None:
        """An upload that will not complete: nothing of it stays."""
        receiving.abort()
        with self._guard:
            self._receiving.discard(receiving.path)

    # --- finding and staging -----------------------------------------------------------

    def _record(self, sha256: str) -> Path:
        return self.blobs / f"{sha256}.json"

    def find(self, sha256: str) -> Upload:
        """The upload with this sha256, or :class:`UnknownUploadError` naming it."""
        blob = self.blobs / sha256
        try:
            size = blob.stat().st_size
        except FileNotFoundError:
            raise UnknownUploadError(
                f"no upload has the digest sha256:{sha256}",
                hint="upload the file first (POST /v2/models/upload); uploads not registered "
                f"within {self.max_age:g} s are removed",
            ) from None
        filename, md5 = DEFAULT_NAME, None
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            record = json.loads(self._record(sha256).read_bytes())
            recorded = record["filename"]
            if isinstance(recorded, str) and name_problem(recorded) is None:
                filename = recorded
            given = record.get("md5")
            if record.get("size") == size and isinstance(given, str) and _MD5.fullmatch(given):
                md5 = given
        return Upload(sha256, size, filename, blob, md5)

    @contextlib.contextmanager
    def staged(self, files: Sequence[tuple[str, Upload]], root: Path) -> Iterator[Path]:
        """A folder in the work tree ``root`` holding each upload at its path (a
        hardlink where the file system allows, else a copy); removed afterwards."""
        folder = staging_folder(root)
        try:
            folder.mkdir()
            with self._guard:
                for rel, upload in files:
                    target = folder.joinpath(*rel.split("/"))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        link_or_copy(upload.path, target)
                    except FileNotFoundError:
                        raise self._gone(upload) from None
            yield folder
        except OSError as exc:
            raise write_error(folder, exc) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _gone(self, upload: Upload) -> UnknownUploadError:
        return UnknownUploadError(
            f"the upload sha256:{upload.sha256} expired meanwhile", hint="upload it again"
        )

    # --- sweeping ------------------------------------------------------------------

    def sweep(self, *, starting: bool = False) -> int:
        """Remove uploads older than ``max_age`` and partial bodies no request is
        writing (at start-up: all of them). Returns how many files went."""
        now = time.time()
        removed = 0
        with self._guard:
            for path in _entries(self.incoming):
                if path in self._receiving:
                    continue
                if starting or _age(path, now) > self.max_age:
                    removed += _remove(path)
            for path in _entries(self.blobs):
                if path.suffix == ".json":
                    blob = path.with_suffix("")
                    if not blob.exists():
                        removed += _remove(path)  # its blob is gone: the name too
                    continue
                if _age(path, now) > self.max_age:
                    removed += _remove(path) + _remove(self._record(path.name))
        return removed

    @staticmethod
    def sweep_staging(root: Path) -> int:
        """Staging folders a server killed mid-registration left in the work tree,
        for start-up: those of another process still running are left alone (this
        process has made none yet, though a restarted container's server may have
        its predecessor's pid)."""
        removed = 0
        for path in _entries(root):
            if not path.name.startswith(STAGING_PREFIX):
                continue
            pid = path.name[len(STAGING_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and _running(int(pid)):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True
