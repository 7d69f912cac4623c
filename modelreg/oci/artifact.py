"""The artifact a version becomes: a ModelKit-shaped OCI manifest (pure).

What it holds, and why each piece:

- ``artifactType`` ``application/vnd.kitops.modelkit.manifest.v1+json`` and a config
  blob of type ``application/vnd.kitops.modelkit.config.v1+json``: the Kitfile as
  JSON (``manifestVersion``, ``package`` with name, version, authors, licence and
  description, and a ``model`` whose ``path``, ``digest`` and ``diffId`` sit inline,
  the other files as its ``parts``, each with the same three). That is how KitOps
  recognises a ModelKit, and ``kit unpack`` wants digest and diffId next to path.
- One layer per file, holding the file's bytes as they are (no tarball), titled by
  its path (``org.opencontainers.image.title``, which ORAS names files by) and
  ``org.cncf.model.filepath`` (ModelPack's name for the same), typed
  ``application/vnd.cncf.model.weight.v1.raw``. A layer's digest is then the file's
  sha256, so ``diffId == digest``. KitOps's own layer types are tarballs; a tarball
  per file would make every ORAS client write a ``.tar`` where the file should be,
  so one layer set cannot serve both byte for byte, and we chose the raw bytes
  (README, "Publishing to OCI registries").
- Manifest annotations for provenance: the model, version, git commit, the
  registration's tag name, the sha256 of ``model.yaml`` at that commit, and who
  registered it, under ``io.modelreg.*`` (the OCI ``org.opencontainers.image.*``
  ones too, where they fit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ManifestError
from ..paths import path_problem
from .client import MANIFEST_TYPE
from .reference import DIGEST

ARTIFACT_TYPE = "application/vnd.kitops.modelkit.manifest.v1+json"
CONFIG_TYPE = "application/vnd.kitops.modelkit.config.v1+json"
LAYER_TYPE = "application/vnd.cncf.model.weight.v1.raw"
TITLE = "org.opencontainers.image.title"
FILEPATH = "org.cncf.model.filepath"
FILE_SHA256 = "io.modelreg.file.sha256"
MODEL = "io.modelreg.model"
VERSION = "io.modelreg.version"
COMMIT = "io.modelreg.commit"
TAG = "io.modelreg.tag"
MANIFEST_SHA256 = "io.modelreg.manifest.sha256"
REGISTERED_BY = "io.modelreg.registered-by"


@dataclass(frozen=True)
class Layer:
    path: str
    size: int
    sha256: str  # hex, of the file's bytes (= the layer's digest)

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256}"


@dataclass(frozen=True)
class Provenance:
    name: str
    version: str
    commit: str
    tag: str | None
    manifest_sha256: str | None
    registered_by: str | None
    created: str | None = None
    description: str | None = None
    license: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class Built:
    config: bytes
    config_digest: str
    manifest: bytes
    digest: str


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _section(layer: Layer) -> dict[str, str]:
    return {"path": layer.path, "digest": layer.digest, "diffId": layer.digest}


def kitfile(who: Provenance, layers: Sequence[Layer]) -> dict[str, Any]:
    """The Kitfile as KitOps stores it in a ModelKit's config (JSON)."""
    package: dict[str, Any] = {"name": who.name, "version": who.version}
    if who.description:
        package["description"] = who.description
    if who.license:
        package["license"] = who.license
    if who.author or who.registered_by:
        package["authors"] = [who.author or who.registered_by]
    document: dict[str, Any] = {"manifestVersion": "1.0.0", "package": package}
    if layers:
        model: dict[str, Any] = {"name": who.name, "version": who.version, **_section(layers[0])}
        if who.license:
            model["license"] = who.license
        if len(layers) > 1:
            model["parts"] = [_section(layer) for layer in layers[1:]]
        document["model"] = model
    return document


def build(who: Provenance, layers: Sequence[Layer]) -> Built:
    """The config blob and the manifest, both as the exact bytes to push."""
    config = _canonical(kitfile(who, layers))
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    annotations = {
        MODEL: who.name,
        VERSION: who.version,
        COMMIT: who.commit,
        "org.opencontainers.image.title": who.name,
        "org.opencontainers.image.version": who.version,
        "org.opencontainers.image.revision": who.commit,
    }
    optional = {
        TAG: who.tag,
        MANIFEST_SHA256: who.manifest_sha256,
        REGISTERED_BY: who.registered_by,
        "org.opencontainers.image.created": who.created,
        "org.opencontainers.image.description": who.description,
        "org.opencontainers.image.licenses": who.license,
        "org.opencontainers.image.authors": who.author,
    }
    annotations.update({k: v for k, v in optional.items() if v})
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": [
            {
                "mediaType": LAYER_TYPE,
                "digest": layer.digest,
                "size": layer.size,
                "annotations": {
                    TITLE: layer.path,
                    FILEPATH: layer.path,
                    FILE_SHA256: layer.sha256,
                },
            }
            for layer in layers
        ],
        "annotations": annotations,
    }
    data = _canonical(manifest)
    return Built(config, config_digest, data, "sha256:" + hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Parsed:
    """A pulled manifest, checked: every layer a titled file with a safe path."""

    config_digest: str
    config_size: int
    layers: tuple[Layer, ...]
    annotations: dict[str, str]


def _bad(where: str, why: str) -> ManifestError:
    return ManifestError(
        f"{where}: {why}",
        hint="it was not published by modelreg, or was changed since; publish it again",
    )


def parse(data: bytes, where: str) -> Parsed:
    """Check a manifest read from a registry (untrusted) and return its files.

    Each layer must carry a title that is a safe relative path (no ``..``, nothing
    absolute), no title twice, digests in sha256 form, and where a file's sha256
    annotation is present it must equal the layer digest.
    """
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise _bad(where, "the manifest is not JSON") from exc
    if not isinstance(document, dict):
        raise _bad(where, "the manifest is not a JSON object")
    if document.get("mediaType", MANIFEST_TYPE) != MANIFEST_TYPE or "layers" not in document:
        raise _bad(where, "not an OCI image manifest (an index or another kind)")
    config, layers = document.get("config"), document.get("layers")
    if not isinstance(config, dict) or not isinstance(layers, list):
        raise _bad(where, "the manifest has no config or no layer list")
    config_digest, config_size = config.get("digest"), config.get("size")
    if not isinstance(config_digest, str) or not DIGEST.match(config_digest):
        raise _bad(where, "the config's digest is not sha256")
    if not isinstance(config_size, int) or config_size < 0:
        raise _bad(where, "the config's size is not a number")
    found: list[Layer] = []
    seen: set[str] = set()
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise _bad(where, f"layer {index} is not an object")
        notes = layer.get("annotations") or {}
        title = notes.get(TITLE) if isinstance(notes, dict) else None
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(title, str):
            raise _bad(where, f"layer {index} has no title (org.opencontainers.image.title)")
        problem = path_problem(title)
        if problem:
            shown = title.encode("unicode_escape").decode("ascii")
            raise _bad(where, f"layer {index}'s title '{shown}' {problem}: refused")
        nested = any(s.startswith(title + "/") or title.startswith(s + "/") for s in seen)
        if title in seen or nested:
            raise _bad(where, f"layer {index}'s title '{title}' clashes with another layer's")
        if not isinstance(digest, str) or not DIGEST.match(digest):
            raise _bad(where, f"layer '{title}' has no sha256 digest")
        if not isinstance(size, int) or size < 0:
            raise _bad(where, f"layer '{title}' has no size")
        recorded = notes.get(FILE_SHA256)
        if recorded is not None and f"sha256:{recorded}" != digest:
            raise _bad(where, f"layer '{title}': its file sha256 and its digest disagree")
        seen.add(title)
        found.append(Layer(title, size, digest.removeprefix("sha256:")))
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict):
        annotations = {}
    clean = {str(k): str(v) for k, v in annotations.items()}
    return Parsed(config_digest, config_size, tuple(found), clean)
