"""lock.py: the write lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Cli, Unchanged, assert_user_error


def test_lock_held_by_another_writer_times_out_cleanly(
    cli: Cli, populated: Path, monkeypatch: pytest.MonkeyPatch, assert_unchanged: Unchanged
) -> None:
    import fcntl

    monkeypatch.setenv("MODELREG_LOCK_TIMEOUT", "0.2")
    lock = populated / ".git" / "modelreg.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"pid 4242 on ci-runner: modelreg promote\n")
        with assert_unchanged(populated):
            result = cli("-C", populated, "promote", "m@v0.1.0", "--to", "staging")
            assert_user_error(result, "another modelreg process", "pid 4242")
            # Reads never wait for the writer.
            assert cli("-C", populated, "resolve", "m#production").stdout == "0.2.0\n"
    finally:
        os.close(fd)
