"""Registry configuration: ``MODELREG_*`` environment > ``.modelreg.yaml`` > defaults.

Command-line flags win over all of these; the CLI passes them to the library
as arguments, so they never reach this module.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from .errors import InvalidNameError, ManifestError
from .records import Record
from .tags import validate_stage

CONFIG_FILE = ".modelreg.yaml"
DEFAULT_STAGES = ("dev", "staging", "production")
KEYS = (
    "models_dir",
    "stages",
    "promotion_order",
    "remote",
    "sign",
    "require_signed",
    "webhooks",
)
HOOK_EVENTS = ("register", "deregister", "assign", "unassign", "rollback", "deprecate")
"""The events a webhook can ask for: ``history``'s names (a promote is an ``assign``)."""
HOOK_KEYS = ("url", "events", "secret_env")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, eq=False, repr=False)
class Webhook(Record):
    """Where ``modelreg serve`` POSTs the events it sees (``webhooks:`` in the config).

    The secret is never in the file (it is committed): ``secret_env`` names the
    environment variable the server reads it from. ``events`` holds names from
    :data:`HOOK_EVENTS`, or ``*`` for all of them.
    """

    url: str
    events: tuple[str, ...] = ("*",)
    secret_env: str | None = None

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


@dataclass(frozen=True, eq=False, repr=False)
class Config(Record):
    models_dir: str = "models"
    stages: tuple[str, ...] = DEFAULT_STAGES
    promotion_order: bool = False
    remote: str | None = None
    sign: bool = False  # sign every event tag (git tag -s, with git's signing config)
    require_signed: tuple[str, ...] = ()  # stages whose assignments must be signed
    webhooks: tuple[Webhook, ...] = ()  # read by ``modelreg serve`` alone
    # False when no .modelreg.yaml exists: any stage name is allowed (as in GTO).
    exists: bool = field(default=False, compare=False)

    def stage_allowed(self, stage: str) -> bool:
        return not self.exists or stage in self.stages

    def to_yaml(self) -> str:
        document: dict[str, Any] = {
            "models_dir": self.models_dir,
            "stages": list(self.stages),
            "promotion_order": self.promotion_order,
            "remote": self.remote,
            "sign": self.sign,
            "require_signed": list(self.require_signed),
        }
        if self.webhooks:
            document["webhooks"] = [
                {"url": h.url, "events": list(h.events)}
                | ({"secret_env": h.secret_env} if h.secret_env else {})
                for h in self.webhooks
            ]
        from . import yamlio

        return yamlio.dump(document)


class ParsedStore(Protocol):
    """Where the config last read is kept parsed (the state cache): ``config`` gives
    its document as JSON for the same bytes, else None."""

    def config(self, data: bytes) -> str | None: ...

    def keep_config(self, data: bytes, body: str) -> None: ...


def load(
    root: Path, env: Mapping[str, str] | None = None, *, store: ParsedStore | None = None
) -> Config:
    """Read ``.modelreg.yaml`` in ``root`` (missing is fine), then environment overrides.
    With a ``store``, the same bytes as last time are not parsed again: a read then
    imports no YAML parser (~20 ms)."""
    path = root / CONFIG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        config = Config()
    except OSError as exc:
        raise ManifestError(f"{CONFIG_FILE}: cannot read: {exc.strerror}") from None
    else:
        config = parse(data, store)
    return _apply_env(config, os.environ if env is None else env)


def parse(data: bytes | str, store: ParsedStore | None = None) -> Config:
    raw = _document(data, store)
    problems = validate(raw)
    if problems:
        raise ManifestError(f"{CONFIG_FILE}:{problems[0]}")
    raw = raw or {}
    return Config(
        models_dir=raw.get("models_dir") or "models",
        stages=tuple(raw["stages"]) if raw.get("stages") is not None else DEFAULT_STAGES,
        promotion_order=bool(raw.get("promotion_order", False)),
        remote=raw.get("remote"),
        sign=bool(raw.get("sign", False)),
        require_signed=tuple(raw.get("require_signed") or ()),
        webhooks=tuple(
            Webhook(h["url"], tuple(h.get("events") or ("*",)), h.get("secret_env"))
            for h in raw.get("webhooks") or ()
        ),
        exists=True,
    )


def _document(data: bytes | str, store: ParsedStore | None) -> Any:
    """The YAML document ``data``: as ``store`` kept it, or parsed (and kept there
    when it reads back from JSON exactly as parsed). A store that fails is left
    alone: the file is the truth."""
    import json

    blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    body = store.config(blob) if store is not None else None
    if body is not None:
        with contextlib.suppress(ValueError):
            return json.loads(body)
    from . import yamlio  # here: a config read before is not parsed again

    try:
        raw = yamlio.load(data)
    except yamlio.YamlError as exc:
        raise ManifestError(f"{CONFIG_FILE}: not valid YAML: {exc}") from None
    if store is not None and not validate(raw):
        with contextlib.suppress(TypeError, ValueError):  # not JSON: a date, a set
            body = json.dumps(raw)
            if _same_document(json.loads(body), raw):
                store.keep_config(blob, body)
    return raw


def _same_document(a: Any, b: Any) -> bool:
    """Equal, with the same types and the same key order all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_document(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_document(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def validate(raw: Any) -> list[str]:
    """Problems with a loaded config document, each as ``field: message``."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return ["the config must be a mapping"]
    problems = [f"{k}: unknown key (allowed: {', '.join(KEYS)})" for k in raw if k not in KEYS]
    models_dir = raw.get("models_dir")
    if models_dir is not None and (
        not isinstance(models_dir, str)
        or not models_dir
        or models_dir.startswith("/")
        or ".." in models_dir.split("/")
        or posixpath.normpath(models_dir) != models_dir
    ):
        problems.append("models_dir: must be a relative folder inside the repository")
    elif isinstance(models_dir, str) and models_dir.split("/")[0] in (".git", ".dvc"):
        # git's and DVC's own folders: model files there would corrupt them
        problems.append(f"models_dir: '{models_dir}' is inside git's or DVC's own folder")
    stages = raw.get("stages")
    if stages is not None:
        if not isinstance(stages, list) or not stages:
            problems.append("stages: must be a non-empty list of stage names")
        else:
            for i, stage in enumerate(stages):
                try:
                    validate_stage(stage if isinstance(stage, str) else "")
                except InvalidNameError:
                    problems.append(f"stages[{i}]: '{stage}' is not a valid stage name")
            if len(set(map(str, stages))) != len(stages):
                problems.append("stages: a stage is listed twice")
    if "promotion_order" in raw and not isinstance(raw["promotion_order"], bool):
        problems.append("promotion_order: must be true or false")
    remote = raw.get("remote")
    if remote is not None and not isinstance(remote, str):
        problems.append("remote: must be a DVC remote name")
    if "sign" in raw and not isinstance(raw["sign"], bool):
        problems.append("sign: must be true or false")
    required = raw.get("require_signed")
    if required is not None and (
        not isinstance(required, list) or not all(isinstance(x, str) for x in required)
    ):
        problems.append("require_signed: must be a list of stage names")
    problems += _webhook_problems(raw.get("webhooks"))
    return problems


def _webhook_problems(hooks: Any) -> list[str]:
    """``webhooks:`` is a list of ``{url, events, secret_env}``; a literal secret is
    refused (the file is committed: anyone who can read the repository could sign)."""
    if hooks is None:
        return []
    if not isinstance(hooks, list):
        return ["webhooks: must be a list of {url, events, secret_env}"]
    problems = []
    for i, hook in enumerate(hooks):
        where = f"webhooks[{i}]"
        if not isinstance(hook, dict):
            problems.append(f"{where}: must be a mapping with url, events, secret_env")
            continue
        if "secret" in hook:
            problems.append(
                f"{where}.secret: a secret in this (committed) file is refused; put it in an "
                "environment variable and name that variable with secret_env"
            )
        problems += [
            f"{where}.{k}: unknown key (allowed: {', '.join(HOOK_KEYS)})"
            for k in hook
            if k not in HOOK_KEYS and k != "secret"
        ]
        url = hook.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            problems.append(f"{where}.url: must be an http:// or https:// URL")
        elif any(ord(c) <= 0x20 or c == "\x7f" for c in url):
            problems.append(f"{where}.url: holds a space or a control character")
        events = hook.get("events")
        allowed = (*HOOK_EVENTS, "*")
        if events is not None and (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in allowed for e in events)
        ):
            problems.append(f"{where}.events: must be a list of {', '.join(allowed)}")
        secret_env = hook.get("secret_env")
        if secret_env is not None and (
            not isinstance(secret_env, str) or not _ENV_NAME.fullmatch(secret_env)
        ):
            problems.append(f"{where}.secret_env: must name an environment variable")
    return problems


def _apply_env(config: Config, env: Mapping[str, str]) -> Config:
    remote = env.get("MODELREG_REMOTE")
    if remote:
        config = replace(config, remote=remote)
    if env.get("MODELREG_SIGN", "").lower() in ("1", "true", "yes"):
        config = replace(config, sign=True)
    return config
