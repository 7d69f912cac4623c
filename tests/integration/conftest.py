"""Real servers for the integration tests: one of each per session, started on
127.0.0.1 when a test first needs it and stopped when the session ends
(``tests/servers.py`` does the work). Each test gets its own place on a server
(a bucket prefix, a folder, a collection), so tests never see each other's objects.

A server whose program is not installed skips the tests that need it, with the
reason; with ``MODELREG_REQUIRE_SERVERS=1`` (``.ci/run`` sets it) that is a
failure instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from .. import servers
from ..conftest import Cli, git

DVC_REMOTE = "modelreg"  # the name `modelreg init --remote URL` gives the DVC remote


class _Server(Protocol):
    process: servers.Process


S = TypeVar("S", bound=_Server)


def _serve(
    tmp_path_factory: pytest.TempPathFactory, name: str, start: Callable[[Path], S]
) -> Iterator[S]:
    try:
        server = start(tmp_path_factory.mktemp(f"server-{name}"))
    except servers.Unavailable as exc:
        if os.environ.get("MODELREG_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{name} is required here (MODELREG_REQUIRE_SERVERS=1): {exc}")
        pytest.skip(f"{name} cannot start: {exc}")
    try:
        yield server
    finally:
        server.process.stop()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Sshd]:
    yield from _serve(tmp_path_factory, "sshd", servers.start_sshd)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.MotoS3]:
    yield from _serve(tmp_path_factory, "moto_server", servers.start_moto)


@pytest.fixture(scope="session")
def webdav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.WebDav]:
    yield from _serve(tmp_path_factory, "wsgidav", servers.start_wsgidav)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Azurite]:
    yield from _serve(tmp_path_factory, "azurite", servers.start_azurite)


@pytest.fixture(scope="session")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.FakeGcs]:
    yield from _serve(tmp_path_factory, "fake-gcs-server", servers.start_fake_gcs)


@dataclass(frozen=True)
class Remote:
    """One test's DVC remote on a real server."""

    kind: str
    url: str  # what `modelreg init --remote` is given
    options: dict[str, Any]  # where the store is: committed in .dvc/config
    secrets: dict[str, str]  # credentials: .dvc/config.local only
    env: dict[str, str]  # the same credentials, as a deploy job's environment carries them
    corrupt: Callable[[str, bytes], None]  # replace the remote's object for an md5

    def configure(self, root: Path, *, commit: bool) -> None:
        """Set the remote's options (committed when ``commit``) and its credentials
        (DVC's local config, never committed), as `dvc remote modify [--local]` would."""
        from dvc.repo import Repo

        with Repo(str(root)) as repo:
            if commit and self.options:
                with repo.config.edit("repo") as conf:
                    conf["remote"][DVC_REMOTE].update(self.options)
            if self.secrets:
                with repo.config.edit("local") as conf:
                    conf["remote"].setdefault(DVC_REMOTE, {}).update(self.secrets)
        if commit and self.options:
            git(root, "add", ".dvc/config")
            git(root, "commit", "-q", "-m", f"DVC remote options for {self.kind}")

    def assert_no_secret_committed(self, root: Path) -> None:
        revs = git(root, "rev-list", "--all").split()
        for secret in self.secrets.values():
            found = git(root, "grep", "-l", "-F", secret, *revs, check=False)
            assert found == "", f"a credential was committed: {found}"
        assert git(root, "check-ignore", "-q", ".dvc/config.local", check=False) == ""


@dataclass
class Remotes:
    """Makes a fresh :class:`Remote` of each kind, starting its server on first use."""

    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch

    def __call__(self, kind: str) -> Remote:
        make: Callable[[str], Remote] = getattr(self, f"_{kind}")
        return make(f"t-{uuid.uuid4().hex[:12]}")

    def server(self, fixture: str) -> Any:
        return self.request.getfixturevalue(fixture)

    def _ssh(self, name: str) -> Remote:
        sshd: servers.Sshd = self.server("sshd")
        self.monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command)
        base = sshd.base / "dvc" / name
        base.mkdir(parents=True)

        def corrupt(md5: str, data: bytes) -> None:
            path = base / servers.md5_path(md5)
            path.chmod(0o644)
            path.write_bytes(data)

        return Remote("ssh", sshd.url(base), {}, {"keyfile": str(sshd.key)}, {}, corrupt)

    def _s3(self, name: str) -> Remote:
        s3: servers.MotoS3 = self.server("s3")
        key, secret = f"AKIA{name}", f"secret-{uuid.uuid4().hex}"

        def corrupt(md5: str, data: bytes) -> None:
            s3.client().put_object(
                Bucket=servers.BUCKET, Key=f"{name}/{servers.md5_path(md5)}", Body=data
            )

        return Remote(
            "s3",
            f"s3://{servers.BUCKET}/{name}",
            {"endpointurl": s3.endpoint, "region": servers.S3_REGION},
            {"access_key_id": key, "secret_access_key": secret},
            {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret},
            corrupt,
        )

    def _webdav(self, name: str) -> Remote:
        dav: servers.WebDav = self.server("webdav")
        url = dav.collection(name)

        def corrupt(md5: str, data: bytes) -> None:
            (dav.root / name / servers.md5_path(md5)).write_bytes(data)

        return Remote("webdav", url, {}, {}, {}, corrupt)

    def _azure(self, name: str) -> Remote:
        az: servers.Azurite = self.server("azurite")
        secret = az.connection_string

        def corrupt(md5: str, data: bytes) -> None:
            az.container().upload_blob(f"{name}/{servers.md5_path(md5)}", data, overwrite=True)

        return Remote(
            "azure",
            f"azure://{servers.BUCKET}/{name}",
            {},
            {"connection_string": secret},
            {"AZURE_STORAGE_CONNECTION_STRING": secret},
            corrupt,
        )

    def _gs(self, name: str) -> Remote:
        gcs: servers.FakeGcs = self.server("gcs")
        # Without this gcsfs probes for hierarchical namespaces and waits on timeouts.
        self.monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

        def corrupt(md5: str, data: bytes) -> None:
            gcs.upload(f"{name}/{servers.md5_path(md5)}", data)

        return Remote(
            "gs",
            f"gs://{servers.BUCKET}/{name}",
            {"endpointurl": gcs.endpoint, "allow_anonymous_login": True},
            {},
            {},
            corrupt,
        )


KINDS = ["ssh", "s3", "webdav", "azure", "gs"]


@pytest.fixture
def remotes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Remotes:
    return Remotes(request, monkeypatch)


def model_bytes(seed: int, size: int = 1 << 20) -> bytes:
    """``size`` bytes that differ per seed (fast, no randomness between runs)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def clone(origin: str, target: Path) -> Path:
    done = subprocess.run(
        ["git", "clone", "-q", origin, str(target)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return target


def registry_on(
    remote: Remote, cli: Cli, tmp_path: Path, origin: str | None = None
) -> tuple[Path, str]:
    """A registry in ``tmp_path/a`` whose DVC remote is ``remote`` and whose git
    remote ``origin`` is a new bare repository (or the URL given)."""
    if origin is None:
        origin = str(tmp_path / "shared.git")
        git(tmp_path, "init", "-q", "--bare", origin)
    a = tmp_path / "a"
    a.mkdir()
    cli.ok("init", "--remote", remote.url, cwd=a)
    remote.configure(a, commit=True)
    git(a, "remote", "add", "origin", origin)
    return a, origin
