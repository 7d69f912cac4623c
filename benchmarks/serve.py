"""``modelreg serve``'s speed: one command, ratios against baselines measured in the same run.

    python benchmarks/serve.py                        # 1000x10, 16 clients, a 1 GiB file
    python benchmarks/serve.py --size 100x10 --big-file-mib 64 --runs 3

Run it with the Python that has modelreg installed (``.venv/bin/python``). It builds
one registry with ``generate.py`` in an isolated environment (as ``run.py`` does),
starts the real server on it (``modelreg serve`` on 127.0.0.1, the program users
run) and measures, with every figure and its baseline taken in turn in each round
(median of ``--runs`` rounds after a warm-up round that checks the answers):

a. ``GET /v2/models`` beside ``git for-each-ref`` of every tag (the fields modelreg
   reads, as ``run.py``'s floor), twice per round: right after a ``modelreg promote``
   by the CLI beside the server (the server's answer cache must notice the change:
   a miss, the list computed again, and checked to show the new stage) and then again
   (a hit, answered from the cache);
b. ``GET /v2/models/NAME%23production``, one stage holder, miss and hit likewise;
c. ``--clients`` threads, each with its own keep-alive connection (as a
   ``requests.Session``), reading at once: requests per second, median and p99
   latency, for three mixes (one stage holder again and again; a random model's stage
   holder each time; the whole list);
d. a ``--big-file-mib`` upload (``POST /v2/models/upload``, streamed from disk in 1 MiB
   blocks) and ``POST /v2/models/register`` of it, beside ``modelreg register`` of the
   same file by the CLI, each in a fresh registry (and a fresh server) per round,
   while the server's memory is polled (``VmRSS``, and ``VmHWM`` at the end, from
   ``/proc/PID/status``);
e. a download of that file (``GET /v2/models/big@v0.1.0/files/model.bin``) with
   ``curl -o /dev/null``, beside the same ``curl`` of the same file from a static
   file server on the same machine: nginx when it is installed (``sendfile``; Debian's
   ``nginx-light``), else ``python -m http.server``. Five kinds: the first right
   after (d)'s upload and register, from the same server (which hashed the upload as
   it arrived and vouched for the object it wrote); the first ever (the DVC cache's
   object just replaced by a copy, so its sha256 is checked as it is sent); again
   from the same server; the first from a restarted server (which remembers the
   check in the repository's known digests); and the first from a fresh server
   after ``modelreg register`` by the CLI wrote the object anew (the cache's object
   removed, the file registered again as the next version: the CLI vouched for the
   object it hashed as it wrote it). Beside them, in each round, ``openssl dgst
   -sha256`` of the object: the sha256 alone, on one core, which the first ever cannot
   beat while no wrong file is handed over whole (reported beside that download).

(d) and (e) are skipped, with a message, when the server does not have the upload or
file endpoints (404/405). No figure is asserted; the printed targets say which hold.
Results go to ``benchmarks/results/serve-<time>.json`` and ``.md`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench
from generate import Shape, generate, model_name, version_text
from isolation import isolated_env

MIB = 1 << 20
BLOCK = MIB  # upload and download buffer
HOLDER_MS = 20.0  # the stage holder target, in milliseconds


# --- one server process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answered(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise bench.Failed(f"the server exited {process.returncode}:\n{tail(log)}")
        try:
            status, _ = request(port, "GET", path)
            if status < 500:
                return
        except OSError:
            time.sleep(0.05)
    raise bench.Failed(f"the server did not answer within 60 s:\n{tail(log)}")


def tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


class Memory:
    """The peak memory of one process: ``VmRSS`` polled every few ms, and ``VmHWM``
    (the kernel's own high-water mark) read last; the larger of the two."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _read(self) -> dict[str, int]:
        found: dict[str, int] = {}
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        found[key] = int(rest.split()[0])
        except (OSError, ValueError, IndexError):
            pass
        return found

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_kb = max(self.peak_kb, self._read().get("VmRSS", 0))

    def finish(self) -> int:
        """Stop polling (before the process ends); the peak in kB."""
        self.peak_kb = max(self.peak_kb, *self._read().values(), 0)
        self._stop.set()
        self._thread.join()
        return self.peak_kb


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    memory: Memory

    def stop(self) -> int:
        """SIGTERM (graceful), then wait; the peak memory in kB."""
        peak = self.memory.finish()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return peak


@contextmanager
def serving(modelreg: list[str], root: Path, env: dict[str, str], log: Path) -> Iterator[Server]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*modelreg, "-C", str(root), "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    server = Server(port, process, log, Memory(process.pid))
    try:
        wait_until_answered(port, "/healthz", process, log)
        yield server
    finally:
        server.stop()


# --- HTTP, from this process -------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    """One request; a fresh connection unless one is given (a fresh one is what
    ``curl`` or a one-off script costs)."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=BLOCK)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        if connection is None:
            conn.close()


def timed_get(port: int, path: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    status, body = request(port, "GET", path)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise bench.Failed(f"GET {path}: {status} {body[:500]!r}")
    return elapsed, body


# --- the figures -------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    what: str
    seconds: float  # the median
    baseline: str | None = None
    baseline_seconds: float | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else None


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def cells(rows: Sequence[Row]) -> list[list[str]]:
    out = [["part", "measured", "median", "best", "baseline", "baseline median", "ratio", "note"]]
    for row in rows:
        out.append(
            [
                row.section,
                row.what,
                ms(row.seconds),
                ms(min(row.samples)) if row.samples else "-",
                row.baseline or "-",
                ms(row.baseline_seconds),
                bench._x(row.ratio),
                row.note or "-",
            ]
        )
    return out


@dataclass
class Target:
    figure: str
    target: str
    value: str
    holds: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        if self.target == "reported":
            return "reported" if self.value != "-" else "not measured"
        return {True: "holds", False: "fails", None: "not measured"}[self.holds]


# --- (a) and (b): one reader -------------------------------------------------------------


def bench_reads(
    server: Server,
    root: Path,
    shape: Shape,
    env: dict[str, str],
    modelreg: list[str],
    runs: int,
) -> list[Row]:
    """Per round: a CLI promote beside the server (not timed), then the list and a
    stage holder twice each (miss, hit), then ``git for-each-ref`` of every tag and
    of one model's; interleaved so each figure and its baseline share the load."""
    name = model_name(shape.models // 2)
    holder = f"/v2/models/{name}%23production"
    production = version_text(shape.versions - 1)
    every = [f"--format={bench.FLOOR_FORMAT}"]
    floor = ["git", "for-each-ref", *every, "refs/tags"]
    floor_one = ["git", "for-each-ref", *every, f"refs/tags/{name}@*", f"refs/tags/{name}#*"]
    samples: dict[str, list[float]] = {
        k: [] for k in ("list miss", "list hit", "holder miss", "holder hit", "floor", "floor one")
    }
    for r in range(runs + 1):
        changed = model_name(r % shape.models)
        bench.run_once(
            [*modelreg, "-q", "promote", f"{changed}@v{version_text(1)}", "--to", "dev"], root, env
        )
        for label, path in (("list miss", "/v2/models"), ("holder miss", holder)):
            elapsed, body = timed_get(server.port, path)
            if r == 0 or label == "list miss":
                check_fresh(label, body, shape, changed, name, production)
            samples[label].append(elapsed)
        for label, path in (("list hit", "/v2/models"), ("holder hit", holder)):
            samples[label].append(timed_get(server.port, path)[0])
        samples["floor"].append(bench.run_once(floor, root, env).seconds)
        samples["floor one"].append(bench.run_once(floor_one, root, env).seconds)
    med = {k: statistics.median(v[1:]) for k, v in samples.items()}  # round 0 is the warm-up
    kept = {k: v[1:] for k, v in samples.items()}
    section = f"{shape} ({shape.tags:,} tags)"
    everything, one = "git for-each-ref (all tags)", "git for-each-ref (one model)"
    for label in med:
        print(f"    {label:<44} {ms(med[label]):>10}", flush=True)
    return [
        Row(section, everything, med["floor"], samples=kept["floor"]),
        Row(section, one, med["floor one"], samples=kept["floor one"]),
        Row(
            section,
            "GET /v2/models, cache hit",
            med["list hit"],
            everything,
            med["floor"],
            samples=kept["list hit"],
        ),
        Row(
            section,
            "GET /v2/models, after a CLI promote (miss)",
            med["list miss"],
            everything,
            med["floor"],
            samples=kept["list miss"],
        ),
        Row(
            section,
            f"GET /v2/models/{name}%23production, hit",
            med["holder hit"],
            one,
            med["floor one"],
            samples=kept["holder hit"],
        ),
        Row(
            section,
            f"GET /v2/models/{name}%23production, miss",
            med["holder miss"],
            one,
            med["floor one"],
            samples=kept["holder miss"],
        ),
    ]


def check_fresh(
    label: str, body: bytes, shape: Shape, changed: str, name: str, production: str
) -> None:
    """The answer after a CLI write is the new state, not the cached one."""
    document = json.loads(body)
    if label == "list miss":
        models = {m["name"]: m for m in document["models"]}
        if len(models) != shape.models:
            raise bench.Failed(f"GET /v2/models: {len(models)} models, expected {shape.models}")
        if models[changed]["stages"].get("dev") != version_text(1):
            raise bench.Failed(f"GET /v2/models after a CLI promote: {changed} is not in dev")
    elif document.get("name") != name or document.get("version") != production:
        raise bench.Failed(f"GET {name}#production: {body[:300]!r}")


# --- (c): many readers -------------------------------------------------------------------


@dataclass
class Load:
    mix: str
    clients: int
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_load(server: Server, shape: Shape, clients: int, per_client: int) -> list[Load]:
    """``clients`` threads, each with one keep-alive connection, ``per_client``
    requests each, all started together; per mix."""
    hot = f"/v2/models/{model_name(shape.models // 2)}%23production"
    mixes: list[tuple[str, Callable[[random.Random], str]]] = [
        ("one stage holder (cached)", lambda _rnd: hot),
        (
            f"a random model's stage holder (of {shape.models:,})",
            lambda rnd: f"/v2/models/{model_name(rnd.randrange(shape.models))}%23production",
        ),
        ("GET /v2/models", lambda _rnd: "/v2/models"),
    ]
    out = []
    for mix, pick in mixes:
        timed_get(server.port, pick(random.Random(0)))  # warm
        load = run_mix(server.port, mix, pick, clients, per_client)
        print(
            f"    {mix:<44} {load.rate:8.0f} req/s  p50 {ms(load.quantile(0.5))}  "
            f"p99 {ms(load.quantile(0.99))}",
            flush=True,
        )
        out.append(load)
    return out


def run_mix(
    port: int, mix: str, pick: Callable[[random.Random], str], clients: int, per_client: int
) -> Load:
    """All clients released at once; each times its own requests."""
    latencies: list[float] = []
    failures: list[str] = []
    guard = threading.Lock()
    start_line = threading.Barrier(clients + 1)

    def client(seed: int) -> None:
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        mine: list[float] = []
        start_line.wait()
        try:
            for _ in range(per_client):
                path = pick(rnd)
                began = time.perf_counter()
                status, body = request(port, "GET", path, connection=conn)
                mine.append(time.perf_counter() - began)
                if status != 200:
                    with guard:
                        failures.append(f"GET {path}: {status} {body[:200]!r}")
        except OSError as exc:
            with guard:
                failures.append(f"client {seed}: {exc}")
        finally:
            conn.close()
            with guard:
                latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise bench.Failed(f"{mix}: {len(failures)} failed, first: {failures[0]}")
    return Load(mix, clients, len(latencies), elapsed, latencies)


# --- (d) and (e): a big file -------------------------------------------------------------


class Missing(Exception):
    """The server has no such endpoint yet (404/405)."""


def upload(port: int, path: Path) -> dict[str, Any]:
    with path.open("rb") as body:
        status, answer = request(
            port,
            "POST",
            f"/v2/models/upload?filename={path.name}",
            body=body,
            headers={
                "Content-Length": str(path.stat().st_size),
                "Content-Type": "application/octet-stream",
            },
        )
    if status in (404, 405):
        raise Missing(f"POST /v2/models/upload answered {status}: {answer[:200]!r}")
    if status not in (200, 201):
        raise bench.Failed(f"POST /v2/models/upload: {status} {answer[:500]!r}")
    document: dict[str, Any] = json.loads(answer)
    return document


def register(port: int, name: str, digest: str) -> dict[str, Any]:
    body = json.dumps(
        {"metadata": {"name": name, "version": "0.1.0", "license": "MIT"}, "file_digest": digest}
    )
    status, answer = request(
        port,
        "POST",
        "/v2/models/register",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    if status in (404, 405):
        raise Missing(f"POST /v2/models/register answered {status}: {answer[:200]!r}")
    if status != 201:
        raise bench.Failed(f"POST /v2/models/register: {status} {answer[:500]!r}")
    document: dict[str, Any] = json.loads(answer)
    return document


@contextmanager
def static_server(folder: Path, work: Path, choice: str) -> Iterator[tuple[str, int]]:
    """A static file server for ``folder`` on 127.0.0.1: (its name, its port)."""
    port = free_port()
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if choice == "nginx" and nginx is None:
        raise bench.Failed("--static nginx: nginx is not installed (apt-get install nginx-light)")
    if nginx is not None and choice in ("auto", "nginx"):
        prefix = work / "nginx"
        shutil.rmtree(prefix, ignore_errors=True)
        (prefix / "logs").mkdir(parents=True)
        conf = prefix / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # the folder is root's, mode 700
        conf.write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'logs' / 'error.log'};\nevents {{ worker_connections 64; }}\n"
            "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
            "  default_type application/octet-stream;\n"
            f"  client_body_temp_path {prefix / 'tmp'};\n"
            f"  server {{ listen 127.0.0.1:{port}; root {folder}; }}\n}}\n"
        )
        argv = [nginx, "-p", str(prefix), "-e", str(prefix / "logs" / "error.log"), "-c", str(conf)]
        label = "nginx " + bench._first_line([nginx, "-v"]).split("/")[-1]
    else:
        argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory"]
        argv += [str(folder), str(port)]
        label = "python -m http.server"
    log = work / "static.log"
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answered(port, "/", process, log)
        yield label, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bench_big(
    work: Path,
    env: dict[str, str],
    modelreg: list[str],
    size_mib: int,
    runs: int,
    static: str,
    notes: list[str],
) -> tuple[list[Row], int | None, int | None]:
    """(d) then (e); the rows, and the server's peak memory (kB) in each."""
    base = work / "big"
    src = base / "src" / "model.bin"
    bench.make_big_file(src, size_mib * MIB)
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with src.open("rb") as handle:
        while chunk := handle.read(8 * MIB):
            sha256.update(chunk)
            md5.update(chunk)
    digest = "sha256:" + sha256.hexdigest()
    label = f"{size_mib:,} MiB file" if size_mib < 1024 else f"{size_mib / 1024:g} GiB file"
    print(f"\n  {label}", flush=True)

    def fresh(name: str) -> Path:
        folder = base / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        repo = folder / "repo"
        bench.run_once(
            [*modelreg, "-q", "-C", str(repo), "init", "--remote", str(folder / "dvc")], base, env
        )
        bench._sync()
        return repo

    rows: list[Row] = []
    up: list[float] = []
    parts: dict[str, list[float]] = {"POST upload": [], "POST register": []}
    cli: list[float] = []
    # the first download right after POST register, from the same server: the
    # registration vouched for the object it wrote (the upload was hashed as it came)
    after_register: list[float] = []
    curl = shutil.which("curl")
    upload_peak: int | None = 0
    for r in range(runs + 1):
        repo = fresh("served")
        with serving(modelreg, repo, env, base / "serve.log") as server:
            try:
                if r == 0:  # a small probe first: is there an upload endpoint at all?
                    probe = base / "probe.bin"
                    probe.write_bytes(b"probe\n")
                    upload(server.port, probe)
                began = time.perf_counter()
                uploaded = upload(server.port, src)
                halfway = time.perf_counter()
                registered = register(server.port, "big", uploaded["digest"])
                elapsed = time.perf_counter() - began
            except Missing as exc:
                notes.append(f"upload + register skipped: {exc}")
                print(f"    skipped: {exc}", flush=True)
                upload_peak = None
                break
            if uploaded["digest"] != digest or uploaded.get("size") != src.stat().st_size:
                raise bench.Failed(f"upload answered {uploaded}, expected {digest}")
            if not str(registered.get("model_id", "")).startswith("big@v0.1.0"):
                raise bench.Failed(f"register answered {registered}")
            if curl is not None:
                url = f"http://127.0.0.1:{server.port}/v2/models/big@v0.1.0/files/{src.name}"
                fetched = bench.run_once([curl, "-sS", "--fail", "-o", "/dev/null", url], base, env)
                if r > 0:
                    after_register.append(fetched.seconds)
        assert upload_peak is not None
        upload_peak = max(upload_peak, server.stop())
        cli_repo = fresh("cli")
        done = bench.run_once([*modelreg, "-q", "register", "big", str(src)], cli_repo, env)
        if r > 0:
            up.append(elapsed)
            parts["POST upload"].append(halfway - began)
            parts["POST register"].append(began + elapsed - halfway)
            cli.append(done.seconds)
    if up:
        cli_median = statistics.median(cli)
        rows.append(Row(label, "modelreg register (CLI), file outside", cli_median, samples=cli))
        rows.append(
            Row(
                label,
                "POST upload + POST register",
                statistics.median(up),
                "modelreg register",
                cli_median,
                note=f"server peak RSS {(upload_peak or 0) / 1024:.0f} MB",
                samples=up,
            )
        )
        for what, samples in parts.items():
            rows.append(
                Row(label, f"  of which {what}", statistics.median(samples), samples=samples)
            )
        print(
            f"    {'upload + register':<44} {ms(statistics.median(up)):>10}  "
            f"(CLI register {ms(cli_median)}; server peak {(upload_peak or 0) / 1024:.0f} MB)",
            flush=True,
        )

    # (e): the CLI's registry of the last round holds big@v0.1.0; serve it.
    repo = base / "cli" / "repo"
    if not (repo / "models" / "big" / "model.bin.dvc").exists():
        repo = fresh("cli")
        bench.run_once([*modelreg, "-q", "register", "big", str(src)], repo, env)
    path = "/v2/models/big@v0.1.0/files/model.bin"
    if curl is None:
        notes.append("download skipped: curl is not installed")
        return rows, upload_peak, None
    served: dict[str, list[float]] = {"first": [], "again": [], "restart": [], "cli": []}
    baseline: list[float] = []
    # sha256 of the object alone, by OpenSSL on one core: what a first download of
    # bytes nobody hashed cannot beat while no wrong file is handed over whole.
    openssl = shutil.which("openssl")
    hashing: list[float] = []
    download_peak = 0
    checksum = md5.hexdigest()
    stored = repo / ".dvc" / "cache" / "files" / "md5" / checksum[:2] / checksum[2:]
    with static_server(src.parent, work, static) as (static_label, static_port):
        theirs = [curl, "-sS", "--fail", "-o", "/dev/null"]
        theirs.append(f"http://127.0.0.1:{static_port}/{src.name}")
        # Each round: the DVC cache's object replaced by a copy (a new inode, so no
        # server has checked it), then a fresh server, whose first download checks
        # the sha256 as the bytes go out (the last block waits for it) and whose
        # second knows the file is unchanged; then a restarted server, which
        # remembers the check from its state folder.
        for r in range(runs + 1):
            renew(stored)
            with serving(modelreg, repo, env, base / "serve.log") as server:
                ours = [curl, "-sS", "--fail", "-o", "/dev/null"]
                ours.append(f"http://127.0.0.1:{server.port}{path}")
                if r == 0:
                    status, answer = request(
                        server.port, "GET", path, headers={"Range": "bytes=0-0"}
                    )
                    if status in (404, 405):
                        why = f"GET {path} answered {status}"
                        notes.append(f"download skipped: {why}: {answer[:200]!r}")
                        print(f"    skipped: {why}", flush=True)
                        return rows, upload_peak, None
                    check_download(server.port, path, digest)
                first = bench.run_once(ours, base, env).seconds
                again = bench.run_once(ours, base, env).seconds
                download_peak = max(download_peak, server.stop())
            with serving(modelreg, repo, env, base / "serve.log") as server:
                ours[-1] = f"http://127.0.0.1:{server.port}{path}"
                restart = bench.run_once(ours, base, env).seconds
                download_peak = max(download_peak, server.stop())
            # The object written anew by the CLI: gone from the cache, the file
            # registered again (the next version), then a fresh server's first
            # download (the same object as v0.1.0's: the same bytes).
            remove_object(stored)
            bench.run_once([*modelreg, "-q", "register", "big", str(src)], repo, env)
            with serving(modelreg, repo, env, base / "serve.log") as server:
                ours[-1] = f"http://127.0.0.1:{server.port}{path}"
                if r == 0:
                    check_download(server.port, path, digest)
                after_cli = bench.run_once(ours, base, env).seconds
                download_peak = max(download_peak, server.stop())
            other = bench.run_once(theirs, base, env).seconds
            if openssl is not None and r > 0:
                digesting = [openssl, "dgst", "-sha256", str(stored)]
                hashing.append(bench.run_once(digesting, base, env).seconds)
            if r > 0:
                served["first"].append(first)
                served["again"].append(again)
                served["restart"].append(restart)
                served["cli"].append(after_cli)
                baseline.append(other)
    base_label = f"curl from {static_label}"
    base_median = statistics.median(baseline)
    rows.append(Row(label, base_label, base_median, samples=baseline))
    if after_register:
        served["register"] = after_register
    for key, words in (
        ("register", "first after POST register (the upload's sha256 vouched)"),
        ("first", "first ever (sha256 checked as sent)"),
        ("again", "again (known unchanged)"),
        ("restart", "first after a restart (checked by the last run)"),
        ("cli", "first after a CLI register (vouched)"),
    ):
        if key not in served:
            continue
        rows.append(
            Row(
                label,
                f"GET .../files/{src.name}, {words}",
                statistics.median(served[key]),
                base_label,
                base_median,
                note=f"server peak RSS {download_peak / 1024:.0f} MB; to /dev/null",
                samples=served[key],
            )
        )
    if hashing:
        floor = statistics.median(hashing)
        rows.append(Row(label, SHA256_FLOOR, floor, samples=hashing))
        rows.append(
            Row(
                label,
                FIRST_BESIDE_FLOOR,
                statistics.median(served["first"]),
                SHA256_FLOOR,
                floor,
                samples=served["first"],
            )
        )
    else:
        notes.append("the sha256 floor skipped: openssl is not installed")
    print(
        f"    {'download (curl -o /dev/null)':<44} first {ms(statistics.median(served['first']))}"
        f", again {ms(statistics.median(served['again']))}, after a restart "
        f"{ms(statistics.median(served['restart']))}, first after a CLI register "
        f"{ms(statistics.median(served['cli']))} ({base_label}: {ms(base_median)})",
        flush=True,
    )
    return rows, upload_peak, download_peak


SHA256_FLOOR = "sha256 of the file alone (openssl dgst -sha256)"
FIRST_BESIDE_FLOOR = "first-ever download beside sha256 of the file alone"


def renew(stored: Path) -> None:
    """Put a copy of the DVC cache object ``stored`` in its place: the same bytes
    under a new inode, which no server has checked yet."""
    fresh = stored.with_name(stored.name + ".renewed")
    shutil.copyfile(stored, fresh)
    fresh.chmod(stored.stat().st_mode)
    os.replace(fresh, stored)


def remove_object(stored: Path) -> None:
    """Remove the DVC cache object ``stored`` (read-only, as DVC leaves it), so the
    next registration of the same bytes writes it anew."""
    stored.chmod(0o644)
    stored.unlink()


def check_download(port: int, path: str, digest: str) -> None:
    """The bytes the server hands over are the registered ones (not timed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        if answer.status != 200:
            raise bench.Failed(f"GET {path}: {answer.status} {answer.read(300)!r}")
        sha256 = hashlib.sha256()
        while chunk := answer.read(BLOCK):
            sha256.update(chunk)
    finally:
        conn.close()
    if "sha256:" + sha256.hexdigest() != digest:
        raise bench.Failed(f"GET {path}: the bytes are not {digest}")


# --- targets -----------------------------------------------------------------------------


def targets(
    rows: Sequence[Row],
    loads: Sequence[Load],
    upload_peak: int | None,
    download_peak: int | None,
) -> list[Target]:
    def find(start: str) -> Row | None:
        return next((r for r in rows if r.what.startswith(start)), None)

    out = []
    for what, row in (
        ("cache hit", find("GET /v2/models, cache")),
        ("after a CLI change", find("GET /v2/models, after")),
    ):
        out.append(
            Target(
                f"GET /v2/models, {what}",
                "<= 1x git for-each-ref (all tags)",
                bench._x(row.ratio) + f" ({ms(row.seconds)} vs {ms(row.baseline_seconds)})"
                if row
                else "-",
                (row.ratio <= 1.0) if row and row.ratio is not None else None,
            )
        )
    for what in ("hit", "miss"):
        row = next((r for r in rows if "%23production" in r.what and r.what.endswith(what)), None)
        out.append(
            Target(
                f"GET of one stage holder, {what}",
                f"< {HOLDER_MS:.0f} ms",
                ms(row.seconds) if row else "-",
                (row.seconds * 1000 < HOLDER_MS) if row else None,
            )
        )
    for load in loads:
        out.append(
            Target(
                f"{load.clients} clients: {load.mix}",
                "reported",
                f"{load.rate:.0f} req/s, p50 {ms(load.quantile(0.5))}, "
                f"p99 {ms(load.quantile(0.99))}",
                None,
            )
        )
    up = find("POST upload")
    out.append(
        Target(
            "upload + register of the big file",
            "<= 1.5x modelreg register",
            bench._x(up.ratio) if up else "-",
            (up.ratio <= 1.5) if up and up.ratio is not None else None,
        )
    )
    peaks = [p for p in (upload_peak, download_peak) if p]
    out.append(
        Target(
            "server memory during upload and download",
            "< 300 MB",
            " / ".join(f"{p / 1024:.0f} MB" for p in peaks) or "-",
            all(p / 1024 < 300 for p in peaks) if peaks else None,
        )
    )
    for what in (
        "first after POST register",
        "first ever",
        "again",
        "first after a restart",
        "first after a CLI register",
    ):
        down = next((r for r in rows if "/files/" in r.what and what in r.what), None)
        out.append(
            Target(
                f"download of the big file, {what}",
                "<= 1.5x curl from a static server",
                bench._x(down.ratio) + f" ({down.baseline})" if down else "-",
                (down.ratio <= 1.5) if down and down.ratio is not None else None,
            )
        )
    floor = next((r for r in rows if r.what == FIRST_BESIDE_FLOOR), None)
    out.append(
        Target(
            "download of the big file, first ever, beside sha256 of it alone (its floor)",
            "reported",
            bench._x(floor.ratio) + f" ({SHA256_FLOOR})" if floor else "-",
            None,
        )
    )
    return out


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/serve.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", default="1000x10", help="the registry (default %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (default %(default)s)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent readers (16)")
    parser.add_argument(
        "--requests", type=int, default=100, help="requests per client per mix (100)"
    )
    parser.add_argument(
        "--big-file-mib", type=int, default=1024, help="the upload/download file (0: skip)"
    )
    parser.add_argument(
        "--static",
        choices=("auto", "nginx", "python"),
        default="auto",
        help="the download baseline's server (auto: nginx when installed)",
    )
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument(
        "--out", type=Path, help="JSON file to write (default: results/serve-<time>)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.clients < 1 or args.requests < 1:
        parser.error("--runs, --clients and --requests must be at least 1")
    shape = Shape.parse(args.size)

    modelreg = bench.tool("modelreg") or [sys.executable, "-m", "modelreg"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="modelreg-serve-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = isolated_env(work / "home")
    info = bench.machine(work)
    started = dt.datetime.now(dt.UTC)
    print(
        f"modelreg serve benchmarks: {info['nproc']} CPU(s) {info['cpu']}, {info['memory']}, "
        f"{info['filesystem']} at {work}\n  {info['git']}, Python {info['python']}; "
        f"median of {args.runs} rounds after a warm-up; load average {load_average()}",
        flush=True,
    )
    rows: list[Row] = []
    loads: list[Load] = []
    notes: list[str] = []
    upload_peak = download_peak = read_peak = None
    try:
        root = work / f"registry-{shape}"
        shutil.rmtree(root, ignore_errors=True)
        began = time.perf_counter()
        generate(root, shape, modelreg=modelreg, env=env, remote=work / f"remote-{shape}")
        print(
            f"\n  {shape}: {shape.tags:,} tags, generated in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        with serving(modelreg, root, env, work / "serve-reads.log") as server:
            rows += bench_reads(server, root, shape, env, modelreg, args.runs)
            print(f"\n  {args.clients} concurrent clients, {args.requests} requests each")
            loads = bench_load(server, shape, args.clients, args.requests)
            read_peak = server.stop()
        if args.big_file_mib > 0:
            big, upload_peak, download_peak = bench_big(
                work, env, modelreg, args.big_file_mib, args.runs, args.static, notes
            )
            rows += big
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    goals = targets(rows, loads, upload_peak, download_peak)
    table = cells(rows)
    load_table = [["clients", "mix", "requests", "req/s", "p50", "p99", "max"]] + [
        [
            str(load.clients),
            load.mix,
            str(load.requests),
            f"{load.rate:.0f}",
            ms(load.quantile(0.5)),
            ms(load.quantile(0.99)),
            ms(max(load.latencies)),
        ]
        for load in loads
    ]
    print("\n" + bench.plain(table))
    if loads:
        print("\n" + bench.plain(load_table))
    if read_peak:
        print(f"\nserver peak RSS while read ({shape}): {read_peak / 1024:.0f} MB")
    for note in notes:
        print(f"note: {note}")
    print("\nTargets:")
    for goal in goals:
        verdict = goal.verdict.upper() if goal.holds is False else goal.verdict
        print(f"  {verdict:<12} {goal.figure}: {goal.value} (target {goal.target})")

    command = shlex.join(
        ["python", "benchmarks/serve.py", *(sys.argv[1:] if argv is None else argv)]
    )
    report = {
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "runs": args.runs,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
        "loads": [
            {
                "mix": load.mix,
                "clients": load.clients,
                "requests": load.requests,
                "seconds": load.seconds,
                "per_second": load.rate,
                "p50": load.quantile(0.5),
                "p99": load.quantile(0.99),
            }
            for load in loads
        ],
        "server_peak_rss_kb": {
            "reads": read_peak,
            "upload": upload_peak,
            "download": download_peak,
        },
        "notes": notes,
        "targets": [asdict(g) for g in goals],
    }
    out = args.out or bench.RESULTS / f"serve-{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    md = [
        f"`{command}` on {info['nproc']} CPU(s) {info['cpu']}, {info['memory']}, "
        f"{info['filesystem']}; {info['git']}, Python {info['python']}; median of "
        f"{args.runs} rounds after a warm-up; load average {load_average()} at the end "
        "(a busy machine shows in the medians first; the best column is the quietest round).",
        "",
        bench.markdown(table),
        *(["", bench.markdown(load_table)] if loads else []),
        *([""] + [f"Note: {n}" for n in notes] if notes else []),
        "",
        bench.markdown(
            [["figure", "target", "measured", "verdict"]]
            + [
                [
                    g.figure,
                    g.target,
                    g.value,
                    g.verdict,
                ]
                for g in goals
            ]
        ),
    ]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print(f"\nwrote {out} and {out.with_suffix('.md').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
