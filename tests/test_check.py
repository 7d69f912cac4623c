"""``modelreg check``: every kind of problem in a hand-broken manifest or config is
found, one line each as path:field: message, and a good registry passes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import Cli, FileMaker, git

MANIFEST = "models/m/model.yaml"


@pytest.fixture
def good(registry: Registry, files: FileMaker) -> Registry:
    registry.register("base", [files()], version="1.0.0", license="MIT")
    registry.register("m", [files("w.bin")], dependencies=["base@^1.0.0"], license="Apache-2.0")
    return registry


def edit(root: Path, path: str, change: Callable[[str], str]) -> None:
    target = root / path
    target.write_text(change(target.read_text()))


def test_a_good_registry_passes(cli: Cli, good: Registry) -> None:
    result = cli("-C", good.root, "check")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "checked 3 file(s): no problems\n"
    data = json.loads(cli.ok("-C", good.root, "check", "--json").stdout)
    assert data == {
        "ok": True,
        "checked": [".modelreg.yaml", "models/base/model.yaml", "models/m/model.yaml"],
        "problems": [],
    }


@pytest.mark.parametrize(
    ("path", "change", "expected"),
    [
        (MANIFEST, lambda t: t + "colour: red\n", f"{MANIFEST}:colour: unknown key"),
        (MANIFEST, lambda t: t.replace("schema: 1", "schema: one"), f"{MANIFEST}:schema: must be"),
        (MANIFEST, lambda t: t.replace("schema: 1", "schema: 9"), f"{MANIFEST}:schema: schema 9"),
        (MANIFEST, lambda t: t.replace("version: 0.1.0", "version: 0.1"), f"{MANIFEST}:version:"),
        (MANIFEST, lambda t: t.replace("version: 0.1.0", "version: v0.1.0"), "must not start"),
        (MANIFEST, lambda t: t.replace("Apache-2.0", "Apache2"), f"{MANIFEST}:license: unknown"),
        (MANIFEST, lambda t: t.replace("Apache-2.0", "MIT and BSD-3-Clause"), "upper case"),
        (MANIFEST, lambda t: t.replace("^1.0.0", "'>>1'"), f"{MANIFEST}:dependencies[0].version"),
        (MANIFEST, lambda t: t.replace("^1.0.0", "^9.0.0"), "no version of base satisfies"),
        (MANIFEST, lambda t: t.replace("name: base", "name: ghost"), "no version of ghost"),
        (MANIFEST, lambda t: t.replace("path: w.bin", "path: ../w.bin"), "artifacts[0].path"),
        (MANIFEST, lambda t: t.replace("sha256: ", "sha256: zz"), "artifacts[0].sha256"),
        (MANIFEST, lambda t: t.replace("md5: ", "md5: 0"), "artifacts[0].md5"),
        (MANIFEST, lambda t: t.replace("size: ", "size: -"), "artifacts[0].size"),
        (MANIFEST, lambda t: t.replace("name: m\n", "name: other\n"), "does not match its folder"),
        (
            MANIFEST,
            lambda t: t.replace("created:", "metrics: {auc: high}\ncreated:"),
            "metrics.auc",
        ),
        (MANIFEST, lambda t: t.replace("created:", "labels: [a]\ncreated:"), "labels: must be"),
        (MANIFEST, lambda t: t + "  bad indent: [\n", f"{MANIFEST}: not valid YAML"),
        (".modelreg.yaml", lambda t: t + "colour: red\n", ".modelreg.yaml:colour: unknown key"),
        (
            ".modelreg.yaml",
            lambda t: t.replace("promotion_order: false", "promotion_order: 1"),
            ".modelreg.yaml:promotion_order: must be true or false",
        ),
        (".modelreg.yaml", lambda t: t.replace("- dev", "- Bad Stage"), "stages[0]"),
    ],
)
def test_each_kind_of_problem_is_found(
    cli: Cli, good: Registry, path: str, change: Callable[[str], str], expected: str
) -> None:
    edit(good.root, path, change)
    result = cli("-C", good.root, "check")
    assert result.exit_code == 1, result
    assert expected in result.stdout, result
    assert all(line.count(":") >= 2 for line in result.stdout.splitlines())
    assert result.stderr.startswith("modelreg: error: check found")
    assert len(result.stderr.splitlines()) == 1


def test_missing_and_mismatched_dvc_files(cli: Cli, good: Registry) -> None:
    (good.root / "models" / "m" / "w.bin.dvc").unlink()
    result = cli("-C", good.root, "check")
    assert f"{MANIFEST}:artifacts[0]: w.bin.dvc is missing" in result.stdout
    git(good.root, "checkout", "--", "models/m/w.bin.dvc")
    edit(good.root, "models/base/model.pkl.dvc", lambda t: t.replace("md5: ", "md5: 1"))
    result = cli("-C", good.root, "check")
    assert "models/base/model.yaml:artifacts[0].md5: differs from model.pkl.dvc" in result.stdout


def test_an_edited_registered_manifest_is_found(cli: Cli, good: Registry) -> None:
    edit(good.root, MANIFEST, lambda t: t.replace("Apache-2.0", "MIT"))
    result = cli("-C", good.root, "check")
    assert f"{MANIFEST}: differs from the manifest registered as v0.1.0" in result.stdout


def test_cycles_between_manifests(cli: Cli, good: Registry) -> None:
    edit(
        good.root,
        "models/base/model.yaml",
        lambda t: t.replace("created:", "dependencies:\n- name: m\n  version: '>=0.1.0'\ncreated:"),
    )
    result = cli("-C", good.root, "check")
    assert "dependencies: cycle: base -> m -> base" in result.stdout


def test_check_imports_no_dvc(good: Registry) -> None:
    code = (
        "import sys\nfrom modelreg.cli import main\n"
        "try:\n    main(['check'])\nexcept SystemExit as e:\n    code = e.code\n"
        "print([m for m in sys.modules if m.startswith('dvc')], file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=good.root, capture_output=True, text=True, check=False
    )
    assert done.stderr.strip() == "[]", done.stderr


def test_a_report_with_problems_is_a_failure_any_face_can_raise() -> None:
    from modelreg.check import CheckReport, Problem

    assert CheckReport(("a",), ()).failure() is None
    problems = (Problem("a", "x", "bad"), Problem("a", "y", "bad"), Problem("b", "", "bad"))
    failure = CheckReport(("a", "b"), problems).failure()
    assert failure is not None and failure.message == "check found 3 problem(s) in 2 file(s)"
