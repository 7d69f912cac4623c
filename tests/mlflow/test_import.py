"""``modelreg import mlflow`` against a real MLflow server (SQLite backend,
artifacts proxied), populated here through the pinned MLflow client."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelreg.registry import Registry

from .. import servers
from ..conftest import Cli, git


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Source:
    """The MLflow registry being built: what was uploaded for each version."""

    def __init__(self, url: str, tmp: Path) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=url, registry_uri=url)
        self.tmp = tmp
        self.experiment = self.client.create_experiment("models")
        self.files: dict[tuple[str, int], dict[str, str]] = {}

    def version(self, name: str, **tags: str) -> int:
        """A new version of ``name`` with two files (one in a sub-folder)."""
        from mlflow.exceptions import MlflowException

        with contextlib.suppress(MlflowException):  # it exists already
            self.client.create_registered_model(name, description=f"{name} model")
        run = self.client.create_run(self.experiment)
        n = len([k for k in self.files if k[0] == name]) + 1
        folder = self.tmp / f"{name}-{n}"
        (folder / "sub").mkdir(parents=True)
        content = {"model.bin": f"{name} weights {n}\n".encode() * 100, "sub/conf.txt": b"c=%d" % n}
        for path, data in content.items():
            (folder / path).write_bytes(data)
        self.client.log_artifacts(run.info.run_id, str(folder), "model")
        created = self.client.create_model_version(
            name,
            f"{run.info.artifact_uri}/model",
            run.info.run_id,
            tags=tags,
            description=f"{name} number {n}",
        )
        assert int(created.version) == n
        self.files[(name, n)] = {p: sha(d) for p, d in content.items()}
        return n


@pytest.fixture
def source(
    mlflow_server: servers.MlflowServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Source]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)  # for artifact uploads
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    yield Source(mlflow_server.url, tmp_path / "uploads")


def imported(cli: Cli, root: Path, url: str, *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        cli.ok("-C", root, "import", "mlflow", url, "--json", *args).stdout
    )
    return document


def stage_events(registry: Registry, name: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.event, e.version, e.stage) for e in registry.history(name)]


def test_import_carries_files_stages_aliases_in_order_and_reruns_import_nothing(
    source: Source, mlflow_server: servers.MlflowServer, cli: Cli, tmp_path: Path
) -> None:
    client = source.client
    for _ in range(3):
        source.version("fraud", team="risk")
    source.version("team.ranker")
    source.version("team.ranker")
    client.transition_model_version_stage("fraud", "1", "Staging")
    client.transition_model_version_stage("fraud", "1", "Production")
    client.transition_model_version_stage("fraud", "2", "Staging")
    client.transition_model_version_stage("fraud", "3", "Archived")
    client.set_registered_model_alias("fraud", "champion", "2")
    client.transition_model_version_stage("team.ranker", "2", "Production")

    root = tmp_path / "registry"
    root.mkdir()
    cli.ok("-C", root, "init")
    refused = cli("-C", root, "import", "mlflow", mlflow_server.url)
    assert refused.exit_code == 1 and "champion" in refused.stderr, refused
    assert git(root, "tag", "--list") == ""  # refused before anything was written
    config = root / ".modelreg.yaml"
    config.write_text(config.read_text().replace("- production", "- production\n- champion"))
    git(root, "commit", "-qam", "champion is a stage")
    first = imported(cli, root, mlflow_server.url)
    registry = Registry(root)

    # every version's bytes, verified by the registry's own sha256s
    for (name, n), files in source.files.items():
        ours = name.replace(".", "/")
        manifest = registry.manifest_at(ours, f"{n}.0.0")  # a deregistered one too
        assert manifest is not None
        assert {a.path: a.sha256 for a in manifest.artifacts} == files, (name, n)
        assert manifest.labels["mlflow.version"] == str(n)
    fraud1 = registry.manifest_at("fraud", "1.0.0")
    assert fraud1 is not None and fraud1.description == "fraud number 1"
    assert fraud1.labels["team"] == "risk"
    out = tmp_path / "got"
    registry.get("fraud@v2.0.0", out)  # the bytes themselves, from the registry's store
    assert (
        sha((out / "sub" / "conf.txt").read_bytes()) == source.files[("fraud", 2)]["sub/conf.txt"]
    )

    # every transition, in the order MLflow last changed each version
    assert stage_events(registry, "fraud") == [
        ("register", "1.0.0", None),
        ("register", "2.0.0", None),
        ("register", "3.0.0", None),
        ("assign", "1.0.0", "production"),
        ("assign", "2.0.0", "staging"),
        ("deregister", "3.0.0", None),
        ("assign", "2.0.0", "champion"),
    ]
    assert stage_events(registry, "team/ranker")[-1] == ("assign", "2.0.0", "production")
    assert registry.resolve("fraud#champion").version == "2.0.0"
    assert registry.resolve("fraud#production").version == "1.0.0"
    assert [s["event"] for s in first["steps"]].count("register") == 5

    # again: nothing new, not one tag more
    tags = git(root, "tag", "--list")
    again = imported(cli, root, mlflow_server.url)
    assert again["steps"] == [] and again["skipped"] == 5
    assert git(root, "tag", "--list") == tags

    # MLflow moves on: only what is new arrives
    source.version("fraud")
    client.set_registered_model_alias("fraud", "champion", "4")
    later = imported(cli, root, mlflow_server.url, "--model", "fraud")
    assert [(s["event"], s["version"], s["stage"]) for s in later["steps"]] == [
        ("register", "4.0.0", None),
        ("assign", "4.0.0", "champion"),
    ]
    assert Registry(root).resolve("fraud#champion").version == "4.0.0"


def test_an_unreachable_server_is_an_error_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    from ..server.conftest import free_port

    root = tmp_path / "registry"
    root.mkdir()
    cli.ok("-C", root, "init")
    tags = git(root, "tag", "--list")
    failed = cli("-C", root, "import", "mlflow", f"http://127.0.0.1:{free_port()}")
    assert failed.exit_code == 1
    assert "cannot reach MLflow" in failed.stderr
    assert git(root, "tag", "--list") == tags
