"""Build a registry of N models x M versions with stage assignments, fast.

One ``git fast-import`` stream writes every commit, manifest and annotated tag,
instead of one ``modelreg`` process per event (which would take hours at 100,000
tags). What it writes is what modelreg itself writes, so modelreg and GTO read it
as they would read a real registry:

* ``modelreg init`` sets the repository up (``.modelreg.yaml``, DVC, a local remote);
* each registration is a commit holding ``models/<name>/model.yaml`` (a real
  manifest, checked against modelreg's own reader and writer), ``model.pkl.dvc``
  and ``.gitignore``, and an annotated tag ``<name>@v0.<k>.0`` at that commit with
  modelreg's trailers (``Modelreg-Event``, ``-Version``, ``-Manifest-Sha256``);
* each model then gets two stage assignments, ``<name>#production#1`` (the
  version before the latest) and ``<name>#staging#2`` (the latest), as modelreg's
  ``promote`` writes them. 1,000 x 10 is therefore 12,000 tags.

The model bytes themselves are not written (reads never need them); the
``.dvc`` files and manifests describe a file that is in no cache.

Up to 1,000 x 10 each registration is its own commit. Beyond that several models
are registered per commit (a commit per model per version at 10,000 x 10 would
rewrite a 10,000-entry tree 100,000 times: 40 s of fast-import instead of 10);
each tag still points at a commit holding its version's manifest.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IDENTITY = "Bench User <bench@example.com>"
BASE_TIME = 1_750_000_000
ARTIFACT = "model.pkl"
TREE_ENTRY_BUDGET = 10_000_000

MANIFEST = """\
schema: 1
name: {name}
version: {version}
description: Synthetic model {index} for benchmarks
author: Bench User <bench@example.com>
license: MIT
framework: sklearn
labels:
  team: team-{team}
metrics:
  auc: {auc!r}
params:
  max_depth: {depth}
artifacts:
- path: {artifact}
  size: {size}
  sha256: {sha256}
  md5: {md5}
created: '{created}'
"""

DVC_FILE = """\
outs:
- md5: {md5}
  size: {size}
  hash: md5
  path: {artifact}
"""


@dataclass(frozen=True)
class Shape:
    models: int
    versions: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        models, sep, versions = text.lower().partition("x")
        if not sep or not models.isdigit() or not versions.isdigit():
            raise ValueError(f"'{text}' is not MODELSxVERSIONS (e.g. 100x10)")
        shape = cls(int(models), int(versions))
        if shape.models < 1 or shape.versions < 2:
            raise ValueError(f"'{text}': need at least 1 model and 2 versions")
        return shape

    def __str__(self) -> str:
        return f"{self.models}x{self.versions}"

    @property
    def tags(self) -> int:
        return self.models * (self.versions + 2)


def model_name(index: int) -> str:
    return f"model-{index:05d}"


def version_text(k: int) -> str:
    return f"0.{k}.0"


def _stamp(seconds: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(BASE_TIME + seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest_bytes(index: int, k: int, when: int) -> bytes:
    name, version = model_name(index), version_text(k)
    seed = f"{name}@{version}".encode()
    return MANIFEST.format(
        name=name,
        version=version,
        index=index,
        team=index % 7,
        auc=round(0.8 + ((index * 7 + k * 13) % 199) / 1000, 3),
        depth=3 + k % 5,
        artifact=ARTIFACT,
        size=1000 + index + k,
        sha256=hashlib.sha256(seed).hexdigest(),
        md5=hashlib.md5(seed, usedforsecurity=False).hexdigest(),
        created=_stamp(when),
    ).encode()


def check_template() -> None:
    """The template must be exactly what modelreg writes and reads back."""
    from modelreg import manifest as manifest_mod

    data = manifest_bytes(1, 1, 0)
    parsed = manifest_mod.loads(data, "generated")
    if manifest_mod.dumps(parsed) != data:
        raise AssertionError("the manifest template differs from modelreg's own output")


def _data(text: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(text), text)


def _message(summary: str, trailers: dict[str, str]) -> bytes:
    lines = [summary, ""] + [f"Modelreg-{k}: {v}" for k, v in trailers.items()]
    return ("\n".join(lines) + "\n").encode()


def _stream(shape: Shape, branch: str, parent: str, max_commits: int) -> Iterator[bytes]:
    """The fast-import stream: commits (registrations) then tags."""
    # Each commit rewrites the models/ tree (one entry per model): bound the total.
    commits = max(1, min(max_commits, TREE_ENTRY_BUDGET // shape.models))
    per_commit = max(1, -(-(shape.models * shape.versions) // commits))
    clock = 0
    mark = 0
    digests: dict[tuple[int, int], str] = {}
    commit_of: dict[tuple[int, int], int] = {}
    tags: list[bytes] = []
    first = True
    for k in range(1, shape.versions + 1):  # round-robin, as a team retrains its models
        for start in range(0, shape.models, per_commit):
            batch = range(start, min(start + per_commit, shape.models))
            clock += 1
            mark += 1
            names = ", ".join(f"{model_name(i)} v{version_text(k)}" for i in batch[:3])
            more = f" and {len(batch) - 3} more" if len(batch) > 3 else ""
            out = [
                f"commit {branch}\nmark :{mark}\n".encode(),
                f"committer {IDENTITY} {BASE_TIME + clock} +0000\n".encode(),
                _data(f"modelreg: register {names}{more}".encode()),
            ]
            if first:
                out.append(f"from {parent}\n".encode())
                first = False
            for i in batch:
                name = model_name(i)
                data = manifest_bytes(i, k, clock)
                digests[(i, k)] = hashlib.sha256(data).hexdigest()
                commit_of[(i, k)] = mark
                seed = f"{name}@{version_text(k)}".encode()
                dvc = DVC_FILE.format(
                    md5=hashlib.md5(seed, usedforsecurity=False).hexdigest(),
                    size=1000 + i + k,
                    artifact=ARTIFACT,
                ).encode()
                folder = f"models/{name}"
                out.append(f"M 100644 inline {folder}/model.yaml\n".encode() + _data(data))
                out.append(f"M 100644 inline {folder}/{ARTIFACT}.dvc\n".encode() + _data(dvc))
                if k == 1:
                    ignore = f"/{ARTIFACT}\n".encode()
                    out.append(f"M 100644 inline {folder}/.gitignore\n".encode() + _data(ignore))
                version = version_text(k)
                message = _message(
                    f"Register {name} v{version}",
                    {"Event": "register", "Version": version, "Manifest-Sha256": digests[(i, k)]},
                )
                tags.append(_tag(f"{name}@v{version}", mark, clock, message))
            yield b"".join(out) + b"\n"
    for i in range(shape.models):
        name = model_name(i)
        for counter, (stage, k) in enumerate(
            (("production", shape.versions - 1), ("staging", shape.versions)), start=1
        ):
            clock += 1
            version = version_text(k)
            message = _message(
                f"Promote {name} v{version} to {stage}",
                {
                    "Event": "assign",
                    "Version": version,
                    "Stage": stage,
                    "Manifest-Sha256": digests[(i, k)],
                },
            )
            tags.append(_tag(f"{name}#{stage}#{counter}", commit_of[(i, k)], clock, message))
    yield b"".join(tags)


def _tag(name: str, mark: int, clock: int, message: bytes) -> bytes:
    head = f"tag {name}\nfrom :{mark}\ntagger {IDENTITY} {BASE_TIME + clock} +0000\n"
    return head.encode() + _data(message)


def generate(
    root: Path,
    shape: Shape,
    *,
    modelreg: list[str],
    env: dict[str, str],
    remote: Path,
    pack: bool = True,
    max_commits: int = 10_000,
) -> None:
    """Create the registry in ``root`` (which must not exist)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], env=env, capture_output=True, check=True
        )
        return done.stdout.decode().strip()

    check_template()
    subprocess.run(
        [*modelreg, "-C", str(root), "-q", "init", "--remote", str(remote)],
        env=env,
        check=True,
        capture_output=True,
    )
    branch = git("symbolic-ref", "HEAD")
    parent = git("rev-parse", "HEAD")
    process = subprocess.Popen(
        ["git", "-C", str(root), "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    for chunk in _stream(shape, branch, parent, max_commits):
        process.stdin.write(chunk)
    process.stdin.write(b"done\n")
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("git fast-import failed")
    # A clone's refs are packed; so are ours, unless asked to leave them loose.
    if pack:
        git("pack-refs", "--all")
    git("reset", "--quiet", "--hard", "HEAD")
