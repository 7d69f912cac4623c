"""An unmodified MLflow client (the pinned ``mlflow-skinny``) pointed at the real
``modelreg serve`` on 127.0.0.1, as a user points it: ``MLFLOW_TRACKING_URI``,
and ``MLFLOW_TRACKING_TOKEN`` when the registry has tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import servers
from ..server.conftest import Server, serve  # noqa: F401  (the fixture)


@pytest.fixture
def mlflow_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """``mlflow_at(server, token=None)``: a fresh ``MlflowClient`` talking to ``server``
    (the environment is what a user's notebook would set)."""
    import mlflow
    from mlflow import MlflowClient

    def connect(server: Server, token: str | None = None) -> MlflowClient:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        else:
            monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        return MlflowClient()

    yield connect
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[servers.MlflowServer]:
    """A real ``mlflow server`` (SQLite, artifacts proxied) of its own for one test."""
    try:
        server = servers.start_mlflow(tmp_path / "mlflow-server")
    except servers.Unavailable as exc:
        if os.environ.get("MODELREG_REQUIRE_SERVERS") == "1":
            pytest.fail(f"mlflow is required here (MODELREG_REQUIRE_SERVERS=1): {exc}")
        pytest.skip(f"mlflow cannot start: {exc}")
    try:
        yield server
    finally:
        server.process.stop()
