"""One-pass copies and digests (modelreg.hashing), inline and with digest threads."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from modelreg import hashing
from modelreg.hashing import copy_file, copy_to, digest_file


@pytest.fixture(params=["inline", "threaded"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small chunks, so a 100 KiB file goes around the buffer ring many times."""
    monkeypatch.setattr(hashing, "CHUNK", 4096)
    threshold = 10**12 if request.param == "inline" else 8192
    monkeypatch.setattr(hashing, "THREADED_FROM", threshold)
    return str(request.param)


def _data(size: int) -> bytes:
    return os.urandom(size)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 100_003])
def test_copy_to_writes_every_target_and_both_digests(mode: str, tmp_path: Path, size: int) -> None:
    data = _data(size)
    src = tmp_path / "src"
    src.write_bytes(data)
    targets = [tmp_path / "a", tmp_path / "b"]
    got = copy_to(src, targets, md5=True)
    assert got.size == size
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.md5 == hashlib.md5(data).hexdigest()
    assert all(t.read_bytes() == data for t in targets)
    assert digest_file(src) == got


def test_a_stream_source_without_readinto(mode: str, tmp_path: Path) -> None:
    data = _data(50_000)

    class ReadOnly(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(min(n, 3000))  # short reads, as a network stream gives

        def readable(self) -> bool:
            return True

    stream = ReadOnly()
    stream.readinto = None  # type: ignore[assignment,method-assign]
    got = copy_file(stream, tmp_path / "out")  # type: ignore[arg-type]
    assert (tmp_path / "out").read_bytes() == data
    assert got.sha256 == hashlib.sha256(data).hexdigest() and got.md5 == ""


def test_progress_counts_every_byte(mode: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(_data(30_000))
    seen: list[int] = []

    class Task:
        def advance(self, amount: int) -> None:
            seen.append(amount)

    copy_file(src, tmp_path / "out", Task())
    assert sum(seen) == 30_000


def test_a_failed_copy_removes_what_it_created(mode: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(_data(20_000))
    existing = tmp_path / "existing"
    existing.write_bytes(b"keep me")
    created = tmp_path / "created"
    with pytest.raises(FileExistsError):
        copy_to(src, [created, existing], md5=True)
    assert not created.exists()
    assert existing.read_bytes() == b"keep me"

    class Broken(io.RawIOBase):
        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            raise OSError("disk gone")

        def readable(self) -> bool:
            return True

    with pytest.raises(OSError, match="disk gone"):
        copy_file(Broken(), created)  # type: ignore[arg-type]
    assert not created.exists()


@pytest.mark.parametrize("declared", [0, 9_999, 10_000, 10_001, 50_000])
def test_a_stream_of_declared_size_is_copied_whole_whatever_it_really_holds(
    tmp_path: Path, declared: int
) -> None:
    """``size`` (the manifest's) only picks the buffer; a stream that is shorter or
    longer than declared is still copied to its end and digested as it is."""
    data = _data(10_000)
    got = copy_file(io.BytesIO(data), tmp_path / "out", size=declared)
    assert (tmp_path / "out").read_bytes() == data
    assert got.size == len(data) and got.sha256 == hashlib.sha256(data).hexdigest()


def test_known_digests_read_a_file_once_while_it_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    reads = []
    real = hashing.copy_to
    monkeypatch.setattr(hashing, "copy_to", lambda *a, **k: reads.append(1) or real(*a, **k))
    known = hashing.KnownDigests()
    expected = hashlib.sha256(b"weights").hexdigest()
    assert known.sha256(path) == known.sha256(path) == expected
    assert len(reads) == 1
    path.write_bytes(b"changed")  # a write moves the change time: read again
    assert known.sha256(path) == hashlib.sha256(b"changed").hexdigest()
    assert len(reads) == 2
    known.forget(path)
    known.sha256(path)
    assert len(reads) == 3


def test_known_digests_kept_in_a_store_outlive_the_process(tmp_path: Path) -> None:
    """A store remembers across instances (a restarted server) what was learnt, as
    long as the file is unchanged; what was forgotten, or changed, is read again;
    lines it cannot read are skipped; it is rewritten whole past twice its size."""
    store = tmp_path / "state" / "known-digests"
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"weights one")
    two.write_bytes(b"weights two")
    first = hashing.KnownDigests(size=2, store=store)
    assert first.sha256(one) == hashlib.sha256(b"weights one").hexdigest()
    assert first.sha256(two) == hashlib.sha256(b"weights two").hexdigest()
    with store.open("a") as out:
        out.write("not a line\n1 2 3 4 5 NOTHEX\n")
    again = hashing.KnownDigests(size=2, store=store)
    assert again.remembered(one) == hashlib.sha256(b"weights one").hexdigest()
    assert again.remembered(two) == hashlib.sha256(b"weights two").hexdigest()

    again.forget(one)
    two.write_bytes(b"weights 2")  # changed: its old digest is not believed
    later = hashing.KnownDigests(size=2, store=store)
    assert later.remembered(one) is None and later.remembered(two) is None
    assert later.sha256(two) == hashlib.sha256(b"weights 2").hexdigest()
    assert len(store.read_text().splitlines()) <= 2 * 2  # rewritten whole on the way
    assert hashing.KnownDigests(size=2, store=store).remembered(two) is not None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_known_digests_take_in_what_another_process_appended_after_they_read(
    tmp_path: Path,
) -> None:
    """A server (``reader``) started before a ``register`` (``writer``, another
    instance: another process) believes the writer's vouch at its next miss; the
    store is read from where the last read stopped, and an unchanged store costs
    no read at all."""
    store = hashing.known_digests_store(tmp_path / "git")
    assert store == tmp_path / "git" / "modelreg-server" / "known-digests"
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"weights one")
    two.write_bytes(b"weights two")
    reader = hashing.KnownDigests.of_repository(tmp_path / "git")
    assert reader.sha256(one) == _sha(b"weights one")  # learnt and written down
    assert reader.remembered(two) is None
    writer = hashing.KnownDigests.of_repository(tmp_path / "git")
    assert writer.vouch([(two, _sha(b"weights two"))]) == 1
    assert reader.remembered(two) == _sha(b"weights two")
    assert reader.remembered(one) == _sha(b"weights one")
    # The writer appended one line and never read the store.
    assert writer._read_from is None and len(store.read_text().splitlines()) == 2


def test_known_digests_skip_a_torn_or_garbage_line_and_finish_a_line_being_written(
    tmp_path: Path,
) -> None:
    store = tmp_path / "known-digests"
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"weights one")
    two.write_bytes(b"weights two")
    reader = hashing.KnownDigests(store=store)
    assert reader.remembered(one) is None
    st_one, st_two = one.stat(), two.stat()
    line_two = (
        f"{st_two.st_dev} {st_two.st_ino} {st_two.st_size} {st_two.st_mtime_ns} "
        f"{st_two.st_ctime_ns} {_sha(b'weights two')}\n"
    )
    with store.open("ab") as out:
        out.write(b"\xff\x00 garbage\n12 34\n1 2 3 4 5 " + b"a" * 63 + b"\n")
        out.write(f"{st_one.st_dev} {st_one.st_ino} ".encode())  # torn: no end yet
    assert reader.remembered(one) is None and reader.remembered(two) is None
    with store.open("ab") as out:  # the torn line ends; the next one is whole
        out.write(
            f"{st_one.st_size} {st_one.st_mtime_ns} {st_one.st_ctime_ns} "
            f"{_sha(b'weights one')}\n{line_two}".encode()
        )
    assert reader.remembered(one) == _sha(b"weights one")
    assert reader.remembered(two) == _sha(b"weights two")


def test_known_digests_reload_a_store_another_process_replaced_or_cut(tmp_path: Path) -> None:
    store = tmp_path / "known-digests"
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"weights one")
    two.write_bytes(b"weights two")
    reader = hashing.KnownDigests(store=store)
    assert reader.sha256(one) == _sha(b"weights one")
    learnt = store.read_text()
    # Another process rewrote the store whole (a new file renamed over it): its
    # lines are what is known now; the reader's own are gone with the old file.
    other = tmp_path / "other"
    other.mkdir()
    elsewhere = hashing.KnownDigests(store=other / "known-digests")
    elsewhere.vouch([(two, _sha(b"weights two"))])
    (other / "known-digests").replace(store)
    assert reader.remembered(two) == _sha(b"weights two")
    assert reader.remembered(one) is None
    # Emptied in place (the same file, shorter): read whole again, so what it
    # held is no longer believed; what is appended after is.
    with store.open("r+") as out:
        out.truncate(0)
    assert reader.remembered(one) is None and reader.remembered(two) is None
    with store.open("a") as out:
        out.write(learnt)
    assert reader.remembered(one) == _sha(b"weights one")


def test_known_digests_rewriting_the_store_keeps_what_others_appended(tmp_path: Path) -> None:
    """The store is rewritten whole past twice its size; lines another process
    appended since this one last read it are taken in first, not dropped."""
    store = tmp_path / "known-digests"
    files = []
    for index in range(3):
        path = tmp_path / f"w{index}.bin"
        path.write_bytes(f"weights {index}".encode())
        files.append(path)
    busy = hashing.KnownDigests(size=2, store=store)
    for _ in range(2):
        busy.sha256(files[0])
        busy.forget(files[0])  # four lines now: the next of its own rewrites the store
    hashing.KnownDigests(size=2, store=store).vouch([(files[1], _sha(b"weights 1"))])
    with open(files[2], "rb") as handle:
        busy.learn(handle.fileno(), os.fstat(handle.fileno()), _sha(b"weights 2"))
    lines = store.read_text().splitlines()
    assert len(lines) == 2  # rewritten: at most ``size`` entries
    later = hashing.KnownDigests(size=2, store=store)
    assert later.remembered(files[1]) == _sha(b"weights 1")
    assert later.remembered(files[2]) == _sha(b"weights 2")


def test_known_digests_vouch_once_for_many_and_survive_a_store_they_cannot_write(
    tmp_path: Path,
) -> None:
    one, two = tmp_path / "one.bin", tmp_path / "two.bin"
    one.write_bytes(b"weights one")
    two.write_bytes(b"weights two")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the store's folder should be\n")
    known = hashing.KnownDigests(store=blocked / "known-digests")
    pairs = [(one, _sha(b"weights one")), (two, _sha(b"weights two")), (tmp_path / "gone", "0")]
    assert known.vouch(pairs) == 2
    assert known.remembered(one) == _sha(b"weights one")  # this process remembers
    store = tmp_path / "known-digests"
    assert hashing.KnownDigests(store=store).vouch(pairs) == 2
    assert len(store.read_text().splitlines()) == 2
