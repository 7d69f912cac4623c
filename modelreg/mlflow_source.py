"""An MLflow tracking server read over its REST API: the one place modelreg talks
to MLflow (``modelreg import mlflow``).

It speaks plain HTTP with the standard library rather than importing MLflow: the
import needs six read endpoints, and the MLflow client is hundreds of modules
with pins of its own. Credentials are MLflow's own environment variables
(``MLFLOW_TRACKING_TOKEN`` as Bearer, ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` as
basic auth), so whatever already reaches the server from a notebook reaches it
from here.

A version's files are fetched through the server's artifact service
(``mlflow-artifacts:`` URIs, the default of ``mlflow server`` since 2.0) or read
from a local folder (``file:`` URIs, a server without ``--serve-artifacts``);
an artifact store the server does not proxy (``s3://`` ...) is refused with a
hint, not guessed at.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Kind, ModelregError

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PAGE = 1000
CHUNK = 1 << 20
TIMEOUT = 60


class MlflowSourceError(ModelregError):
    """The MLflow server could not be read, or answered what the import cannot use."""

    kind = Kind.UNAVAILABLE


@dataclass(frozen=True)
class SourceVersion:
    """One MLflow model version as its server describes it."""

    model: str
    number: int
    stage: str  # "None", "Staging", "Production", "Archived" (or another word)
    description: str
    tags: dict[str, str]
    run_id: str
    user_id: str
    created: int  # ms
    updated: int  # ms


@dataclass(frozen=True)
class SourceModel:
    name: str
    description: str
    aliases: dict[str, int]  # alias -> version number
    versions: tuple[SourceVersion, ...] = field(default=())  # by number


class MlflowSource:
    """Reads an MLflow registry at ``tracking_uri`` (``http(s)://host:port``)."""

    def __init__(self, tracking_uri: str) -> None:
        parsed = urllib.parse.urlsplit(tracking_uri)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise MlflowSourceError(
                f"'{tracking_uri}' is not the URL of an MLflow tracking server",
                hint="give its http(s):// address, as MLFLOW_TRACKING_URI would be",
            )
        self.uri = tracking_uri.rstrip("/")
        self.headers = _credentials()

    # --- HTTP ---------------------------------------------------------------------

    def _open(self, path: str, query: dict[str, Any] | None = None) -> Any:
        url = self.uri + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        request = urllib.request.Request(url, headers=self.headers)
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            body = exc.read(4096).decode("utf-8", "replace")
            try:
                said = json.loads(body)
                detail = f"{said.get('error_code')}: {said.get('message')}"
            except (ValueError, AttributeError):
                detail = body.strip()[:200] or exc.reason
            raise MlflowSourceError(
                f"MLflow at {self.uri} answered {exc.code} to {path}: {detail}",
                hint="check the URL and MLFLOW_TRACKING_TOKEN (or USERNAME/PASSWORD)",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MlflowSourceError(
                f"cannot reach MLflow at {self.uri}: {reason}",
                hint="is 'mlflow server' running there?",
            ) from None

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        with self._open(API + path, query) as answer:
            try:
                document = json.loads(answer.read())
            except ValueError:
                raise MlflowSourceError(f"MLflow at {self.uri}: {path} is not JSON") from None
        if not isinstance(document, dict):
            raise MlflowSourceError(f"MLflow at {self.uri}: {path} is not a JSON object")
        return document

    def _pages(self, path: str, key: str, **query: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            document = self.get(
                path, max_results=PAGE, **query, **({"page_token": token} if token else {})
            )
            yield from document.get(key, [])
            token = document.get("next_page_token")
            if not token:
                return

    # --- the registry ---------------------------------------------------------------

    def model_names(self) -> list[str]:
        return sorted(
            m["name"] for m in self._pages("/registered-models/search", "registered_models")
        )

    def model(self, name: str) -> SourceModel:
        found = self.get("/registered-models/get", name=name)["registered_model"]
        aliases = {a["alias"]: int(a["version"]) for a in found.get("aliases", [])}
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        versions = [
            _version(v)
            for v in self._pages(
                "/model-versions/search", "model_versions", filter=f"name = '{quoted}'"
            )
            if v.get("name") == name
        ]
        versions.sort(key=lambda v: v.number)
        return SourceModel(name, found.get("description") or "", aliases, tuple(versions))

    # --- files -------------------------------------------------------------------------

    def download(self, version: SourceVersion, into: Path) -> None:
        """Every file of ``version`` into the empty folder ``into``."""
        uri = self.get(
            "/model-versions/get-download-uri", name=version.model, version=str(version.number)
        )["artifact_uri"]
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme == "mlflow-artifacts":
            self._fetch_tree(parsed.path.lstrip("/"), into)
        elif parsed.scheme in ("http", "https") and ARTIFACTS in parsed.path:
            self._fetch_tree(parsed.path.split(ARTIFACTS, 1)[1].lstrip("/"), into)
        elif parsed.scheme in ("file", ""):
            local = Path(urllib.parse.unquote(parsed.path))
            if not local.exists():
                raise MlflowSourceError(
                    f"{version.model} v{version.number}: its files are at {uri}, not on this "
                    "machine",
                    hint="run the import where that folder is, or serve artifacts "
                    "('mlflow server --serve-artifacts')",
                )
            if local.is_dir():
                shutil.copytree(local, into, dirs_exist_ok=True)
            else:
                shutil.copy2(local, into / local.name)
        else:
            raise MlflowSourceError(
                f"{version.model} v{version.number}: its files are at {uri}, which the MLflow "
                "server does not serve",
                hint="start 'mlflow server' with --serve-artifacts (the default), or copy them",
            )

    def _fetch_tree(self, root: str, into: Path) -> None:
        with self._open(ARTIFACTS, {"path": root}) as answer:
            listing = json.loads(answer.read()).get("files", [])
        for entry in listing:
            name = entry.get("path", "")
            if not name or name in (".", "..") or "/" in name or "\\" in name:
                raise MlflowSourceError(f"MLflow listed an unsafe artifact name '{name}' in {root}")
            remote = f"{root}/{name}"
            if entry.get("is_dir"):
                (into / name).mkdir()
                self._fetch_tree(remote, into / name)
                continue
            url = ARTIFACTS + "/" + urllib.parse.quote(remote)
            with self._open(url) as answer, (into / name).open("wb") as out:
                shutil.copyfileobj(answer, out, CHUNK)
            size = entry.get("file_size")
            if size is not None and (into / name).stat().st_size != int(size):
                raise MlflowSourceError(
                    f"{remote}: MLflow listed {size} bytes and sent {(into / name).stat().st_size}"
                )


def _version(found: dict[str, Any]) -> SourceVersion:
    return SourceVersion(
        model=found["name"],
        number=int(found["version"]),
        stage=found.get("current_stage") or "None",
        description=found.get("description") or "",
        tags={t["key"]: t["value"] for t in found.get("tags", [])},
        run_id=found.get("run_id") or "",
        user_id=found.get("user_id") or "",
        created=int(found.get("creation_timestamp") or 0),
        updated=int(found.get("last_updated_timestamp") or 0),
    )


def _credentials() -> dict[str, str]:
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    return {}
