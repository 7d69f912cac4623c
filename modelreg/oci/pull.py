"""``get oci://...``: pull an artifact, verify every byte, write its files (no git).

Everything the registry sends is untrusted: the manifest is checked by
:func:`artifact.parse` (titles are paths inside the output folder, or refused), the
config blob and every layer are hashed as they stream in and compared with their
digests, the Kitfile's ``digest`` per path must agree with the layers, and a file is
moved into place only when every file has verified; a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import uuid
from pathlib import Path

from ..errors import (
    FORCE_OR_OUT_DIR,
    DirtyStateError,
    IntegrityError,
    ManifestError,
    OciRegistryError,
    Remedy,
)
from ..paths import TEMP_MARK, against, inside, open_new, replace_into, write_error
from ..results import FileResult, FilesWritten
from .artifact import MODEL, VERSION, Layer, parse
from .auth import find_credentials
from .client import BLOCK, OciClient
from .reference import OciRef, parse_oci

CONFIG_LIMIT = 4 * 1024 * 1024


def _stream(response: http.client.HTTPResponse, sink: object, size: int, where: str) -> str:
    """Copy exactly ``size`` bytes from ``response`` into ``sink`` (a file, or None);
    return their sha256 hex. More or fewer bytes than the manifest says is refused."""
    digest = hashlib.sha256()
    left = size
    try:
        while True:
            data = response.read(min(BLOCK, left + 1) if left >= 0 else BLOCK)
            if not data:
                break
            left -= len(data)
            if left < 0:
                raise IntegrityError(f"{where}: the registry sent more bytes than its size")
            digest.update(data)
            if sink is not None:
                sink.write(data)  # type: ignore[attr-defined]
    except (OSError, http.client.HTTPException) as exc:
        raise OciRegistryError(f"{where}: the download broke off: {exc}") from exc
    if left > 0:
        raise OciRegistryError(f"{where}: the download broke off ({left} bytes missing)")
    return digest.hexdigest()


def _check_kitfile(config: bytes, layers: tuple[Layer, ...], where: str) -> None:
    """Where the Kitfile names a path with a digest, it must be that layer's."""
    try:
        document = json.loads(config)
    except ValueError as exc:
        raise ManifestError(f"{where}: the config (Kitfile) is not JSON") from exc
    by_path = {layer.path: layer.digest for layer in layers}
    model = document.get("model") if isinstance(document, dict) else None
    sections = [model, *(model.get("parts") or [])] if isinstance(model, dict) else []
    for section in sections:
        if not isinstance(section, dict):
            continue
        path, digest = section.get("path"), section.get("digest")
        known = by_path.get(path) if isinstance(path, str) else None
        if known is not None and isinstance(digest, str) and known != digest:
            raise IntegrityError(
                f"{where}: the Kitfile says {path} is {digest[:19]}…, its layer {known[:19]}…"
            )


def get_artifact(
    text: str | OciRef,
    out_dir: str | Path | None = None,
    *,
    force: bool = False,
    cwd: str | Path | None = None,
    plain_http: bool = False,
) -> FilesWritten:
    """Pull ``oci://HOST/REPO:TAG`` into ``out_dir`` (default: a folder named after
    the repository's last part), every file verified; nothing written on failure."""
    ref = parse_oci(text) if isinstance(text, str) else text
    if ref.reference is None:
        ref = ref.with_tag("latest")
    assert ref.reference is not None
    shown = Path(out_dir) if out_dir is not None else Path(ref.repository.rsplit("/", 1)[-1])
    out = against(cwd, shown)
    client = OciClient(ref, find_credentials(ref.host), plain_http=plain_http)
    where = str(ref)
    try:
        data, _kind = client.get_manifest(ref.reference)
        if ref.digest and "sha256:" + hashlib.sha256(data).hexdigest() != ref.digest:
            raise IntegrityError(f"{where}: the manifest does not match the digest asked for")
        parsed = parse(data, where)
        if parsed.config_size > CONFIG_LIMIT:
            raise ManifestError(f"{where}: the config is implausibly large")
        with client.blob(parsed.config_digest) as response:
            config = response.read(parsed.config_size + 1)
        if "sha256:" + hashlib.sha256(config).hexdigest() != parsed.config_digest:
            raise IntegrityError(f"{where}: the config blob does not match its digest")
        _check_kitfile(config, parsed.layers, where)
        for layer in parsed.layers:
            if out.exists():
                inside(out, layer.path, f"{where}: layer title")  # no symlink on the way
            existing = out / layer.path
            if not force and existing.is_file() and _sha256(existing) != layer.sha256:
                raise DirtyStateError(
                    f"{shown / layer.path} exists and differs from {where}'s {layer.path}",
                    hint=FORCE_OR_OUT_DIR,
                    remedy=Remedy("force", FORCE_OR_OUT_DIR),
                )
        out.mkdir(parents=True, exist_ok=True)
        staging = out / f"{TEMP_MARK}oci-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            staged = []
            for index, layer in enumerate(parsed.layers):
                target = staging / str(index)
                try:
                    handle = open_new(target)
                except OSError as exc:
                    raise write_error(target, exc) from exc
                with handle, client.blob(layer.digest) as response:
                    got = _stream(response, handle, layer.size, f"{where}: {layer.path}")
                if got != layer.sha256:
                    raise IntegrityError(
                        f"{where}: {layer.path} does not match its sha256 (expected "
                        f"{layer.sha256[:12]}…, got {got[:12]}…): the registry's blob is corrupt",
                        hint="publish the version again from the registry (modelreg publish)",
                    )
                staged.append((layer, target))
            for layer, target in staged:
                replace_into(out, layer.path, target, f"{where}: layer title")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        client.close()
    name = parsed.annotations.get(MODEL, ref.repository)
    version = parsed.annotations.get(VERSION, ref.reference)
    files = tuple(FileResult(layer.path, layer.size, layer.sha256) for layer in parsed.layers)
    return FilesWritten(name, version, out.resolve(), files)


def _sha256(path: Path) -> str:
    from ..hashing import sha256_file

    return sha256_file(path)
