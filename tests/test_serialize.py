"""JSON documents (modelreg.serialize): every read command's ``--json`` on the showcase
registry is byte-identical to the golden files under tests/golden/read/, captured
before the serializer was split out of render.py; new shapes are tested one by one.

To rewrite the goldens after a deliberate, documented change of shape:
``MODELREG_WRITE_GOLDEN=1 python -m pytest tests/test_serialize.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Cli, Showcase

GOLDEN = Path(__file__).parent / "golden" / "read"

# (golden file, arguments, exit code): exit 1 where the report itself says "not ok"
READS: list[tuple[str, tuple[str, ...], int]] = [
    ("list", ("list",), 0),
    ("list-all", ("list", "--all"), 0),
    ("show-latest-of-name", ("show", "team/fraud"), 0),
    ("show-version", ("show", "embedder@v2.0.0"), 0),
    ("show-stage", ("show", "team/fraud#production"), 0),
    ("show-at-latest", ("show", "embedder@latest"), 0),
    ("show-dependent", ("show", "ranker@v1.0.0"), 0),
    ("show-deprecated-model", ("show", "legacy"), 0),
    ("history", ("history",), 0),
    ("history-reverse", ("history", "--reverse"), 0),
    ("history-name", ("history", "team/fraud"), 0),
    ("history-deprecated", ("history", "legacy"), 0),
    ("resolve-stage", ("resolve", "team/fraud#production"), 0),
    ("resolve-latest", ("resolve", "embedder@latest"), 0),
    ("resolve-version", ("resolve", "ranker@v1.0.0"), 0),
    ("deps", ("deps", "ranker"), 0),
    ("deps-version", ("deps", "team/fraud@v0.1.0"), 0),
    ("deps-stage", ("deps", "team/fraud", "--stage", "production"), 0),
    ("deps-stage-unsatisfied", ("deps", "ranker", "--stage", "staging"), 1),
    ("deps-none", ("deps", "legacy"), 0),
    ("deps-reverse", ("deps", "embedder", "--reverse"), 0),
    ("deps-reverse-stage", ("deps", "team/fraud", "--reverse", "--stage", "dev"), 0),
    ("deps-reverse-unsatisfied", ("deps", "team/fraud", "--reverse", "--stage", "staging"), 1),
    ("diff-versions", ("diff", "team/fraud@v0.2.0", "team/fraud@v0.3.0"), 0),
    ("diff-stages", ("diff", "team/fraud#production", "team/fraud#staging"), 0),
    ("diff-models", ("diff", "embedder@v1.0.0", "team/fraud@v0.1.0"), 0),
    ("diff-identical", ("diff", "embedder#staging", "embedder#production"), 0),
    ("check", ("check",), 0),
    ("verify", ("verify",), 0),
    ("verify-one", ("verify", "team/fraud@v0.2.0"), 0),
    ("doctor", ("doctor",), 0),
    ("remote-list", ("remote", "list"), 0),
]

# The same commands after the work tree is damaged (files only, no API): a manifest
# edited by hand, a model file's bytes changed, a temporary file left behind.
DAMAGED: list[tuple[str, tuple[str, ...], int]] = [
    ("check-problems", ("check",), 1),
    ("verify-findings", ("verify",), 1),
    ("doctor-findings", ("doctor",), 1),
]


def _damage(root: Path) -> None:
    manifest = root / "models" / "ranker" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("BSD-3-Clause", "Not-A-Licence"))
    (root / "models" / "legacy" / "model.pkl").write_bytes(b"not the registered bytes\n")
    (root / "models" / "ranker" / "model.pkl.modelreg-tmp").write_bytes(b"half written")


def _capture(
    cli: Cli, showcase: Showcase, cases: list[tuple[str, tuple[str, ...], int]]
) -> dict[str, str]:
    found = {}
    for name, args, code in cases:
        result = cli("-C", showcase.root, *args, "--json")
        assert result.exit_code == code, (name, result)
        found[name] = result.stdout  # nothing normalised: the showcase has no tmp path in it
    return found


def test_read_commands_json_is_byte_identical_to_the_golden(cli: Cli, showcase: Showcase) -> None:
    found = _capture(cli, showcase, READS)
    _damage(showcase.root)
    found |= _capture(cli, showcase, DAMAGED)
    if os.environ.get("MODELREG_WRITE_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in found.items():
            (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8", newline="")
        pytest.skip(f"wrote {len(found)} golden files to {GOLDEN}")
    differ = [
        name
        for name, text in found.items()
        if (GOLDEN / f"{name}.json").read_bytes() != text.encode("utf-8")
    ]
    assert not differ, f"--json differs from tests/golden/read/ for: {', '.join(differ)}"
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(found), "a golden file unused"
