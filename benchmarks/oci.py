"""Publish and get of one large model through a real OCI registry: modelreg beside the
Python ORAS client pushing and pulling the same file, whole processes, same run.

    .venv/bin/python benchmarks/oci.py [--size-mib 1024] [--runs 3]

Starts the reference distribution server (Debian's ``docker-registry``, as the tests
do: tests/servers.py) on 127.0.0.1 with filesystem storage in a temporary folder,
registers one file of random bytes (not timed), then in each run, into a fresh
repository of the registry so every push really moves the bytes (the registry skips
a blob only within one repository):

- modelreg publish: ``modelreg publish big@v0.1.0 oci://HOST/bench/modelreg-N``
  (the bytes read from the DVC cache, sha256 checked, pushed in 64 MiB PATCH chunks,
  then the config, the manifest and the git note);
- oras push: ``oras.client.OrasClient().push(files=[model.bin], target=...)`` in a
  fresh Python process, the same file;
- modelreg get: ``modelreg get oci://HOST/bench/modelreg-N:0.1.0 -o DIR`` in a fresh
  folder (no git), every digest checked;
- oras pull: ``OrasClient().pull(target=..., outdir=DIR)`` in a fresh process.

Only the named command is timed, from process start to exit; the ratio is modelreg's
median over ORAS's. Every file read back is compared with the original's sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import servers  # noqa: E402  (the tests' server helpers)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from isolation import isolated_env  # noqa: E402

BIN = Path(sys.executable).parent
ORAS_PUSH = (
    "import sys, oras.client\n"
    "c = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\n"
    "c.push(files=[sys.argv[3]], target=sys.argv[1] + '/' + sys.argv[2])\n"
)
ORAS_PULL = (
    "import sys, oras.client\n"
    "c = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\n"
    "c.pull(target=sys.argv[1] + '/' + sys.argv[2], outdir=sys.argv[3])\n"
)


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return took


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temp dir)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="modelreg-oci-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = isolated_env(work / "home")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    modelreg = [str(BIN / "modelreg")]
    python = [sys.executable, "-c"]
    server = servers.start_distribution(work / "registry", token_auth=False)
    try:
        reg = work / "reg"
        subprocess.run(
            [*modelreg, "-C", str(reg), "-q", "init"], env=env, check=True, capture_output=True
        )
        model = work / "model.bin"
        with model.open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(1 << 20))
        expected = sha256(model)
        subprocess.run(
            [*modelreg, "-C", str(reg), "-q", "register", "big", str(model)],
            env=env,
            check=True,
            capture_output=True,
        )
        host = server.host
        times: dict[str, list[float]] = {k: [] for k in ("publish", "push", "get", "pull")}
        for run in range(args.runs):
            mine, theirs = f"bench/modelreg-{run}", f"bench/oras-{run}"
            times["publish"].append(
                timed(
                    [
                        *modelreg,
                        "-C",
                        str(reg),
                        "-q",
                        "publish",
                        "big@v0.1.0",
                        f"oci://{host}/{mine}",
                    ],
                    env,
                    work,
                )
            )
            times["push"].append(
                timed([*python, ORAS_PUSH, host, f"{theirs}:0.1.0", "model.bin"], env, work)
            )
            got, pulled = work / f"got-{run}", work / f"pulled-{run}"
            times["get"].append(
                timed(
                    [*modelreg, "-q", "get", f"oci://{host}/{mine}:0.1.0", "-o", str(got)],
                    env,
                    work,
                )
            )
            times["pull"].append(
                timed([*python, ORAS_PULL, host, f"{theirs}:0.1.0", str(pulled)], env, work)
            )
            for folder in (got, pulled):
                if sha256(folder / "model.bin") != expected:
                    sys.exit(f"{folder}/model.bin differs from what was published")
                shutil.rmtree(folder)
            # Each run's blobs go: the next run pushes to new repositories anyway.
            shutil.rmtree(server.storage / "docker", ignore_errors=True)
    finally:
        server.stop()
    median = {k: statistics.median(v) for k, v in times.items()}
    mib = args.size_mib
    print(
        f"OCI publish/get of a {mib} MiB file, docker-registry 2.8 on 127.0.0.1, {args.runs} run(s)"
    )
    print(f"{'':22}{'median s':>10}{'MiB/s':>9}   ratio")
    rows = [
        ("modelreg publish", "publish", "push"),
        ("oras push", "push", None),
        ("modelreg get oci://", "get", "pull"),
        ("oras pull", "pull", None),
    ]
    for label, key, base in rows:
        ratio = f"{median[key] / median[base]:.2f}x oras" if base else ""
        print(f"{label:22}{median[key]:10.2f}{mib / median[key]:9.0f}   {ratio}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
