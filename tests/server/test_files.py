"""A version's files over HTTP: the list, each file (``ETag``, ``Range``,
``If-None-Match``) and the whole version as a tar stream, only ever with bytes
whose sha256 is the manifest's."""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg.registry import Registry

from ..conftest import Cli, FileMaker, Showcase
from ..integration.conftest import Remotes, clone, model_bytes, registry_on

# The network-remote test's fixtures (a real S3 server on 127.0.0.1), re-exported.
from ..integration.conftest import remotes as remotes
from ..integration.conftest import s3 as s3
from .conftest import Server


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


def artifacts(root: Path, ref: str) -> list[dict[str, object]]:
    info = Registry(root).show(ref)
    assert info.manifest is not None
    return [{"path": a.path, "size": a.size, "sha256": a.sha256} for a in info.manifest.artifacts]


def test_the_file_list_is_the_manifest_s(server: Server, showcase: Showcase) -> None:
    answer = server.get("/v2/models/team/fraud%23production/files")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "name": "team/fraud",
        "version": "0.2.0",
        "files": artifacts(showcase.root, "team/fraud@v0.2.0"),
    }


def test_a_file_is_its_verified_bytes(
    server: Server, showcase: Showcase, cli: Cli, tmp_path: Path
) -> None:
    cli.ok("-C", showcase.root, "get", "embedder@v2.0.0", "-o", tmp_path / "got")
    (listed,) = artifacts(showcase.root, "embedder@v2.0.0")
    expected = (tmp_path / "got" / str(listed["path"])).read_bytes()
    for _twice in range(2):  # the second answer comes from the remembered digest
        answer = server.get(f"/v2/models/embedder@v2.0.0/files/{listed['path']}")
        assert answer.status_code == 200, answer.text
        assert answer.content == expected
        assert answer.headers["etag"] == f'"{listed["sha256"]}"'
        assert answer.headers["content-length"] == str(len(expected))
        assert answer.headers["accept-ranges"] == "bytes"
    head = server.get(f"/v2/models/embedder/files/{listed['path']}", stream=True)
    assert head.status_code == 200
    assert hashlib.sha256(head.raw.read()).hexdigest() == listed["sha256"]


@pytest.fixture
def big(registry: Registry, files: FileMaker, serve: Callable[..., Server]) -> tuple[Server, bytes]:
    """A model whose one file (``w.bin``, 100,000 bytes) is served from a registry
    with a local-folder DVC remote."""
    data = os.urandom(100_000)
    registry.register("big", files("w.bin", data))
    return serve(registry.root), data


@pytest.mark.parametrize(
    ("header", "status", "part"),
    [
        ("bytes=0-9", 206, slice(0, 10)),
        ("bytes=99990-", 206, slice(99990, None)),
        ("bytes=-5", 206, slice(-5, None)),
        ("bytes=500-99999999", 206, slice(500, None)),
        ("bytes=0-", 200, slice(None)),  # the whole file
        ("bytes=0-1,5-6", 200, slice(None)),  # several ranges: ignored, as RFC 9110 allows
        ("bytes=9-2", 200, slice(None)),  # malformed: ignored
        ("pages=1-2", 200, slice(None)),
    ],
)
def test_ranges(big: tuple[Server, bytes], header: str, status: int, part: slice) -> None:
    server, data = big
    answer = server.get("/v2/models/big/files/w.bin", headers={"Range": header})
    assert answer.status_code == status, answer.text
    assert answer.content == data[part]
    assert answer.headers["content-length"] == str(len(data[part]))
    if status == 206:
        start = part.start if part.start >= 0 else len(data) + part.start
        assert answer.headers["content-range"] == (
            f"bytes {start}-{start + len(data[part]) - 1}/{len(data)}"
        )


def test_an_unsatisfiable_range_is_416(big: tuple[Server, bytes]) -> None:
    server, data = big
    for header in ("bytes=100000-", "bytes=-0"):
        answer = server.get("/v2/models/big/files/w.bin", headers={"Range": header})
        assert answer.status_code == 416, answer.text
        assert answer.headers["content-range"] == f"bytes */{len(data)}"
        assert answer.json()["error"]["code"] == "usage"


def test_etags_and_if_none_match(big: tuple[Server, bytes]) -> None:
    server, data = big
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        answer = server.get("/v2/models/big/files/w.bin", headers={"If-None-Match": header})
        assert answer.status_code == 304, header
        assert answer.content == b"" and answer.headers["etag"] == etag
    answer = server.get("/v2/models/big/files/w.bin", headers={"If-None-Match": '"other"'})
    assert answer.status_code == 200 and answer.content == data
    # If-Range: the range only while the file is the one the client had
    stale = server.get(
        "/v2/models/big/files/w.bin", headers={"Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert stale.status_code == 200 and stale.content == data
    same = server.get(
        "/v2/models/big/files/w.bin", headers={"Range": "bytes=0-9", "If-Range": etag}
    )
    assert same.status_code == 206 and same.content == data[:10]


def test_the_archive_is_the_version_as_one_tar(
    registry: Registry, files: FileMaker, serve: Callable[..., Server], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    contents = {"weights/a.bin": os.urandom(70_000), "config.json": b"{}", "empty.txt": b""}
    for path, data in contents.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    registry.register("team/multi", folder, version="1.0.0")
    server = serve(registry.root)
    answer = server.get("/v2/models/team/multi@v1.0.0/archive")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-tar"
    assert answer.headers["content-length"] == str(len(answer.content))
    assert 'filename="multi-1.0.0.tar"' in answer.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {f"multi-1.0.0/{p}" for p in contents}
        for path, data in contents.items():
            extracted = tar.extractfile(members[f"multi-1.0.0/{path}"])
            assert extracted is not None and extracted.read() == data


def test_bytes_that_do_not_match_are_never_sent(
    registry: Registry, files: FileMaker, serve: Callable[..., Server], tmp_path: Path
) -> None:
    data = b"the real weights\n" * 1000
    result = registry.register("m", files("w.bin", data))
    md5 = result.manifest.artifacts[0].md5
    cache = registry.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    remote = tmp_path / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]
    server = serve(registry.root)
    assert server.get("/v2/models/m/files/w.bin").content == data

    corrupt(cache, data)  # a corrupt cache object: repaired from the remote's good copy
    answer = server.get("/v2/models/m/files/w.bin")
    assert answer.status_code == 200 and answer.content == data
    assert cache.read_bytes() == data

    corrupt(cache, data)
    corrupt(remote, data)  # nowhere a good copy: refused, for the file and the archive
    for path in ("/v2/models/m/files/w.bin", "/v2/models/m@v0.1.0/archive"):
        answer = server.get(path)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "integrity"
        assert "does not match its sha256" in answer.json()["error"]["message"]


def test_a_big_file_is_checked_as_it_is_sent(
    registry: Registry, files: FileMaker, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """A file over ``CHECK_FIRST_BELOW`` not checked yet is hashed as it is sent;
    wrong bytes in the DVC cache cut the answer short (never a complete 200 of
    them, whichever client reads it), and the next request checks first: the
    object repaired from the remote, or a 409 when no good copy is left."""
    import requests

    from modelreg.server.files import CHECK_FIRST_BELOW

    data = os.urandom(CHECK_FIRST_BELOW + (3 << 20))
    result = registry.register("m", files("w.bin", data))
    md5 = result.manifest.artifacts[0].md5
    cache = registry.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    remote = tmp_path / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]
    path = "/v2/models/m/files/w.bin"
    server = serve(registry.root)
    for _twice in range(2):  # checked as sent, then known
        answer = server.get(path)
        assert answer.status_code == 200 and answer.content == data

    def with_requests() -> None:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):  # IncompleteRead
            server.get(path)

    def with_http_client() -> None:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            assert answer.status == 200  # the head went out before the bytes were known
            with pytest.raises(http.client.IncompleteRead) as cut:
                answer.read()
        finally:
            connection.close()
        assert 0 < len(cut.value.partial) < len(data)

    def with_curl() -> None:
        got = tmp_path / "got.bin"
        fetched = subprocess.run(
            ["curl", "-sS", "-o", str(got), server.url + path], capture_output=True, text=True
        )
        assert fetched.returncode == 18, fetched.stderr  # CURLE_PARTIAL_FILE
        assert got.stat().st_size < len(data)

    clients = [with_requests, with_http_client]
    if shutil.which("curl"):
        clients.append(with_curl)
    for client in clients:
        corrupt(cache, data, at=0)  # the first byte: wrong bytes would go out at once
        client()
        assert server.output().count("does not match its sha256") == clients.index(client) + 1
        repaired = server.get(path)  # checked before sending: repaired from the remote
        assert repaired.status_code == 200 and repaired.content == data
        assert cache.read_bytes() == data

    corrupt(cache, data, at=0)
    corrupt(remote, data, at=0)  # nowhere a good copy
    with_requests()
    answer = server.get(path)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "integrity"


def corrupt(path: Path, data: bytes, at: int = -1) -> None:
    """The same length, other bytes (a new inode: what a bit rot repair tool does)."""
    path.chmod(0o644)
    path.unlink()
    changed = bytearray(data)
    changed[at] ^= 0xFF
    path.write_bytes(bytes(changed))


def test_a_file_only_on_the_dvc_remote_is_served(
    registry: Registry, files: FileMaker, serve: Callable[..., Server]
) -> None:
    data = os.urandom(5000)
    result = registry.register("m", files("w.bin", data))
    md5 = result.manifest.artifacts[0].md5
    cache = registry.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cache.chmod(0o644)
    cache.unlink()
    server = serve(registry.root)
    answer = server.get("/v2/models/m/files/w.bin")
    assert answer.status_code == 200 and answer.content == data


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v2/models/embedder@v2.0.0/files/nothing.bin", 404),
        ("/v2/models/embedder@v2.0.0/files/sub/nothing.bin", 404),
        ("/v2/models/nobody/files", 404),
        ("/v2/models/nobody/files/x", 404),
        ("/v2/models/embedder@v9.0.0/archive", 404),
        ("/v2/models/embedder@v2.0.0/files/../model.yaml", 400),
        ("/v2/models/embedder@v2.0.0/files/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/v2/models/embedder@v2.0.0/files/a%2F..%2F..%2Fx", 400),
        ("/v2/models/embedder@v2.0.0/files/.%2Fmodel.pkl", 400),
        ("/v2/models/embedder@v2.0.0/files/a%5C..%5Cb", 400),
        ("/v2/models/embedder@v2.0.0/files/a%00b", 400),
        ("/v2/models/embedder@v2.0.0/files//etc/passwd", 400),
        ("/v2/models/embedder@v2.0.0/archive/x", 400),
    ],
)
def test_unknown_files_and_path_tricks(server: Server, path: str, status: int) -> None:
    # http.client sends the path exactly as written (requests would drop dot segments)
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.status == status, body
    assert answer.getheader("content-type") == "application/json"
    assert b'"error"' in body


def test_head_answers_the_headers_alone(big: tuple[Server, bytes]) -> None:
    import requests

    server, data = big
    for path in ("/v2/models/big/files/w.bin", "/v2/models/big/archive"):
        answer = requests.head(server.url + path, timeout=60)
        assert answer.status_code == 200, path
        assert int(answer.headers["content-length"]) >= len(data)
        assert answer.content == b""


@pytest.mark.integration
def test_files_on_a_network_remote_are_fetched_and_verified(
    remotes: Remotes, cli: Cli, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """A clone whose DVC cache is empty fetches from S3 (a real server on
    127.0.0.1) into its cache, checks, and serves; a corrupt object is refused."""
    remote = remotes("s3")
    a, origin = registry_on(remote, cli, tmp_path)
    one, two = model_bytes(1), model_bytes(2)
    for version, data in (("1.0.0", one), ("2.0.0", two)):
        source = tmp_path / version / "model.bin"
        source.parent.mkdir()
        source.write_bytes(data)
        cli.ok("-C", a, "register", "m", source, "--version", version)
    cli.ok("-C", a, "push")
    remote.corrupt(hashlib.md5(two).hexdigest(), b"not the model")
    b = clone(origin, tmp_path / "b")
    remote.configure(b, commit=False)
    server = serve(b)
    answer = server.get("/v2/models/m@v1.0.0/files/model.bin")
    assert answer.status_code == 200, answer.text
    assert answer.content == one
    answer = server.get("/v2/models/m@v2.0.0/archive")
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "integrity"


def remembered_lines(root: Path) -> list[str]:
    """The repository's known-digests store (every modelreg process's), line by line."""
    store = root / ".git" / "modelreg-server" / "known-digests"
    return store.read_text().splitlines() if store.exists() else []


def stat_line(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {sha256}"


def cache_object(root: Path, data: bytes) -> Path:
    md5 = hashlib.md5(data).hexdigest()
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


@pytest.mark.parametrize("size", [64 * 1024, 9 << 20], ids=["checked-first", "checked-as-sent"])
def test_a_cli_registration_spares_the_server_hashing_its_first_download(
    size: int, repo: Path, cli: Cli, files: FileMaker, serve: Callable[..., Server]
) -> None:
    """``modelreg register`` hashed the bytes as it wrote DVC's cache object and
    vouched for it in the repository's store; a server started afterwards, and one
    already running when a later version is registered, believe it. What shows it:
    a server that checks a file writes what it found to the same store (as the
    last step of this test sees), and here it writes nothing: the bytes it sends
    were never read for a check. Sizes on both sides of ``CHECK_FIRST_BELOW``."""
    first, second = os.urandom(size), os.urandom(size)
    cli.ok("-C", repo, "register", "m", files("w.bin", first))
    vouched = [stat_line(cache_object(repo, first), hashlib.sha256(first).hexdigest())]
    assert remembered_lines(repo) == vouched

    server = serve(repo)
    answer = server.get("/v2/models/m@v0.1.0/files/w.bin")
    assert answer.status_code == 200 and answer.content == first
    assert remembered_lines(repo) == vouched  # the server read nothing for a check

    # Registered while the server runs (it has read the store already): its next
    # miss takes in the line the CLI appended.
    cli.ok("-C", repo, "register", "m", files("w.bin", second))
    vouched.append(stat_line(cache_object(repo, second), hashlib.sha256(second).hexdigest()))
    assert remembered_lines(repo) == vouched
    answer = server.get("/v2/models/m@v0.2.0/files/w.bin")
    assert answer.status_code == 200 and answer.content == second
    assert remembered_lines(repo) == vouched

    # The control: an object nobody vouched for (the same bytes under a new inode,
    # as a restore would leave them) is checked at its first download, and the
    # check is written down.
    stored = cache_object(repo, first)
    copy = stored.with_name(stored.name + ".copy")
    shutil.copyfile(stored, copy)
    copy.chmod(0o444)
    os.replace(copy, stored)
    answer = server.get("/v2/models/m@v0.1.0/files/w.bin")
    assert answer.status_code == 200 and answer.content == first
    assert remembered_lines(repo) == [
        *vouched,
        stat_line(stored, hashlib.sha256(first).hexdigest()),
    ]


def test_an_object_the_cache_already_held_is_not_vouched_for(
    repo: Path, cli: Cli, files: FileMaker, serve: Callable[..., Server]
) -> None:
    """A registration whose bytes DVC's cache already held (another model, same
    weights) did not write that object: it may have rotted since it was written,
    so the registration does not vouch for it, and the server checks it at its
    first download, writing down what it found."""
    data = os.urandom(64 * 1024)
    sha256 = hashlib.sha256(data).hexdigest()
    stored = cache_object(repo, data)
    cli.ok("-C", repo, "register", "m", files("w.bin", data))
    # The object as a restore or a 'dvc pull' would leave it: no record believes it.
    copy = stored.with_name(stored.name + ".copy")
    shutil.copyfile(stored, copy)
    copy.chmod(0o444)
    os.replace(copy, stored)
    before = remembered_lines(repo)
    assert stat_line(stored, sha256) not in before

    cli.ok("-C", repo, "register", "n", files("w.bin", data))
    assert remembered_lines(repo) == before  # nothing vouched: the object was there
    server = serve(repo)
    answer = server.get("/v2/models/n@v0.1.0/files/w.bin")
    assert answer.status_code == 200 and answer.content == data
    assert remembered_lines(repo) == [*before, stat_line(stored, sha256)]  # checked now


def test_bytes_a_pull_fetched_are_not_hashed_again_by_the_server(
    pushed: Path, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """``pull`` hashes each object as it fetches it into DVC's cache (its md5 is
    checked on the way, the sha256 comes in the same read) and vouches for it: a
    server on the clone sends it without reading it for a check first."""
    from ..conftest import V2

    clone_root = clone(str(pushed), tmp_path / "b")
    Registry(clone_root).pull("origin")
    object_line = stat_line(cache_object(clone_root, V2), hashlib.sha256(V2).hexdigest())
    assert remembered_lines(clone_root) == [object_line]
    server = serve(clone_root)
    answer = server.get("/v2/models/m@v0.2.0/files/model.pkl")
    assert answer.status_code == 200 and answer.content == V2
    assert remembered_lines(clone_root) == [object_line]
