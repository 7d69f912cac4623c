"""One registry shared through each kind of real DVC remote: init with the URL,
register, push, a fresh clone gets verified bytes, pull, and ``verify --remote``
passes until an object on the server is corrupted, which nobody then hands over."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modelreg.hashing import KnownDigests

from ..conftest import Cli
from .conftest import KINDS, Remotes, clone, model_bytes, registry_on

pytestmark = pytest.mark.integration


def _file(folder: Path, data: bytes) -> Path:
    folder.mkdir(parents=True)
    path = folder / "model.bin"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_a_registry_shared_through_a_real_remote(
    kind: str, remotes: Remotes, cli: Cli, tmp_path: Path
) -> None:
    remote = remotes(kind)
    ssh_origin = None
    if kind == "ssh":  # the same sshd is the git server too
        _path, ssh_origin = remotes.server("sshd").bare_repo(f"shared-{tmp_path.name}")

    # A data scientist sets up the registry on this remote and shares version 1.
    a, origin = registry_on(remote, cli, tmp_path, ssh_origin)
    one, two = model_bytes(1), model_bytes(2)
    cli.ok("-C", a, "register", "fraud", _file(tmp_path / "v1", one))
    pushed = cli.ok("-C", a, "push")
    assert "1 new tag(s) sent, 1 file(s) transferred" in pushed.stdout
    remote.assert_no_secret_committed(a)

    # A teammate's fresh clone, with its own credentials, gets verified bytes.
    b = clone(origin, tmp_path / "b")
    remote.configure(b, commit=False)
    got = cli.ok("-C", b, "get", "fraud@v0.1.0", "-o", tmp_path / "out1")
    assert "sha256 verified" in got.stdout
    assert (tmp_path / "out1" / "model.bin").read_bytes() == one
    # A checkout fetches into the cache; what it hashed on the way in is vouched for in
    # the repository, so a server there does not hash it again at its first download.
    cli.ok("-C", b, "checkout", "fraud@v0.1.0")
    md5 = hashlib.md5(one).hexdigest()
    fetched = b / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    vouched = KnownDigests.of_repository(b / ".git").remembered(fetched)
    assert vouched == hashlib.sha256(one).hexdigest()

    # Version 2 is registered and shared at once; the teammate pulls it.
    cli.ok("-C", a, "register", "fraud", _file(tmp_path / "v2", two), "--push")
    pulled = cli.ok("-C", b, "pull")
    assert "1 new tag(s) received, 1 file(s) transferred" in pulled.stdout
    assert (b / "models" / "fraud" / "model.bin").read_bytes() == two

    # Every byte on the remote matches the manifests...
    verified = json.loads(cli.ok("-C", a, "verify", "--remote", "--json").stdout)
    assert verified["ok"] is True, verified

    # ...until the server's copy of version 2 is replaced.
    remote.corrupt(hashlib.md5(two).hexdigest(), b"not the model")
    bad = cli("-C", a, "verify", "--remote")
    assert bad.exit_code == 1, bad
    assert "the DVC remote's copy of model.bin" in bad.stdout, bad
    assert "verify found 1 problem(s)" in bad.stderr

    # A clone with an empty cache refuses the corrupt copy and writes nothing.
    c = clone(origin, tmp_path / "c")
    remote.configure(c, commit=False)
    refused = cli("-C", c, "get", "fraud@v0.2.0", "-o", tmp_path / "out2")
    assert refused.exit_code == 1, refused
    assert "does not match" in refused.stderr, refused
    assert not (tmp_path / "out2" / "model.bin").exists()
    # Version 1 is intact and still arrives.
    cli.ok("-C", c, "get", "fraud@v0.1.0", "-o", tmp_path / "out3")
    assert (tmp_path / "out3" / "model.bin").read_bytes() == one


@pytest.mark.parametrize("kind", KINDS)
def test_a_version_of_many_files_arrives_several_at_once(
    kind: str, remotes: Remotes, cli: Cli, tmp_path: Path
) -> None:
    """A deploy job's get of a sharded model, its shards read in parallel through each
    remote's client: every shard verified, and one corrupt shard on the server stops
    the whole get with nothing written."""
    remote = remotes(kind)
    a, origin = registry_on(remote, cli, tmp_path)
    shards = {f"shard-{i}.bin": model_bytes(10 + i, 200_000 + i) for i in range(8)}
    folder = tmp_path / "llm"
    folder.mkdir()
    for name, data in shards.items():
        (folder / name).write_bytes(data)
    cli.ok("-C", a, "register", "llm", folder, "--push")

    deployer = clone(origin, tmp_path / "deployer")
    remote.configure(deployer, commit=False)
    got = cli.ok("-C", deployer, "get", "llm@v0.1.0", "-o", tmp_path / "out", "--jobs", "4")
    assert "8 file(s)" in got.stdout and "sha256 verified" in got.stdout
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == shards

    remote.corrupt(hashlib.md5(shards["shard-5.bin"]).hexdigest(), b"not a shard")
    refused = cli("-C", deployer, "get", "llm@v0.1.0", "-o", tmp_path / "out2", "-j", "4")
    assert refused.exit_code == 1, refused
    assert "shard-5.bin does not match" in refused.stderr, refused
    assert not (tmp_path / "out2").exists()
