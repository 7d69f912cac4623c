"""Two writers at once: real processes on one repository (serialised by the lock),
and two clones racing through one bare remote (counter collisions detected at push
time, retried with the next counter). No event is lost or written twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.errors import RaceLostError

from .conftest import Clock, FileMaker, git

ROUNDS = 20

WRITER = """
import sys
from modelreg import Registry
from modelreg.errors import RaceLostError
root, stage, who, push = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "push"
registry = Registry(root)
for i in range({rounds}):
    version = "0.1.0" if i % 2 == 0 else "0.2.0"
    registry.promote("m@v" + version, stage, message=f"{{who}}-{{i}}", push=push)
print("done", who)
"""


def _writers(roots: list[Path], stages: list[str], push: bool) -> None:
    env = {**os.environ, "MODELREG_LOCK_TIMEOUT": "120"}
    env.pop("GIT_COMMITTER_DATE", None)  # real, distinct times as two people would have
    env.pop("GIT_AUTHOR_DATE", None)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER.format(rounds=ROUNDS),
                str(root),
                stage,
                stage,
                "push" if push else "local",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for root, stage in zip(roots, stages, strict=True)
    ]
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        assert out.startswith("done")


def _events(root: Path) -> list[tuple[str, str | None, str | None]]:
    history = Registry(root).history("m")
    return [(e.tag, e.stage, e.reason) for e in history if e.event == "assign"]


def _check(events: list[tuple[str, str | None, str | None]], stages: list[str]) -> None:
    reasons = [reason for _tag, _stage, reason in events]
    expected = [f"{stage}-{i}" for stage in stages for i in range(ROUNDS)]
    assert sorted(reasons, key=str) == sorted(expected)  # each exactly once
    counters = [int(tag.rsplit("#", 1)[1]) for tag, _s, _r in events]
    assert len(set(counters)) == len(counters)  # no counter used twice


@pytest.fixture
def shared(registry: Registry, files: FileMaker, clock: Clock) -> Registry:
    registry.register("m", [files()])
    clock.tick()
    registry.register("m", [files()])
    return registry


@pytest.mark.slow
def test_two_processes_writing_to_one_repository(shared: Registry) -> None:
    _writers([shared.root, shared.root], ["dev", "staging"], push=False)
    _check(_events(shared.root), ["dev", "staging"])
    assert git(shared.root, "status", "--porcelain") == ""


@pytest.mark.slow
def test_two_clones_promoting_through_one_remote(shared: Registry, tmp_path: Path) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(shared.root, "remote", "add", "origin", str(bare))
    shared.push()
    clones = []
    for name in ("a", "b"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(bare), str(clone))
        clones.append(clone)
    _writers(clones, ["dev", "staging"], push=True)

    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(bare), str(check))
    _check(_events(check), ["dev", "staging"])
    for clone in clones:  # each writer ends up with everything after a pull
        Registry(clone).pull()
        assert sorted(_events(clone)) == sorted(_events(check))


def test_an_offline_collision_is_reported_by_push(shared: Registry, tmp_path: Path) -> None:
    """Two clones record events offline with the same counter on different stages:
    the second push is refused for that event, and nothing is overwritten."""
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(shared.root, "remote", "add", "origin", str(bare))
    shared.push()
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    shared.promote("m@v0.1.0", "dev")  # m#dev#1, offline
    Registry(b).promote("m@v0.2.0", "staging")  # m#staging#1, offline too
    shared.push()
    with pytest.raises(RaceLostError, match=r"clash with events .*: m#staging#1"):
        Registry(b).push()
    assert git(bare, "tag", "-l", "m#*").split() == ["m#dev#1"]


def test_a_branch_moved_while_the_remote_takes_the_push_is_a_race_lost(
    pushed: Path, two_weights: Registry, files: FileMaker, tmp_path: Path
) -> None:
    """Two registrations pushed at the same moment: the remote checked the branch,
    then the other one's update landed first. git says "cannot lock ref ... is at
    X but expected Y"; that is a race lost (the write may be tried again on top),
    not an unavailable remote, and the registration is taken back."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(pushed), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "the other writer")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/elsewhere")
    theirs = git(other, "rev-parse", "HEAD").strip()
    hook = pushed / "hooks" / "pre-receive"  # lands the other push mid-way through ours
    move = f"env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main {theirs}"
    hook.write_text(f"#!/bin/sh\n{move}\n")
    hook.chmod(0o755)
    head = git(two_weights.root, "rev-parse", "HEAD")
    with pytest.raises(RaceLostError, match="written differently"):
        two_weights.register("m", [files("model.pkl", b"third\n")], push=True)
    assert git(two_weights.root, "tag", "-l", "m@v0.3.0") == ""
    assert git(two_weights.root, "rev-parse", "HEAD") == head
    assert git(pushed, "tag", "-l", "m@v0.3.0") == ""
