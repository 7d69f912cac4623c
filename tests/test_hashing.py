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
