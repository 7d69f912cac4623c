"""Tokens against the real server: open while there is none, then Bearer or basic
auth on every request, roles, changes seen without a restart, and the loopback rule."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from modelreg.registry import Registry
from modelreg.tokens import TokenStore

from ..conftest import Cli, FileMaker
from .conftest import Server, free_port


@pytest.fixture
def root(repo: Path, files: FileMaker) -> Path:
    registry = Registry(repo)
    registry.register("fraud", files(), version="1.0.0")
    registry.register("fraud", files(), version="1.1.0")
    return repo


def add(cli: Cli, root: Path, name: str, role: str, *more: str) -> str:
    """``modelreg token add`` as a person runs it; the secret is stdout's last word."""
    return cli.ok("-C", root, "token", "add", name, "--role", role, *more).stdout.split()[-1]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_refused(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == code
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer ")


def promote(server: Server, stage: str, **kwargs: object) -> requests.Response:
    return server.post(
        "/v2/models/fraud@v1.1.0/promote",
        json={"stage": stage, "force": True, "message": "test"},
        **kwargs,
    )


def test_with_no_token_everyone_is_served(root: Path, serve: Callable[..., Server]) -> None:
    server = serve(root)
    assert server.get("/v2/models").status_code == 200
    assert promote(server, "dev").status_code == 200
    history = server.get("/v2/models/fraud/history").json()["events"]
    assert history[-1]["author"] == "Test User"  # git's user: nobody else is known


def test_an_open_server_refuses_a_write_from_another_site_s_page(
    root: Path, serve: Callable[..., Server], assert_unchanged: Callable[[Path], object]
) -> None:
    """A page on another site can POST to 127.0.0.1 without a CORS preflight (a
    text/plain form, or a fetch with no body); its browser names its origin."""
    server = serve(root)
    with assert_unchanged(root):  # type: ignore[operator]
        for origin in ("http://evil.example", "null", server.url.replace("127.0.0.1", "localhost")):
            for headers, body in (
                ({"Content-Type": "text/plain"}, b'{"stage": "dev", "message": "="}'),
                ({"Content-Type": "application/x-www-form-urlencoded"}, b""),
            ):
                answer = server.post(
                    "/v2/models/fraud@v1.1.0/promote" if body else "/v2/models/fraud/deprecate",
                    headers={**headers, "Origin": origin},
                    data=body,
                )
                assert_refused(answer, 403, "forbidden")
                assert origin in answer.json()["error"]["message"]
        assert server.get("/v2/models", headers={"Origin": "http://evil.example"}).ok  # a read
    # the server's own origin, and clients that send none (curl, requests, MLflow's)
    assert promote(server, "dev", headers={"Origin": server.url}).status_code == 200
    assert promote(server, "staging").status_code == 200


def test_an_open_loopback_server_answers_only_to_local_names(
    root: Path, serve: Callable[..., Server], assert_unchanged: Callable[[Path], object]
) -> None:
    """DNS rebinding: a page on evil.example, its name pointed at 127.0.0.1, is
    the same site as the server to the browser; only ``Host`` tells them apart."""
    server = serve(root)
    port = server.url.rsplit(":", 1)[1]
    with assert_unchanged(root):  # type: ignore[operator]
        for host in (f"evil.example:{port}", "evil.example", f"10.0.0.1:{port}"):
            read = server.get("/v2/models", headers={"Host": host})
            assert_refused(read, 403, "forbidden")
            assert "answers only to a local name" in read.json()["error"]["message"]
            write = promote(server, "dev", headers={"Host": host, "Origin": f"http://{host}"})
            assert_refused(write, 403, "forbidden")
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "127.0.0.2", f"app.localhost:{port}"):
        assert server.get("/v2/models", headers={"Host": host}).status_code == 200, host
    assert server.get("/healthz", headers={"Host": "evil.example"}).status_code == 200  # probes
    # started --public (say, behind a proxy that names it), it answers any name
    public = serve(root, "--public")
    assert public.get("/v2/models", headers={"Host": "registry.example.com"}).status_code == 200


def test_tokens_added_while_running_are_required_and_name_the_tagger(
    root: Path, serve: Callable[..., Server], cli: Cli, assert_unchanged: Callable[..., object]
) -> None:
    server = serve(root)
    assert server.get("/v2/models").status_code == 200
    reader = add(cli, root, "dashboard", "read")
    writer = add(cli, root, "deploy-bot", "write", "--email", "bot@example.com")

    assert_refused(server.get("/v2/models"), 401, "unauthenticated")
    assert_refused(server.get("/v2/models", headers=bearer(writer + "x")), 401, "unauthenticated")
    assert_refused(promote(server, "dev"), 401, "unauthenticated")
    assert server.get("/v2/models", headers=bearer(reader)).status_code == 200

    with assert_unchanged(root):  # type: ignore[operator]
        refused = promote(server, "dev", headers=bearer(reader))
    assert_refused(refused, 403, "forbidden")
    assert "dashboard" in refused.json()["error"]["message"]

    answer = promote(server, "staging", headers=bearer(writer))
    assert answer.status_code == 200, answer.text
    events = server.get("/v2/models/fraud/history", headers=bearer(reader)).json()["events"]
    assert (events[-1]["author"], events[-1]["author_email"]) == ("deploy-bot", "bot@example.com")
    assert events[-1]["stage"] == "staging"
    # the CLI reads the same tag: history names the token
    shown = cli.ok("-C", root, "history", "fraud").stdout
    assert "deploy-bot" in shown


def test_basic_auth_takes_the_secret_as_the_password(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    reader = add(cli, root, "mlflow-reader", "read")
    writer = add(cli, root, "mlflow-writer", "write")
    server = serve(root)
    assert server.get("/v2/models", auth=("anyone", reader)).status_code == 200
    assert_refused(promote(server, "dev", auth=("mlflow-reader", reader)), 403, "forbidden")
    assert promote(server, "dev", auth=("whoever", writer)).status_code == 200
    events = server.get("/v2/models/fraud/history", auth=("x", reader)).json()["events"]
    assert events[-1]["author"] == "mlflow-writer"
    assert_refused(server.get("/v2/models", auth=(reader, "")), 401, "unauthenticated")


def test_a_removed_token_is_refused_at_once(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    gone = add(cli, root, "gone", "write")
    kept = add(cli, root, "kept", "read")
    server = serve(root)
    assert server.get("/v2/models", headers=bearer(gone)).status_code == 200
    cli.ok("-C", root, "token", "remove", "gone")
    assert_refused(server.get("/v2/models", headers=bearer(gone)), 401, "unauthenticated")
    assert server.get("/v2/models", headers=bearer(kept)).status_code == 200
    cli.ok("-C", root, "token", "remove", "kept")  # none left, on loopback: open again
    assert server.get("/v2/models").status_code == 200


def test_the_sign_in_form_takes_only_its_own_page_s_post(
    root: Path, cli: Cli, serve: Callable[..., Server]
) -> None:
    """Login CSRF: another site's page posting the sign-in form with its owner's
    secret would sign the visitor's browser in as them. The form's hidden value
    must be the cookie its page set (which no other site's page sends)."""
    secret = add(cli, root, "ana", "write")
    server = serve(root)
    signin = server.url + "/signin"
    fields = {"token": secret, "next": "/"}
    forged = requests.post(signin, data=fields, allow_redirects=False, timeout=60)
    assert forged.status_code == 403
    assert "modelreg_session" not in forged.headers.get("set-cookie", "")
    assert "came from another page" in forged.text

    browser = requests.Session()
    page = browser.get(signin, timeout=60)
    assert page.status_code == 200
    value = re.search(r'name="form" value="([^"]+)"', page.text)
    assert value is not None and browser.cookies.get("modelreg_signin") == value.group(1)
    other = requests.get(signin, timeout=60)  # another page's value, with this cookie
    stolen = re.search(r'name="form" value="([^"]+)"', other.text)
    assert stolen is not None and stolen.group(1) != value.group(1)
    mixed = browser.post(
        signin, data={**fields, "form": stolen.group(1)}, allow_redirects=False, timeout=60
    )
    assert mixed.status_code == 403
    again = re.search(r'name="form" value="([^"]+)"', mixed.text)  # the page shown again
    assert again is not None and browser.cookies.get("modelreg_signin") == again.group(1)
    signed = browser.post(
        signin, data={**fields, "form": again.group(1)}, allow_redirects=False, timeout=60
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert browser.cookies.get("modelreg_session") == secret

    # A page on another port of this host is "same-site" and could set the cookie
    # itself: the browser's Sec-Fetch-Site says where the post came from.
    neighbour = requests.Session()
    page = neighbour.get(signin, timeout=60)
    value = re.search(r'name="form" value="([^"]+)"', page.text)
    assert value is not None
    for where, status in (("same-site", 403), ("cross-site", 403), ("same-origin", 303)):
        answer = neighbour.post(
            signin,
            data={**fields, "form": value.group(1)},
            headers={"Sec-Fetch-Site": where},
            allow_redirects=False,
            timeout=60,
        )
        assert answer.status_code == status, (where, answer.status_code)
        if status == 403:
            value = re.search(r'name="form" value="([^"]+)"', answer.text)
            assert value is not None


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "bearer mrt_nothing",
        "Basic !!!not-base64",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        "Basic " + "//79",  # not UTF-8
        "Token abc",
        "Bearer \u00e9\u00e9",
        "x" * 8000,
    ],
)
def test_malformed_credentials_are_401_never_500(
    root: Path, serve: Callable[..., Server], cli: Cli, header: str
) -> None:
    add(cli, root, "ci", "read")
    server = serve(root)
    answer = requests.get(
        server.url + "/v2/models", headers={"Authorization": header.encode("latin-1")}, timeout=60
    )
    assert_refused(answer, 401, "unauthenticated")


def test_probes_and_the_schema_need_no_token_and_metrics_does(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    reader = add(cli, root, "prometheus", "read")
    server = serve(root)
    assert server.get("/healthz").status_code == 200
    assert server.get("/readyz").status_code == 200
    assert server.get("/openapi.json").status_code != 401
    assert_refused(server.get("/metrics"), 401, "unauthenticated")
    assert server.get("/metrics", headers=bearer(reader)).status_code != 401
    assert_refused(server.get("/healthz/../v2/models"), 401, "unauthenticated")


def test_a_damaged_store_refuses_everyone(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    secret = add(cli, root, "ci", "write")
    server = serve(root)
    TokenStore.of(Registry(root)).path.write_text("{not json")
    for answer in (server.get("/v2/models"), server.get("/v2/models", headers=bearer(secret))):
        assert_refused(answer, 503, "unavailable")


def _serve_exit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "modelreg",
            "-C",
            str(root),
            "serve",
            "--port",
            str(free_port()),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_beyond_loopback_needs_a_token_or_public(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    refused = _serve_exit(root, "--host", "0.0.0.0")
    assert refused.returncode == 1, refused
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "refusing to listen on 0.0.0.0" in refused.stderr

    secret = add(cli, root, "ci", "write")
    server = serve(root, "--host", "0.0.0.0")
    assert_refused(server.get("/v2/models"), 401, "unauthenticated")
    assert server.get("/v2/models", headers=bearer(secret)).status_code == 200
    # removing the last token closes a server beyond loopback; it never opens it
    cli.ok("-C", root, "token", "remove", "ci")
    assert_refused(server.get("/v2/models"), 503, "unavailable")


def test_concurrent_writers_each_tag_as_themselves(
    root: Path, serve: Callable[..., Server], cli: Cli
) -> None:
    writers = {name: add(cli, root, name, "write") for name in ("ana", "bo", "cy")}
    server = serve(root)
    stages = ["dev", "staging", "production"]

    def write(job: tuple[str, str]) -> tuple[str | None, str]:
        name, stage = job
        answer = promote(server, stage, headers=bearer(writers[name]))
        assert answer.status_code == 200, answer.text
        return answer.json()["tag"], name

    jobs = [(name, stage) for name in writers for stage in stages]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        # the first promote to each stage writes a tag; the others find it held
        written = {tag: name for tag, name in pool.map(write, jobs) if tag is not None}
    assert len(written) == len(stages)
    events = server.get("/v2/models/fraud/history", headers=bearer(writers["ana"])).json()
    taggers = {e["tag"]: e["author"] for e in events["events"] if e["tag"] in written}
    assert taggers == written
