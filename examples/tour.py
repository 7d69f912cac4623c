#!/usr/bin/env python3
"""Run README's tour of every command for real and keep README's output blocks true.

Each ``console`` block in README's tour follows a marker line ``<!-- tour: ID -->``; this
script runs the scene of that ID in a fresh temporary directory (with a fixed git identity,
``Jane Doe``, and a clock that moves one second per command) and puts what the commands
really printed into the block.

    python examples/tour.py              # print every scene's output
    python examples/tour.py --write      # rewrite README.md's tour blocks with it
    python examples/tour.py --check      # exit 1 if README.md's blocks differ (a test runs this)

The temporary directory is shown as ``/tmp/demo``. ``--check`` also ignores what differs
between two honest runs: commit ids (the DVC remote's folder is in a committed file), the
embedded remote's random suffix, journal and staging-folder names.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
SHOWN_ROOT = "/tmp/demo"
START = 1_795_365_330  # 2026-11-22T16:35:30Z
MARKER = re.compile(r"^<!-- tour: ([a-z0-9-]+) -->$")


@dataclass
class Step:
    """One shell command, run in ``cwd`` (relative to the demo folder)."""

    command: str
    cwd: str = "registry"
    shown: str | None = None  # what the block shows as the command, when not ``command``
    hidden: bool = False  # set-up the reader needs not see
    env: dict[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (0,)  # exit codes this step is meant to end with


def show(command: str, cwd: str = "registry", **kw: object) -> Step:
    return Step(command, cwd, **kw)  # type: ignore[arg-type]


def hide(command: str, cwd: str = "registry", **kw: object) -> Step:
    return Step(command, cwd, hidden=True, **kw)  # type: ignore[arg-type]


def fails(command: str, cwd: str = "registry", **kw: object) -> Step:
    return Step(command, cwd, ok=(1,), **kw)  # type: ignore[arg-type]


TRAIN = f"python3 {HERE / 'train.py'}"
REGISTER_FIRST = (  # RMSE: what train.py printed
    'modelreg register fraud-detector ../out/model.pkl --description "Linear fraud scorer" \\\n'
    "    --license MIT --framework python --label team=risk --metric rmse=RMSE "
    '--param samples=50 \\\n    -m "first training run"'
)
DEPS = "deps"  # the second registry: models that need each other

# Scenes in README order. Each runs after the previous ones, in the same folders.
SCENES: list[tuple[str, list[Step]]] = [
    ("init", [hide("mkdir -p registry", cwd="."), show("modelreg init")]),
    (
        "register",
        [
            hide("mkdir -p ../out"),
            hide(f"{TRAIN} --samples 50 --seed 1 --out ../out/model.pkl > ../out/rmse"),
            show(REGISTER_FIRST),
        ],
    ),
    (
        "list",
        [
            hide(f"{TRAIN} --samples 5000 --seed 2 --out ../out/model.pkl > ../out/rmse"),
            hide(
                'modelreg register fraud-detector ../out/model.pkl --description "Linear fraud '
                'scorer" --license MIT --framework python --label team=risk '
                '--metric rmse=RMSE --param samples=5000 -m "100x the data"'
            ),
            hide('modelreg promote fraud-detector@v0.1.0 --to production -m "baseline"'),
            hide("modelreg promote fraud-detector@v0.2.0 --to staging"),
            show("modelreg list"),
        ],
    ),
    ("show", [show("modelreg show fraud-detector#staging")]),
    (
        "promote",
        [
            show('modelreg promote fraud-detector@v0.2.0 --to production -m "passed shadow test"'),
            show('modelreg rollback fraud-detector --stage production -m "latency regression"'),
        ],
    ),
    ("resolve", [show("modelreg resolve fraud-detector#production")]),
    ("history", [show("modelreg history fraud-detector")]),
    ("get", [show("modelreg get fraud-detector#production -o ../deploy")]),
    ("checkout", [show("modelreg checkout fraud-detector@v0.1.0")]),
    (
        "deprecate",
        [
            hide("modelreg checkout fraud-detector@v0.2.0"),
            show('modelreg deprecate fraud-detector@v0.1.0 -m "trained on leaked labels"'),
            show("modelreg resolve fraud-detector#production"),
        ],
    ),
    (
        "push-pull",
        [
            hide("git init -q --bare --initial-branch=main shared.git", cwd="."),
            show(
                "git remote add origin ../shared.git   # any git remote: GitHub, GitLab, ssh://..."
            ),
            show("modelreg push"),
            show("git clone -q ../shared.git ../other && cd ../other"),
            show("modelreg pull", cwd="other"),
        ],
    ),
    (
        "deps",
        [
            hide(f"mkdir -p {DEPS} f/t f/e2 f/e3 f/d2 f/d3 f/d4", cwd="."),
            hide("modelreg init >/dev/null", cwd=DEPS),
            hide("printf tok > f/t/vocab.txt; printf e2 > f/e2/model.pt", cwd="."),
            hide("printf e3 > f/e3/model.pt; printf d2 > f/d2/model.pkl", cwd="."),
            hide("printf d3 > f/d3/model.pkl; printf d4 > f/d4/model.pkl", cwd="."),
            hide("modelreg register tokenizer ../f/t/vocab.txt --version 1.4.0", cwd=DEPS),
            hide(
                "modelreg register text-embedder ../f/e2/model.pt --version 2.3.1 "
                '--dep "tokenizer@^1.2.0"',
                cwd=DEPS,
            ),
            hide("modelreg register text-embedder ../f/e3/model.pt --version 3.0.0", cwd=DEPS),
            hide(
                "modelreg register fraud-detector ../f/d2/model.pkl --version 1.2.0 "
                '--dep "text-embedder@>=2.0.0,<3.0.0" --license MIT '
                "--metric auc=0.91 --param depth=6",
                cwd=DEPS,
            ),
            hide(
                "modelreg register fraud-detector ../f/d3/model.pkl --version 1.3.0 "
                '--dep "text-embedder@^3.0.0" --license MIT '
                "--metric auc=0.93 --param depth=8",
                cwd=DEPS,
            ),
            fails(
                'modelreg register fraud-detector ../f/d4/model.pkl --dep "text-embedder@^4.0.0"',
                cwd=DEPS,
            ),
            show("modelreg deps fraud-detector@v1.2.0", cwd=DEPS),
            Step("modelreg deps text-embedder --reverse --stage production", DEPS, ok=(1,)),
        ],
    ),
    (
        "gates",
        [
            fails("modelreg promote fraud-detector@v1.2.0 --to production", cwd=DEPS),
            show(
                "modelreg promote tokenizer@v1.4.0 --to production && "
                "modelreg promote text-embedder@v2.3.1 --to production",
                cwd=DEPS,
            ),
            show("modelreg promote fraud-detector@v1.2.0 --to production", cwd=DEPS),
            fails("modelreg promote text-embedder@v3.0.0 --to production", cwd=DEPS),
            show(
                "modelreg promote text-embedder@v3.0.0 --to production --force "
                '-m "fraud-detector v1.3.0 follows within the hour"',
                cwd=DEPS,
            ),
        ],
    ),
    (
        "diff",
        [
            show("modelreg diff fraud-detector@v1.2.0 fraud-detector@v1.3.0", cwd=DEPS),
            show(
                "modelreg diff fraud-detector#production fraud-detector@v1.3.0 --markdown", cwd=DEPS
            ),
        ],
    ),
    (
        "check",
        [
            show("modelreg check", cwd=DEPS),
            hide(
                "sed -i -e 's/^license: .*/license: MITT/' -e 's/^  size: 2$/  size: -2/' "
                "models/fraud-detector/model.yaml",
                cwd=DEPS,
            ),
            fails(
                "modelreg check",
                cwd=DEPS,
                shown="modelreg check            # after hand-editing a manifest",
            ),
            hide("git checkout -q -- models/fraud-detector/model.yaml", cwd=DEPS),
        ],
    ),
    (
        "verify",
        [
            show("modelreg verify --remote"),
            hide(
                "python3 - <<'EOF'\n"
                "import pathlib, yaml\n"
                "m = yaml.safe_load(open('models/fraud-detector/model.yaml'))\n"
                "md5 = m['artifacts'][0]['md5']\n"
                "[store] = pathlib.Path('../data/modelreg/storage').glob('registry-*')\n"
                "obj = store / 'files' / 'md5' / md5[:2] / md5[2:]\n"
                "obj.chmod(0o644); data = bytearray(obj.read_bytes()); data[0] ^= 1\n"
                "obj.write_bytes(bytes(data))\n"
                "EOF"
            ),
            fails(
                "modelreg verify --remote",
                shown="modelreg verify --remote          "
                "# after one byte changed on the DVC remote",
            ),
            fails("modelreg get fraud-detector@v0.2.0 --repo ../shared.git -o ../deploy2"),
            hide("git tag -f -a fraud-detector@v0.1.0 fraud-detector@v0.2.0^{} -m moved"),
            fails(
                "modelreg verify fraud-detector",
                shown="modelreg verify fraud-detector    # after 'git tag -f' moved a tag",
            ),
        ],
    ),
    (
        "doctor",
        [
            hide(
                "git tag -d fraud-detector@v0.1.0 >/dev/null && git fetch -q origin "
                "'refs/tags/*:refs/tags/*'"
            ),
            hide(f"{TRAIN} --samples 500 --seed 3 --out ../m.pkl > /dev/null"),
            Step(
                "modelreg register fraud-detector ../m.pkl",
                ok=(-9, 137),
                env={"MODELREG_FAULT": "register:after-commit:kill"},
                shown="modelreg register fraud-detector ../m.pkl           "
                "# killed with SIGKILL mid-way",
            ),
            fails("modelreg promote fraud-detector@v0.2.0 --to staging"),
            fails("modelreg doctor"),
            show("modelreg doctor --repair"),
            show(
                "git status --short",
                shown="git status --short                                  "
                "# exactly as before the register",
            ),
        ],
    ),
    (
        "mistakes",
        [
            fails("modelreg promote fraud-detector@v0.2.0 --to prod"),
            fails("modelreg show fraud-detector@v9.0.0"),
            fails("modelreg register Fraud ../m.pkl"),
        ],
    ),
]


class Demo:
    """A fresh folder, a private git identity and clock, and the environment to run in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.now = START
        home = root / "home"
        home.mkdir()
        gitconfig = home / ".gitconfig"
        gitconfig.write_text(
            "[user]\n\tname = Jane Doe\n\temail = jane@example.com\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        )
        keep = {"PATH", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        # The modelreg (and python3) of the interpreter running the tour come first,
        # installed or not on PATH (CI runs .venv/bin/python without activating it).
        here = str(Path(sys.executable).parent)
        self.env["PATH"] = os.pathsep.join([here, self.env.get("PATH", "")])
        self.env.update(
            HOME=str(home),
            GIT_CONFIG_GLOBAL=str(gitconfig),
            GIT_CONFIG_NOSYSTEM="1",
            XDG_DATA_HOME=str(root / "data"),
            XDG_CACHE_HOME=str(root / "cache"),
            XDG_CONFIG_HOME=str(root / "config"),
            DVC_NO_ANALYTICS="1",
            DVC_SITE_CACHE_DIR=str(root / "dvc-site"),
            DVC_GLOBAL_CONFIG_DIR=str(root / "dvc-global"),
            DVC_SYSTEM_CONFIG_DIR=str(root / "dvc-system"),
            COLUMNS="120",
            NO_COLOR="1",
            TERM="dumb",
            PYTHONUNBUFFERED="1",  # stdout and stderr lines in the order they were printed
        )

    def expand(self, command: str) -> str:
        """Put the last training run's RMSE where a command says ``RMSE``."""
        if "RMSE" not in command:
            return command
        return command.replace("RMSE", (self.root / "out" / "rmse").read_text().strip())

    def run(self, step: Step) -> str:
        self.now += 1
        stamp = f"{self.now} +0000"
        env = dict(self.env, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp, **step.env)
        command = self.expand(step.command)
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.root / step.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if done.returncode not in step.ok:
            raise SystemExit(
                f"tour: '{command}' exited {done.returncode}, expected {step.ok}:\n{done.stdout}"
            )
        return done.stdout.replace(str(self.root), SHOWN_ROOT)


def run_tour(progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """Every scene's block text, from a real run in a fresh temporary folder."""
    blocks: dict[str, str] = {}
    root = Path(tempfile.mkdtemp(prefix="modelreg-tour-")).resolve()
    try:
        demo = Demo(root)
        for scene, steps in SCENES:
            if progress:
                progress(scene)
            lines: list[str] = []
            for step in steps:
                output = demo.run(step)
                if step.hidden:
                    continue
                shown = step.shown if step.shown is not None else demo.expand(step.command)
                lines.append(f"$ {shown}")
                lines.extend(output.rstrip("\n").splitlines())
            blocks[scene] = "\n".join(lines)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return blocks


def readme_blocks(text: str) -> dict[str, tuple[int, int]]:
    """Each tour block's line span (first and last line inside its fence) in README."""
    lines = text.split("\n")
    found: dict[str, tuple[int, int]] = {}
    for i, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        if i + 1 >= len(lines) or lines[i + 1] != "```console":
            raise SystemExit(f"README.md:{i + 1}: a tour marker must precede a ```console block")
        end = lines.index("```", i + 2)
        found[match.group(1)] = (i + 2, end)
    return found


def write(text: str, blocks: dict[str, str]) -> str:
    lines = text.split("\n")
    spans = readme_blocks(text)
    for scene, (start, end) in sorted(spans.items(), key=lambda item: -item[1][0]):
        lines[start:end] = blocks[scene].split("\n")
    return "\n".join(lines)


_NOISE = [
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<id>"),  # commit ids, journal ids
    (re.compile(r"registry-[0-9a-f]{8}"), "registry-<random>"),
    (re.compile(r"\.modelreg-txn-[0-9a-z-]+"), ".modelreg-txn-<random>"),
    (re.compile(r"journal-[a-z]+-[0-9a-z]+\.json"), "journal-<random>.json"),
]


def normalised(text: str) -> str:
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    return "\n".join(re.sub(r" +", " ", line).rstrip() for line in text.split("\n"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite README.md's tour blocks")
    mode.add_argument("--check", action="store_true", help="exit 1 if README.md differs")
    args = parser.parse_args()
    text = README.read_text()
    spans = readme_blocks(text)
    missing = sorted(set(spans) - {s for s, _ in SCENES})
    if missing:
        raise SystemExit(f"tour: README.md marks unknown scene(s): {', '.join(missing)}")
    blocks = run_tour(lambda scene: print(f"tour: {scene}", file=sys.stderr))
    if args.write:
        README.write_text(write(text, blocks))
        return 0
    if args.check:
        lines = text.split("\n")
        bad = 0
        for scene, (start, end) in spans.items():
            have = "\n".join(lines[start:end])
            if normalised(have) != normalised(blocks[scene]):
                bad += 1
                sys.stdout.writelines(
                    difflib.unified_diff(
                        (have + "\n").splitlines(keepends=True),
                        (blocks[scene] + "\n").splitlines(keepends=True),
                        f"README.md ({scene})",
                        "a real run",
                    )
                )
        if bad:
            print(f"tour: {bad} README block(s) differ; run: python examples/tour.py --write")
            return 1
        print(f"tour: {len(spans)} README block(s) match a real run")
        return 0
    for scene, _steps in SCENES:
        print(f"--- {scene}\n{blocks[scene]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
