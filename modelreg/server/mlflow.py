"""The part of MLflow's REST API an unmodified MLflow client uses on a registry.

Under ``/api/2.0/mlflow/`` (and ``/ajax-api/2.0/mlflow/``, the spelling MLflow's
own web page uses): registered models (get, search, latest versions, aliases)
and model versions (get, search, download URI, stage transitions); under
``/api/2.0/mlflow-artifacts/artifacts`` a version's files, listed and sent from
the library's verified local files. What each MLflow word means in modelreg is
:mod:`modelreg.mlflow_map`'s; a route here reads the request as MLflow's client
sends it (GET: the query; otherwise a JSON body), calls the library, and answers
in MLflow's shapes, errors included (``{"error_code", "message"}``), so the
client raises an ``MlflowException`` with the code it knows.

New versions: a client PUTs the files under ``mlflow-artifacts:/uploads/FOLDER/``
(kept in the server's state directory, outside git, until registered), then
``model-versions/create`` with that folder as ``source`` registers them, as
``POST /v2/models/register`` does (the tag ``modelreg.version`` picks the SemVer;
without it the next minor). ``registered-models/create`` writes nothing: a
modelreg model exists from its first version on.

Writes: setting an alias is a promote (the gates apply; a refusal is
``PERMISSION_DENIED`` with the gate's words), deleting one is an unassign, and
``transition-stage`` is a promote to the stage's lower-case name (``Archived``:
deregister; ``None``: unassign every stage the version holds).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import mlflow_map as mm
from ..errors import ModelregError
from ..paths import inside, path_problem
from ..registry import Registry
from ..results import EventResult
from . import files
from .api import cached
from .context import context
from .http import blocking, json_body, json_response
from .refs import Target
from .uploads import link_or_copy, staging_folder

Endpoint = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")
PREFIXES = ("/api/2.0", "/ajax-api/2.0")
ARTIFACTS = "/mlflow-artifacts/artifacts"


def mlflow_errors(endpoint: Endpoint) -> Endpoint:
    """Any error as MLflow's error document, with the status MLflow gives its code."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ModelregError as exc:
            document, status = mm.error_document(exc)
            return json_response(document, status)

    return answer


async def params(request: Request) -> dict[str, Any]:
    """The request's message: GET sends it as the query (a repeated field as the
    name repeated), the other methods as a JSON body."""
    found: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        found[key] = values if len(values) > 1 or key in ("stages", "order_by") else values[0]
    if request.method != "GET":
        found.update(await json_body(request))
    return found


def text(message: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = message.get(key)
    if value is None or value == "":
        if required:
            raise mm.MlflowError(
                mm.INVALID_PARAMETER_VALUE, f"Missing value for required parameter '{key}'"
            )
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise mm.MlflowError(mm.INVALID_PARAMETER_VALUE, f"'{key}' must be a string")
    return str(value)


def strings(message: dict[str, Any], key: str) -> list[str]:
    value = message.get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise mm.MlflowError(mm.INVALID_PARAMETER_VALUE, f"'{key}' must be a list of strings")
    return values


def key_of(request: Request, message: dict[str, Any]) -> tuple[Any, ...]:
    return ("mlflow", request.url.path, repr(sorted(message.items())))


# --- registered models ------------------------------------------------------------------


@mlflow_errors
async def get_model(request: Request) -> Response:
    message = await params(request)
    name = text(message, "name")
    return await cached(
        request,
        key_of(request, message),
        lambda r: {"registered_model": mm.model_doc(mm.one(r, name))},
    )


def search_request(
    message: dict[str, Any], attributes: Sequence[str], default: int, limit: int
) -> tuple[list[mm.Clause], int, list[str], str | None]:
    """What both searches take: the filter's clauses, the page size (``default``,
    at most ``limit``), the ordering asked for, and the page token."""
    clauses = mm.parse_filter(text(message, "filter", required=False), attributes)
    size = mm.max_results(message.get("max_results"), default, limit)
    order_by = strings(message, "order_by")
    token = text(message, "page_token", required=False) or None
    return clauses, size, order_by, token


@mlflow_errors
async def search_models(request: Request) -> Response:
    message = await params(request)
    clauses, size, order_by, token = search_request(message, mm.MODEL_ATTRIBUTES, 100, 1000)

    def document(registry: Registry) -> dict[str, Any]:
        docs = [mm.model_doc(m) for m in mm.view(registry).values()]
        docs = [d for d in docs if mm.matches(clauses, mm.model_row(d))]
        docs = mm.order(docs, order_by, mm.MODEL_ORDER, "name ASC")
        return mm.paged("registered_models", docs, size, token)

    return await cached(request, key_of(request, message), document)


@mlflow_errors
async def latest_versions(request: Request) -> Response:
    message = await params(request)
    name = text(message, "name")
    stages = strings(message, "stages")
    return await cached(
        request,
        key_of(request, message),
        lambda r: {
            "model_versions": [
                mm.version_doc(v) for v in mm.latest_versions(mm.one(r, name), stages)
            ]
        },
    )


@mlflow_errors
async def alias(request: Request) -> Response:
    message = await params(request)
    name = text(message, "name")
    alias_name = text(message, "alias")
    if request.method == "GET":
        return await cached(
            request,
            key_of(request, message),
            lambda r: {"model_version": mm.version_doc(mm.one(r, name).by_alias(alias_name))},
        )
    if request.method == "POST":
        number = text(message, "version")

        def promote(registry: Registry, push: bool) -> EventResult:
            version = mm.one(registry, name).version(number)
            return registry.promote(f"{version.model}@v{version.semver}", alias_name, push=push)

        await write(request, promote)
        return json_response({})

    def unassign(registry: Registry, push: bool) -> EventResult:
        model = mm.one(registry, name)
        model.by_alias(alias_name)  # MLflow's not-found when no version holds it
        return registry.unassign(model.name, alias_name, push=push)

    await write(request, unassign)
    return json_response({})


async def write(
    request: Request, operation: Callable[[Registry, bool], T], *, commits: bool = False
) -> T:
    """A write in the server's turn, published (and retried on top of another
    replica's) when the repository has a remote: :meth:`.context.ServerContext.write`."""
    return await blocking(context(request).write, operation, commits=commits)


# --- model versions ---------------------------------------------------------------------


@mlflow_errors
async def get_version(request: Request) -> Response:
    message = await params(request)
    name, number = text(message, "name"), text(message, "version")
    return await cached(
        request,
        key_of(request, message),
        lambda r: {"model_version": mm.version_doc(mm.one(r, name).version(number))},
    )


@mlflow_errors
async def download_uri(request: Request) -> Response:
    message = await params(request)
    name, number = text(message, "name"), text(message, "version")

    def document(registry: Registry) -> dict[str, Any]:
        version = mm.one(registry, name).version(number)
        return {"artifact_uri": mm.download_uri(version.model, version.ordinal)}

    return await cached(request, key_of(request, message), document)


@mlflow_errors
async def search_versions(request: Request) -> Response:
    message = await params(request)
    clauses, size, order_by, token = search_request(message, mm.VERSION_ATTRIBUTES, 10000, 200000)
    named = [
        c.value for c in clauses if c.key == "name" and c.op == "=" and isinstance(c.value, str)
    ]

    def document(registry: Registry) -> dict[str, Any]:
        models = mm.view(registry, [mm.modelreg_name(n) for n in named[:1]] or None).values()
        docs = [mm.version_doc(v) for m in models for v in m.versions]
        docs = [d for d in docs if mm.matches(clauses, mm.version_row(d))]
        docs = mm.order(
            docs, order_by or ["name ASC", "version_number DESC"], mm.VERSION_ORDER, "name ASC"
        )
        return mm.paged("model_versions", docs, size, token)

    return await cached(request, key_of(request, message), document)


@mlflow_errors
async def transition_stage(request: Request) -> Response:
    message = await params(request)
    name, number = text(message, "name"), text(message, "version")
    stage = text(message, "stage")

    def transition(registry: Registry, push: bool) -> EventResult:
        version = mm.one(registry, name).version(number)
        ref = f"{version.model}@v{version.semver}"
        if stage.lower() == "archived":
            return registry.deprecate(ref, push=push, message="archived through MLflow's API")
        if stage.lower() == "none":
            result = None
            for held in version.state.stages:
                result = registry.unassign(version.model, held, push=push)
            if result is None:
                semver = version.semver
                return EventResult(version.model, "unassign", semver, None, None, changed=False)
            return result
        return registry.promote(ref, stage.lower(), push=push)

    await write(request, transition)

    def document(registry: Registry) -> dict[str, Any]:
        return {"model_version": mm.version_doc(mm.one(registry, name).version(number))}

    return json_response(await blocking(lambda: document(context(request).registry())))


# --- new versions ---------------------------------------------------------------------

UPLOADS = "uploads"  # mlflow-artifacts:/uploads/...: files waiting for model-versions/create


def uploads_dir(request: Request) -> Path:
    return context(request).state_dir / "mlflow-uploads"


def _upload_path(request: Request, path: str, *, folder: bool = False) -> Path:
    """Where an uploaded file (or, ``folder``, a version's uploaded folder) is kept."""
    parts = path.split("/")
    if (
        len(parts) < (2 if folder else 3)
        or parts[0] != UPLOADS
        or path_problem(path) is not None
        or any(p.startswith(".") for p in parts)  # .NAME.partial is the server's own
    ):
        raise mm.MlflowError(
            mm.INVALID_PARAMETER_VALUE,
            f"files are uploaded to {UPLOADS}/FOLDER/PATH, not to '{path}'",
            hint="then create a model version with source mlflow-artifacts:/uploads/FOLDER",
        )
    return inside(uploads_dir(request), path, "MLflow upload")


@mlflow_errors
async def upload_artifact(request: Request) -> Response:
    """PUT one file of a version to come (``log_artifact(s)`` of ``mlflow-artifacts:``).
    The upload settings apply: at most ``upload_max_size`` bytes a file, and a
    folder nobody registered is removed ``upload_max_age`` seconds after its last file."""
    settings = context(request).settings
    target = _upload_path(request, request.path_params["path"])
    await blocking(_sweep, uploads_dir(request) / UPLOADS, settings.upload_max_age)
    await blocking(lambda: target.parent.mkdir(parents=True, exist_ok=True))
    partial = target.with_name(f".{target.name}.partial")
    handle = await blocking(partial.open, "wb")
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.upload_max_size:
                raise mm.MlflowError(
                    mm.INVALID_PARAMETER_VALUE,
                    f"the file is over {settings.upload_max_size} bytes (MODELREG_UPLOAD_MAX_SIZE)",
                )
            await blocking(handle.write, chunk)
    except BaseException:
        handle.close()
        partial.unlink(missing_ok=True)
        raise
    handle.close()
    await blocking(partial.replace, target)
    top = uploads_dir(request).joinpath(*target.relative_to(uploads_dir(request)).parts[:2])
    await blocking(os.utime, top)  # the folder's age is its last file's
    return json_response({})


def _sweep(area: Path, max_age: float) -> None:
    """Remove upload folders whose last file came more than ``max_age`` seconds ago."""
    import time

    if not area.is_dir():
        return
    now = time.time()
    for folder in area.iterdir():
        with contextlib.suppress(OSError):
            if now - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _staged(folder: Path, root: Path) -> Iterator[Path]:
    """The uploaded folder linked into the work tree (register refuses files inside
    ``.git``, where uploads are kept), as :mod:`.uploads` stages its files, under
    its prefix so a server killed meanwhile has the folder swept at start-up."""

    staged = staging_folder(root)
    try:
        shutil.copytree(folder, staged, copy_function=link_or_copy)
        yield staged
    finally:
        shutil.rmtree(staged, ignore_errors=True)


@mlflow_errors
async def create_model(request: Request) -> Response:
    """A model exists from its first version on: this checks the name and writes nothing."""
    message = await params(request)
    name = text(message, "name")

    def document(registry: Registry) -> dict[str, Any]:
        from ..tags import validate_new_name

        target = mm.modelreg_name(name)
        if target in registry.state().models:
            raise mm.MlflowError(
                mm.RESOURCE_ALREADY_EXISTS, f"Registered Model (name={name}) already exists."
            )
        validate_new_name(target)
        return {"registered_model": {"name": mm.mlflow_name(target)}}

    return json_response(await blocking(lambda: document(context(request).registry())))


@mlflow_errors
async def create_version(request: Request) -> Response:
    message = await params(request)
    name, source = text(message, "name"), text(message, "source")
    description = text(message, "description", required=False) or None
    tags = message.get("tags") or []
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("key"), str) and isinstance(t.get("value"), str)
        for t in tags
    ):
        raise mm.MlflowError(mm.INVALID_PARAMETER_VALUE, "'tags' must be a list of {key, value}")
    labels = {t["key"]: t["value"] for t in tags}
    version = labels.pop(mm.VERSION_TAG, None)
    folder = _upload_path(
        request, source.removeprefix("mlflow-artifacts:").lstrip("/"), folder=True
    )
    if not source.startswith("mlflow-artifacts:") or not folder.is_dir():
        raise mm.MlflowError(
            mm.INVALID_PARAMETER_VALUE,
            f"source '{source}' is no folder of files uploaded to this server",
            hint="upload them to mlflow-artifacts:/uploads/FOLDER first (log_artifacts)",
        )
    target = mm.modelreg_name(name)

    def register(registry: Registry, push: bool) -> str:
        with _staged(folder, registry.root) as staged:
            result = registry.register(
                target,
                staged,
                version=version,
                bump=None if version else "minor",
                description=description,
                labels=labels,
                message="registered through MLflow's API",
                push=push,
                remember_in=context(request).known,
            )
        return result.version

    semver = await write(request, register, commits=True)
    await blocking(shutil.rmtree, folder, True)

    def document(registry: Registry) -> dict[str, Any]:
        found = mm.one(registry, target).by_semver(semver)
        assert found is not None
        return {"model_version": mm.version_doc(found)}

    return json_response(await blocking(lambda: document(context(request).registry())))


# --- artifacts ----------------------------------------------------------------------------


def _locate(registry: Registry, path: str) -> tuple[mm.MlModel, mm.MlVersion, str]:
    if any(part in (".", "..") for part in path.split("/")) or "\\" in path:
        raise mm.MlflowError(mm.INVALID_PARAMETER_VALUE, f"Invalid path '{path}'")
    names = registry.state().models
    found = mm.split_artifact_path(path, names)
    if found is None:
        raise mm.MlflowError(
            mm.RESOURCE_DOES_NOT_EXIST,
            f"No artifacts at '{path}'",
            hint=f"this server's artifacts are {mm.ARTIFACT_ROOT}/NAME/VERSION/...",
        )
    name, number, inside = found
    model = mm.one(registry, name)
    return model, model.version(number), inside


@mlflow_errors
async def list_artifacts(request: Request) -> Response:
    path = request.query_params.get("path", "")

    def document(registry: Registry) -> dict[str, Any]:
        if path.strip("/") in ("", mm.ARTIFACT_ROOT):
            return {"files": []}  # the roots are not listed: a version's files are
        model, version, inside = _locate(registry, path)
        listed = registry.files(f"{model.name}@v{version.semver}")
        return {"files": mm.listing([(f.path, f.size) for f in listed.files], inside)}

    return await cached(request, ("mlflow-artifacts", path), document)


@mlflow_errors
async def download_artifact(request: Request) -> Response:
    path = request.path_params["path"]
    ctx = context(request)
    model, version, inside = await blocking(lambda: _locate(ctx.registry(), path))
    if not inside:
        raise mm.MlflowError(mm.INVALID_PARAMETER_VALUE, f"'{path}' is a folder, not a file")
    ref = f"{model.name}@v{version.semver}"
    return await files.one_file(request, Target(ref, "files", inside), inside)


@mlflow_errors
async def not_supported(request: Request) -> Response:
    raise mm.MlflowError(
        mm.NOT_IMPLEMENTED,
        f"{request.method} {request.url.path} is not supported by modelreg's MLflow API",
        hint="see README, 'Using MLflow clients'",
    )


def routes() -> list[Route]:
    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/mlflow/registered-models/get", get_model, ["GET"]),
        ("/mlflow/registered-models/search", search_models, ["GET"]),
        ("/mlflow/registered-models/get-latest-versions", latest_versions, ["GET", "POST"]),
        ("/mlflow/registered-models/alias", alias, ["GET", "POST", "DELETE"]),
        ("/mlflow/model-versions/get", get_version, ["GET"]),
        ("/mlflow/model-versions/search", search_versions, ["GET"]),
        ("/mlflow/model-versions/get-download-uri", download_uri, ["GET"]),
        ("/mlflow/model-versions/transition-stage", transition_stage, ["POST"]),
        ("/mlflow/registered-models/create", create_model, ["POST"]),
        ("/mlflow/model-versions/create", create_version, ["POST"]),
        (ARTIFACTS + "/{path:path}", upload_artifact, ["PUT"]),
        (ARTIFACTS, list_artifacts, ["GET"]),
        (ARTIFACTS + "/{path:path}", download_artifact, ["GET", "HEAD"]),
        ("/mlflow/{rest:path}", not_supported, ["GET", "POST", "PATCH", "DELETE", "PUT"]),
    ]
    return [
        Route(prefix + path, endpoint, methods=methods)
        for prefix in PREFIXES
        for path, endpoint, methods in table
    ]
