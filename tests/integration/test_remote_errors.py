"""What a user sees when a real remote cannot be used: one line naming the cause
and a hint (exit 1), never a traceback, and never "not on the remote" for a
server that did not answer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from .. import servers
from ..conftest import Cli, git
from .conftest import Remote, Remotes, clone, model_bytes, registry_on

pytestmark = pytest.mark.integration


def _shared(remote: Remote, cli: Cli, tmp_path: Path, *, push: bool = True) -> tuple[Path, str]:
    """A registry on ``remote`` with one version (pushed unless told), and its origin."""
    a, origin = registry_on(remote, cli, tmp_path)
    model = tmp_path / "v1" / "model.bin"
    model.parent.mkdir()
    model.write_bytes(model_bytes(1))
    cli.ok("-C", a, "register", "fraud", model)
    if push:
        cli.ok("-C", a, "push")
    return a, origin


@pytest.mark.parametrize("kind", ["s3", "azure", "ssh"])
def test_missing_credentials_are_one_line_with_a_hint(
    kind: str, remotes: Remotes, cli: Cli, tmp_path: Path
) -> None:
    remote = remotes(kind)
    _a, origin = _shared(remote, cli, tmp_path)
    b = clone(origin, tmp_path / "b")  # DVC's local config (the credentials) is not cloned
    for args in (["get", "fraud@v0.1.0", "-o", tmp_path / "out"], ["verify", "--remote"]):
        result = cli("-C", b, *args)
        assert result.exit_code == 1, result
        assert "no valid credentials for the DVC remote" in result.stderr, result
        assert "--local-option" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "out" / "model.bin").exists()
    # The same credentials in the environment are enough (a deploy job's way).
    with pytest.MonkeyPatch.context() as env:
        for key, value in remote.env.items():
            env.setenv(key, value)
        if remote.env:
            cli.ok("-C", b, "get", "fraud@v0.1.0", "-o", tmp_path / "out")
            assert (tmp_path / "out" / "model.bin").read_bytes() == model_bytes(1)


def _unreachable(remote: Remote, remotes: Remotes) -> Remote:
    """The same remote, pointed at a port where nothing listens."""
    closed = servers.free_port()
    if remote.kind == "s3":
        return dataclasses.replace(
            remote, options={**remote.options, "endpointurl": f"http://127.0.0.1:{closed}"}
        )
    if remote.kind == "ssh":
        port = remotes.server("sshd").port
        return dataclasses.replace(remote, url=remote.url.replace(f":{port}/", f":{closed}/"))
    assert remote.kind == "webdav"
    return dataclasses.replace(remote, url=f"webdav://127.0.0.1:{closed}/nowhere")


@pytest.mark.parametrize("kind", ["s3", "ssh", "webdav"])
def test_an_unreachable_server_is_reported_as_such(
    kind: str, remotes: Remotes, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore: fail at once, not after retries
    remote = _unreachable(remotes(kind), remotes)
    a, _origin = _shared(remote, cli, tmp_path, push=False)
    pushed = cli("-C", a, "push")
    assert pushed.exit_code == 1, pushed
    assert "cannot be reached" in pushed.stderr, pushed
    assert git(a, "ls-remote", "--tags", "origin") == ""  # no tag without its bytes
    verified = cli("-C", a, "verify", "--remote")
    assert verified.exit_code == 1, verified
    assert "cannot be reached" in verified.stderr, verified
    assert "not on the DVC remote" not in verified.stdout  # it never answered
