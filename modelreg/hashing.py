"""Reading file bytes once: digests, and copies verified as they are written.

Each byte is read once, however many digests and copies are wanted. For big
files each digest runs in its own thread (hashlib releases the GIL on large
buffers) while the calling thread reads and writes, so on two cores md5 (DVC's
address, ~0.7 GB/s) and sha256 (~1.8 GB/s) cost about as much as md5 alone.
A ring of a few buffers lets the next read start before the digests of the
previous chunk are done; a buffer is reused only once every digest is past it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from .progress import Task

CHUNK = 8 * 1024 * 1024
RING = 3  # buffers in flight: one being read, two being digested
THREADED_FROM = 2 * CHUNK  # smaller files are digested inline: threads would cost more


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str


class _Hash(Protocol):
    def update(self, data: memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


Source = Path | BinaryIO


def digest_file(path: Path, task: Task | None = None) -> Digests:
    """sha256 and md5 (DVC's content address) of a file, in one read pass."""
    return copy_to(path, [], task, md5=True)


def sha256_file(path: Path, task: Task | None = None) -> str:
    """The sha256 of a file (to verify bytes already in place)."""
    return copy_to(path, [], task).sha256


STORE_FOLDER = "modelreg-server"
"""In a repository's common git directory: what modelreg keeps outside git (the
server's state, and the known digests every process on the repository shares)."""


def known_digests_store(git_common_dir: Path) -> Path:
    """The file where a repository's :class:`KnownDigests` are kept:
    ``<git common dir>/modelreg-server/known-digests``, shared by every modelreg
    process on that repository. ``modelreg register`` and ``pull`` write there what
    they hashed while writing DVC's cache; ``modelreg serve`` reads it, so the first
    download of a version registered or pulled from the command line reads its
    bytes once, not twice."""
    return git_common_dir / STORE_FOLDER / "known-digests"


class KnownDigests:
    """sha256 digests of files already read, believed while the file is unchanged.

    A file is taken to be unchanged while its device, inode, size, modification
    and change times are (any write moves the change time, and so does a
    rename-over, which also brings a new inode): a server handing out the same
    1 GiB object a second time need not read it again. Safe for threads; holds
    at most ``size`` entries, the least recently used going first.

    With a ``store`` (a file, :func:`known_digests_store` for a repository), what
    is learnt outlives the process and is shared between processes: one line per
    digest learnt, vouched for or forgotten, appended with one ``write`` (so lines
    of processes writing at once do not mix), and rewritten whole when it has
    twice ``size`` lines. The store is read when first needed, and again, from
    where the last read stopped, whenever a lookup misses and the file has grown
    since: a running server believes what a ``modelreg register`` in another
    process vouched for after the server started. A store replaced (another
    process rewrote it) or cut shorter is read whole again; before rewriting it,
    a process first takes in what others appended, so it does not drop their lines.
    A process that only vouches (``register``) never reads the store at all.

    The file holds nothing more trusted than the folder it is in (whoever can
    write it can write the objects it describes); a line it cannot read (torn,
    garbage) is skipped, and a file that cannot be written leaves the digests
    remembered for this process only.
    """

    def __init__(self, size: int = 4096, store: Path | None = None) -> None:
        self._size = size
        self._known: OrderedDict[tuple[int, int], tuple[tuple[int, int, int], str]] = OrderedDict()
        self._guard = threading.Lock()
        self._store = store
        self._lines = 0  # lines in the store as far as this process knows
        self._read_from: tuple[int, int] | None = None  # (device, inode) of the file read
        self._read_to = 0  # bytes of it taken in: every complete line before this offset

    @classmethod
    def of_repository(cls, git_common_dir: Path, size: int = 4096) -> KnownDigests:
        """The digests every modelreg process on this repository shares."""
        return cls(size, store=known_digests_store(git_common_dir))

    def _catch_up(self) -> bool:
        """Take in the lines others appended to the store since it was last read,
        or the whole store when it was replaced or shortened; called with the guard
        held. Whether anything was taken in."""
        if self._store is None:
            return False
        try:
            st = os.stat(self._store)
            if (st.st_dev, st.st_ino) == self._read_from and st.st_size == self._read_to:
                return False
            with open(self._store, "rb") as handle:
                st = os.fstat(handle.fileno())
                identity = (st.st_dev, st.st_ino)
                if identity != self._read_from or st.st_size < self._read_to:
                    # Rewritten by another process (or cut): its lines replace ours.
                    self._known.clear()
                    self._lines, self._read_from, self._read_to = 0, identity, 0
                handle.seek(self._read_to)
                data = handle.read()
        except OSError:  # no store yet, or none this process may read
            return False
        complete = data.rfind(b"\n") + 1  # a line still being written waits for its end
        self._read_to += complete
        self._take(data[:complete].decode("ascii", errors="replace"))
        return complete > 0

    def _take(self, text: str) -> None:
        """Apply the store's lines in ``text`` in order; a line that is not one of
        ours (torn, garbage) is skipped. Called with the guard held."""
        for line in text.split("\n"):
            if not line:
                continue
            self._lines += 1
            parts = line.split(" ")
            if len(parts) != 6 or not all(p.isdigit() for p in parts[:5]):
                continue
            dev, ino, size, mtime, ctime = (int(p) for p in parts[:5])
            where, digest = (dev, ino), parts[5]
            if digest == "-":
                self._known.pop(where, None)
            elif len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
                self._known[where] = ((size, mtime, ctime), digest)
                self._known.move_to_end(where)
        self._trim()

    def _trim(self) -> None:
        while len(self._known) > self._size:
            self._known.popitem(last=False)

    @staticmethod
    def _line(where: tuple[int, int], when: tuple[int, int, int], digest: str) -> str:
        return f"{where[0]} {where[1]} {when[0]} {when[1]} {when[2]} {digest}\n"

    def _keep(self, lines: Sequence[str]) -> None:
        """Write down what was learnt (``-``: forgotten), already applied in memory;
        called with the guard held."""
        if self._store is None or not lines:
            return
        try:
            if self._lines >= 2 * self._size:
                self._rewrite(lines)
                return
            data = "".join(lines).encode("ascii")
            self._store.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._store, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, data)  # one short write: appended whole, never interleaved
                end = os.lseek(fd, 0, os.SEEK_CUR)
                st = os.fstat(fd)
            finally:
                os.close(fd)
        except OSError:  # a read-only repository, a full disk: this process remembers
            return
        identity = (st.st_dev, st.st_ino)
        if end - len(data) == self._read_to and self._read_from in (None, identity):
            # Nobody appended since the last read: these lines need not be read back.
            self._lines += len(lines)
            self._read_from, self._read_to = identity, end

    def _rewrite(self, lines: Sequence[str]) -> None:
        """Rewrite the store with what is known now, after taking in what others
        appended since the last read (and ``lines``, this process's newest, again:
        taking in a replaced store forgets what was not in it)."""
        assert self._store is not None
        self._catch_up()
        self._take("".join(lines))
        data = "".join(self._line(w, t, d) for w, (t, d) in self._known.items()).encode("ascii")
        temporary = self._store.with_name(f"{self._store.name}.{os.getpid()}.new")
        try:
            with open(temporary, "wb") as out:
                out.write(data)
                st = os.fstat(out.fileno())
            temporary.replace(self._store)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        self._lines = len(self._known)
        self._read_from, self._read_to = (st.st_dev, st.st_ino), len(data)

    @staticmethod
    def _key(st: os.stat_result) -> tuple[tuple[int, int], tuple[int, int, int]]:
        return (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _found(self, where: tuple[int, int], when: tuple[int, int, int]) -> str | None:
        found = self._known.get(where)
        if found is not None and found[0] == when:
            self._known.move_to_end(where)
            return found[1]
        return None

    def remembered(self, path: Path) -> str | None:
        """The sha256 of ``path`` if it is remembered and the file unchanged since;
        None when it would have to be read. A miss first looks for what other
        processes wrote to the store since it was last read (one ``stat`` when
        nothing was)."""
        where, when = self._key(os.stat(path))
        with self._guard:
            found = self._found(where, when)
            if found is None and self._catch_up():
                found = self._found(where, when)
        return found

    def sha256(self, path: Path) -> str:
        """The sha256 of ``path``: remembered, or read (once) and remembered."""
        found = self.remembered(path)
        return found if found is not None else self.read(path)

    def read(self, path: Path) -> str:
        """The sha256 of ``path`` read now, whatever is remembered, and remembered
        (``modelreg verify``: a check that believed an earlier one would not be a
        check; what it read spares the server's next download the reading)."""
        with open(path, "rb", buffering=0) as handle:
            before = os.fstat(handle.fileno())
            digest = copy_to(handle, [], size=before.st_size).sha256
            self.learn(handle.fileno(), before, digest)
        return digest

    def learn(self, fd: int, before: os.stat_result, digest: str) -> bool:
        """Remember ``digest`` as the sha256 of the open file ``fd``, read whole by
        the caller since ``before`` (its ``fstat`` when the reading began), unless
        the file changed meanwhile (then nothing is remembered: False)."""
        start, after = self._key(before), self._key(os.fstat(fd))
        if start != after:  # written to while it was read
            return False
        self._remember([(after, digest)])
        return True

    def vouch(self, files: Iterable[tuple[Path, str]]) -> int:
        """Remember each (path, sha256) of ``files`` without reading the file: for
        bytes the caller hashed on their way in and wrote to that path itself; the
        file as it is now (device, inode, size, times) is what is believed, so any
        later change is seen. One append to the store; how many were taken (a file
        gone is not).

        Only for files the caller wrote: an object that was already there may have
        rotted since it was written, and must be read at its first use. Whether the
        caller wrote it is the caller's to know (:meth:`LocalCache.commit
        <modelreg.storage.cache.LocalCache.commit>` says whether it put an object in
        place), not a change time's: file times come from a clock a few ms behind
        ``time.time_ns()``, so a small file written just now looks older than a
        time taken before it was written.
        """
        taken = []
        for path, digest in files:
            try:
                taken.append((self._key(os.stat(path)), digest))
            except OSError:
                continue
        self._remember(taken)
        return len(taken)

    def _remember(
        self, found: Sequence[tuple[tuple[tuple[int, int], tuple[int, int, int]], str]]
    ) -> None:
        if not found:
            return
        with self._guard:
            for (where, when), digest in found:
                self._known[where] = (when, digest)
                self._known.move_to_end(where)
            self._trim()
            self._keep([self._line(where, when, digest) for (where, when), digest in found])

    def forget(self, path: Path) -> None:
        """Read ``path`` again next time (its bytes were found wrong, say)."""
        try:
            where, when = self._key(os.stat(path))
        except OSError:
            return
        with self._guard:
            self._catch_up()  # so that a line another process wrote for it is undone too
            if self._known.pop(where, None) is not None:
                self._keep([self._line(where, when, "-")])


def copy_file(
    src: Source,
    dst: Path,
    task: Task | None = None,
    *,
    md5: bool = False,
    size: int | None = None,
) -> Digests:
    """Copy ``src`` to a new file ``dst`` (which must not exist), hashing the bytes
    as they are written: sha256 always, md5 when asked. One read pass. ``size``:
    how long a stream is expected to be (a small one then takes one small buffer)."""
    return copy_to(src, [dst], task, md5=md5, size=size)


def copy_known(src: Path, targets: Sequence[Path], task: Task | None = None) -> int:
    """Copy ``src`` to every new file in ``targets`` without hashing: for bytes
    whose digests were computed as they arrived (the server's upload area). The
    number of bytes copied; files created here are removed if the copy fails."""
    return _copy(src, targets, [], task)


def copy_to(
    src: Source,
    targets: Sequence[Path],
    task: Task | None = None,
    *,
    md5: bool = False,
    size: int | None = None,
) -> Digests:
    """Copy ``src`` (a path or a readable binary file) to every new file in
    ``targets`` (none may exist), with its sha256 and, when asked, its md5, all in
    one read pass. Files created here are removed if the copy fails."""
    sha = hashlib.sha256()
    hashers: list[_Hash] = [sha]
    md5_hash = hashlib.md5(usedforsecurity=False) if md5 else None
    if md5_hash is not None:
        hashers.append(md5_hash)
    copied = _copy(src, targets, hashers, task, size)
    return Digests(copied, sha.hexdigest(), md5_hash.hexdigest() if md5_hash else "")


def _copy(
    src: Source,
    targets: Sequence[Path],
    hashers: Sequence[_Hash],
    task: Task | None,
    size: int | None = None,
) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    created: list[Path] = []
    with ExitStack() as stack:
        if isinstance(src, Path):
            handle: BinaryIO = stack.enter_context(open(src, "rb", buffering=0))
            size_hint = os.fstat(handle.fileno()).st_size
        else:
            handle, size_hint = src, -1 if size is None else size
        fds = []
        try:
            for target in targets:
                fds.append(os.open(target, flags, 0o644))
                created.append(target)
                stack.callback(os.close, fds[-1])
            threaded = bool(hashers) and (size_hint < 0 or size_hint >= THREADED_FROM)
            # Inline, one buffer a little longer than the file: its end shows at once.
            inline_buffer = min(CHUNK, size_hint + 1) if size_hint >= 0 else CHUNK
            copied = _pump(handle, fds, hashers, task, threaded, inline_buffer)
        except BaseException as exc:
            stack.close()
            for path in created:
                path.unlink(missing_ok=True)
            if isinstance(exc, _WriteFailed):  # a full disk, say: name the file
                error = exc.error
                raise OSError(error.errno, error.strerror, str(targets[exc.index])) from None
            raise
    return copied


def _pump(
    handle: BinaryIO,
    fds: Sequence[int],
    hashers: Sequence[_Hash],
    task: Task | None,
    threaded: bool,
    inline_buffer: int = CHUNK,
) -> int:
    """Read ``handle`` to its end into a ring of buffers, writing each chunk to
    ``fds`` and feeding it to every hasher (each in its own thread if ``threaded``,
    so their order of updates is kept)."""
    read = _reader(handle)
    size = 0
    if not threaded:
        buffer = memoryview(bytearray(max(1, inline_buffer)))
        while n := read(buffer):
            chunk = buffer[:n]
            for hasher in hashers:
                hasher.update(chunk)
            _write_all(fds, chunk)
            size += n
            if task is not None:
                task.advance(n)
        return size
    ring = [memoryview(bytearray(CHUNK)) for _ in range(RING)]
    busy: list[list[Future[None]]] = [[] for _ in range(RING)]
    with ExitStack() as stack:
        pools = [stack.enter_context(ThreadPoolExecutor(1)) for _ in hashers]
        index = 0
        while True:
            slot = index % RING
            for future in busy[slot]:
                future.result()  # the digests are past this buffer: reuse it
            n = read(ring[slot])
            if not n:
                break
            chunk = ring[slot][:n]
            busy[slot] = [
                pool.submit(hasher.update, chunk)
                for pool, hasher in zip(pools, hashers, strict=True)
            ]
            _write_all(fds, chunk)
            size += n
            index += 1
            if task is not None:
                task.advance(n)
        for futures in busy:
            for future in futures:
                future.result()
    return size


def _reader(handle: BinaryIO) -> Callable[[memoryview], int]:
    readinto = getattr(handle, "readinto", None)
    if readinto is not None:

        def read_into(buffer: memoryview) -> int:
            return int(readinto(buffer) or 0)

        return read_into

    def read_copy(buffer: memoryview) -> int:
        data = handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    return read_copy


class _WriteFailed(Exception):
    """Writing to the ``index``-th target failed (which file it was is known above)."""

    def __init__(self, index: int, error: OSError) -> None:
        super().__init__(str(error))
        self.index, self.error = index, error


def _write_all(fds: Sequence[int], chunk: memoryview) -> None:
    for index, fd in enumerate(fds):
        written = 0
        try:
            while written < len(chunk):
                written += os.write(fd, chunk[written:])
        except OSError as exc:
            raise _WriteFailed(index, exc) from None
