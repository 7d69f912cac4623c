"""The web page's speed and size: the home page of a big registry, one command.

    python benchmarks/web.py                 # 1000x10 (12,000 tags)
    python benchmarks/web.py --size 100x10 --runs 3

Builds the registry with ``generate.py`` in an isolated environment (as
``run.py`` does), then measures (median of ``--runs`` after a warm-up):

a. server time, in this process: the home page built from a fresh ``Registry``
   (every read the server makes on a cache miss: ``list_models``, ``history``,
   the latest manifests in one batch) and rendered, split into reading and
   rendering; and a model's page the same way;
b. over HTTP, from the real ``modelreg serve``: ``GET /`` (its first page of
   rows) right after a new tag (the answer cache must notice: a miss), 5 s
   after one (the server's ``pages`` thread has read the tags again: only the
   rendering is left), and again (a hit), each with its byte size, plain and
   gzipped; and, right after a new tag, ``GET /?all=1`` (every row), a model's
   page, and for comparison the whole ``modelreg list --json`` process (a miss
   should cost about what ``list`` does: both list the refs into the state
   cache). Only the request (or the process) is timed, never the ``git tag``.

Issue 13's target: the home page of a 1,000-model registry in under 300 ms of
server time. Nothing is asserted; the table says whether it holds.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from generate import Shape, generate  # benchmarks/ is on sys.path, as for run.py
from isolation import isolated_env

TARGET_MS = 300.0
MODEL = "model-00000"  # generate.py's first model
WARM_WAIT = 5.0


def median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def in_process(root: Path, runs: int) -> list[tuple[str, float, int]]:
    from modelreg.registry import Registry
    from modelreg.server.web import pages, views
    from modelreg.server.web.links import Links

    links = Links("http://127.0.0.1:8080")
    home = views.home(Registry(root), views.Filters())
    model = home["groups"][0]["models"][0]["name"]
    html = pages.render("home.html", links, **home)
    model_html = pages.render("model.html", links, **views.model(Registry(root), model))
    return [
        (
            "home: read + render (server time, cache miss)",
            median_ms(
                lambda: pages.render(
                    "home.html", links, **views.home(Registry(root), views.Filters())
                ),
                runs,
            ),
            len(html.encode()),
        ),
        (
            "home: read only",
            median_ms(lambda: views.home(Registry(root), views.Filters()), runs),
            0,
        ),
        ("home: render only", median_ms(lambda: pages.render("home.html", links, **home), runs), 0),
        (
            f"model page ({model}): read + render",
            median_ms(
                lambda: pages.render("model.html", links, **views.model(Registry(root), model)),
                runs,
            ),
            len(model_html.encode()),
        ),
    ]


def over_http(root: Path, env: dict[str, str], runs: int) -> list[tuple[str, float, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "modelreg", "-C", str(root), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(port, "/healthz", False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        touched = 0

        def timed_after_tag(measure: Callable[[], object], wait: float = 0.0) -> float:
            """``measure()`` ``wait`` s after a new tag (median of ``runs`` after a
            warm-up; the tag itself is not timed): ms."""
            nonlocal touched
            times = []
            for round_ in range(runs + 1):
                touched += 1
                subprocess.run(
                    ["git", "-C", str(root), "tag", f"bench-touch-{touched}"], env=env, check=True
                )
                time.sleep(wait)  # with a wait, the background thread reads the tags again
                start = time.perf_counter()
                measure()
                if round_:
                    times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        def after_tag(path: str, wait: float = 0.0) -> float:
            """``GET path`` right after (or ``wait`` s after) a new tag: ms."""
            return timed_after_tag(lambda: get(port, path, False), wait)

        def list_json() -> float:
            """The whole ``modelreg list --json`` process right after a new tag: ms."""
            command = [sys.executable, "-m", "modelreg", "-C", str(root), "list", "--json"]
            return timed_after_tag(
                lambda: subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            )

        plain = get(port, "/", False)
        zipped = get(port, "/", True)
        assert gzip.decompress(zipped) == plain
        every = get(port, "/?all=1", False)
        model = "/m/" + MODEL
        model_page = get(port, model, False)
        return [
            ("GET / right after a new tag (miss)", after_tag("/"), len(plain)),
            ("GET /?all=1 right after a new tag (miss)", after_tag("/?all=1"), len(every)),
            (f"GET {model} right after a new tag (miss)", after_tag(model), len(model_page)),
            ("(modelreg list --json after a new tag: process)", list_json(), 0),
            (
                f"GET / {WARM_WAIT:.0f} s after a new tag (pages thread)",
                after_tag("/", WARM_WAIT),
                len(plain),
            ),
            ("GET / again (hit)", median_ms(lambda: get(port, "/", False), runs), len(plain)),
            ("GET / gzip (hit)", median_ms(lambda: get(port, "/", True), runs), len(zipped)),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def get(port: int, path: str, zipped: bool) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Accept-Encoding": "gzip" if zipped else "identity"}
    connection.request("GET", path, headers=headers)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    if answer.status != 200:
        raise RuntimeError(f"GET {path}: {answer.status}")
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/web.py", description=__doc__)
    parser.add_argument("--size", default="1000x10", help="MODELSxVERSIONS (default 1000x10)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (default 7)")
    args = parser.parse_args(argv)
    shape = Shape.parse(args.size)
    with tempfile.TemporaryDirectory(prefix="modelreg-web-bench-") as work:
        base = Path(work)
        env = isolated_env(base / "home")
        root = base / f"registry-{shape}"
        modelreg = [sys.executable, "-m", "modelreg"]
        generate(root, shape, modelreg=modelreg, env=env, remote=base / "remote")
        rows = in_process(root, args.runs) + over_http(root, env, args.runs)
    print(f"web page, registry {shape} ({shape.tags} tags), median of {args.runs}")
    for what, ms, size in rows:
        kb = f"{size / 1000:8.1f} kB" if size else " " * 11
        print(f"  {what:<48} {ms:8.1f} ms {kb}")
    for what, ms, _ in rows:
        if what.startswith(("home: read + render", "GET /")):
            verdict = "under" if ms < TARGET_MS else "OVER"
            print(f"  {verdict} {TARGET_MS:.0f} ms: {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
