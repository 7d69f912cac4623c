"""The pinned MLflow client against ``modelreg serve``: what a team's notebooks and
serving images already do with MLflow, unchanged, on a git registry."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelreg.registry import Registry

from ..conftest import Cli, Showcase
from ..server.conftest import Server


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


def test_search_and_get(server: Server, mlflow_at: Callable[..., Any]) -> None:
    client = mlflow_at(server)
    names = [m.name for m in client.search_registered_models()]
    assert names == ["embedder", "legacy", "ranker", "team.fraud"]  # '/' spelt '.'
    fraud = client.get_registered_model("team.fraud")
    assert {a: v for a, v in fraud.aliases.items()} == {
        "dev": "2", "production": "2", "staging": "3"
    }  # fmt: skip
    versions = client.search_model_versions("name='team.fraud'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    v2 = client.get_model_version("team.fraud", "2")
    assert v2.tags["modelreg.version"] == "0.2.0"
    assert v2.current_stage == "Production"
    assert v2.aliases == ["dev", "production"]
    assert v2.creation_timestamp > 1_000_000_000_000  # milliseconds
    by_alias = client.get_model_version_by_alias("team.fraud", "production")
    assert by_alias.version == "2"
    embedder = client.get_model_version("embedder", "1")
    assert embedder.description == "text embedder, 128 dimensions"
    assert embedder.tags["team"] == "search"
    assert embedder.tags["modelreg.metric.auc"] == "0.81"
    assert client.get_model_version("embedder", "2").current_stage == "Archived"  # deregistered


def test_filters_and_pages(server: Server, mlflow_at: Callable[..., Any]) -> None:
    client = mlflow_at(server)
    assert [m.name for m in client.search_registered_models("name LIKE '%er'")] == [
        "embedder", "ranker"
    ]  # fmt: skip
    assert [m.name for m in client.search_registered_models("name = 'ranker'")] == ["ranker"]
    first = client.search_registered_models(max_results=3)
    assert [m.name for m in first] == ["embedder", "legacy", "ranker"]
    assert first.token
    rest = client.search_registered_models(max_results=3, page_token=first.token)
    assert [m.name for m in rest] == ["team.fraud"] and not rest.token
    found = client.search_model_versions("name = 'embedder' AND tag.`modelreg.version` = '2.0.0'")
    assert [v.version for v in found] == ["3"]
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as refused:
        client.search_registered_models("name ~ 'x'")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as missing:
        client.get_registered_model("nope")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_by_alias_and_latest(
    server: Server, showcase: Showcase, mlflow_at: Callable[..., Any], tmp_path: Path
) -> None:
    import mlflow

    mlflow_at(server)
    registry = Registry(showcase.root)
    for uri, ref in (
        ("models:/team.fraud@production", "team/fraud#production"),
        ("models:/team.fraud/latest", "team/fraud@latest"),
        ("models:/embedder/3", "embedder@v2.0.0"),
    ):
        out = tmp_path / ref.replace("/", "_").replace("#", "_").replace("@", "_")
        out.mkdir()
        got = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(out)))
        expected = registry.files(ref).files
        assert expected
        for file in expected:
            assert sha(got / file.path) == file.sha256, (uri, file.path)


def test_set_alias_promotes_and_delete_unassigns(
    server: Server, showcase: Showcase, mlflow_at: Callable[..., Any], cli: Cli
) -> None:
    client = mlflow_at(server)
    client.set_registered_model_alias("team.fraud", "production", "3")
    resolved = cli.ok("-C", showcase.root, "resolve", "team/fraud#production").stdout
    assert "0.3.0" in resolved
    assert client.get_model_version_by_alias("team.fraud", "production").version == "3"
    client.delete_registered_model_alias("team.fraud", "dev")
    history = cli.ok("-C", showcase.root, "history", "team/fraud").stdout
    assert "unassign" in history
    assert "dev" not in client.get_registered_model("team.fraud").aliases


def test_gate_refusal_is_an_mlflow_exception(
    server: Server, showcase: Showcase, mlflow_at: Callable[..., Any]
) -> None:
    from mlflow.exceptions import MlflowException

    client = mlflow_at(server)
    # The registry allows only its configured stages: "qa" is refused by that gate.
    with pytest.raises(MlflowException) as refused:
        client.set_registered_model_alias("ranker", "qa", "1")
    assert refused.value.error_code == "PERMISSION_DENIED", refused.value
    assert "qa" not in client.get_registered_model("ranker").aliases


def test_pyfunc_model_registered_with_modelreg_loads_and_predicts(
    tmp_path: Path, cli: Cli, serve: Callable[..., Server], mlflow_at: Callable[..., Any]
) -> None:
    import mlflow.pyfunc
    import pandas as pd

    from .pyfunc_model import AddN

    saved = tmp_path / "addn"
    mlflow.pyfunc.save_model(str(saved), python_model=AddN(5), pip_requirements=[])
    root = tmp_path / "registry"
    root.mkdir()
    cli.ok("-C", root, "init")
    cli.ok("-C", root, "register", "adder", saved, "--version", "1.0.0")
    cli.ok("-C", root, "promote", "adder@v1.0.0", "--to", "production", "--force", "-m", "first")
    server = serve(root)
    mlflow_at(server)
    model = mlflow.pyfunc.load_model("models:/adder@production")
    predicted = model.predict(pd.DataFrame({"x": [1, 2, 3]}))
    assert list(predicted["x"]) == [6, 7, 8]


def test_tokens_bearer_and_basic(
    showcase: Showcase,
    cli: Cli,
    serve: Callable[..., Server],
    mlflow_at: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow.exceptions import MlflowException

    reader = cli.ok("-C", showcase.root, "token", "add", "nb", "--role", "read").stdout.split()[-1]
    writer = cli.ok("-C", showcase.root, "token", "add", "ci", "--role", "write").stdout
    server = serve(showcase.root)
    client = mlflow_at(server, token=reader)
    assert client.get_model_version_by_alias("team.fraud", "production").version == "2"
    assert client.get_latest_versions("team.fraud")  # POSTed, yet a read
    with pytest.raises(MlflowException) as forbidden:
        client.set_registered_model_alias("team.fraud", "production", "3")
    assert forbidden.value.error_code == "PERMISSION_DENIED"
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ci")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", writer.split()[-1])
    client.set_registered_model_alias("team.fraud", "production", "3")
    history = cli.ok("-C", showcase.root, "history", "team/fraud").stdout
    assert "ci" in history.splitlines()[-1]
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    with pytest.raises(MlflowException) as unauthenticated:
        client.search_registered_models()
    assert unauthenticated.value.error_code == "UNAUTHENTICATED"


def test_a_new_version_from_uploaded_files_and_a_stage_transition(
    tmp_path: Path, cli: Cli, serve: Callable[..., Server], mlflow_at: Callable[..., Any]
) -> None:
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from .pyfunc_model import AddN

    root = tmp_path / "registry"
    root.mkdir()
    cli.ok("-C", root, "init")
    client = mlflow_at(serve(root))
    for n, folder in ((1, "first"), (2, "second")):
        saved = tmp_path / f"add{n}"
        mlflow.pyfunc.save_model(str(saved), python_model=AddN(n), pip_requirements=[])
        get_artifact_repository(f"mlflow-artifacts:/uploads/{folder}").log_artifacts(str(saved))
        if n == 1:
            client.create_registered_model("adder")
        else:
            with pytest.raises(MlflowException) as exists:
                client.create_registered_model("adder")
            assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
        created = client.create_model_version(
            "adder", f"mlflow-artifacts:/uploads/{folder}", tags={"modelreg.version": f"{n}.0.0"},
            description=f"adds {n}",
        )  # fmt: skip
        assert created.version == str(n)
    assert "1.0.0" in cli.ok("-C", root, "show", "adder@v1.0.0").stdout
    client.transition_model_version_stage("adder", "2", "Staging")
    assert cli.ok("-C", root, "resolve", "adder#staging").stdout.strip().endswith("2.0.0")
    model = mlflow.pyfunc.load_model("models:/adder/Staging")
    assert list(model.predict(pd.DataFrame({"x": [1]}))["x"]) == [3]
    client.transition_model_version_stage("adder", "1", "Archived")
    assert client.get_model_version("adder", "1").current_stage == "Archived"
    with pytest.raises(MlflowException) as elsewhere:
        client.create_model_version("adder", "s3://bucket/model")
    assert elsewhere.value.error_code == "INVALID_PARAMETER_VALUE"
