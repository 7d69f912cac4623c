"""The benchmark's generated registries are real ones: modelreg and GTO read them alike.

Not timed: what is fast is measured by benchmarks/run.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import git

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

GTO = Path(sys.executable).parent / "gto"


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    generate.generate(
        root,
        generate.Shape.parse("3x4"),
        modelreg=[sys.executable, "-m", "modelreg"],
        env=dict(os.environ),
        remote=tmp_path / "remote",
    )
    return root


def test_the_template_is_what_modelreg_writes() -> None:
    generate.check_template()


def test_shapes_parse() -> None:
    assert generate.Shape.parse("1000x10") == generate.Shape(1000, 10)
    assert generate.Shape.parse("1000x10").tags == 12_000
    with pytest.raises(ValueError):
        generate.Shape.parse("10")


def test_a_generated_registry_reads_in_modelreg(generated: Path) -> None:
    registry = Registry(generated)
    listed = {m.name: (m.latest, m.stages, m.versions) for m in registry.list_models()}
    assert listed == {
        generate.model_name(i): ("0.4.0", {"production": "0.3.0", "staging": "0.4.0"}, 4)
        for i in range(3)
    }
    info = registry.show("model-00001#production")
    assert info.manifest is not None and str(info.manifest.version) == "0.3.0"
    assert info.manifest_sha256 == info.recorded_sha256  # the trailer matches the manifest
    assert git(generated, "status", "--porcelain") == ""  # the work tree is checked out
    assert "packed-refs" in os.listdir(generated / ".git")


def test_a_generated_registry_reads_the_same_in_gto(generated: Path) -> None:
    done = subprocess.run(
        [str(GTO), "show", "--json"], cwd=generated, capture_output=True, text=True, check=True
    )
    shown = json.loads(done.stdout)
    assert {name: (e["version"], e["stage"]) for name, e in shown.items()} == {
        generate.model_name(i): ("v0.4.0", {"production": "v0.3.0", "staging": "v0.4.0"})
        for i in range(3)
    }


def test_the_serve_benchmark_runs_at_tiny_sizes(tmp_path: Path) -> None:
    """benchmarks/serve.py end to end on 3 x 4 with a 1 MiB file: the real server, its
    answers checked (a CLI promote beside it shows in the next list); no time asserted.
    The upload and download parts run once the server has those endpoints, and say
    that they were skipped until then."""
    out = tmp_path / "serve.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "serve.py"),
            *("--size", "3x4", "--runs", "1", "--clients", "2", "--requests", "3"),
            *("--big-file-mib", "1", "--workdir", str(tmp_path / "work"), "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    measured = [row["what"] for row in report["rows"]]
    assert "GET /v2/models, cache hit" in measured
    assert "GET /v2/models, after a CLI promote (miss)" in measured
    assert [load["requests"] for load in report["loads"]] == [6, 6, 6]
    big = [row for row in report["rows"] if "MiB file" in row["section"]]
    upload_ran = any(row["what"] == "POST upload + POST register" for row in big)
    assert upload_ran or any("upload + register skipped" in n for n in report["notes"])
    download_ran = any("/files/" in row["what"] for row in big)
    assert download_ran or any("download skipped" in n for n in report["notes"])
    if download_ran and shutil.which("openssl"):  # the first ever beside sha256 alone
        floor = [
            row
            for row in big
            if row["baseline"] == "sha256 of the file alone (openssl dgst -sha256)"
        ]
        assert [row["what"] for row in floor] == [
            "first-ever download beside sha256 of the file alone"
        ]
    assert out.with_suffix(".md").exists()


def test_a_verdict_pairs_each_round_with_its_baseline() -> None:
    """The reads' and writes' verdicts compare each round with the baseline timed in
    that round: a section whose machine slowed down halfway (a read slow where
    ``import click`` was slow too) holds, where a read slower than its limit in the
    same rounds fails, whatever the medians say."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    section = "1000x10 (12,000 tags) loose refs"
    click = run.Row(section, run.CLICK_LABEL, 0.055, samples=[0.053, 0.053, 0.055, 0.083, 0.083])
    steady = run.Row(section, "show m", 0.104, samples=[0.072, 0.072, 0.073, 0.108, 0.104])
    slow = run.Row(section, "history m", 0.090, samples=[0.090, 0.090, 0.090, 0.130, 0.130])

    def verdict(*rows: object) -> bool | None:
        found = [t for t in run.targets(list(rows), []) if t.figure.startswith("show, history")]
        return found[0].holds

    assert run.paired(steady, click) == pytest.approx(73 / 55)  # the middle round
    assert verdict(click, steady) is True  # 104 ms against a 55 ms median click: 1.9x
    assert verdict(click, steady, slow) is False  # 90 ms / 53 ms: 1.7x in the same rounds
    assert run.paired(steady, run.Row(section, "x", 1.0, samples=[1.0])) is None
