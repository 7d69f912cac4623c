#!/usr/bin/env python3
"""Regenerate README's screenshots of the web page: ``docs/web-home.png`` and
``docs/web-model.png``.

    python examples/screenshots.py            # writes docs/web-*.png

Builds a small registry in a temporary directory (the models of the tests'
showcase, at fixed dates, by "Jane Doe"), starts ``modelreg serve`` on it on
127.0.0.1 and photographs the home page and a model's page with Debian's
Chromium, headless (``apt-get install chromium chromium-driver``; nothing is
downloaded).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.web.browser import chromium, full_page_screenshot  # noqa: E402

DOCS = REPO / "docs"
START = 1_790_000_000  # 2026-09-21


def isolate(home: Path) -> None:
    """Own HOME and git identity for this process and the server it starts."""
    home.mkdir(parents=True)
    config = home / ".gitconfig"
    config.write_text(
        "[user]\n\tname = Jane Doe\n\temail = jane@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    os.environ.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        DVC_NO_ANALYTICS="1",
    )


def build(root: Path, outside: Path) -> None:
    from modelreg.registry import Registry

    now = START

    def tick() -> None:
        nonlocal now
        now += 3600
        os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = f"{now} +0000"

    tick()
    registry, _ = Registry.init(root, remote="s3://example-bucket/registry")
    count = 0

    def register(name: str, version: str, **options: object) -> None:
        nonlocal count
        tick()
        count += 1
        path = outside / str(count) / "model.pkl"
        path.parent.mkdir(parents=True)
        path.write_bytes(f"{name} {version}\n".encode() * 4000)
        registry.register(name, path, version=version, **options)  # type: ignore[arg-type]

    for version, auc, dim in (("1.0.0", 0.81, 128), ("1.1.0", 0.84, 256), ("2.0.0", 0.9, 256)):
        register(
            "embedder", version, description=f"text embedder, {dim} dimensions",
            license="Apache-2.0", framework="pytorch",
            labels={"team": "search", "task": "embedding"},
            metrics={"auc": auc, "dim": dim}, params={"epochs": 10, "lr": 0.001},
            message=f"embedder {version}",
        )  # fmt: skip
    tick()
    registry.promote("embedder@v1.0.0", "dev")
    tick()
    registry.deprecate("embedder@v1.1.0", message="trained on leaked labels")
    for stage in ("dev", "staging", "production"):
        tick()
        registry.promote("embedder@v2.0.0", stage, message=f"{stage}: eval passed")
    for version, precision, recall, dep in (
        ("0.1.0", 0.70, 0.58, ">=1.0.0"),
        ("0.2.0", 0.75, 0.61, "^2.0.0"),
        ("0.3.0", 0.78, 0.60, "^2.0.0"),
        ("0.4.0", 0.83, 0.66, "^2.0.0"),
    ):
        register(
            "team/fraud", version, description="card fraud scorer", license="MIT",
            framework="sklearn", labels={"team": "risk", "owner": "ana"},
            metrics={"precision": precision, "recall": recall},
            params={"trees": 200, "depth": 8}, dependencies=[f"embedder@{dep}"],
            message=f"fraud {version}",
        )  # fmt: skip
    for version, stage in (
        ("0.1.0", "dev"), ("0.2.0", "dev"), ("0.2.0", "staging"), ("0.2.0", "production"),
        ("0.3.0", "staging"), ("0.3.0", "production"), ("0.4.0", "dev"),
    ):  # fmt: skip
        tick()
        registry.promote(f"team/fraud@v{version}", stage, message=f"{stage} for {version}")
    tick()
    registry.rollback("team/fraud", "production", message="latency regression")
    register("ranker", "1.0.0", description="orders search results", license="BSD-3-Clause",
             metrics={"ndcg": 0.42}, dependencies=["team/fraud@>=0.2.0"])  # fmt: skip
    tick()
    registry.promote("ranker@v1.0.0", "dev")
    register("team/churn", "1.0.0", description="who leaves next month", license="MIT",
             labels={"team": "growth"}, metrics={"auc": 0.77})  # fmt: skip
    register("legacy", "0.9.0", description="the rules engine it replaced", license="MIT")
    tick()
    registry.deprecate("legacy", message="replaced by team/fraud")


def serve(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "modelreg", "-C", str(root), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("modelreg serve did not start")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="modelreg-screens-") as work:
        base = Path(work)
        isolate(base / "home")
        build(base / "registry", base / "outside")
        process, url = serve(base / "registry")
        browser = chromium(1200, 800)
        try:
            DOCS.mkdir(exist_ok=True)
            browser.get(url + "/")
            full_page_screenshot(browser, DOCS / "web-home.png", width=1200)
            browser.set_window_size(1200, 800)
            browser.get(url + "/m/team/fraud")
            full_page_screenshot(browser, DOCS / "web-model.png", width=1200)
        finally:
            browser.quit()
            process.terminate()
            process.wait(timeout=30)
    for name in ("web-home.png", "web-model.png"):
        print(f"wrote {DOCS / name} ({(DOCS / name).stat().st_size // 1000} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
