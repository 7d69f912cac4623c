"""Two clones share one registry through a bare git remote and a local-folder DVC remote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from modelreg import Registry

from .conftest import Cli, FileMaker, git


def test_two_clones_round_trip(cli: Cli, tmp_path: Path, files: FileMaker) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    store = tmp_path / "dvc-store"
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", "--remote", store, cwd=a)
    git(a, "remote", "add", "origin", str(bare))

    # Clone A registers and pushes: the bytes go to the DVC remote, tags and commits to git.
    cli.ok("-C", a, "register", "fraud", files("model.pkl", b"version one"))
    cli.ok("-C", a, "register", "fraud", files("model.pkl", b"version two"))
    pushed = cli.ok("-C", a, "push")
    # The bytes reached the local-folder DVC remote at register already.
    assert "2 new tag(s) sent, 0 file(s) transferred" in pushed.stdout
    assert len(list(store.rglob("*"))) > 2
    again = cli.ok("-C", a, "push")
    assert "0 new tag(s) sent, 0 file(s) transferred" in again.stdout

    # Clone B pulls, gets the bytes, promotes and pushes the event.
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    pulled = cli.ok("-C", b, "pull")
    assert "1 file(s) transferred" in pulled.stdout
    assert (b / "models" / "fraud" / "model.pkl").read_bytes() == b"version two"
    cli.ok("-C", b, "get", "fraud@v0.1.0", "-o", tmp_path / "out")
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"version one"
    cli.ok("-C", b, "promote", "fraud@v0.1.0", "--to", "production", "--push", "-m", "from B")

    # A pulls and sees B's event.
    cli.ok("-C", a, "pull")
    listed = json.loads(cli.ok("-C", a, "list", "--json").stdout)["models"]
    assert listed[0]["stages"] == {"production": "0.1.0"}
    history = json.loads(cli.ok("-C", a, "history", "fraud", "--json").stdout)["events"]
    assert history[-1]["reason"] == "from B"

    # The remote holds exactly the tags both clones wrote.
    remote_tags = sorted(git(a, "ls-remote", "--tags", "--refs", "origin").split()[1::2])
    assert remote_tags == [
        "refs/tags/fraud#production#1",
        "refs/tags/fraud@v0.1.0",
        "refs/tags/fraud@v0.2.0",
    ]


def test_register_with_push_shares_one_event(cli: Cli, tmp_path: Path, files: FileMaker) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    reg, _ = Registry.init(tmp_path / "a", remote=str(tmp_path / "store"))
    git(reg.root, "remote", "add", "origin", str(bare))
    cli.ok("-C", reg.root, "register", "m", files(), "--push")
    assert git(reg.root, "ls-remote", "--tags", "--refs", "origin").split()[1::2] == [
        "refs/tags/m@v0.1.0"
    ]
    assert (
        git(reg.root, "ls-remote", "origin", "refs/heads/main").split()[0]
        == git(reg.root, "rev-parse", "HEAD").strip()
    )
    # A fresh clone with no DVC cache gets the bytes from the remote.
    c = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(bare), str(c))
    result = Registry(c).get("m@v0.1.0", tmp_path / "out")
    assert [f.path for f in result.files] == ["model.pkl"]
    assert (tmp_path / "out" / "model.pkl").read_bytes() == b"weights 1\n"


def test_a_register_whose_push_is_rejected_did_not_happen(
    cli: Cli, tmp_path: Path, files: FileMaker, assert_unchanged: Callable[[Path], object]
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    a, _ = Registry.init(tmp_path / "a", remote=str(tmp_path / "store"))
    git(a.root, "remote", "add", "origin", str(bare))
    cli.ok("-C", a.root, "register", "m", files(), "--push")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    cli.ok("-C", b, "register", "m", files(), "--push")  # B moves the remote branch ahead
    model = files()
    # A --push write first takes in the remote's events (it decides on them): fetched
    # refs are the one change it may leave; nothing of its own.
    git(a.root, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "--tags")
    with assert_unchanged(a.root):
        result = cli("-C", a.root, "register", "n", model, "--push")
    assert result.exit_code == 1
    assert "origin already has refs/heads/main written differently" in result.stderr
    assert "modelreg pull" in result.stderr
    assert git(a.root, "tag", "-l", "n@*").split() == []
    assert git(bare, "tag", "-l", "n@*").split() == []
    # Pull, then the same command succeeds.
    cli.ok("-C", a.root, "pull")
    cli.ok("-C", a.root, "register", "n", model, "--push")
    assert git(bare, "tag", "-l", "n@*").split() == ["n@v0.1.0"]


def test_an_interrupted_push_resumes_and_leaves_no_corrupt_object(cli: Cli, tmp_path: Path) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    store = tmp_path / "store"
    registry, _ = Registry.init(tmp_path / "a", remote=str(store))
    git(registry.root, "remote", "add", "origin", str(bare))
    export = tmp_path / "export"
    export.mkdir()
    for i in range(12):
        (export / f"shard-{i:02}.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    registry.register("big", [export])
    shutil.rmtree(store)  # register put the bytes there: start from an empty remote
    store.mkdir()

    def objects() -> list[Path]:
        return [p for p in store.rglob("*") if p.is_file()] if store.exists() else []

    process = subprocess.Popen(
        [sys.executable, "-m", "modelreg", "-C", str(registry.root), "push", "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(objects()) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)  # poll for progress: kill mid-transfer, not at a fixed time
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert 0 < len(objects()) < 12 or process.returncode == 0

    resumed = cli("-C", registry.root, "push")
    assert resumed.exit_code == 0, resumed
    assert len([p for p in objects() if not p.name.startswith(".")]) == 12
    verified = cli("-C", registry.root, "verify", "--remote")
    assert verified.exit_code == 0, verified
