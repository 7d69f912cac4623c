"""``modelreg diff``: two versions or two stages side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import Registry, serialize
from modelreg.diff import diff
from modelreg.manifest import Manifest, loads

from .conftest import Cli, Clock, FileMaker


@pytest.fixture
def two(registry: Registry, files: FileMaker, clock: Clock, tmp_path: Path) -> Registry:
    first = tmp_path / "v1"
    first.mkdir()
    (first / "weights.bin").write_bytes(b"w1")
    (first / "config.json").write_text("{}")
    registry.register(
        "m", [first], metrics={"auc": 0.8, "loss": 0.5}, params={"depth": 6},
        labels={"team": "risk"}, description="first",
    )  # fmt: skip
    clock.tick()
    second = tmp_path / "v2"
    second.mkdir()
    (second / "weights.bin").write_bytes(b"w2, bigger")
    (second / "config.json").write_text("{}")
    (second / "calibration.pkl").write_bytes(b"c")
    registry.register(
        "m", [second], metrics={"auc": 0.9, "f1": 0.7}, params={"depth": 8},
        labels={"team": "risk"}, description="second", license="MIT",
    )  # fmt: skip
    for version, stage in (("0.1.0", "production"), ("0.2.0", "staging")):
        clock.tick()
        registry.promote(f"m@v{version}", stage)
    return registry


def test_the_library_diff(two: Registry) -> None:
    result = two.diff("m@v0.1.0", "m@v0.2.0")
    changed = {(c.section, c.key): (c.old, c.new, c.status) for c in result.changed}
    assert changed[("metrics", "auc")] == (0.8, 0.9, "changed")
    assert changed[("metrics", "loss")] == (0.5, None, "removed")
    assert changed[("metrics", "f1")] == (None, 0.7, "added")
    assert changed[("params", "depth")] == (6, 8, "changed")
    assert changed[("metadata", "description")] == ("first", "second", "changed")
    assert changed[("metadata", "license")] == (None, "MIT", "added")
    assert ("labels", "team") not in changed
    auc = next(c for c in result.changes if c.key == "auc")
    assert auc.delta == pytest.approx(0.1)
    assert [(f.path, f.status) for f in result.files] == [
        ("calibration.pkl", "added"),
        ("config.json", "same"),
        ("weights.bin", "changed"),
    ]
    assert not result.identical
    manifest = two.show("m@v0.1.0").manifest
    assert manifest is not None
    assert diff(manifest, manifest).identical


def test_a_delta_is_the_difference_a_person_would_write() -> None:
    """JSON consumers see 0.04, not float subtraction's 0.039999999999999925."""
    from modelreg.diff import _delta

    assert _delta(0.78, 0.82) == 0.04
    assert _delta(1e-17, 3e-17) == 2e-17
    assert _delta(1, 3) == 2.0


def test_numbers_past_a_float_s_range_have_no_delta() -> None:
    """A manifest from elsewhere may hold an integer no float can be (10**400) or
    numbers whose difference overflows: the diff says "changed" without a delta,
    rather than an internal error or an ``-Infinity`` no JSON parser takes."""

    def manifest(metrics: str) -> Manifest:
        text = "schema: 1\nname: m\nversion: 1.0.0\ncreated: 2026-11-26T00:00:00Z\n"
        text += f"metrics: {metrics}\nartifacts: []\n"
        return loads(text, "model.yaml")

    old = manifest(f"{{huge: {10**400}, wide: 1.7e+308, auc: 0.5}}")
    new = manifest(f"{{huge: {10**400 + 1}, wide: -1.7e+308, auc: 0.75}}")
    result = diff(old, new)
    deltas = {c.key: (c.status, c.delta) for c in result.changes if c.section == "metrics"}
    assert deltas == {
        "huge": ("changed", None),
        "wide": ("changed", None),
        "auc": ("changed", 0.25),
    }
    json.dumps(serialize.version_diff(result), allow_nan=False)


def test_diff_by_stage_in_json(cli: Cli, two: Registry) -> None:
    data = json.loads(cli.ok("-C", two.root, "diff", "m#production", "m#staging", "--json").stdout)
    assert (data["a"]["version"], data["b"]["version"]) == ("0.1.0", "0.2.0")
    auc = next(c for c in data["changes"] if c["key"] == "auc")
    assert auc == {
        "section": "metrics",
        "key": "auc",
        "old": 0.8,
        "new": 0.9,
        "delta": pytest.approx(0.1),
        "status": "changed",
    }
    weights = next(f for f in data["files"] if f["path"] == "weights.bin")
    assert (weights["status"], weights["old_size"], weights["new_size"]) == ("changed", 2, 10)


def test_diff_as_table_and_markdown(cli: Cli, two: Registry) -> None:
    table = cli.ok("-C", two.root, "diff", "m@v0.1.0", "m@v0.2.0").stdout
    assert table.splitlines()[0] == "m v0.1.0 → m v0.2.0"
    assert any(
        line.split()[:4] == ["metrics.auc", "0.8", "0.9", "+0.1"] for line in table.splitlines()
    )
    markdown = cli.ok("-C", two.root, "diff", "m@v0.1.0", "m@v0.2.0", "--markdown").stdout
    lines = markdown.splitlines()
    assert lines[0] == "### m v0.1.0 → m v0.2.0"
    assert "| `metrics.auc` | 0.8 | 0.9 | +0.1 (+12.5%) |" in lines
    assert "| file `weights.bin` | 2 B | 10 B | changed |" in lines
    both = cli("-C", two.root, "diff", "m@v0.1.0", "m@v0.2.0", "--json", "--markdown")
    assert both.exit_code == 2
