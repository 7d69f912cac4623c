"""Shared fixtures: an isolated git/DVC environment, a clock, registries, a CLI runner,
and a snapshot of everything a failed command must leave untouched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelreg import Registry
from modelreg.cli import main

BASE_TIME = 1_790_000_000  # 2026-09-21, a fixed start for every test


class Clock:
    """Git dates under test control: each tick is one second later (never sleep)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = BASE_TIME
        self._monkeypatch = monkeypatch
        self._apply()

    def tick(self, seconds: int = 1) -> int:
        self.now += seconds
        self._apply()
        return self.now

    def _apply(self) -> None:
        stamp = f"{self.now} +0000"
        self._monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
        self._monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME, git config and DVC config for every test."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    for key, value in {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        "MODELREG_LOCK_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "MODELREG_REMOTE", "COLUMNS"):
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return f"Result(exit={self.exit_code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class Cli:
    """Runs ``modelreg`` in-process through its real entry point (the error boundary)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, *args: str | Path, cwd: Path | None = None) -> Result:
        self.clock.tick()
        runner = CliRunner()
        argv = [str(a) for a in args]
        old = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            with runner.isolation() as streams:
                try:
                    main(argv)
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                sys.stdout.flush()
                sys.stderr.flush()
                stdout = streams[0].getvalue().decode()
                stderr = streams[1].getvalue().decode()
        finally:
            os.chdir(old)
        return Result(code, stdout, stderr)

    def ok(self, *args: str | Path, cwd: Path | None = None) -> Result:
        result = self(*args, cwd=cwd)
        assert result.exit_code == 0, result
        return result


@pytest.fixture
def cli(clock: Clock) -> Cli:
    return Cli(clock)


@pytest.fixture
def repo(tmp_path: Path, clock: Clock) -> Path:
    """An initialised registry with an embedded (local-folder) DVC remote."""
    root = tmp_path / "registry"
    Registry.init(root, remote=str(tmp_path / "dvc-remote"))
    return root


@pytest.fixture
def registry(repo: Path) -> Registry:
    return Registry(repo)


@pytest.fixture
def files(tmp_path: Path) -> FileMaker:
    return FileMaker(tmp_path / "outside")


class FileMaker:
    """Writes model files outside the registry, with content that differs per call."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.count = 0

    def __call__(self, name: str = "model.pkl", content: bytes | None = None) -> Path:
        self.count += 1
        path = self.base / f"f{self.count}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if content is not None else f"weights {self.count}\n".encode())
        return path


def snapshot(root: Path) -> dict[str, object]:
    """Everything a failed command must leave as it was: HEAD, refs, index, the work
    tree (every file's bytes, ignored ones included) and the DVC cache."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".git/") or rel == ".git" or rel.startswith(".dvc/tmp"):
            continue
        if path.is_file():
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and not rel.startswith(".dvc/cache"):
            files[rel + "/"] = "dir"  # (the cache's empty folders hold nothing)
    return {
        "head": git(root, "rev-parse", "--verify", "-q", "HEAD", check=False),
        "refs": git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        "index": git(root, "ls-files", "-s"),
        "status": "".join(
            line + "\n"
            for line in git(
                root, "status", "--porcelain", "--ignored", "--untracked-files=all"
            ).splitlines()
            if ".dvc/tmp" not in line  # DVC's own locks and state database
        ),
        "files": files,
    }


@pytest.fixture
def assert_unchanged() -> Iterator[object]:
    """``with assert_unchanged(root): ...`` fails if the block changed the repository."""
    from contextlib import contextmanager

    @contextmanager
    def check(root: Path) -> Iterator[None]:
        before = snapshot(root)
        yield
        after = snapshot(root)
        for key in before:
            assert after[key] == before[key], f"{key} changed"

    yield check
