"""The OpenAPI 3.1 description of every endpoint, served at ``/openapi.json``.

Hand-written, in one place, because accuracy is the point: each answer's schema
is the document a :mod:`modelreg.serialize` function returns (the same one
``--json`` prints, README's "JSON output"), each error is the one document
:func:`.http.error_document` writes. ``tests/server/test_openapi.py`` keeps it
honest three ways: every route the application has is described and every
description has a route, real answers from the showcase registry validate
against it, and ``tests/server/test_fuzz.py`` drives the real server from it.

Documents may gain keys (never lose or rename them), so objects here name the
keys an answer always has and leave others allowed.

The operations are kept per ``(method, template)``, the template being what
:attr:`.refs.Target.template` and the metrics call a route; :func:`document`
describes the routes an application has (:func:`app_operations`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Route

from ..errors import Kind
from . import api
from .refs import TEMPLATE

Schema = dict[str, Any]

MODEL_ROUTE = "/v2/models/{rest:path}"
"""The one Starlette route behind every ``/v2/models/{model_id}[/ACTION]`` path."""


# --- JSON Schema building blocks ----------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Schema], *, optional: dict[str, Schema] | None = None) -> Schema:
    """An object that always has ``properties`` and may have ``optional`` (and more)."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": {**properties, **(optional or {})},
    }


def closed(properties: dict[str, Schema], *, optional: dict[str, Schema] | None = None) -> Schema:
    """A request body's object: a key not named here is refused (a 4xx)."""
    return {**obj(properties, optional=optional), "additionalProperties": False}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
OPT_STR: Schema = {"type": ["string", "null"]}
SHA256: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
COMMIT: Schema = {"type": "string", "pattern": "^[0-9a-f]{40,64}$"}
TIME: Schema = {"type": "string", "description": "UTC, ISO 8601 (2026-11-22T16:35:32Z)"}
VERSION: Schema = {"type": "string", "description": "a SemVer, never with the leading v"}

DIGEST: Schema = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {"type": "string", "enum": [kind.value for kind in Kind]},
                    "message": STR,
                    "hint": OPT_STR,
                },
                optional={
                    "params": {
                        **array(STR),
                        "description": "the request's parameters that would fix it "
                        "(force, allow_unresolved...)",
                    }
                },
            )
        }
    ),
    "Manifest": obj(
        {
            "schema": INT,
            "name": STR,
            "version": VERSION,
            "artifacts": array(
                obj({"path": STR, "size": INT, "sha256": SHA256}, optional={"md5": OPT_STR})
            ),
            "created": TIME,
        },
        optional={
            "description": STR,
            "author": STR,
            "license": STR,
            "framework": STR,
            "labels": {"type": "object", "additionalProperties": STR},
            "metrics": {"type": "object", "additionalProperties": NUMBER},
            "params": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
            },
            "dependencies": array(obj({"name": STR, "version": STR})),
            "lineage": {
                "type": "object",
                "properties": {
                    "code_commit": STR,
                    "data": array(obj({"path": STR}, optional={"md5": STR})),
                },
            },
        },
    ),
    "ModelSummary": obj(
        {
            "name": STR,
            "latest": OPT_STR,
            "stages": {
                "type": "object",
                "additionalProperties": STR,
                "description": "stage → the version holding it",
            },
            "versions": {**INT, "description": "active registered versions"},
            "deprecated": BOOL,
        }
    ),
    "Models": obj({"models": array(ref("ModelSummary"))}),
    "Version": obj(
        {
            "name": STR,
            "version": VERSION,
            "commit": COMMIT,
            "tag": OPT_STR,
            "registered": BOOL,
            "active": BOOL,
            "deprecated": BOOL,
            "registered_at": nullable(TIME),
            "author": OPT_STR,
            "stages": array(STR),
            "manifest_sha256": nullable(SHA256),
            "recorded_sha256": nullable(SHA256),
            "manifest": nullable(ref("Manifest")),
        }
    ),
    "Event": obj(
        {
            "time": nullable(TIME),
            "name": STR,
            "event": {
                "type": "string",
                "description": "register, deregister, assign, unassign, rollback, deprecate...",
            },
            "version": OPT_STR,
            "stage": OPT_STR,
            "author": OPT_STR,
            "author_email": OPT_STR,
            "reason": OPT_STR,
            "tag": STR,
            "commit": OPT_STR,
        }
    ),
    "History": obj({"events": array(ref("Event"))}),
    "Resolved": obj({"name": STR, "version": VERSION, "commit": COMMIT}),
    "DependencyNode": obj(
        {
            "name": STR,
            "version": OPT_STR,
            "range": OPT_STR,
            "status": STR,
            "detail": OPT_STR,
            "dependencies": array(ref("DependencyNode")),
        }
    ),
    "DependencyTree": obj(
        {
            "name": STR,
            "version": OPT_STR,
            "stage": OPT_STR,
            "ok": BOOL,
            "tree": ref("DependencyNode"),
            "conflicts": array(obj({"name": STR, "wanted": array(obj({"by": STR, "range": STR}))})),
            "cycles": array(array(STR)),
        }
    ),
    "Dependents": obj(
        {
            "name": STR,
            "stage": OPT_STR,
            "dependents": array(
                obj(
                    {
                        "name": STR,
                        "version": STR,
                        "range": STR,
                        "stages": array(STR),
                        "satisfied_by": OPT_STR,
                    }
                )
            ),
        }
    ),
    "Diff": obj(
        {
            "a": obj({"name": STR, "version": STR}),
            "b": obj({"name": STR, "version": STR}),
            "identical": BOOL,
            "changes": array(
                obj(
                    {
                        "section": STR,
                        "key": STR,
                        "old": {},
                        "new": {},
                        "delta": {"type": ["number", "null"]},
                        "status": STR,
                    }
                )
            ),
            "files": array(
                obj(
                    {
                        "path": STR,
                        "status": STR,
                        "old_size": {"type": ["integer", "null"]},
                        "new_size": {"type": ["integer", "null"]},
                        "old_sha256": nullable(SHA256),
                        "new_sha256": nullable(SHA256),
                    }
                )
            ),
        }
    ),
    "EventWritten": obj(
        {
            "name": STR,
            "event": STR,
            "version": OPT_STR,
            "stage": OPT_STR,
            "tag": {**OPT_STR, "description": "null when nothing needed doing"},
            "previous": {**OPT_STR, "description": "the version that held the stage before"},
            "changed": BOOL,
            "pushed": BOOL,
            "notes": array(STR),
        }
    ),
    "Files": obj({"files": array(obj({"path": STR, "size": INT, "sha256": SHA256}))}),
    "Uploaded": obj(
        {"digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, "size": INT},
        optional={"filename": {**STR, "description": "the name it will have in the version"}},
    ),
    "Registered": obj(
        {"model_id": {**STR, "description": "NAME@vVERSION"}, "name": STR, "version": VERSION},
        optional={"tag": STR, "commit": COMMIT, "pushed": BOOL, "manifest": ref("Manifest")},
    ),
    "Health": obj({"ok": {"const": True}}),
    "Ready": obj(
        {"ok": {"const": True}},
        optional={
            "head": OPT_STR,
            "sync": {"type": "object", "description": "a replica's --sync: how fresh it is"},
        },
    ),
}


REGISTER_METADATA = closed(
    {"name": STR},
    optional={
        "version": {**STR, "description": "the SemVer (or give bump)"},
        "bump": {"enum": ["major", "minor", "patch"], "description": "the latest version, bumped"},
        "schema": {"const": 1},
        "description": STR,
        "author": STR,
        "license": {**STR, "description": "an SPDX expression"},
        "framework": STR,
        "labels": {"type": "object", "additionalProperties": STR},
        "metrics": {"type": "object", "additionalProperties": NUMBER},
        "params": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "dependencies": array({"anyOf": [STR, closed({"name": STR, "version": STR})]}),
        "lineage": {"type": "object", "properties": {"code_commit": STR}},
    },
)
"""What ``register`` takes: the manifest's fields (those the registry does not compute)."""


# --- parameters, bodies, answers ------------------------------------------------


def param(
    name: str,
    where: str,
    schema: Schema,
    text: str,
    *,
    required: bool = False,
    example: str | None = None,
) -> Schema:
    found = {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": text,
    }
    if example is not None:
        found["example"] = example
    return found


MODEL_ID = param(
    "model_id",
    "path",
    {"type": "string", "minLength": 1},
    "a version reference: NAME@vVERSION, NAME@VERSION, NAME@latest, NAME (its latest "
    "version) or NAME#STAGE (the stage's holder; send # as %23). Names may hold / "
    "(team/fraud).",
    example="embedder@v2.0.0",
)
MODEL_NAME = param(
    "model_id",
    "path",
    {"type": "string", "minLength": 1},
    "a model's NAME (a version reference is refused here)",
    example="team/fraud",
)
NAMED: Schema = {"type": "string", "minLength": 1}
REVERSE = param("reverse", "query", BOOL, "newest first")

ERRORS = {
    400: "the request is malformed: its path, a query parameter or its body",
    401: "a token is needed (the server has tokens) or the one given is unknown",
    403: "the token may not do this (a read token writing)",
    404: "no such model, version, stage or file",
    409: "the registry's state or its policy refuses it (exists, gates, stage rules)",
    422: "a name, version or reference that breaks the grammar, or an unsafe path",
    503: "the registry is busy (another write holds its lock) or git/storage failed: retry",
}


def json_answer(text: str, schema: Schema) -> Schema:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def json_body(schema: Schema, example: dict[str, Any], *, required: bool = True) -> Schema:
    return {
        "required": required,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


def operation(
    tag: str,
    summary: str,
    description: str,
    answers: dict[str, Schema],
    *,
    parameters: Iterable[Schema] = (),
    body: Schema | None = None,
    errors: Iterable[int] = (400, 401, 403, 404, 409, 422, 503),
) -> Schema:
    found: Schema = {"tags": [tag], "summary": summary, "description": description}
    if parameters:
        found["parameters"] = list(parameters)
    if body is not None:
        found["requestBody"] = body
    found["responses"] = {
        **answers,
        **{str(status): {"$ref": f"#/components/responses/E{status}"} for status in errors},
    }
    return found


def stage_change(summary: str, description: str, schema: Schema, example: dict[str, Any]) -> Schema:
    return operation(
        "lifecycle",
        summary,
        description,
        {
            "200": json_answer(
                "the event written (or that nothing needed doing)", ref("EventWritten")
            )
        },
        parameters=[MODEL_ID],
        body=json_body(schema, example, required=False),
    )


WRITE_COMMON: dict[str, Schema] = {
    "message": {**STR, "description": "why (the event's reason, shown by history)"},
}
FORCE: Schema = {**BOOL, "description": "skip the gates (stage order, dependencies, checks)"}

OPERATIONS: dict[tuple[str, str], Schema] = {
    ("GET", "/v2/models"): operation(
        "models",
        "List models",
        "Every model with its latest version, stage holders and version count, as "
        "`modelreg list --json`.",
        {"200": json_answer("the models", ref("Models"))},
        parameters=[param("all", "query", BOOL, "include deprecated models")],
    ),
    ("POST", "/v2/models/upload"): operation(
        "models",
        "Upload a file",
        "The file's raw bytes, streamed to disk while their sha256 is computed; register "
        "them within a day with POST /v2/models/register.",
        {"200": json_answer("stored, by its digest", ref("Uploaded"))},
        parameters=[
            param(
                "filename",
                "query",
                STR,
                "the file's name in the version (else Content-Disposition's, else a default)",
            )
        ],
        body={
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        errors=(400, 401, 403, 413, 422, 503),
    ),
    ("POST", "/v2/models/register"): operation(
        "models",
        "Register a version",
        "Uploaded files with their metadata (any manifest field): the same commit and tag "
        "`modelreg register` makes, published when the registry has a git remote.",
        {"201": json_answer("registered", ref("Registered"))},
        body=json_body(
            closed(
                {"metadata": REGISTER_METADATA},
                optional={
                    "file_digest": DIGEST,
                    "files": array(closed({"path": STR, "digest": DIGEST})),
                    "message": {**STR, "description": "why (the event's reason)"},
                    "allow_unresolved": {
                        **BOOL,
                        "description": "register although a dependency has no matching version",
                    },
                },
            ),
            {
                "metadata": {
                    "name": "fraud",
                    "version": "1.0.0",
                    "author": "Ana <ana@example.com>",
                    "license": "MIT",
                },
                "file_digest": "sha256:" + "0" * 64,
            },
        ),
    ),
    ("GET", TEMPLATE): operation(
        "models",
        "Get a version",
        "One version with its manifest, as `modelreg show --json`.",
        {"200": json_answer("the version", ref("Version"))},
        parameters=[MODEL_ID],
    ),
    ("GET", TEMPLATE + "/files"): operation(
        "files",
        "A version's files",
        "Each file's path, size and sha256.",
        {"200": json_answer("the files", ref("Files"))},
        parameters=[MODEL_ID],
    ),
    ("GET", TEMPLATE + "/files/{path}"): operation(
        "files",
        "One file's bytes",
        "Streamed, with Content-Length, ETag (the sha256) and Range.",
        {
            "200": {
                "description": "the bytes (of whatever type the file is)",
                "headers": {
                    "ETag": {"schema": STR, "description": "the file's sha256, quoted"},
                    "Content-Length": {"schema": INT},
                },
                "content": {"*/*": {"schema": {"type": "string"}}},
            },
            "206": {
                "description": "the requested range",
                "content": {"*/*": {"schema": {"type": "string"}}},
            },
            "304": {"description": "unchanged (If-None-Match)"},
            "416": {"$ref": "#/components/responses/E416"},
        },
        parameters=[
            MODEL_ID,
            param("path", "path", NAMED, "the file's path", example="model.pkl"),
            param("Range", "header", STR, "bytes=START-END"),
        ],
    ),
    ("GET", TEMPLATE + "/archive"): operation(
        "files",
        "The version as one tar stream",
        "Every file of the version, in one uncompressed tar.",
        {
            "200": {
                "description": "a tar archive",
                "content": {"application/x-tar": {"schema": {"type": "string"}}},
            }
        },
        parameters=[MODEL_ID],
    ),
    ("GET", TEMPLATE + "/history"): operation(
        "lifecycle",
        "A model's history",
        "Every event of the model, as `modelreg history NAME --json`.",
        {"200": json_answer("the events", ref("History"))},
        parameters=[MODEL_NAME, REVERSE],
    ),
    ("GET", TEMPLATE + "/resolve"): operation(
        "lifecycle",
        "Resolve a reference",
        "Which version and commit a reference names now, as `modelreg resolve --json`.",
        {"200": json_answer("the version", ref("Resolved"))},
        parameters=[MODEL_ID],
    ),
    ("GET", TEMPLATE + "/deps"): operation(
        "lifecycle",
        "Dependencies",
        "The version's dependency tree, or with reverse=true the versions that depend on "
        "the model (then model_id is a model's NAME), as `modelreg deps --json`.",
        {
            "200": json_answer(
                "the tree (or, reversed, the dependents)",
                {"anyOf": [ref("DependencyTree"), ref("Dependents")]},
            )
        },
        parameters=[
            MODEL_ID,
            param(
                "stage",
                "query",
                STR,
                "resolve dependencies as held in this stage",
                example="production",
            ),
            param("reverse", "query", BOOL, "the versions depending on this model"),
        ],
    ),
    ("POST", TEMPLATE + "/promote"): stage_change(
        "Promote",
        "Give the version a stage, through the stage gates (force: past them).",
        obj({"stage": STR}, optional={**WRITE_COMMON, "force": FORCE}),
        {"stage": "staging", "message": "eval passed"},
    ),
    ("POST", TEMPLATE + "/rollback"): stage_change(
        "Roll back",
        "Give the stage back to the version that held it before (or to `to`).",
        obj({"stage": STR}, optional={**WRITE_COMMON, "to": STR, "force": FORCE}),
        {"stage": "production", "message": "latency regression"},
    ),
    ("POST", TEMPLATE + "/deprecate"): stage_change(
        "Deprecate",
        "Deprecate a model (NAME) or deregister one version (NAME@vVERSION).",
        obj({}, optional=WRITE_COMMON),
        {"message": "replaced by fraud-v2"},
    ),
    ("GET", "/v2/history"): operation(
        "lifecycle",
        "Every model's history",
        "Every event in the registry, as `modelreg history --json`.",
        {"200": json_answer("the events", ref("History"))},
        parameters=[REVERSE],
    ),
    ("GET", "/v2/diff"): operation(
        "lifecycle",
        "Compare two versions",
        "Metadata, metrics, parameters, dependencies and files, as `modelreg diff --json`.",
        {"200": json_answer("the differences", ref("Diff"))},
        parameters=[
            param("a", "query", NAMED, "a version", required=True, example="embedder@v1.0.0"),
            param("b", "query", NAMED, "another", required=True, example="embedder@v2.0.0"),
        ],
    ),
    ("GET", "/healthz"): operation(
        "server",
        "The process answers",
        "200 whenever the server runs; no registry read.",
        {"200": json_answer("alive", ref("Health"))},
        errors=(),
    ),
    ("GET", "/readyz"): operation(
        "server",
        "The registry can be read",
        "git answers and the registry's HEAD can be read.",
        {"200": json_answer("ready", ref("Ready"))},
        errors=(503,),
    ),
    ("GET", "/metrics"): operation(
        "server",
        "Prometheus metrics",
        "Requests by route template, method and status; request durations; requests in "
        "flight; uploads in progress; the last successful sync; events written. Once the "
        "server has tokens, a read token is needed (Prometheus: authorization in the scrape "
        "config).",
        {
            "200": {
                "description": "the Prometheus text format, version 0.0.4",
                "content": {"text/plain": {"schema": STR}},
            }
        },
        errors=(401, 503),
    ),
    ("GET", "/openapi.json"): operation(
        "server",
        "This description",
        "The OpenAPI 3.1 schema of every endpoint.",
        {"200": json_answer("the schema", {"type": "object"})},
        errors=(),
    ),
    ("GET", "/docs"): operation(
        "server",
        "Interactive documentation",
        "A page built from /openapi.json where each endpoint can be read and tried.",
        {"200": {"description": "HTML", "content": {"text/html": {"schema": STR}}}},
        errors=(),
    ),
}


TAGS = {
    "models": "The founding document's four endpoints: upload, register, get, list.",
    "files": "A version's files, one by one or as one archive.",
    "lifecycle": "Stages, history, references, dependencies and differences.",
    "server": "Health, readiness, metrics and this description.",
}
"""The sections of the schema (and of /docs), in reading order."""


# --- the document -------------------------------------------------------------------


OTHER_FACES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
"""Paths this schema leaves out: MLflow's REST API (described by MLflow's own protos,
answered for its clients) and the web page's routes (pages for people, from
:mod:`.web.routes`), which are not this API."""


def _other_face(path: str) -> bool:
    from .web.routes import PAGE_PATHS

    return path.startswith(OTHER_FACES) or path in PAGE_PATHS


def app_operations(routes: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """Every ``(method, template)`` an application answers: its fixed routes, and under
    ``/v2/models/{model_id}`` one per action :mod:`.api` dispatches (the MLflow API
    and the web page's routes are other faces: :data:`OTHER_FACES`)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if not isinstance(route, Route) or _other_face(route.path):
            continue
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue  # answered for every GET, by Starlette
            if route.path != MODEL_ROUTE:
                found.add((method, route.path))
                continue
            actions = api.READS if method == "GET" else api.WRITES
            for action in actions:
                found.add((method, TEMPLATE + (f"/{action}" if action else "")))
                if action == "files":
                    found.add((method, TEMPLATE + "/files/{path}"))
    return found


def responses() -> dict[str, Schema]:
    words = {**ERRORS, 413: "the upload is larger than the server takes", 416: "no such range"}
    return {f"E{status}": json_answer(text, ref("Error")) for status, text in sorted(words.items())}


def document(routes: Iterable[BaseRoute]) -> Schema:
    """The schema of the routes given (an application's): each described once."""
    present = app_operations(routes)
    paths: dict[str, dict[str, Schema]] = {}
    for (method, template), described in OPERATIONS.items():  # in reading order
        if (method, template) in present:  # test_openapi.py fails on an undescribed route
            paths.setdefault(template, {})[method.lower()] = described
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "modelreg",
            "version": _version(),
            "description": "A model registry in a git repository, over HTTP. Every answer "
            "is the document `modelreg ... --json` prints; every error is "
            '`{"error": {"code", "message", "hint"}}`. Once the server has tokens, every '
            "request needs `Authorization: Bearer <secret>`.",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": responses(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelreg")
    except PackageNotFoundError:
        return "0"
