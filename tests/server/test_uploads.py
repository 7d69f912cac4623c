"""``POST /v2/models/upload`` and ``POST /v2/models/register`` against the real
server: the founding endpoints as a plain ``requests`` client calls them, the
upload area's promises (stored once, swept when old, nothing left by a client
that goes away or a server that is killed), and every bad request."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from modelreg.registry import Registry

from ..conftest import Cli, git
from .conftest import Server

UPLOADS = Path(".git/modelreg-server/uploads")
DEADLINE = 60.0  # how long to wait for the server to act (a bound, never a measure)


@pytest.fixture
def server(repo: Path, serve: Callable[..., Server]) -> Server:
    return serve(repo)


def area(root: Path) -> tuple[list[str], list[str]]:
    """(complete uploads, partial bodies) in the server's upload area."""
    blobs = sorted(p.name for p in (root / UPLOADS / "sha256").glob("*") if p.suffix != ".json")
    partial = sorted(p.name for p in (root / UPLOADS / "incoming").glob("*"))
    return blobs, partial


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {DEADLINE} s")
        time.sleep(0.05)


def upload(server: Server, data: bytes, **params: str) -> dict[str, object]:
    answer = server.post("/v2/models/upload", data=data, params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_founding_endpoints_as_a_plain_requests_client(
    server: Server, repo: Path, cli: Cli, tmp_path: Path
) -> None:
    weights = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "fraud.onnx"
    source.write_bytes(weights)
    with source.open("rb") as body:  # streamed by requests, as a client of any size would
        answer = requests.post(server.url + "/v2/models/upload", data=body, timeout=60)
    assert answer.status_code == 200, answer.text
    uploaded = answer.json()
    assert uploaded["digest"] == digest(weights) and uploaded["size"] == len(weights)

    answer = requests.post(
        server.url + "/v2/models/register",
        json={
            "metadata": {
                "name": "fraud-detector",
                "version": "1.2.0",
                "author": "ana@example.com",
                "license": "MIT",
                "dependencies": [],
                "description": "card fraud",
            },
            "file_digest": uploaded["digest"],
        },
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    assert registered["model_id"] == "fraud-detector@v1.2.0"
    assert registered["tag"] == "fraud-detector@v1.2.0"
    manifest = registered["manifest"]
    assert manifest["author"] == "ana@example.com" and manifest["license"] == "MIT"
    assert manifest["artifacts"][0]["path"] == "model.bin"  # no name was sent
    assert manifest["artifacts"][0]["sha256"] == uploaded["digest"].removeprefix("sha256:")

    answer = requests.get(server.url + "/v2/models/fraud-detector@v1.2.0", timeout=60)
    assert answer.status_code == 200
    assert answer.text == cli.ok("-C", repo, "show", "fraud-detector@v1.2.0", "--json").stdout
    answer = requests.get(server.url + "/v2/models", timeout=60)
    assert [m["name"] for m in answer.json()["models"]] == ["fraud-detector"]

    answer = requests.get(
        server.url + "/v2/models/fraud-detector@v1.2.0/files/model.bin", timeout=60
    )
    assert answer.status_code == 200 and answer.content == weights

    # The same commit and tag a CLI register makes: the work tree is clean, the
    # bytes are in DVC and its remote, and the staging folder is gone.
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "models" / "fraud-detector" / "model.bin").read_bytes() == weights
    assert not [p for p in repo.iterdir() if p.name.startswith(".modelreg-")]
    got = cli.ok("-C", repo, "get", "fraud-detector@v1.2.0", "-o", tmp_path / "got")
    assert "verified" in got.stdout and (tmp_path / "got" / "model.bin").read_bytes() == weights
    # The upload stays until it expires: another version may reuse it.
    assert area(repo) == ([uploaded["digest"].removeprefix("sha256:")], [])


def test_several_files_at_the_paths_given(server: Server, repo: Path) -> None:
    parts = {"weights/encoder.bin": b"encoder" * 1000, "config.json": b'{"layers": 3}\n'}
    digests = {path: upload(server, data)["digest"] for path, data in parts.items()}
    answer = server.post(
        "/v2/models/register",
        json={
            "metadata": {"name": "team/ranker"},
            "files": [{"path": p, "digest": d} for p, d in digests.items()],
            "message": "first ranker",
        },
    )
    assert answer.status_code == 201, answer.text
    artifacts = {a["path"]: a["sha256"] for a in answer.json()["manifest"]["artifacts"]}
    assert artifacts == {p: d.removeprefix("sha256:") for p, d in digests.items()}
    assert answer.json()["model_id"] == "team/ranker@v0.1.0"
    for path, data in parts.items():
        assert server.get(f"/v2/models/team/ranker@v0.1.0/files/{path}").content == data
    message = git(repo, "tag", "-l", "--format=%(contents)", "team/ranker@v0.1.0")
    assert "first ranker" in message


def test_metadata_becomes_the_manifest(server: Server, repo: Path) -> None:
    base = upload(server, b"base weights", filename="base.pt")
    answer = server.post(
        "/v2/models/register",
        json={"metadata": {"name": "base", "version": "2.1.0"}, "file_digest": base["digest"]},
    )
    assert answer.status_code == 201, answer.text
    head = upload(server, b"head weights", filename="head.pt")
    metadata = {
        "name": "head",
        "description": "a head on the base",
        "framework": "pytorch",
        "labels": {"team": "search"},
        "metrics": {"auc": 0.91, "epochs": 3},
        "params": {"lr": 0.001, "frozen": True, "tokenizer": None},
        "dependencies": ["base@^2.0.0", {"name": "base", "version": ">=2.1.0"}],
        "lineage": {"code_commit": "0123abcd"},
        "schema": 1,
    }
    answer = server.post(
        "/v2/models/register", json={"metadata": metadata, "file_digest": head["digest"]}
    )
    assert answer.status_code == 201, answer.text
    manifest = answer.json()["manifest"]
    assert manifest["artifacts"][0]["path"] == "head.pt"
    for key in ("description", "framework", "labels", "metrics", "params"):
        assert manifest[key] == metadata[key], key
    assert manifest["dependencies"] == [
        {"name": "base", "version": "^2.0.0"},
        {"name": "base", "version": ">=2.1.0"},
    ]
    assert manifest["lineage"] == {"code_commit": "0123abcd"}
    # the same upload again, as the next minor version
    answer = server.post(
        "/v2/models/register",
        json={"metadata": {"name": "head", "bump": "minor"}, "file_digest": head["digest"]},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["model_id"] == "head@v0.2.0"
    assert Registry(repo).resolve("head@latest").version == "0.2.0"


def test_the_same_bytes_are_stored_once_under_the_last_name(server: Server, repo: Path) -> None:
    first = upload(server, b"same bytes", filename="a.bin")
    answer = server.post(
        "/v2/models/upload",
        data=b"same bytes",
        headers={"Content-Disposition": 'attachment; filename="C:\\\\Users\\\\ana\\\\b.bin"'},
    )
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert first["digest"] == second["digest"] and second["filename"] == "b.bin"
    assert area(repo) == ([str(first["digest"]).removeprefix("sha256:")], [])
    answer = server.post(
        "/v2/models/upload",
        data=b"other bytes",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''mod%C3%A8le.bin"},
    )
    assert answer.json()["filename"] == "modèle.bin"
    answer = server.post(
        "/v2/models/register",
        json={"metadata": {"name": "m"}, "file_digest": first["digest"]},
    )
    assert answer.json()["manifest"]["artifacts"][0]["path"] == "b.bin"


def test_an_upload_keeps_its_md5_so_register_need_not_read_it_again(
    server: Server, repo: Path, cli: Cli
) -> None:
    # Big enough for the threaded hashing paths: several 4 MiB blocks.
    data = {"a.bin": os.urandom(9 * 1024 * 1024 + 5), "b.bin": b"old server's upload"}
    sums = {name: digest(blob) for name, blob in data.items()}
    for name, blob in data.items():
        upload(server, blob, filename=name)
    blobs = repo / UPLOADS / "sha256"
    record = json.loads((blobs / f"{sums['a.bin'].removeprefix('sha256:')}.json").read_text())
    assert record["md5"] == hashlib.md5(data["a.bin"]).hexdigest()
    # A record without an md5 (written before it was kept): register hashes the bytes.
    old = blobs / f"{sums['b.bin'].removeprefix('sha256:')}.json"
    old.write_text(json.dumps({"filename": "b.bin", "size": len(data["b.bin"])}))
    answer = server.post(
        "/v2/models/register",
        json={
            "metadata": {"name": "m"},
            "files": [{"path": n, "digest": d} for n, d in sums.items()],
        },
    )
    assert answer.status_code == 201, answer.text
    for artifact in answer.json()["manifest"]["artifacts"]:
        blob = data[artifact["path"]]
        assert artifact["md5"] == hashlib.md5(blob).hexdigest()
        assert artifact["sha256"] == hashlib.sha256(blob).hexdigest()
        assert artifact["size"] == len(blob)
        assert (repo / "models" / "m" / artifact["path"]).read_bytes() == blob
    cli.ok("-C", repo, "verify", "m@v0.1.0")  # DVC's cache holds each object at its md5
    assert git(repo, "status", "--porcelain") == ""


def test_an_empty_body_is_an_upload_too(server: Server) -> None:
    assert upload(server, b"") == {"digest": digest(b""), "size": 0, "filename": "model.bin"}


# --- bad requests: 4xx JSON, the repository unchanged, nothing in the upload area ----

GOOD = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"filename": "../escape.bin"}, {}, 422),
        ({"filename": "/etc/passwd"}, {}, 422),
        ({"filename": "a/./b"}, {}, 422),
        ({"filename": "new\nline"}, {}, 422),
        ({"filename": "model.yaml"}, {}, 422),
        ({"filename": "sub/model.yaml"}, {}, 422),
        ({"filename": "weights.dvc"}, {}, 422),
        ({"filename": ".git/config"}, {}, 422),
        ({"filename": ""}, {}, 422),
        ({}, {"Content-Disposition": 'attachment; filename=".."'}, 422),
        ({}, {"Content-Disposition": 'attachment; filename="a\\\\.gitignore"'}, 422),
        ({}, {"Content-Length": "9x"}, 400),
    ],
)
def test_bad_uploads(
    server: Server,
    repo: Path,
    assert_unchanged: Callable[[Path], object],
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    with assert_unchanged(repo):  # type: ignore[operator]
        if headers.get("Content-Length"):
            answer = raw_request(server, b"POST", b"/v2/models/upload", headers, b"some bytes")
            assert answer.startswith(b"HTTP/1.1 400"), answer
            return
        answer = server.post(
            "/v2/models/upload", data=b"some bytes", params=params, headers=headers
        )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]
    assert area(repo) == ([], [])


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("not json", 400, "not JSON"),
        ("[]", 400, "JSON object"),
        ({}, 400, "'metadata' is required"),
        ({"metadata": {}, "file_digest": GOOD}, 422, "metadata.name: missing"),
        ({"metadata": {"name": "m", "colour": "red"}, "file_digest": GOOD}, 422, "colour"),
        ({"metadata": {"name": "m", "artifacts": []}, "file_digest": GOOD}, 422, "artifacts"),
        ({"metadata": {"name": "m", "created": "x"}, "file_digest": GOOD}, 422, "created"),
        ({"metadata": {"name": "m", "schema": 2}, "file_digest": GOOD}, 422, "schema"),
        ({"metadata": {"name": 3}, "file_digest": GOOD}, 422, "metadata.name"),
        ({"metadata": {"name": "m", "labels": {"a": 1}}, "file_digest": GOOD}, 422, "labels.a"),
        ({"metadata": {"name": "m", "metrics": {"a": "x"}}, "file_digest": GOOD}, 422, "metrics"),
        ({"metadata": {"name": "m", "metrics": {"a": True}}, "file_digest": GOOD}, 422, "metrics"),
        ({"metadata": {"name": "m", "params": {"a": [1]}}, "file_digest": GOOD}, 422, "params"),
        ({"metadata": {"name": "m", "dependencies": "x"}, "file_digest": GOOD}, 422, "list"),
        ({"metadata": {"name": "m", "dependencies": [{"n": 1}]}, "file_digest": GOOD}, 422, "NAME"),
        ({"metadata": {"name": "m", "bump": "huge"}, "file_digest": GOOD}, 422, "bump"),
        (
            {"metadata": {"name": "m", "lineage": {"data": ["/etc/passwd"]}}, "file_digest": GOOD},
            422,
            "lineage.data",
        ),
        ({"metadata": {"name": "m"}, "file_digest": GOOD, "colour": 1}, 422, "colour"),
        ({"metadata": {"name": "m"}}, 422, "either"),
        ({"metadata": {"name": "m"}, "file_digest": GOOD, "files": []}, 422, "either"),
        ({"metadata": {"name": "m"}, "files": []}, 422, "empty"),
        ({"metadata": {"name": "m"}, "file_digest": "md5:abc"}, 422, "not a digest"),
        ({"metadata": {"name": "m"}, "file_digest": GOOD}, 404, GOOD),
        ({"metadata": {"name": "m"}, "files": [GOOD]}, 422, "files[0]"),
        ({"metadata": {"name": "m"}, "files": [{"path": "a"}]}, 422, "files[0]"),
        (
            {"metadata": {"name": "m"}, "files": [{"path": "../a", "digest": GOOD}]},
            422,
            "files[0].path",
        ),
        (
            {"metadata": {"name": "m"}, "files": [{"path": "a", "digest": GOOD, "x": 1}]},
            422,
            "unknown key",
        ),
    ],
)
def test_bad_registrations(
    server: Server,
    repo: Path,
    assert_unchanged: Callable[[Path], object],
    body: object,
    status: int,
    words: str,
) -> None:
    with assert_unchanged(repo):  # type: ignore[operator]
        if isinstance(body, str):
            answer = server.post("/v2/models/register", data=body)
        else:
            answer = server.post("/v2/models/register", json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("metadata", "files", "status", "words"),
    [
        ({"name": "Bad Name!"}, None, 422, "Bad Name!"),
        ({"name": "m", "version": "one"}, None, 422, "one"),
        ({"name": "m", "license": "NOT-A-LICENCE"}, None, 422, "NOT-A-LICENCE"),
        ({"name": "m", "dependencies": ["nobody@^1.0.0"]}, None, 409, "nobody"),
        ({"name": "m", "dependencies": ["nonsense"]}, None, 422, "nonsense"),
        ({"name": "m", "metrics": {"auc": 1e400}}, None, 422, "finite"),
        ({"name": "m", "metrics": {"auc": 10**400}}, None, 422, "too large"),  # was a 201
        ({"name": "taken", "version": "1.0.0"}, None, 409, "already registered"),
        ({"name": "m"}, [("a", 0), ("a", 1)], 422, "both be stored as 'a'"),
        ({"name": "m"}, [("a", 0), ("a/b", 1)], 422, "cannot both be files"),
    ],
)
def test_registrations_the_library_refuses(
    server: Server,
    repo: Path,
    assert_unchanged: Callable[[Path], object],
    metadata: dict[str, object],
    files: list[tuple[str, int]] | None,
    status: int,
    words: str,
) -> None:
    uploads = [upload(server, b"zero")["digest"], upload(server, b"one")["digest"]]
    taken = server.post(
        "/v2/models/register",
        json={"metadata": {"name": "taken", "version": "1.0.0"}, "file_digest": uploads[0]},
    )
    assert taken.status_code == 201, taken.text
    body: dict[str, object] = {"metadata": metadata}
    if files is None:
        body["file_digest"] = uploads[1]
    else:
        body["files"] = [{"path": p, "digest": uploads[i]} for p, i in files]
    with assert_unchanged(repo):  # type: ignore[operator]
        answer = server.post(
            "/v2/models/register", data=json.dumps(body).replace("Infinity", "1e400")
        )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]
    assert not [p for p in repo.iterdir() if p.name.startswith(".modelreg-")]


def test_an_oversized_upload_is_refused(
    repo: Path, serve: Callable[..., Server], assert_unchanged: Callable[[Path], object]
) -> None:
    server = serve(repo, env={"MODELREG_UPLOAD_MAX_SIZE": "1000"})
    with assert_unchanged(repo):  # type: ignore[operator]
        declared = server.post("/v2/models/upload", data=b"x" * 1001)
        streamed = server.post("/v2/models/upload", data=iter([b"x" * 600, b"x" * 600]))
        fits = server.post("/v2/models/upload", data=b"x" * 1000)
    assert (declared.status_code, streamed.status_code, fits.status_code) == (413, 413, 200)
    assert "1000 bytes" in declared.json()["error"]["message"]
    assert area(repo) == ([hashlib.sha256(b"x" * 1000).hexdigest()], [])


# --- clients that go away, servers that are killed ---------------------------------------


def raw_request(
    server: Server, method: bytes, path: bytes, headers: dict[str, str], body: bytes
) -> bytes:
    """One request on a raw socket (the client half-closes after the body); the answer."""
    with open_socket(server) as sock:
        lines = [method + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [f"{k}: {v}".encode() for k, v in headers.items()]
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def open_socket(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60)


@pytest.fixture
def connect() -> Iterator[Callable[[Server], socket.socket]]:
    """``connect(server)``: a raw socket to it, closed at the end."""
    opened: list[socket.socket] = []

    def make(server: Server) -> socket.socket:
        opened.append(open_socket(server))
        return opened[-1]

    yield make
    for sock in opened:
        sock.close()


def start_upload(sock: socket.socket, promised: int, sent: bytes) -> None:
    sock.sendall(
        b"POST /v2/models/upload?filename=big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Content-Length: {promised}\r\n\r\n".encode()
        + sent
    )


def test_a_client_that_goes_away_mid_upload_leaves_nothing(
    server: Server, repo: Path, connect: Callable[[Server], socket.socket]
) -> None:
    sock = connect(server)
    start_upload(sock, 50 * 1024 * 1024, os.urandom(9 * 1024 * 1024))
    wait_for(lambda: bool(area(repo)[1]), "receiving")
    sock.close()
    wait_for(lambda: area(repo) == ([], []), "cleaned up")
    assert server.get("/healthz").status_code == 200


def test_a_truncated_body_is_refused_and_leaves_nothing(
    server: Server, repo: Path, connect: Callable[[Server], socket.socket]
) -> None:
    sock = connect(server)
    start_upload(sock, 1000, b"only 14 bytes.")
    sock.shutdown(socket.SHUT_WR)  # the body ends early: the client says no more
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    # The server answers a 4xx if the connection still takes one, else just closes it.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer
    wait_for(lambda: area(repo) == ([], []), "cleaned up")


def test_a_server_killed_mid_upload_leaves_nothing_after_restart(
    repo: Path, serve: Callable[..., Server], connect: Callable[[Server], socket.socket]
) -> None:
    server = serve(repo)
    tags = git(repo, "tag", "-l")
    sock = connect(server)
    start_upload(sock, 50 * 1024 * 1024, os.urandom(9 * 1024 * 1024))
    wait_for(lambda: bool(area(repo)[1]), "receiving")
    server.stop(signal.SIGKILL)
    assert area(repo)[1], "the killed server's partial body is still there"
    # a staging folder a server killed mid-registration would leave
    leftover = repo / ".modelreg-upload-4194305-abc"
    (leftover / "sub").mkdir(parents=True)
    (leftover / "sub" / "w.bin").write_bytes(b"half")
    serve(repo)
    assert area(repo) == ([], [])
    assert not leftover.exists()
    assert git(repo, "tag", "-l") == tags
    assert git(repo, "status", "--porcelain") == ""


def test_uploads_nobody_registers_expire(repo: Path, serve: Callable[..., Server]) -> None:
    server = serve(repo)
    old = upload(server, b"forgotten")
    fresh = upload(server, b"fresh")
    blob = repo / UPLOADS / "sha256" / str(old["digest"]).removeprefix("sha256:")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(blob, (two_days_ago, two_days_ago))
    server.stop()
    server = serve(repo)  # start-up sweeps what is older than a day
    assert area(repo)[0] == [str(fresh["digest"]).removeprefix("sha256:")]
    answer = server.post(
        "/v2/models/register", json={"metadata": {"name": "m"}, "file_digest": old["digest"]}
    )
    assert answer.status_code == 404 and str(old["digest"]) in answer.json()["error"]["message"]

    # and while running: every quarter of the lifetime (here 2 s)
    server.stop()
    server = serve(repo, env={"MODELREG_UPLOAD_MAX_AGE": "2"})
    later = upload(server, b"later")
    blob = repo / UPLOADS / "sha256" / str(later["digest"]).removeprefix("sha256:")
    wait_for(lambda: not blob.exists(), "swept")
    assert not (blob.parent / (blob.name + ".json")).exists()


def test_a_bad_setting_stops_the_server_at_once(repo: Path, cli: Cli) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "modelreg", "-C", str(repo), "serve", "--port", "1"],
        env={**os.environ, "MODELREG_UPLOAD_MAX_AGE": "soon"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "MODELREG_UPLOAD_MAX_AGE" in done.stderr


def test_with_a_git_remote_a_registration_is_published(
    repo: Path, serve: Callable[..., Server], cli: Cli, tmp_path: Path
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    cli.ok("-C", repo, "push")
    server = serve(repo)
    uploaded = upload(server, b"published weights", filename="w.bin")
    answer = server.post(
        "/v2/models/register", json={"metadata": {"name": "m"}, "file_digest": uploaded["digest"]}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["pushed"] is True
    assert git(bare, "tag", "-l").split() == ["m@v0.1.0"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    cli.ok("-C", clone, "get", "m@v0.1.0", "-o", tmp_path / "got")
    assert (tmp_path / "got" / "w.bin").read_bytes() == b"published weights"


def test_an_upload_that_stalls_is_given_up(
    repo: Path, serve: Callable[..., Server], connect: Callable[[Server], socket.socket]
) -> None:
    server = serve(repo, env={"MODELREG_UPLOAD_IDLE_TIMEOUT": "1"})
    sock = connect(server)
    start_upload(sock, 1000, b"a few bytes, then nothing")
    answer = b""
    while chunk := sock.recv(65536):  # the server answers, then closes
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"the upload was given up" in answer
    assert area(repo) == ([], [])


def test_a_registration_vouches_for_the_objects_it_wrote_and_no_others(
    server: Server, repo: Path
) -> None:
    """The server hashed the upload as it arrived and copied it into the DVC cache:
    its first download need not read it again (the digest is remembered for that
    object, in the server's state folder). A change to the object is still seen."""
    data = os.urandom(64 * 1024)
    sent = upload(server, data, filename="model.bin")
    answer = server.post(
        "/v2/models/register", json={"metadata": {"name": "m"}, "file_digest": sent["digest"]}
    )
    assert answer.status_code == 201, answer.text
    md5 = hashlib.md5(data).hexdigest()
    stored = repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    st = stored.stat()
    remembered = (repo / ".git" / "modelreg-server" / "known-digests").read_text().splitlines()
    line = f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} "
    assert line + hashlib.sha256(data).hexdigest() in remembered
    got = server.get("/v2/models/m@v0.1.0/files/model.bin")
    assert got.status_code == 200 and got.content == data

    # The same bytes registered again: that object was not written by this
    # registration, so nothing new is vouched for it.
    before = len(remembered)
    again = server.post(
        "/v2/models/register", json={"metadata": {"name": "n"}, "file_digest": sent["digest"]}
    )
    assert again.status_code == 201, again.text
    after = (repo / ".git" / "modelreg-server" / "known-digests").read_text().splitlines()
    assert stored.stat().st_ctime_ns != st.st_ctime_ns or len(after) == before

    # Bytes changed under the server: the remembered stat no longer holds, and the
    # wrong bytes are never handed out as the version's.
    stored.chmod(0o644)
    stored.write_bytes(bytes(len(data)))
    got = server.get("/v2/models/m@v0.1.0/files/model.bin")
    assert got.content != bytes(len(data))
    assert got.status_code != 200 or got.content == data
