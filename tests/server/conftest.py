"""The real server program (``modelreg serve``) on 127.0.0.1, driven with ``requests``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One running ``modelreg serve``: its URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop it (SIGTERM: graceful) and wait; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(root: Path, *args: str, log: Path, env: dict[str, str] | None = None) -> Server:
    """Start ``python -m modelreg -C ROOT serve --port N ARGS`` and wait until it answers."""
    port = free_port()
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "modelreg", "-C", str(root), "serve", "--port", str(port), *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"modelreg serve exited {process.returncode}:\n{server.output()}")
        try:
            if requests.get(server.url + "/healthz", timeout=5).status_code == 200:
                return server
        except requests.ConnectionError:
            time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"modelreg serve did not answer within 60 s:\n{server.output()}")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``serve(root, *args)`` starts a server on a free loopback port; all stop at the end."""
    started: list[Server] = []

    def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Server:
        server = start(root, *args, log=tmp_path / f"serve-{len(started)}.log", env=env)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()
