"""JSON documents (modelreg.serialize): every read command's ``--json`` on the showcase
registry is byte-identical to the golden files under tests/golden/read/, captured
before the serializer was split out of render.py; new shapes are tested one by one.

To rewrite the goldens after a deliberate, documented change of shape:
``MODELREG_WRITE_GOLDEN=1 python -m pytest tests/test_serialize.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import typing
from pathlib import Path
from typing import Any

import pytest

from modelreg import Registry, results, serialize

from .conftest import Cli, FileMaker, Showcase, git

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


# --- the write commands' documents ------------------------------------------------


def _doc(cli: Cli, *args: str | Path) -> Any:
    """Run a command with --json: stdout is exactly one JSON document."""
    return json.loads(cli.ok(*args, "--json").stdout)


def test_init_json(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "new"
    first = _doc(cli, "-C", root, "init", "--remote", tmp_path / "store")
    assert list(first) == [
        "root", "created", "remote_name", "remote_url", "git_initialised", "commit"
    ]  # fmt: skip
    assert Path(first["root"]).resolve() == root.resolve()
    assert ".modelreg.yaml" in first["created"]
    assert first["remote_name"] == "modelreg"
    assert first["remote_url"] == str((tmp_path / "store").resolve())
    assert first["git_initialised"] is True
    assert first["commit"] == git(root, "rev-parse", "HEAD").strip()
    again = _doc(cli, "-C", root, "init")
    assert again["git_initialised"] is False
    assert again["commit"] is None  # already set up: nothing committed


def test_register_json(cli: Cli, repo: Path, files: FileMaker) -> None:
    doc = _doc(
        cli, "-C", repo, "register", "team/m", files(content=b"abc"), "--metric", "auc=0.9",
        "--version", "1.2.0", "-m", "first",
    )  # fmt: skip
    assert list(doc) == ["name", "version", "tag", "commit", "pushed", "manifest"]
    assert doc["name"] == "team/m"
    assert doc["version"] == "1.2.0"  # no "v"
    assert doc["tag"] == "team/m@v1.2.0"
    assert doc["commit"] == git(repo, "rev-parse", "team/m@v1.2.0^{commit}").strip()
    assert doc["pushed"] is False
    assert doc["manifest"]["metrics"] == {"auc": 0.9}
    assert doc["manifest"]["artifacts"][0]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    # the same manifest show prints
    shown = _doc(cli, "-C", repo, "show", "team/m@v1.2.0")
    assert shown["manifest"] == doc["manifest"]


EVENT_KEYS = ["name", "event", "version", "stage", "tag", "previous", "changed", "pushed", "notes"]


def test_promote_rollback_and_deprecate_json(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    first = _doc(cli, "-C", repo, "promote", "m@v0.1.0", "--to", "production")
    assert list(first) == EVENT_KEYS
    assert first == {
        "name": "m", "event": "assign", "version": "0.1.0", "stage": "production",
        "tag": "m#production#1", "previous": None, "changed": True, "pushed": False, "notes": [],
    }  # fmt: skip
    second = _doc(cli, "-C", repo, "promote", "m@v0.2.0", "--to", "production", "-m", "better")
    assert (second["version"], second["previous"], second["tag"]) == (
        "0.2.0", "0.1.0", "m#production#2"
    )  # fmt: skip
    # Nothing to do is a document too: no tag, not changed.
    same = _doc(cli, "-C", repo, "promote", "m@v0.2.0", "--to", "production")
    assert (same["changed"], same["tag"], same["version"]) == (False, None, "0.2.0")

    back = _doc(cli, "-C", repo, "rollback", "m", "--stage", "production", "-m", "slow")
    assert list(back) == EVENT_KEYS
    assert (back["event"], back["version"], back["previous"], back["stage"]) == (
        "rollback", "0.1.0", "0.2.0", "production"
    )  # fmt: skip
    assert back["tag"] == "m#production#3"

    gone = _doc(cli, "-C", repo, "deprecate", "m@v0.2.0", "-m", "bad labels")
    assert (gone["event"], gone["version"], gone["stage"], gone["tag"]) == (
        "deregister", "0.2.0", None, "m@v0.2.0!#4"
    )  # fmt: skip
    whole = _doc(cli, "-C", repo, "deprecate", "m", "-m", "retired")
    assert list(whole) == EVENT_KEYS
    assert (whole["event"], whole["version"], whole["tag"]) == ("deprecate", None, "m@deprecated#5")
    history = _doc(cli, "-C", repo, "history", "m")["events"]
    assert [e["tag"] for e in history[-5:]] == [
        first["tag"], second["tag"], back["tag"], gone["tag"], whole["tag"]
    ]  # fmt: skip


def test_get_and_checkout_json(cli: Cli, repo: Path, files: FileMaker, tmp_path: Path) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"one"))
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"two"))
    out = tmp_path / "deploy"
    got = _doc(cli, "-C", repo, "get", "m@v0.1.0", "-o", out)
    assert list(got) == ["name", "version", "directory", "files"]
    assert (got["name"], got["version"]) == ("m", "0.1.0")
    assert Path(got["directory"]).resolve() == out.resolve()
    assert got["files"] == [
        {"path": "model.pkl", "size": 3, "sha256": hashlib.sha256(b"one").hexdigest()}
    ]
    back = _doc(cli, "-C", repo, "checkout", "m@v0.1.0")
    assert list(back) == ["name", "version", "directory", "files"]
    assert back["version"] == "0.1.0"
    assert Path(back["directory"]).resolve() == (repo / "models" / "m").resolve()
    assert back["files"] == got["files"]
    assert (repo / "models" / "m" / "model.pkl").read_bytes() == b"one"


def test_push_and_pull_json(cli: Cli, tmp_path: Path, files: FileMaker) -> None:
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    a = tmp_path / "a"
    cli.ok("-C", a, "init", "--remote", tmp_path / "store")
    git(a, "remote", "add", "origin", str(bare))
    cli.ok("-C", a, "register", "m", files())
    cli.ok("-C", a, "promote", "m@v0.1.0", "--to", "dev")
    pushed = _doc(cli, "-C", a, "push")
    assert list(pushed) == ["remote", "tags", "objects", "branch", "notes"]
    assert (pushed["remote"], pushed["tags"], pushed["branch"]) == ("origin", 2, "main")
    assert isinstance(pushed["objects"], int)
    assert isinstance(pushed["notes"], list)

    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    pulled = _doc(cli, "-C", b, "pull")
    assert list(pulled) == ["remote", "tags", "objects", "branch", "notes"]
    assert (pulled["remote"], pulled["objects"], pulled["branch"]) == ("origin", 1, "main")
    assert (b / "models" / "m" / "model.pkl").read_bytes() == b"weights 1\n"


# --- every result has a shape ----------------------------------------------------------

# Dataclasses a public Registry method returns that are not results with a JSON shape.
NOT_RESULTS = {
    "RegistryState": "the state cache itself, an internal snapshot of every tag",
    "Manifest": "its document is Manifest.to_dict(), the manifest file's own shape",
    "Registry": "the registry, not a result",
}


def _dataclasses_in(hint: object) -> set[type]:
    found = set()
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        found.add(hint)
    for arg in typing.get_args(hint):
        found |= _dataclasses_in(arg)
    return found


def _hints(thing: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for module in ("results", "_results", "check", "verify", "deps", "diff", "storage", "state",
                   "manifest", "config", "refs", "registry", "progress", "versions",
                   "hashing"):  # fmt: skip
        namespace.update(vars(importlib.import_module(f"modelreg.{module}")))
    return typing.get_type_hints(thing, globalns=namespace)


def _result_types() -> set[type]:
    """Every dataclass in modelreg.results, every dataclass a public Registry method
    returns, and every dataclass inside those (a report's findings, a tree's nodes)."""
    from modelreg import _results  # the results of writes, files, checks (see results.py)

    found = {
        cls
        for module in (results, _results)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
    }
    for name in list(vars(Registry)):
        member = getattr(Registry, name)  # an operation's module loads on first look-up
        method = getattr(member, "__func__", member)
        if not name.startswith("_") and inspect.isfunction(method):
            found |= _dataclasses_in(_hints(method).get("return"))
    todo = list(found)
    while todo:
        cls = todo.pop()
        if cls.__name__ in NOT_RESULTS:
            continue
        for hint in _hints(cls).values():
            for inner in _dataclasses_in(hint) - found:
                found.add(inner)
                todo.append(inner)
    return {cls for cls in found if cls.__name__ not in NOT_RESULTS}


def test_every_result_type_has_a_serializer() -> None:
    types = _result_types()
    assert {t.__name__ for t in types} >= {
        "EventResult",
        "FilesWritten",
        "SyncResult",
        "CheckReport",
        "VerifyReport",
        "Tree",
        "Node",
        "VersionDiff",
        "RemoteSettings",
        "DoctorFinding",
        "Problem",
    }  # fmt: skip  (the discovery above finds what it should)
    missing = sorted(t.__name__ for t in types - set(serialize.serializers()))
    assert not missing, f"result types without a JSON shape in modelreg.serialize: {missing}"


def test_every_serializer_is_for_a_result_type() -> None:
    assert set(serialize.serializers()) <= _result_types()


def test_to_dict_serializes_by_type_and_refuses_an_unknown_one() -> None:
    event = results.EventResult("m", "assign", "1.0.0", "prod", "m#prod#1", previous="0.9.0")
    assert serialize.to_dict(event) == serialize.event_result(event)
    assert serialize.to_dict(event)["previous"] == "0.9.0"
    with pytest.raises(TypeError, match="no JSON shape for dict"):
        serialize.to_dict({"not": "a result"})
