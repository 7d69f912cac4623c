"""ops/read.py: list, show, history, resolve, deps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import ManifestError, Registry, serialize

from ..conftest import Cli, FileMaker, Showcase, git


def test_list_shows_latest_and_stage_holders(cli: Cli, repo: Path, files: FileMaker) -> None:
    for _ in range(3):
        cli.ok("-C", repo, "register", "a", files())
    cli.ok("-C", repo, "register", "b", files())
    cli.ok("-C", repo, "promote", "a@v0.2.0", "--to", "production")
    cli.ok("-C", repo, "promote", "a@v0.3.0", "--to", "staging")
    table = cli.ok("-C", repo, "list")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["model", "latest", "#dev", "#staging", "#production", "versions"]
    assert lines[1].split() == ["a", "v0.3.0", "-", "v0.3.0", "v0.2.0", "3"]
    assert lines[2].split() == ["b", "v0.1.0", "-", "-", "-", "1"]
    data = json.loads(cli.ok("-C", repo, "list", "--json").stdout)
    assert data == {
        "models": [
            {
                "name": "a",
                "latest": "0.3.0",
                "stages": {"production": "0.2.0", "staging": "0.3.0"},
                "versions": 3,
                "deprecated": False,
            },
            {"name": "b", "latest": "0.1.0", "stages": {}, "versions": 1, "deprecated": False},
        ]
    }


def test_history_lists_every_event_with_who_and_why(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files(), "-m", "baseline")
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production", "-m", "passed shadow test")
    cli.ok("-C", repo, "rollback", "m", "--stage", "production", "--to", "0.1.0", "-m", "oops")
    cli.ok("-C", repo, "deprecate", "m@v0.2.0", "-m", "leaky labels")
    data = json.loads(cli.ok("-C", repo, "history", "m", "--json").stdout)["events"]
    summary = [(e["event"], e["version"], e["stage"], e["reason"]) for e in data]
    assert summary == [
        ("register", "0.1.0", None, "baseline"),
        ("register", "0.2.0", None, None),
        ("assign", "0.2.0", "production", "passed shadow test"),
        ("rollback", "0.1.0", "production", "oops"),
        ("deregister", "0.2.0", None, "leaky labels"),
    ]
    assert {e["author"] for e in data} == {"Test User"}
    assert all(e["time"].endswith("Z") for e in data)
    reverse = json.loads(cli.ok("-C", repo, "history", "--reverse", "--json").stdout)["events"]
    assert [e["tag"] for e in reverse] == [e["tag"] for e in data][::-1]
    table = cli.ok("-C", repo, "history", "m").stdout
    assert "passed shadow test" in table and "rollback" in table


def test_show_by_stage_and_version(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files(), "--metric", "auc=0.8")
    cli.ok("-C", repo, "register", "m", files(), "--metric", "auc=0.9")
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    by_stage = json.loads(cli.ok("-C", repo, "show", "m#production", "--json").stdout)
    assert by_stage["version"] == "0.1.0"
    assert by_stage["stages"] == ["production"]
    assert by_stage["manifest"]["metrics"] == {"auc": 0.8}
    assert by_stage["manifest_sha256"] == by_stage["recorded_sha256"]
    text = cli.ok("-C", repo, "show", "m@v0.2.0").stdout
    assert text.startswith("m v0.2.0")
    assert "auc=0.9" in text and "model.pkl" in text


def test_resolve_prints_only_the_version(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    result = cli.ok("-C", repo, "resolve", "m#production")
    assert (result.stdout, result.stderr) == ("0.1.0\n", "")
    data = json.loads(cli.ok("-C", repo, "resolve", "m#production", "--json").stdout)
    assert data["version"] == "0.1.0" and len(data["commit"]) == 40


def test_list_without_config_shows_only_stages_in_use(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "x")
    git(repo, "tag", "-a", "m@v1.0.0", "-m", "by hand")
    git(repo, "tag", "-a", "m#prod#1", "-m", "by hand")
    header = cli.ok("-C", repo, "list").stdout.splitlines()[0].split()
    assert header == ["model", "latest", "#prod", "versions"]


def test_reads_in_a_repository_without_registry_are_empty_not_errors(
    cli: Cli, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    assert cli.ok("-C", plain, "list", "--json").stdout.strip() == '{\n  "models": []\n}'


def test_show_of_a_corrupt_manifest_names_the_file(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    manifest = registry.root / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("schema: 1", "schema: 1\nextra: true"))
    git(registry.root, "commit", "-qam", "hand edit")
    git(registry.root, "tag", "-a", "m@v5.0.0", "-m", "by hand")
    with pytest.raises(ManifestError, match=r"models/m/model.yaml:extra: unknown key"):
        Registry(registry.root).show("m@v5.0.0")


def test_deps_cli_output_and_exit_codes(cli: Cli, stack: Registry) -> None:
    ok = cli("-C", stack.root, "deps", "classifier@v1.2.0")
    assert ok.exit_code == 0, ok
    assert ok.stdout.splitlines() == [
        "classifier v1.2.0",
        "└── text-embedder >=2.0.0,<3.0.0 → v2.3.1",
        "    └── tokenizer ^1.2.0 → v1.4.0",
    ]
    data = json.loads(cli.ok("-C", stack.root, "deps", "classifier@v1.2.0", "--json").stdout)
    assert data["ok"] is True
    assert data["tree"]["dependencies"][0]["dependencies"][0]["version"] == "1.4.0"
    refused = cli("-C", stack.root, "deps", "classifier", "--stage", "production")
    assert refused.exit_code == 1
    assert "no version of text-embedder holds production" in refused.stdout
    assert refused.stderr.strip() == "modelreg: error: classifier: 1 dependency problem(s)"
    reverse = cli.ok("-C", stack.root, "deps", "tokenizer", "--reverse", "--json")
    assert [d["name"] for d in json.loads(reverse.stdout)["dependents"]] == [
        "text-embedder",
        "text-embedder",
    ]


def test_manifests_reads_many_versions_at_once(showcase: Showcase) -> None:
    found = showcase.registry.manifests(
        [("embedder", "2.0.0"), ("team/fraud", "0.1.0"), ("embedder", "9.9.9"), ("nope", "1.0.0")]
    )
    assert sorted(found) == [("embedder", "2.0.0"), ("team/fraud", "0.1.0")]
    assert found[("embedder", "2.0.0")].metrics == {"auc": 0.9, "dim": 256}
    assert [d.version for d in found[("team/fraud", "0.1.0")].dependencies] == [">=1.0.0"]


@pytest.mark.parametrize("cached", [True, False], ids=["state-cache", "no-cache"])
def test_the_web_pages_reads_agree_with_every_models_state(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    """last_events, manifests, deps and dependents answer the web page without
    building every model's state (from the state cache): the same answers."""
    monkeypatch.setenv("MODELREG_STATE_CACHE", "1" if cached else "0")
    root = showcase.root
    whole = Registry(root)
    whole.state()  # every model's state in hand: the reads take their old path
    newest = {}
    for entry in whole.history(None):
        newest[entry.name] = entry  # oldest first: the last wins
    assert Registry(root).last_events() == newest
    assert Registry(root).last_events(["ranker", "legacy"]) == {
        n: newest[n] for n in ("ranker", "legacy")
    }
    assert newest["team/fraud"].event == "rollback"  # an assignment whose trailer says so
    assert newest["legacy"].event == "deprecate"

    wanted = [(m.name, v.version) for m in whole.state().models.values() for v in m.versions]
    assert ("embedder", "1.1.0") in wanted  # deregistered: its manifest is still there
    assert Registry(root).manifests(wanted) == whole.manifests(wanted)

    for ref in ("ranker", "team/fraud@v0.1.0", "embedder"):
        assert serialize.tree(Registry(root).deps(ref)) == serialize.tree(whole.deps(ref))
    assert serialize.tree(Registry(root).deps("ranker", stage="production")) == serialize.tree(
        whole.deps("ranker", stage="production")
    )
    for name, stage in (("embedder", None), ("team/fraud", None), ("embedder", "production")):
        quick = Registry(root).dependents(name, stage=stage, declared_in_head=True)
        assert quick == whole.dependents(name, stage=stage)
        assert quick  # ranker needs team/fraud, team/fraud needs embedder


def test_dependents_declared_in_head_miss_what_later_manifests_dropped(
    showcase: Showcase, files: FileMaker
) -> None:
    """The documented limit of the web page's "needed by": the index is of HEAD."""
    registry = showcase.registry
    registry.register("probe", files(), version="1.0.0", dependencies=["embedder@^2.0.0"])
    registry.register("probe", files(), version="1.1.0")
    every = [(d.name, d.version) for d in Registry(showcase.root).dependents("embedder")]
    quick = Registry(showcase.root).dependents("embedder", declared_in_head=True)
    assert ("probe", "1.0.0") in every
    assert [(d.name, d.version) for d in quick] == [p for p in every if p[0] != "probe"]
