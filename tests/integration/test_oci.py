"""Publishing to a real OCI registry and reading it back (issue 15).

The reference distribution server (Debian's ``docker-registry``) runs on 127.0.0.1
with filesystem storage in a temporary folder: once open, once behind token auth
(a token service of our own, tests/oci_issuer.py, signing JWTs the registry trusts).
What modelreg publishes is read back by other clients: the Python ``oras`` client
(files byte for byte) and ``skopeo inspect --raw`` (media types, annotations).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.oci.artifact import ARTIFACT_TYPE, CONFIG_TYPE, LAYER_TYPE, TITLE

from .. import servers
from ..conftest import Cli, FileMaker, git

pytestmark = pytest.mark.integration


def _start(tmp: Path, *, token_auth: bool) -> servers.Distribution:
    try:
        return servers.start_distribution(tmp, token_auth=token_auth)
    except servers.Unavailable as exc:
        if os.environ.get("MODELREG_REQUIRE_SERVERS") == "1":
            pytest.fail(f"docker-registry is required here (MODELREG_REQUIRE_SERVERS=1): {exc}")
        pytest.skip(f"docker-registry cannot start: {exc}")


@pytest.fixture(scope="module")
def open_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Distribution]:
    server = _start(tmp_path_factory.mktemp("oci-open"), token_auth=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Distribution]:
    server = _start(tmp_path_factory.mktemp("oci-token"), token_auth=True)
    yield server
    server.stop()


@pytest.fixture
def version(registry: Registry, files: FileMaker) -> tuple[Registry, dict[str, bytes]]:
    """fraud v0.1.0: a 300 KB weights file and a small README in a subfolder."""
    weights = files("model.bin", os.urandom(300_000))
    readme = weights.parent / "docs" / "README.md"
    readme.parent.mkdir()
    readme.write_bytes(b"# fraud\n")
    registry.register("fraud", [weights.parent], description="Fraud model", license="MIT")
    return registry, {"model.bin": weights.read_bytes(), "docs/README.md": b"# fraud\n"}


def _skopeo(reference: str, *creds: str) -> dict[str, object]:
    skopeo = servers.program("skopeo")
    argv = [skopeo, "inspect", "--raw", "--tls-verify=false", *creds, f"docker://{reference}"]
    out = subprocess.run(argv, capture_output=True, check=True, timeout=120).stdout
    return dict(json.loads(out))


def _oras_pull(server: servers.Distribution, target: str, out: Path) -> dict[str, bytes]:
    import oras.client

    client = oras.client.OrasClient(hostname=server.host, insecure=True)
    if server.user:
        client.login(
            hostname=server.host,
            username=server.user,
            password=server.password,
            tls_verify=False,
        )
    paths = client.pull(target=f"{server.host}/{target}", outdir=str(out))
    return {str(Path(p).relative_to(out)): Path(p).read_bytes() for p in paths}


def test_publish_then_read_back_with_oras_skopeo_and_get(
    cli: Cli,
    version: tuple[Registry, dict[str, bytes]],
    open_registry: servers.Distribution,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, content = version
    root = registry.root
    # Small chunks: the 300 KB file goes up in PATCH chunks, the README in one PUT.
    monkeypatch.setenv("MODELREG_OCI_CHUNK_SIZE", "65536")
    target = f"oci://{open_registry.host}/team/fraud"
    result = cli.ok("-C", root, "publish", "fraud@v0.1.0", target, "--tag", "production", "--json")
    document = json.loads(result.stdout)
    assert document["references"] == [f"{target}:0.1.0", f"{target}:production"]
    assert document["blobs_pushed"] == 2

    # ORAS reads the files by their titles, byte for byte.
    assert _oras_pull(open_registry, "team/fraud:production", tmp_path / "oras") == content

    # skopeo sees the ModelKit's media types and the provenance.
    manifest = _skopeo(f"{open_registry.host}/team/fraud:0.1.0")
    assert manifest["artifactType"] == ARTIFACT_TYPE
    config = manifest["config"]
    assert isinstance(config, dict) and config["mediaType"] == CONFIG_TYPE
    layers = manifest["layers"]
    assert isinstance(layers, list)
    assert {layer["annotations"][TITLE] for layer in layers} == set(content)
    assert {layer["mediaType"] for layer in layers} == {LAYER_TYPE}
    notes = manifest["annotations"]
    assert isinstance(notes, dict)
    info = registry.show("fraud@v0.1.0")
    assert notes["io.modelreg.model"] == "fraud"
    assert notes["io.modelreg.version"] == "0.1.0"
    assert notes["io.modelreg.commit"] == info.commit
    assert notes["io.modelreg.tag"] == "fraud@v0.1.0"
    assert notes["io.modelreg.manifest.sha256"] == info.manifest_sha256
    assert notes["io.modelreg.registered-by"] == "Test User <test@example.com>"

    # The Kitfile (the config) carries each file's digest and diffId next to its path.
    import urllib.request

    with urllib.request.urlopen(
        f"http://{open_registry.host}/v2/team/fraud/blobs/{config['digest']}"
    ) as answer:
        kitfile = json.loads(answer.read())
    assert kitfile["package"]["name"] == "fraud"
    assert kitfile["package"]["license"] == "MIT"
    sections = [kitfile["model"], *kitfile["model"].get("parts", [])]
    by_title = {layer["annotations"][TITLE]: layer["digest"] for layer in layers}
    for section in sections:
        assert section["digest"] == section["diffId"] == by_title[section["path"]]

    # Where it went is in git (a note on the version's commit), and show lists it.
    shown = json.loads(cli.ok("-C", root, "show", "fraud@v0.1.0", "--json").stdout)
    assert [p["reference"] for p in shown["published"]] == document["references"]
    assert {p["digest"] for p in shown["published"]} == {document["digest"]}
    assert "published" in cli.ok("-C", root, "show", "fraud").stdout

    # get oci:// needs no git repository: files verified and written.
    out = tmp_path / "nogit"
    out.mkdir()
    got = cli.ok("get", f"{target}:production", "-o", out / "model", "--json", cwd=out)
    assert {f["path"] for f in json.loads(got.stdout)["files"]} == set(content)
    for path, data in content.items():
        assert (out / "model" / path).read_bytes() == data

    # Publishing again sends no blob and records nothing twice.
    again = json.loads(cli.ok("-C", root, "publish", "fraud@v0.1.0", target, "--json").stdout)
    assert again["blobs_pushed"] == 0 and again["digest"] == document["digest"]
    shown = json.loads(cli.ok("-C", root, "show", "fraud@v0.1.0", "--json").stdout)
    assert len(shown["published"]) == 2


def test_push_and_pull_share_where_versions_were_published(
    cli: Cli,
    version: tuple[Registry, dict[str, bytes]],
    open_registry: servers.Distribution,
    tmp_path: Path,
) -> None:
    registry, _content = version
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--bare", "-q", str(origin))
    git(registry.root, "remote", "add", "origin", str(origin))
    cli.ok("-C", registry.root, "publish", "fraud", f"oci://{open_registry.host}/share/fraud")
    cli.ok("-C", registry.root, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    cli.ok("-C", clone, "pull")
    shown = json.loads(cli.ok("-C", clone, "show", "fraud", "--json").stdout)
    assert [p["reference"] for p in shown["published"]] == [
        f"oci://{open_registry.host}/share/fraud:0.1.0"
    ]


def test_a_corrupted_blob_is_refused_and_nothing_is_written(
    cli: Cli,
    version: tuple[Registry, dict[str, bytes]],
    open_registry: servers.Distribution,
    tmp_path: Path,
) -> None:
    registry, content = version
    target = f"oci://{open_registry.host}/corrupt/fraud:1"
    cli.ok("-C", registry.root, "publish", "fraud", target)
    import hashlib

    digest = "sha256:" + hashlib.sha256(content["model.bin"]).hexdigest()
    blob = open_registry.blob_file(digest)
    data = bytearray(blob.read_bytes())
    data[1000] ^= 0xFF
    blob.write_bytes(bytes(data))
    try:
        result = cli("get", target, "-o", tmp_path / "out")
    finally:
        blob.write_bytes(content["model.bin"])
    assert result.exit_code == 1
    assert "model.bin does not match its sha256" in result.stderr
    assert result.stderr.count("\n") == 1
    leftovers = list((tmp_path / "out").rglob("*")) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_a_title_leading_outside_the_folder_is_refused(
    open_registry: servers.Distribution,
    tmp_path: Path,
    cli: Cli,
) -> None:
    import hashlib

    from modelreg.oci.client import OciClient
    from modelreg.oci.reference import parse_oci

    client = OciClient(parse_oci(f"oci://{open_registry.host}/evil/x"), None, push=True)
    data = b"owned\n"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    config = b"{}"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    client.push_bytes(digest, data)
    client.push_bytes(config_digest, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": 2},
        "layers": [
            {
                "mediaType": LAYER_TYPE,
                "digest": digest,
                "size": len(data),
                "annotations": {TITLE: "../escaped"},
            }
        ],
    }
    client.put_manifest("1", json.dumps(manifest).encode())
    client.close()
    out = tmp_path / "box" / "out"
    result = cli("get", f"oci://{open_registry.host}/evil/x:1", "-o", out)
    assert result.exit_code == 1
    assert "'../escaped'" in result.stderr and "refused" in result.stderr
    assert not (tmp_path / "box" / "escaped").exists()
    assert not out.exists()


def test_token_auth_with_credentials_from_env_and_docker_config(
    cli: Cli,
    version: tuple[Registry, dict[str, bytes]],
    token_registry: servers.Distribution,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, content = version
    target = f"oci://{token_registry.host}/private/fraud"
    # No credentials: the token service grants nothing and the registry refuses.
    refused = cli("-C", registry.root, "publish", "fraud", target)
    assert refused.exit_code == 1 and "credentials" in refused.stderr
    assert registry.show("fraud").published == ()

    monkeypatch.setenv("MODELREG_OCI_USERNAME", token_registry.user)
    monkeypatch.setenv("MODELREG_OCI_PASSWORD", "wrong")
    wrong = cli("-C", registry.root, "publish", "fraud", target)
    assert wrong.exit_code == 1 and "refused" in wrong.stderr

    monkeypatch.setenv("MODELREG_OCI_PASSWORD", token_registry.password)
    published = cli.ok("-C", registry.root, "publish", "fraud", target)
    assert token_registry.password not in published.stdout + published.stderr
    assert registry.show("fraud").published != ()
    assert token_registry.password not in git(registry.root, "notes", "--ref=modelreg-oci", "list")
    # ~/.docker/config.json's base64 "auth", as docker login writes it.
    monkeypatch.delenv("MODELREG_OCI_USERNAME")
    monkeypatch.delenv("MODELREG_OCI_PASSWORD")
    import base64

    auth = base64.b64encode(f"{token_registry.user}:{token_registry.password}".encode()).decode()
    docker = Path(os.environ["HOME"]) / ".docker"
    docker.mkdir(exist_ok=True)
    (docker / "config.json").write_text(
        json.dumps({"auths": {token_registry.host: {"auth": auth}}})
    )
    got = cli.ok("get", f"{target}:0.1.0", "-o", tmp_path / "out", "--json")
    assert token_registry.password not in got.stdout
    for path, data in content.items():
        assert (tmp_path / "out" / path).read_bytes() == data
    assert _oras_pull(token_registry, "private/fraud:0.1.0", tmp_path / "oras") == content
    creds = ("--creds", f"{token_registry.user}:{token_registry.password}")
    assert _skopeo(f"{token_registry.host}/private/fraud:0.1.0", *creds)["artifactType"] == (
        ARTIFACT_TYPE
    )


class _CuttingProxy:
    """A TCP proxy to the registry that calls ``cut`` once ``after`` bytes have gone
    upstream, then drops every connection: the server stopped mid-push."""

    def __init__(self, port: int, after: int, cut: Callable[[], None]) -> None:
        self.upstream, self.after, self.cut = port, after, cut
        self.sent = 0
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.listener = socket.create_server((servers.HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.done.is_set():
                client.close()
                continue
            server = socket.create_connection((servers.HOST, self.upstream))
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upward: bool) -> None:
        try:
            while data := source.recv(65536):
                if upward:
                    with self.lock:
                        self.sent += len(data)
                        trip = self.sent > self.after and not self.done.is_set()
                        if trip:
                            self.done.set()
                    if trip:
                        self.cut()
                        self.close()
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test_the_server_stopped_mid_push_is_one_clear_error_and_nothing_recorded(
    cli: Cli,
    registry: Registry,
    files: FileMaker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weights = files("model.bin", os.urandom(1_000_000))
    registry.register("fraud", [weights])
    server = _start(tmp_path / "oci-dying", token_auth=False)
    try:
        proxy = _CuttingProxy(server.port, 400_000, server.process.stop)
        monkeypatch.setenv("MODELREG_OCI_CHUNK_SIZE", "65536")
        result = cli("-C", registry.root, "publish", "fraud", f"oci://127.0.0.1:{proxy.port}/d/f")
        proxy.close()
    finally:
        server.stop()
    assert proxy.done.is_set() and not server.process.alive()
    assert result.exit_code == 1, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "could not be reached or dropped the connection" in result.stderr
    assert git(registry.root, "notes", "--ref=modelreg-oci", "list") == ""
    assert registry.show("fraud").published == ()


def test_a_failure_after_the_blobs_records_nothing_and_a_rerun_resumes(
    cli: Cli,
    version: tuple[Registry, dict[str, bytes]],
    open_registry: servers.Distribution,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, _content = version
    target = f"oci://{open_registry.host}/resume/fraud"
    monkeypatch.setenv("MODELREG_FAULT", "publish:after-blob")
    failed = cli("-C", registry.root, "publish", "fraud", target)
    assert failed.exit_code == 1 and "injected fault" in failed.stderr
    assert registry.show("fraud").published == ()
    monkeypatch.delenv("MODELREG_FAULT")
    again = json.loads(cli.ok("-C", registry.root, "publish", "fraud", target, "--json").stdout)
    assert again["blobs_present"] == 1 and again["blobs_pushed"] == 1
    assert [p.reference for p in registry.show("fraud").published] == [f"{target}:0.1.0"]
