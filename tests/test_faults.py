"""Fault injection: a failure at any step of any write leaves HEAD, refs, index, work
tree and DVC cache as they were; a SIGKILL at any step leaves work that ``doctor
--repair`` finishes or takes back, after which ``verify`` finds nothing wrong.

Failures come through the checkpoints in the code (``MODELREG_FAULT``), not by
mocking git or DVC out of the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.faults import InjectedFault

from .conftest import Clock, FileMaker, git, snapshot

Unchanged = Callable[[Path], object]

REGISTER_STEPS = [
    "register:after-move-aside",
    "register:after-copy",
    "register:after-dvc-add",
    "register:after-manifest",
    "register:after-commit",
    "register:after-head",
    "register:before-tag",
    "register:after-tag",
]


@pytest.fixture
def two_versions(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    registry.register("m", [files("model.pkl", b"version one")])
    clock.tick()
    registry.register("m", [files("model.pkl", b"version two")])
    clock.tick()
    registry.promote("m@v0.1.0", "production")
    (registry.root / "notes.txt").write_text("the user's unsaved work\n")
    return Registry(registry.root)


@pytest.mark.parametrize("step", REGISTER_STEPS)
def test_register_failing_at_each_step_changes_nothing(
    two_versions: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
    step: str,
) -> None:
    new = files("model.pkl", b"version three")
    monkeypatch.setenv("MODELREG_FAULT", step)
    with assert_unchanged(two_versions.root), pytest.raises(InjectedFault):
        two_versions.register("m", [new])
    monkeypatch.delenv("MODELREG_FAULT")
    assert two_versions.register("m", [new]).version == "0.3.0"


def _shared_through(registry: Registry, bare: Path, *, push: bool = True) -> Path:
    """A new bare repository as the registry's origin (with its events, unless not
    ``push``ed)."""
    git(bare.parent, "init", "-q", "--bare", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    if push:
        registry.push()
    return bare


def test_register_whose_push_fails_changes_nothing_here_or_there(
    two_versions: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
    tmp_path: Path,
) -> None:
    bare = _shared_through(two_versions, tmp_path / "shared.git")
    remote_before = git(bare, "for-each-ref")
    new = files("model.pkl", b"version three")
    monkeypatch.setenv("MODELREG_FAULT", "register:before-push")
    with assert_unchanged(two_versions.root), pytest.raises(InjectedFault):
        two_versions.register("m", [new], push=True)
    assert git(bare, "for-each-ref") == remote_before


@pytest.mark.parametrize(
    ("step", "push"),
    [("event:before-tag", False), ("event:before-tag", True), ("event:before-push", True)],
)
@pytest.mark.parametrize("command", ["promote", "rollback", "deregister", "deprecate"])
def test_tag_events_failing_change_nothing(
    two_versions: Registry,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
    tmp_path: Path,
    command: str,
    step: str,
    push: bool,
) -> None:
    bare = _shared_through(two_versions, tmp_path / "shared.git")
    two_versions.promote("m@v0.2.0", "production")  # something to roll back
    remote_before = git(bare, "for-each-ref")
    actions: dict[str, Callable[[], object]] = {
        "promote": lambda: two_versions.promote("m@v0.1.0", "staging", push=push),
        "rollback": lambda: two_versions.rollback("m", "production", push=push),
        "deregister": lambda: two_versions.deprecate("m@v0.1.0", push=push),
        "deprecate": lambda: two_versions.deprecate("m", push=push),
    }
    monkeypatch.setenv("MODELREG_FAULT", step)
    with assert_unchanged(two_versions.root), pytest.raises(InjectedFault):
        actions[command]()
    assert git(bare, "for-each-ref") == remote_before


@pytest.mark.parametrize(
    "step", ["checkout:after-move-aside", "checkout:after-restore", "checkout:after-place"]
)
def test_checkout_failing_at_each_step_changes_nothing(
    two_versions: Registry,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
    step: str,
) -> None:
    monkeypatch.setenv("MODELREG_FAULT", step)
    with assert_unchanged(two_versions.root), pytest.raises(InjectedFault):
        two_versions.checkout("m@v0.1.0")
    monkeypatch.delenv("MODELREG_FAULT")
    two_versions.checkout("m@v0.1.0")
    assert (two_versions.root / "models" / "m" / "model.pkl").read_bytes() == b"version one"


# --- kill -9 -------------------------------------------------------------------------


def _modelreg(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "modelreg", "-C", str(root), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelreg", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _assert_consistent(root: Path, before: dict[str, object], registered: str | None) -> None:
    """After doctor --repair: either nothing happened, or the version exists whole."""
    doctor = _run(root, "doctor", "--repair")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    again = _run(root, "doctor")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "consistent" in again.stdout
    verify = _run(root, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    tags = git(root, "tag", "-l").split()
    if registered is not None and registered in tags:
        assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
        got = _run(root, "get", registered, "-o", str(root.parent / "fetched"))
        assert got.returncode == 0, got.stderr
    else:
        after = snapshot(root)
        for key in ("head", "refs", "index", "files"):
            assert after[key] == before[key], f"{key} changed"


@pytest.mark.parametrize("step", [*REGISTER_STEPS, "register:before-push"])
def test_register_killed_at_each_step_is_repaired(
    two_versions: Registry, files: FileMaker, step: str
) -> None:
    root = two_versions.root
    new = files("model.pkl", b"version three")
    extra = []
    if step == "register:before-push":
        _shared_through(two_versions, root.parent / "shared.git", push=False)
        extra = ["--push"]
    before = snapshot(root)
    env = {"MODELREG_FAULT": f"{step}:kill"}
    process = _modelreg(root, "register", "m", str(new), *extra, env=env)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    interrupted = _run(root, "doctor")
    assert interrupted.returncode == 1
    assert "interrupted register m v0.3.0" in interrupted.stdout
    refused = _run(root, "register", "m", str(new))
    assert refused.returncode == 1 and "doctor --repair" in refused.stderr
    _assert_consistent(root, before, "m@v0.3.0")
    completed = step in ("register:after-tag", "register:before-push")
    assert ("m@v0.3.0" in git(root, "tag", "-l").split()) is completed


@pytest.mark.parametrize("step", ["checkout:after-move-aside", "checkout:after-restore"])
def test_checkout_killed_midway_is_repaired(two_versions: Registry, step: str) -> None:
    root = two_versions.root
    before = snapshot(root)
    process = _modelreg(root, "checkout", "m@v0.1.0", env={"MODELREG_FAULT": f"{step}:kill"})
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    _assert_consistent(root, before, None)


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> bool:
    """Poll (no fixed sleep) until the condition holds or the process has ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["journal-written", "half-copied", "copied"])
def test_a_large_register_killed_at_a_real_moment_is_repaired(
    two_versions: Registry, tmp_path: Path, moment: str
) -> None:
    root = two_versions.root
    big = tmp_path / "big" / "model.pkl"
    big.parent.mkdir()
    size = 120 * 1024 * 1024
    with big.open("wb") as handle:
        for _ in range(size // (1 << 20)):
            handle.write(os.urandom(1 << 20))
    before = snapshot(root)
    journals = root / ".git" / "modelreg"
    target = root / "models" / "m" / "model.pkl"

    def partial_size() -> int:
        found = list((root / "models" / "m").glob(".model.pkl.modelreg-*"))
        return found[0].stat().st_size if found else 0

    conditions: dict[str, Callable[[], bool]] = {
        "journal-written": lambda: any(journals.glob("journal-*.json")),
        "half-copied": lambda: partial_size() >= size // 2,
        "copied": lambda: target.exists() and target.stat().st_size == size,
    }
    process = _modelreg(root, "register", "m", str(big))
    reached = _wait_for(conditions[moment], process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    if not reached:
        pytest.fail(f"the register finished before reaching '{moment}'")
    _assert_consistent(root, before, "m@v0.3.0")


def _every_byte(root: Path) -> dict[str, tuple[object, ...]]:
    """Every file, folder and link under root, .git included, with its bytes, mode and
    modification time: a command that wrote, created or removed anything changes it."""
    found: dict[str, tuple[object, ...]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", info.st_mode, info.st_mtime_ns)
        else:
            found[rel] = ("file", info.st_mode, info.st_mtime_ns, path.read_bytes())
    return found


def test_doctor_reporting_takes_no_lock_and_writes_nothing(
    two_versions: Registry, files: FileMaker
) -> None:
    """Report-only doctor must run on a read-only repository: no lock file, no write."""
    root = two_versions.root
    env = {"MODELREG_FAULT": "register:after-manifest:kill"}
    process = _modelreg(root, "register", "m", str(files("model.pkl", b"three")), env=env)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    lock = two_versions.git.common_dir / "modelreg.lock"
    lock.unlink()  # left by earlier writers: doctor must not make one
    before = _every_byte(root)
    report = _run(root, "doctor")
    assert report.returncode == 1, report.stderr
    assert "interrupted register m v0.3.0: would be rolled back" in report.stdout
    assert not lock.exists()
    assert _every_byte(root) == before


def test_doctor_reporting_refuses_while_a_writer_holds_the_lock(two_versions: Registry) -> None:
    """Taking no lock, it still does not call a running writer's work interrupted."""
    from modelreg.lock import write_lock

    with write_lock(two_versions.git.common_dir / "modelreg.lock"):
        report = _run(two_versions.root, "doctor")
    assert report.returncode == 1 and report.stdout == ""
    assert "another modelreg process is writing to this registry (pid " in report.stderr
    assert _run(two_versions.root, "doctor").returncode == 0


def test_doctor_removes_a_partial_copy_in_the_cache_whose_writer_is_gone(
    two_versions: Registry,
) -> None:
    """A register killed while copying into the DVC cache leaves a staging file there:
    doctor names it and --repair removes it; one whose writer still runs is kept."""
    root = two_versions.root
    objects = root / ".dvc" / "cache" / "files" / "md5"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    abandoned = objects / f".modelreg-{gone.pid}-0123456789ab.tmp"
    abandoned.write_bytes(b"half of a model")
    running = objects / f".modelreg-{os.getpid()}-0123456789ab.tmp"
    running.write_bytes(b"a copy in progress")
    report = _run(root, "doctor")
    assert report.returncode == 1
    assert f"{abandoned.relative_to(root)}: left by an interrupted command" in report.stdout
    assert running.name not in report.stdout
    repaired = _run(root, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert not abandoned.exists() and running.exists()
    running.unlink()
    assert _run(root, "doctor").returncode == 0


def test_doctor_on_a_registry_without_dvc_finds_nothing_to_repair(tmp_path: Path) -> None:
    """A registry GTO made (tags, no DVC set-up) has no cache to look in: doctor
    reports it consistent, as it did before it looked in the cache."""
    root = tmp_path / "gto-registry"
    root.mkdir()
    git(root, "init", "-q")
    (root / "model.pkl").write_bytes(b"weights")
    git(root, "add", "model.pkl")
    git(root, "commit", "-qm", "a model")
    git(root, "tag", "-a", "m@v0.1.0", "-m", "Registering artifact m version v0.1.0")
    for args in (["doctor"], ["doctor", "--repair"]):
        done = _run(root, *args)
        assert done.returncode == 0, done.stderr
        assert "consistent" in done.stdout
