"""MLflow's view of a modelreg registry (DESIGN.md "MLflow clients"). It reads the
registry's state and manifests (:func:`view`) and never writes, nor speaks HTTP.

An unmodified MLflow client must be able to search, read, resolve aliases and
download files, so the view speaks MLflow's words:

- **name**: a model's name with ``/`` spelt ``.`` (``team/fraud`` is
  ``team.fraud``): MLflow refuses ``/`` in the ``models:/NAME@ALIAS`` URIs its
  clients load from, and modelreg names never hold ``.``, so the spelling goes
  both ways. Requests may use either.
- **version**: the registration ordinal (1, 2, 3 ... in the order versions were
  first registered). MLflow clients need integers (``models:/NAME/latest`` takes
  ``max(int(version))``; a non-integer is read as a stage name), and an ordinal
  never changes once given, as an MLflow version number does not. The SemVer
  rides along as the tag ``modelreg.version``.
- **aliases**: every stage a version holds, by its name (``models:/NAME@production``).
- **current_stage**: the stage a version holds, in MLflow's spelling
  (``production`` → ``Production``); ``None`` when it holds none, ``Archived``
  when it was deregistered.
- **tags**: the manifest's labels as they are, metrics and params under
  ``modelreg.metric.``/``modelreg.param.``, licence and framework as ``modelreg.*``.
- **timestamps**: tag times in milliseconds; **user_id**: the registration's author.

The filters, ordering and paging MLflow's search endpoints take are here too
(:func:`parse_filter`, :func:`page`), so the HTTP routes stay a thin translation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Kind, ModelregError
from .manifest import Manifest
from .state import ModelState, VersionState
from .tags import EventKind

if TYPE_CHECKING:
    from .registry import Registry

VERSION_TAG = "modelreg.version"
ARTIFACT_ROOT = "modelreg"  # mlflow-artifacts:/modelreg/<name>/<ordinal>/<file>
MLFLOW_STAGES = {"production": "Production", "staging": "Staging", "archived": "Archived"}
# When a version holds several stages, the one MLflow's single current_stage shows.
STAGE_PRIORITY = ("production", "staging")

# Error codes as MLflow's databricks.proto names them, and the status its server
# sends with each.
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
STATUS = {
    RESOURCE_DOES_NOT_EXIST: 404,
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_STATE: 400,
    PERMISSION_DENIED: 403,
    UNAUTHENTICATED: 401,
    TEMPORARILY_UNAVAILABLE: 503,
    INTERNAL_ERROR: 500,
    NOT_IMPLEMENTED: 501,
}
# A modelreg error kind as the MLflow error code a client understands.
CODES: dict[Kind, str] = {
    Kind.INVALID: INVALID_PARAMETER_VALUE,
    Kind.USAGE: INVALID_PARAMETER_VALUE,
    Kind.NOT_FOUND: RESOURCE_DOES_NOT_EXIST,
    Kind.CONFLICT: INVALID_STATE,
    Kind.POLICY: PERMISSION_DENIED,
    Kind.PROBLEMS: INVALID_STATE,
    Kind.INTEGRITY: INTERNAL_ERROR,
    Kind.UNSAFE: INVALID_PARAMETER_VALUE,
    Kind.BUSY: TEMPORARILY_UNAVAILABLE,
    Kind.UNAVAILABLE: TEMPORARILY_UNAVAILABLE,
    Kind.UNAUTHENTICATED: UNAUTHENTICATED,
    Kind.FORBIDDEN: PERMISSION_DENIED,
    Kind.BUG: INTERNAL_ERROR,
}


class MlflowError(ModelregError):
    """A request MLflow's API would refuse, with the code MLflow would give."""

    kind = Kind.INVALID

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code
        self.kind = Kind.NOT_FOUND if code == RESOURCE_DOES_NOT_EXIST else Kind.INVALID


def error_document(exc: ModelregError) -> tuple[dict[str, str], int]:
    """MLflow's error body (``error_code``, ``message``) and status for any error:
    its client raises an ``MlflowException`` carrying that code."""
    code = exc.code if isinstance(exc, MlflowError) else CODES.get(exc.kind, INTERNAL_ERROR)
    message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    return {"error_code": code, "message": message}, STATUS[code]


def ms(seconds: int | None) -> int:
    return 0 if seconds is None else seconds * 1000


# --- the view ------------------------------------------------------------------------


@dataclass(frozen=True)
class MlVersion:
    model: str
    ordinal: int
    state: VersionState
    manifest: Manifest | None
    created: int  # ms: the registration's tag time
    updated: int  # ms: the latest event about this version

    @property
    def semver(self) -> str:
        return self.state.version

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(sorted(self.state.stages))

    @property
    def current_stage(self) -> str:
        if not self.state.active:
            return "Archived"
        stages = self.state.stages
        for stage in STAGE_PRIORITY:
            if stage in stages:
                return MLFLOW_STAGES[stage]
        if stages:
            first = sorted(stages)[0]
            return MLFLOW_STAGES.get(first, first)
        return "None"


@dataclass(frozen=True)
class MlModel:
    name: str
    state: ModelState
    versions: tuple[MlVersion, ...]  # by ordinal

    def version(self, number: str) -> MlVersion:
        """The version MLflow calls ``number`` (its ordinal)."""
        if not (number.isascii() and number.isdigit()) or len(number) > 9:
            raise MlflowError(
                INVALID_PARAMETER_VALUE,
                f"model version must be an integer, got '{number}'",
            )
        ordinal = int(number)
        for found in self.versions:
            if found.ordinal == ordinal:
                return found
        raise MlflowError(
            RESOURCE_DOES_NOT_EXIST, f"Model Version (name={self.name}, version={number}) not found"
        )

    def by_semver(self, version: str) -> MlVersion | None:
        for found in self.versions:
            if found.semver == version:
                return found
        return None

    def by_alias(self, alias: str) -> MlVersion:
        holder = self.state.stages.get(alias)
        found = self.by_semver(holder) if holder is not None else None
        if found is None:
            raise MlflowError(
                RESOURCE_DOES_NOT_EXIST,
                f"Registered model alias {alias} not found for model {self.name}",
            )
        return found

    @property
    def created(self) -> int:
        return min((v.created for v in self.versions), default=ms(_first_time(self.state)))

    @property
    def updated(self) -> int:
        return ms(self.state.latest_time)

    @property
    def latest(self) -> MlVersion | None:
        latest = self.state.latest
        return self.by_semver(latest.version) if latest is not None else None


def _first_time(model: ModelState) -> int | None:
    return model.events[0].timestamp if model.events else None


def ordinals(model: ModelState) -> dict[str, int]:
    """Each registered version's ordinal: 1 for the first registered, and so on.
    A version deregistered and registered again keeps its first number."""
    found: dict[str, int] = {}
    for event in model.events:  # chronological
        if event.kind is EventKind.REGISTER and event.version and event.version not in found:
            found[event.version] = len(found) + 1
    return found


def build(model: ModelState, manifests: Mapping[str, Manifest]) -> MlModel:
    """``model`` as MLflow sees it; ``manifests``: SemVer → manifest (when known)."""
    numbers = ordinals(model)
    touched: dict[str, int] = {}
    for event in model.events:
        if event.version is not None:
            touched[event.version] = max(touched.get(event.version, 0), event.timestamp)
    versions = []
    for state in model.versions:
        ordinal = numbers.get(state.version)
        if ordinal is None or not state.registered:
            continue  # GTO's assignment to a commit never registered: no number
        registration = model.registration(state.version)
        created = ms(registration.timestamp if registration else state.registered_at)
        versions.append(
            MlVersion(
                model.name,
                ordinal,
                state,
                manifests.get(state.version),
                created,
                ms(touched.get(state.version)) or created,
            )
        )
    versions.sort(key=lambda v: v.ordinal)
    return MlModel(model.name, model, tuple(versions))


def view(registry: Registry, names: Sequence[str] | None = None) -> dict[str, MlModel]:
    """Every model (or those of ``names`` that exist) as MLflow sees it; the
    manifests of all their versions are read with one ``cat-file --batch``."""
    state = registry.state()
    chosen = state.models if names is None else {
        n: state.models[n] for n in names if n in state.models
    }  # fmt: skip
    wanted = [(m.name, v) for m in chosen.values() for v in m.versions if v.registered]
    by_model: dict[str, dict[str, Manifest]] = {}
    for (name, version), manifest in registry._manifests(wanted).items():
        by_model.setdefault(name, {})[version] = manifest
    return {name: build(model, by_model.get(name, {})) for name, model in sorted(chosen.items())}


def mlflow_name(name: str) -> str:
    """The name MLflow clients see: ``/`` spelt ``.`` (``models:/`` URIs cannot hold ``/``)."""
    return name.replace("/", ".")


def modelreg_name(name: str) -> str:
    """The modelreg name of an MLflow name (either spelling)."""
    return name.replace(".", "/")


def one(registry: Registry, name: str | None) -> MlModel:
    """The model MLflow names ``name``, or MLflow's not-found error."""
    if not name:
        raise MlflowError(INVALID_PARAMETER_VALUE, "Missing value for required parameter 'name'")
    found = view(registry, [modelreg_name(name)]).get(modelreg_name(name))
    if found is None:
        raise MlflowError(RESOURCE_DOES_NOT_EXIST, f"Registered Model with name={name} not found")
    return found


# --- JSON as MLflow's protos spell it ---------------------------------------------------


def download_uri(name: str, ordinal: int) -> str:
    """Where MLflow clients fetch a version's files: the artifact service of the
    server they already talk to (``mlflow-artifacts:`` resolves against the
    tracking URI, so it stays right behind a proxy)."""
    return f"mlflow-artifacts:/{artifact_path(name, ordinal)}"


def artifact_path(name: str, ordinal: int) -> str:
    return f"{ARTIFACT_ROOT}/{mlflow_name(name)}/{ordinal}"


def split_artifact_path(path: str, names: Iterable[str]) -> tuple[str, str, str] | None:
    """``modelreg/<name>/<ordinal>[/<file path>]`` → (name, ordinal, file path).
    Names may hold ``/``, so the name is the known one followed by a number."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) < 3 or parts[0] != ARTIFACT_ROOT:
        return None
    known = set(names)
    for end in range(2, len(parts)):
        name = modelreg_name("/".join(parts[1:end]))
        if name in known and parts[end].isdigit():
            return name, parts[end], "/".join(parts[end + 1 :])
    return None


def listing(files: Sequence[tuple[str, int]], inside: str) -> list[dict[str, Any]]:
    """MLflow's artifact listing of the folder ``inside`` a version: its files and
    folders, each named relative to it (the client joins the names to ``inside``).
    A file's own path lists that file alone, as MLflow's server does."""
    inside = inside.strip("/")
    entries: dict[str, dict[str, Any]] = {}
    for path, size in files:
        if path == inside:
            return [{"path": path.rsplit("/", 1)[-1], "is_dir": False, "file_size": size}]
        if inside and not path.startswith(inside + "/"):
            continue
        rest = path[len(inside) + 1 :] if inside else path
        head, sep, _ = rest.partition("/")
        if sep:
            entries.setdefault(head, {"path": head, "is_dir": True})
        else:
            entries[head] = {"path": head, "is_dir": False, "file_size": size}
    if inside and not entries:
        raise MlflowError(RESOURCE_DOES_NOT_EXIST, f"No artifacts at '{inside}'")
    return [entries[k] for k in sorted(entries)]


def _tag(key: str, value: object) -> dict[str, str]:
    return {"key": key, "value": str(value)}


def version_tags(version: MlVersion) -> list[dict[str, str]]:
    tags = [_tag(VERSION_TAG, version.semver)]
    manifest = version.manifest
    if manifest is not None:
        for key in ("license", "framework"):
            value = getattr(manifest, key)
            if value is not None:
                tags.append(_tag(f"modelreg.{key}", value))
        tags += [_tag(k, v) for k, v in sorted(manifest.labels.items())]
        tags += [_tag(f"modelreg.metric.{k}", v) for k, v in sorted(manifest.metrics.items())]
        tags += [_tag(f"modelreg.param.{k}", v) for k, v in sorted(manifest.params.items())]
    return tags


def version_doc(version: MlVersion) -> dict[str, Any]:
    """A ``ModelVersion`` message."""
    manifest = version.manifest
    return {
        "name": mlflow_name(version.model),
        "version": str(version.ordinal),
        "creation_timestamp": version.created,
        "last_updated_timestamp": version.updated,
        "user_id": version.state.author or "",
        "current_stage": version.current_stage,
        "description": (manifest.description if manifest else None) or "",
        "source": download_uri(version.model, version.ordinal),
        "run_id": "",
        "status": "READY",
        "tags": version_tags(version),
        "aliases": list(version.aliases),
    }


def model_doc(model: MlModel) -> dict[str, Any]:
    """A ``RegisteredModel`` message (latest_versions: the latest of each stage)."""
    latest = model.latest
    description = latest.manifest.description if latest and latest.manifest else None
    tags = [_tag("modelreg.latest", latest.semver)] if latest else []
    if model.state.deprecated:
        tags.append(_tag("modelreg.deprecated", "true"))
    aliases = []
    for stage, holder in sorted(model.state.stages.items()):
        found = model.by_semver(holder)
        if found is not None:
            aliases.append({"alias": stage, "version": str(found.ordinal)})
    return {
        "name": mlflow_name(model.name),
        "creation_timestamp": model.created,
        "last_updated_timestamp": model.updated,
        "description": description or "",
        "latest_versions": [version_doc(v) for v in latest_versions(model, ())],
        "tags": tags,
        "aliases": aliases,
    }


def latest_versions(model: MlModel, stages: Sequence[str]) -> list[MlVersion]:
    """The highest-numbered version in each of ``stages`` (MLflow's spelling, any
    case), or in every stage a version shows when none is asked for. Without
    ``stages``, deregistered (``Archived``) versions are left out, so that
    ``models:/NAME/latest`` never means a version modelreg has taken back."""
    wanted = {s.lower() for s in stages}
    best: dict[str, MlVersion] = {}
    for version in model.versions:
        stage = version.current_stage.lower()
        if wanted and stage not in wanted:
            continue
        if not wanted and stage == "archived":
            continue
        if stage not in best or version.ordinal > best[stage].ordinal:
            best[stage] = version
    return sorted(best.values(), key=lambda v: v.ordinal)


def tag_map(docs: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in docs}


# --- filters ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<list>\((?:[^()'"]|'[^']*'|"[^"]*")*\))
      | (?P<op>!=|<=|>=|=|<|>|\bNOT\s+ILIKE\b|\bNOT\s+LIKE\b|\bILIKE\b|\bLIKE\b|\bNOT\s+IN\b|\bIN\b)
      | (?P<and>\bAND\b)
      | (?P<number>-?\d+\b)
      | (?P<key>(?:tags?|attributes?)\.(?:`[^`]*`|"[^"]*"|'[^']*'|[\w.\-]+)|[\w.]+)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    key: str  # "name", "version_number", "run_id", "source_path", or "tag:<key>"
    op: str  # = != < <= > >= LIKE ILIKE NOT LIKE NOT ILIKE IN NOT IN
    value: str | int | tuple[str, ...]


Row = tuple[Mapping[str, Any], Mapping[str, str]]  # (attributes, tags)


def _bad_filter(text: str, why: str) -> MlflowError:
    return MlflowError(INVALID_PARAMETER_VALUE, f"Invalid filter '{text}': {why}")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_filter(text: str | None, attributes: Sequence[str]) -> list[Clause]:
    """MLflow's registry filter: clauses joined by ``AND``, each ``KEY OP VALUE``
    with ``KEY`` one of ``attributes`` or ``tag.KEY`` / ``tags.`KEY```."""
    if text is None or not text.strip():
        return []
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _bad_filter(text, f"cannot read it from '{text[position:].strip()}'")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    clauses = []
    index = 0
    while index < len(tokens):
        if len(tokens) - index < 3:
            raise _bad_filter(text, "each clause is KEY OPERATOR VALUE")
        (kkind, key), (okind, op), (vkind, value) = tokens[index : index + 3]
        if kkind != "key" or okind != "op" or vkind not in ("string", "number", "list"):
            raise _bad_filter(text, "each clause is KEY OPERATOR VALUE")
        clauses.append(_clause(text, key, " ".join(op.upper().split()), vkind, value, attributes))
        index += 3
        if index < len(tokens):
            if tokens[index][0] != "and":
                raise _bad_filter(text, "clauses are joined by AND (OR is not supported)")
            index += 1
            if index == len(tokens):
                raise _bad_filter(text, "nothing after AND")
    return clauses


def _clause(
    text: str, key: str, op: str, vkind: str, raw: str, attributes: Sequence[str]
) -> Clause:
    prefix, dot, rest = key.partition(".")
    if dot and prefix.lower() in ("tag", "tags"):
        name = "tag:" + _unquote(rest)
    elif dot and prefix.lower() in ("attribute", "attributes"):
        name = _unquote(rest)
    else:
        name = key
    if not name.startswith("tag:") and name not in attributes:
        allowed = ", ".join(attributes)
        raise _bad_filter(text, f"'{key}' is not a searchable key ({allowed} or tag.KEY)")
    value: str | int | tuple[str, ...]
    if vkind == "list":
        if op not in ("IN", "NOT IN"):
            raise _bad_filter(text, f"a list goes with IN, not {op}")
        value = tuple(_unquote(v.strip()) for v in raw[1:-1].split(",") if v.strip())
    elif op in ("IN", "NOT IN"):
        raise _bad_filter(text, f"{op} takes a list: ('a', 'b')")
    elif vkind == "number":
        value = int(raw)
    else:
        value = _unquote(raw)
    return Clause(name, op, value)


def _like(pattern: str, value: str, insensitive: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if insensitive else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def matches(clauses: Sequence[Clause], row: Row) -> bool:
    attributes, tags = row
    for clause in clauses:
        if clause.key.startswith("tag:"):
            actual: Any = tags.get(clause.key[4:])
            if actual is None:  # MLflow: a missing tag satisfies only != and NOT ...
                if clause.op in ("!=", "NOT LIKE", "NOT ILIKE", "NOT IN"):
                    continue
                return False
        else:
            actual = attributes.get(clause.key)
        if not _holds(clause, actual):
            return False
    return True


def _holds(clause: Clause, actual: Any) -> bool:
    op, value = clause.op, clause.value
    if isinstance(actual, int) and isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, tuple):
        inside = str(actual) in value
        return inside if op == "IN" else not inside
    if op in ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"):
        found = _like(str(value), str(actual), "ILIKE" in op)
        return found if not op.startswith("NOT") else not found
    if isinstance(actual, int) and isinstance(value, int):
        a, b = actual, value
        compare: dict[str, Callable[[], bool]] = {
            "=": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b,
            "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b,
        }  # fmt: skip
        return compare[op]()
    if op == "=":
        return str(actual) == str(value)
    if op == "!=":
        return str(actual) != str(value)
    raise MlflowError(INVALID_PARAMETER_VALUE, f"'{op}' compares numbers, not text")


# --- order and pages -----------------------------------------------------------------------


def order(
    rows: list[dict[str, Any]], order_by: Sequence[str], keys: Mapping[str, str], default: str
) -> list[dict[str, Any]]:
    """Sort MLflow documents by ``order_by`` (``"name ASC"``, ``"version_number DESC"``);
    ``keys`` maps what a client may name to the document's field."""
    terms = [t for t in order_by if t.strip()] or [default]
    for term in reversed(terms):
        words = term.split()
        column = words[0].removeprefix("attributes.").removeprefix("attribute.")
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if column not in keys or direction not in ("ASC", "DESC") or len(words) > 2:
            raise MlflowError(INVALID_PARAMETER_VALUE, f"Invalid order_by clause '{term}'")
        field_name = keys[column]

        def sort_key(doc: dict[str, Any], field_name: str = field_name) -> Any:
            value = doc[field_name]
            return int(value) if field_name == "version" else value

        rows = sorted(rows, key=sort_key, reverse=direction == "DESC")
    return rows


def max_results(raw: object, default: int, limit: int) -> int:
    if raw is None or raw == "":
        return default
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= limit:
        raise MlflowError(
            INVALID_PARAMETER_VALUE,
            f"Invalid value for max_results: it must be at most {limit}, got {text}",
        )
    return int(text)


def page(
    rows: Sequence[dict[str, Any]], size: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``rows`` and the token of the next (None: this was the last)."""
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise MlflowError(INVALID_PARAMETER_VALUE, f"Invalid page token '{token}'") from None
        if start < 0:
            raise MlflowError(INVALID_PARAMETER_VALUE, f"Invalid page token '{token}'")
    chunk = list(rows[start : start + size])
    if start + size >= len(rows):
        return chunk, None
    following = json.dumps({"offset": start + size}).encode()
    return chunk, base64.urlsafe_b64encode(following).decode()


def paged(key: str, rows: Sequence[dict[str, Any]], size: int, token: str | None) -> dict[str, Any]:
    """A search answer: one page of ``rows`` under ``key``, and ``next_page_token``
    when there are more (MLflow leaves it out on the last page)."""
    chunk, following = page(rows, size, token)
    answer: dict[str, Any] = {key: chunk}
    if following:
        answer["next_page_token"] = following
    return answer


def model_row(doc: Mapping[str, Any]) -> Row:
    return {"name": doc["name"]}, tag_map(doc["tags"])


def version_row(doc: Mapping[str, Any]) -> Row:
    attributes = {
        "name": doc["name"],
        "version_number": int(doc["version"]),
        "run_id": doc["run_id"],
        "source_path": doc["source"],
        "current_stage": doc["current_stage"],
    }
    return attributes, tag_map(doc["tags"])


MODEL_ATTRIBUTES = ("name",)
VERSION_ATTRIBUTES = ("name", "version_number", "run_id", "source_path", "current_stage")
MODEL_ORDER = {"name": "name", "last_updated_timestamp": "last_updated_timestamp",
               "timestamp": "last_updated_timestamp",
               "creation_timestamp": "creation_timestamp"}  # fmt: skip
VERSION_ORDER = {"name": "name", "version_number": "version",
                 "last_updated_timestamp": "last_updated_timestamp",
                 "creation_timestamp": "creation_timestamp"}  # fmt: skip
