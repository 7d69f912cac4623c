"""Push and get of one large model through real S3 and ssh remotes: modelreg beside
plain DVC on the same servers, whole processes, median of several runs.

    .venv/bin/python benchmarks/remotes.py [--size-mib 100] [--runs 3] [--remotes s3,ssh]
                                           [--files 1]

With ``--files N`` the model is a folder of N shards of equal size (size-mib in all),
registered and ``dvc add``ed as a folder: what a sharded model costs to fetch.

Starts moto_server and a private sshd on 127.0.0.1 with the tests' own helpers
(tests/servers.py; install them with .ci/run or pip install -e '.[all,integration]'
plus Debian's openssh-server), then for each remote and each run, on a fresh
prefix of the remote so every push really moves the bytes:

- modelreg push: a registry with the model registered (not timed), then
  `modelreg push` (DVC remote, then the git tag to a local bare repository);
- modelreg get: a fresh clone with an empty cache, `modelreg get NAME@v0.1.0 -o DIR`
  (fetch into the cache, copy out with every sha256 checked);
- dvc push: a plain DVC repository with the same file `dvc add`ed (not timed), `dvc push`;
- dvc pull: a fresh clone of it, `dvc pull` (fetch into the cache, check out).

Only the named command is timed, from process start to exit. The ratio column is
modelreg's median over DVC's, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402  (the tests' server helpers)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isolation import isolated_env  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass
class Remote:
    kind: str
    url: Callable[[str], str]  # a fresh location for a name
    options: dict[str, str]  # committed remote options
    local: dict[str, str]  # credentials for DVC's local config


def tool(name: str) -> list[str]:
    path = BIN / name
    if path.exists():
        return [str(path)]
    return [sys.executable, "-m", name]


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command to completion; return its wall-clock seconds."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return took


def configure(root: Path, name: str, remote: Remote, env: dict[str, str]) -> None:
    dvc = tool("dvc")
    for key, value in remote.options.items():
        run([*dvc, "remote", "modify", name, key, value], root, env)
    for key, value in remote.local.items():
        run([*dvc, "remote", "modify", "--local", name, key, value], root, env)


def git(root: Path, env: dict[str, str], *args: str) -> None:
    run(["git", *args], root, env)


class Bench:
    def __init__(self, work: Path, model: Path, env: dict[str, str]) -> None:
        self.work, self.model, self.env = work, model, env
        self.count = 0

    def fresh(self, label: str) -> Path:
        self.count += 1
        path = self.work / f"{label}-{self.count}"
        path.mkdir(parents=True)
        return path

    def modelreg(self, remote: Remote) -> tuple[float, float]:
        """(push seconds, get seconds) for one run."""
        env, modelreg = self.env, tool("modelreg")
        base = self.fresh(f"modelreg-{remote.kind}")
        origin = base / "origin.git"
        git(base, env, "init", "-q", "--bare", str(origin))
        reg = base / "registry"
        reg.mkdir()
        run([*modelreg, "init", "--remote", remote.url(base.name)], reg, env)
        configure(reg, "modelreg", remote, env)
        if remote.options:
            git(reg, env, "commit", "-q", "-am", "remote options")
        git(reg, env, "remote", "add", "origin", str(origin))
        run([*modelreg, "register", "model", str(self.model)], reg, env)
        push = run([*modelreg, "push"], reg, env)

        clone = base / "clone"
        git(base, env, "clone", "-q", str(origin), str(clone))
        configure(clone, "modelreg", Remote(remote.kind, remote.url, {}, remote.local), env)
        get = run([*modelreg, "get", "model@v0.1.0", "-o", str(base / "out")], clone, env)
        out = base / "out" if self.model.is_dir() else base / "out" / self.model.name
        assert digests(out) == self.digests
        return push, get

    def dvc(self, remote: Remote) -> tuple[float, float]:
        """(push seconds, pull seconds) for one run."""
        env, dvc = self.env, tool("dvc")
        base = self.fresh(f"dvc-{remote.kind}")
        repo = base / "repo"
        repo.mkdir()
        git(repo, env, "init", "-q")
        run([*dvc, "init", "-q"], repo, env)
        run([*dvc, "remote", "add", "-d", "store", remote.url(base.name)], repo, env)
        configure(repo, "store", remote, env)
        if self.model.is_dir():
            shutil.copytree(self.model, repo / self.model.name)
        else:
            shutil.copyfile(self.model, repo / self.model.name)
        run([*dvc, "add", "-q", self.model.name], repo, env)
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "-q", "-m", "model")
        push = run([*dvc, "push", "-q"], repo, env)

        clone = base / "clone"
        git(base, env, "clone", "-q", str(repo), str(clone))
        configure(clone, "store", Remote(remote.kind, remote.url, {}, remote.local), env)
        pull = run([*dvc, "pull", "-q"], clone, env)
        assert digests(clone / self.model.name) == self.digests
        return push, pull

    @property
    def digests(self) -> dict[str, str]:
        if not hasattr(self, "_digests"):
            self._digests = digests(self.model)
        return self._digests


def digests(path: Path) -> dict[str, str]:
    """sha256 of a file, or of every file in a folder, by relative path."""
    if path.is_file():
        return {"": servers.sha256_file(path)}
    return {p.relative_to(path).as_posix(): servers.sha256_file(p) for p in path.rglob("*.bin")}


def write_model(path: Path, size_mib: int, files: int) -> Path:
    """One file of ``size_mib``, or a folder of ``files`` shards that add up to it."""
    if files > 1:
        path.mkdir()
        targets = [path / f"shard-{i:03}.bin" for i in range(files)]
    else:
        targets = [path]
    share = (size_mib << 20) // len(targets)
    for target in targets:
        with target.open("wb") as out:
            left = share
            while left:
                out.write(os.urandom(min(left, 1 << 20)))
                left -= min(left, 1 << 20)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--remotes", default="s3,ssh", help="comma-separated: s3, ssh")
    parser.add_argument("--files", type=int, default=1, help="shards in a model folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    kinds = [k for k in args.remotes.split(",") if k]

    work = Path(tempfile.mkdtemp(prefix="modelreg-bench-remotes-"))
    started: list[servers.Process] = []
    try:
        env = isolated_env(work / "home")
        # Both tools read the S3 server's credentials from here.
        env.update(AWS_ACCESS_KEY_ID=servers.S3_KEY, AWS_SECRET_ACCESS_KEY=servers.S3_SECRET)
        model = write_model(
            work / ("model" if args.files > 1 else "model.bin"), args.size_mib, args.files
        )
        remotes: dict[str, Remote] = {}
        if "s3" in kinds:
            s3 = servers.start_moto(work / "moto")
            started.append(s3.process)
            remotes["s3"] = Remote(
                "s3",
                lambda name: f"s3://{servers.BUCKET}/{name}",
                {"endpointurl": s3.endpoint, "region": servers.S3_REGION},
                {},
            )
        if "ssh" in kinds:
            sshd = servers.start_sshd(work / "sshd")
            started.append(sshd.process)
            remotes["ssh"] = Remote(
                "ssh",
                lambda name: sshd.url(sshd.base / name),
                {},
                {"keyfile": str(sshd.key)},
            )
        bench = Bench(work / "runs", model, env)
        results: dict[str, dict[str, list[float]]] = {}
        for kind, remote in remotes.items():
            times: dict[str, list[float]] = {
                "modelreg push": [],
                "dvc push": [],
                "modelreg get": [],
                "dvc pull": [],
            }
            for i in range(args.runs):
                push, get = bench.modelreg(remote)
                times["modelreg push"].append(push)
                times["modelreg get"].append(get)
                push, pull = bench.dvc(remote)
                times["dvc push"].append(push)
                times["dvc pull"].append(pull)
                print(f"{kind} run {i + 1}/{args.runs} done", file=sys.stderr)
            results[kind] = times
        report(results, args.size_mib, args.runs, args.files)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        for process in started:
            process.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(
    results: dict[str, dict[str, list[float]]], size_mib: int, runs: int, files: int
) -> None:
    shape = f"in {files} files" if files > 1 else "in one file"
    print(f"{size_mib} MiB model {shape}, median of {runs} runs, whole processes (seconds)\n")
    print("| remote | operation | modelreg | dvc | modelreg / dvc | modelreg MiB/s |")
    print("|---|---|---|---|---|---|")
    for kind, times in results.items():
        for ours, theirs, label in (
            ("modelreg push", "dvc push", "push"),
            ("modelreg get", "dvc pull", "get / pull"),
        ):
            a, b = statistics.median(times[ours]), statistics.median(times[theirs])
            print(f"| {kind} | {label} | {a:.2f} | {b:.2f} | {a / b:.2f}x | {size_mib / a:.0f} |")
    rounded = {
        kind: {op: [round(sec, 2) for sec in secs] for op, secs in times.items()}
        for kind, times in results.items()
    }
    print("\nall runs (s):", json.dumps(rounded))


if __name__ == "__main__":
    main()
