"""Shared fixtures: an isolated git/DVC environment, a clock, registries, a CLI runner,
and a snapshot of everything a failed command must leave untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    return isolate(tmp_path_factory.mktemp("home"), monkeypatch)


def isolate(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point git, DVC and modelreg at ``home`` for their settings and data."""
    home.mkdir(parents=True, exist_ok=True)
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


@dataclass(frozen=True)
class Showcase:
    """A rich registry built through the public API only (see the ``showcase`` fixture)."""

    root: Path
    remote: str  # the DVC remote's URL: never contacted (the bytes stay in the DVC cache)
    registry: Registry


@pytest.fixture
def showcase(tmp_path: Path, clock: Clock, showcase_template: tuple[Path, int]) -> Showcase:
    """The showcase registry (see :func:`build_showcase`), a fresh copy for each test,
    with the ``clock`` where building it left it. Building it takes some forty
    registry operations; copying the one built for this test process takes
    milliseconds, and gives the same bytes, commits and tags (the dates are fixed)."""
    template, now = showcase_template
    root = tmp_path / "registry"
    shutil.copytree(template, root, symlinks=True)
    clock.now = now
    clock.tick(0)
    return Showcase(root, SHOWCASE_REMOTE, Registry(root))


@pytest.fixture(scope="session")
def showcase_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The showcase, built once per test process in an isolated home of its own."""
    folder = tmp_path_factory.mktemp("showcase-template")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(folder / "home", monkeypatch)
        clock = Clock(monkeypatch)
        built = build_showcase(folder, clock)
        return built.root, clock.now


SHOWCASE_REMOTE = "s3://modelreg-showcase/registry"


def build_showcase(tmp_path: Path, clock: Clock) -> Showcase:
    """A registry with a model's whole life in it, at fixed dates (the ``clock``):

    - ``embedder`` v1.0.0, v1.1.0, v2.0.0 (labels, metrics, params, licence);
      v1.0.0 went to dev, v1.1.0 is deregistered, v2.0.0 holds dev, staging and
      production.
    - ``team/fraud`` (a namespaced model) v0.1.0, v0.2.0, v0.3.0, each needing
      ``embedder@^2.0.0`` or ``embedder@>=1.0.0``; promoted dev → staging →
      production, then production is rolled back from v0.3.0 to v0.2.0.
    - ``ranker`` v1.0.0 needing ``team/fraud@~0.2.0``, in dev.
    - ``legacy`` v0.9.0, then the whole model deprecated.

    Every step ticks the clock, so tags, commits and times are the same on every run.
    """
    root = tmp_path / "registry"
    # Not a folder under tmp_path: .dvc/config is committed, and a path that differs
    # per run would change every commit id. Nothing here contacts the remote.
    remote = SHOWCASE_REMOTE
    registry, _init = Registry.init(root, remote=remote)
    made = FileMaker(tmp_path / "outside")

    def register(name: str, version: str, **options: Any) -> None:
        clock.tick(60)
        registry.register(
            name, made(content=f"{name} {version}\n".encode()), version=version, **options
        )

    def event(call: Callable[..., object], *args: str, **options: str) -> None:
        clock.tick(60)
        call(*args, **options)

    for version, auc, dim in (("1.0.0", 0.81, 128), ("1.1.0", 0.84, 256), ("2.0.0", 0.9, 256)):
        register(
            "embedder",
            version,
            description=f"text embedder, {dim} dimensions",
            license="Apache-2.0",
            framework="pytorch",
            labels={"team": "search", "task": "embedding"},
            metrics={"auc": auc, "dim": dim},
            params={"epochs": 10, "lr": 0.001, "tokenizer": "bpe", "normalise": True},
            message=f"embedder {version}",
        )
    event(registry.promote, "embedder@v1.0.0", "dev")
    event(registry.deprecate, "embedder@v1.1.0", message="trained on leaked labels")
    for stage in ("dev", "staging", "production"):
        event(registry.promote, "embedder@v2.0.0", stage, message=f"{stage}: eval passed")

    for version, precision, deps in (
        ("0.1.0", 0.7, (">=1.0.0",)),
        ("0.2.0", 0.75, ("^2.0.0",)),
        ("0.3.0", 0.78, ("^2.0.0",)),
    ):
        register(
            "team/fraud",
            version,
            description="card fraud scorer",
            license="MIT",
            framework="sklearn",
            labels={"team": "risk", "owner": "ana"},
            metrics={"precision": precision, "recall": 0.6},
            params={"trees": 200 if version != "0.3.0" else 400, "depth": 8},
            dependencies=[f"embedder@{rng}" for rng in deps],
            message=f"fraud {version}",
        )
    for version, stage in (
        ("0.1.0", "dev"),
        ("0.2.0", "dev"),
        ("0.2.0", "staging"),
        ("0.2.0", "production"),
        ("0.3.0", "staging"),
        ("0.3.0", "production"),
    ):
        event(registry.promote, f"team/fraud@v{version}", stage, message=f"{stage} for {version}")
    event(registry.rollback, "team/fraud", "production", message="latency regression")

    register(
        "ranker",
        "1.0.0",
        description="orders search results",
        license="BSD-3-Clause",
        metrics={"ndcg": 0.42},
        dependencies=["team/fraud@~0.2.0"],
    )
    event(registry.promote, "ranker@v1.0.0", "dev")

    register("legacy", "0.9.0", description="the rules engine it replaced", license="MIT")
    event(registry.deprecate, "legacy", message="replaced by team/fraud")
    clock.tick(60)
    return Showcase(root, remote, Registry(root))


# Shared by the test files of several modules (moved here from theme files, unchanged).

Unchanged = Callable[[Path], object]  # the type of the assert_unchanged fixture


def assert_user_error(result: Result, *fragments: str) -> None:
    """A user error: exit 1, nothing on stdout, one line on stderr naming every fragment."""
    assert result.exit_code == 1, result
    assert result.stdout == "", result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("modelreg: error: "), result
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result


@pytest.fixture
def populated(cli: Cli, repo: Path, files: FileMaker) -> Path:
    """m v0.1.0 and v0.2.0 (in production), registered through the CLI, beside user work."""
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"one"))
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"two"))
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production")
    # Unrelated user work in progress, which must survive every failure untouched.
    (repo / "wip.py").write_text("staged\n")
    git(repo, "add", "wip.py")
    (repo / "scratch.txt").write_text("untracked\n")
    return repo


@pytest.fixture
def stack(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    """tokenizer <- text-embedder <- classifier, each in two versions."""

    def reg(name: str, version: str, *deps: str) -> None:
        clock.tick()
        registry.register(name, [files()], version=version, dependencies=deps)

    reg("tokenizer", "1.4.0")
    reg("tokenizer", "2.0.0")
    reg("text-embedder", "2.3.1", "tokenizer@^1.2.0")
    reg("text-embedder", "3.0.0", "tokenizer@^2.0.0")
    reg("classifier", "1.2.0", "text-embedder@>=2.0.0,<3.0.0")
    reg("classifier", "1.3.0", "text-embedder@^3.0.0")
    return Registry(registry.root)


V1 = b"first weights\n"
V2 = b"second weights\n"


@pytest.fixture
def two_weights(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    """m v0.1.0 (model.pkl = V1) and v0.2.0 (V2), nothing pushed."""
    registry.register("m", [files("model.pkl", V1)])
    clock.tick()
    registry.register("m", [files("model.pkl", V2)])
    clock.tick()
    return registry


@pytest.fixture
def pushed(two_weights: Registry, tmp_path: Path) -> Path:
    """The two versions shared through a bare git remote and the local-folder DVC
    remote; returns the bare repository."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(two_weights.root, "remote", "add", "origin", str(bare))
    two_weights.push()
    return bare
