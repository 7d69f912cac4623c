"""Bytes in and out over HTTP: upload, register, a version's files, its archive.

``POST /v2/models/upload`` and ``POST /v2/models/register`` are the founding
document's: the first keeps a body in the :mod:`.uploads` area under its sha256,
the second registers uploads through the same :meth:`Registry.register
<modelreg.registry.Registry.register>` the CLI calls (same commit, tag, lock and
journal). ``GET /v2/models/{model_id}/files[/PATH]`` and ``.../archive`` hand out
a version's bytes from where :meth:`Registry.local_files
<modelreg.registry.Registry.local_files>` found them: never a whole file whose
sha256 differs from the manifest's (see :func:`one_file` for a big file checked
as it is sent).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import hashlib
import logging
import os
import re
import tarfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from .. import serialize
from ..errors import ManifestError
from ..hashing import KnownDigests
from ..manifest import KEYS as MANIFEST_KEYS
from ..manifest import SCHEMA
from ..registry import Registry
from ..results import LocalFile, RegisterResult
from .context import context
from .http import BadRequest, blocking, error_response, field, json_body, json_response, required
from .refs import Target
from .uploads import (
    DEFAULT_NAME,
    Upload,
    UploadArea,
    UploadError,
    checked_name,
    client_file_name,
    parse_digest,
)

BLOCK = 4 << 20  # bytes handed to the writer thread at a time (two in flight at most)
READ_BLOCK = 4 << 20  # bytes read (and hashed, when checked as sent) per worker-thread call
CHECK_FIRST_BELOW = 8 << 20
"""A file this small whose sha256 is not known yet is read whole and checked before
its first byte is sent (a few ms); a bigger one is checked as it is sent."""

log = logging.getLogger("modelreg.server")

# --- upload ---------------------------------------------------------------------------


def upload_name(request: Request) -> str:
    """``?filename=`` (a path, checked as an artifact path), else the
    ``Content-Disposition`` header's file name (its last part), else model.bin."""
    given = request.query_params.get("filename")
    if given is not None:
        return checked_name(given, "filename")
    disposition = request.headers.get("content-disposition")
    if disposition:
        header = email.message.Message()
        header["content-disposition"] = disposition
        try:
            name = header.get_filename()
        except (ValueError, LookupError):  # a malformed header: no name
            name = None
        if name:
            return client_file_name(name)
    return DEFAULT_NAME


async def upload(request: Request) -> Response:
    """The body, streamed to the upload area while its sha256 is computed."""
    ctx = context(request)
    area = ctx.uploads
    idle = ctx.settings.upload_idle_timeout
    filename = upload_name(request)
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        # A form's envelope would be stored as the model's bytes, and nobody would notice.
        raise BadRequest(
            "the body is a multipart form; the upload takes the file's raw bytes as the body",
            "send the file itself (curl: -X POST -T FILE; requests: data=open(FILE, 'rb'))",
            status=415,
        )
    declared = _content_length(request)
    if declared is not None and declared > area.max_size:
        raise BadRequest(_too_large(area.max_size), status=413)
    receiving = await blocking(area.begin)
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    finished = False
    try:
        buffer, received = bytearray(), 0
        chunks = request.stream().__aiter__()
        while True:
            try:
                async with asyncio.timeout(idle):  # no task per chunk, unlike wait_for
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise BadRequest(
                    f"nothing arrived for {idle:g} s; the upload was given up", status=408
                ) from None
            received += len(chunk)
            if received > area.max_size:
                raise BadRequest(_too_large(area.max_size), status=413)
            buffer += chunk
            if len(buffer) >= BLOCK:
                if pending is not None:
                    await pending
                # Written and hashed on a worker thread while the next block arrives.
                pending = loop.run_in_executor(None, receiving.write, buffer)
                buffer = bytearray()
        if pending is not None:
            await pending
        if buffer:
            await blocking(receiving.write, buffer)
        if declared is not None and received != declared:
            raise BadRequest(f"the body ended after {received} of {declared} bytes")
        done = await blocking(area.finish, receiving, filename)
        finished = True
    except ClientDisconnect:
        raise BadRequest("the client went away before the body ended; nothing was kept") from None
    finally:
        if not finished:
            if pending is not None and not pending.done():
                pending.cancel()
            area.drop(receiving)  # waits for a block being written, then removes the file
    return json_response({"digest": done.digest, "size": done.size, "filename": done.filename})


def _content_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    if text is None:
        return None
    if not text.isdigit():
        raise BadRequest(f"Content-Length '{text[:40]}' is not a number of bytes")
    return int(text)


def _too_large(limit: int) -> str:
    return f"the upload is larger than this server takes ({limit} bytes)"


# --- register -------------------------------------------------------------------------

BODY_KEYS = ("metadata", "file_digest", "files", "message", "allow_unresolved")
# Manifest fields the registry writes itself; the rest are register's parameters.
COMPUTED = ("artifacts", "created")
EXTRA_METADATA = ("bump",)


async def register(request: Request) -> Response:
    """Register uploads as a new version, as ``modelreg register`` would."""
    ctx = context(request)
    body = await json_body(request)
    unknown = [key for key in body if key not in BODY_KEYS]
    if unknown:
        raise UploadError(f"unknown key '{unknown[0]}' (allowed: {', '.join(BODY_KEYS)})")
    metadata = required(body, "metadata", dict)
    name, options = register_arguments(metadata)
    message = field(body, "message", str)
    allow_unresolved = bool(field(body, "allow_unresolved", bool, False))
    wanted = _wanted_files(body)
    files = [(path, ctx.uploads.find(sha256)) for path, sha256 in wanted]
    named = [(path or upload.filename, upload) for path, upload in files]
    _refuse_twice(named)

    def run(registry: Registry, push: bool) -> RegisterResult:
        with ctx.uploads.staged(named, registry.root) as folder:
            # Computed by this server as the bytes arrived: not read a second time.
            known = {
                folder.joinpath(*rel.split("/")): digests
                for rel, upload in named
                if (digests := upload.digests()) is not None
            }
            return registry.register(
                name,
                folder,
                message=message,
                allow_unresolved=allow_unresolved,
                push=push,
                known_digests=known,
                # Hashed here as they arrived, then copied into DVC's cache: the
                # registration vouches for the objects it wrote, so the first
                # download of the new version need not read them again.
                remember_in=ctx.known,
                **options,
            )

    result = await blocking(ctx.write, run)
    ctx.metrics.event_written("register")
    document = {"model_id": f"{result.name}@v{result.version}", **serialize.register_result(result)}
    return json_response(document, status=201)


def _wanted_files(body: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """(path or None for the upload's own name, sha256) for each file asked for."""
    one = field(body, "file_digest", str)
    many = field(body, "files", list)
    if (one is None) == (many is None):
        raise UploadError("give either 'file_digest' (one file) or 'files' (several)")
    if one is not None:
        return [(None, parse_digest(one, "file_digest"))]
    assert many is not None
    if not many:
        raise UploadError("'files' is empty: a version needs at least one file")
    wanted: list[tuple[str | None, str]] = []
    for index, item in enumerate(many):
        where = f"files[{index}]"
        if not isinstance(item, dict):
            raise UploadError(f"{where} must be an object with 'path' and 'digest'")
        extra = [k for k in item if k not in ("path", "digest")]
        if extra:
            raise UploadError(f"{where}: unknown key '{extra[0]}' (allowed: path, digest)")
        path, digest = item.get("path"), item.get("digest")
        if not isinstance(path, str) or not isinstance(digest, str):
            raise UploadError(f"{where} needs 'path' and 'digest', both strings")
        wanted.append((checked_name(path, f"{where}.path"), parse_digest(digest, where)))
    return wanted


def _refuse_twice(named: Sequence[tuple[str, Upload]]) -> None:
    seen: set[str] = set()
    for path, _upload in named:
        if path in seen:
            raise UploadError(f"two files would both be stored as '{path}'")
        seen.add(path)
        # 'a' and 'a/b' cannot both be files.
        parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
        clash = parents & seen or {p for p in seen if p.startswith(path + "/")}
        if clash:
            raise UploadError(f"'{path}' and '{sorted(clash)[0]}' cannot both be files")


def register_arguments(metadata: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``metadata`` (the manifest's fields, as the manifest spells them) → the
    model's name and :meth:`Registry.register`'s keyword arguments. A key the
    manifest does not know is refused, as the manifest refuses it."""
    for key in metadata:
        if key in COMPUTED:
            raise ManifestError(f"metadata.{key}: written by the registry, not given")
        if key not in MANIFEST_KEYS and key not in EXTRA_METADATA:
            allowed = [k for k in MANIFEST_KEYS if k not in COMPUTED] + list(EXTRA_METADATA)
            raise ManifestError(f"metadata.{key}: unknown key (allowed: {', '.join(allowed)})")
    schema = metadata.get("schema")
    if schema is not None and schema != SCHEMA:
        raise ManifestError(f"metadata.schema: this registry writes schema {SCHEMA}")
    name = _text(metadata, "name", required=True)
    assert name is not None
    options: dict[str, Any] = {
        key: _text(metadata, key)
        for key in ("version", "author", "license", "description", "framework")
    }
    bump = _text(metadata, "bump")
    if bump is not None and bump not in ("major", "minor", "patch"):
        raise ManifestError(f"metadata.bump: '{bump}' is not major, minor or patch")
    options["bump"] = bump
    options["labels"] = _mapping(metadata, "labels", (str,), "a string")
    options["metrics"] = _mapping(metadata, "metrics", (int, float), "a number")
    options["params"] = _mapping(
        metadata, "params", (str, int, float, bool, type(None)), "a scalar"
    )
    options["dependencies"] = _dependencies(metadata.get("dependencies"))
    options["code_commit"] = _code_commit(metadata.get("lineage"))
    return name, options


def _text(metadata: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = metadata.get(key)
    if value is None:
        if required:
            raise ManifestError(f"metadata.{key}: missing")
        return None
    if not isinstance(value, str):
        raise ManifestError(f"metadata.{key}: must be a string")
    return value


def _mapping(
    metadata: Mapping[str, Any], key: str, kinds: tuple[type, ...], what: str
) -> dict[str, Any]:
    value = metadata.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"metadata.{key}: must be an object")
    for item, found in value.items():
        number_as_bool = isinstance(found, bool) and bool not in kinds
        if not isinstance(found, kinds) or number_as_bool:
            raise ManifestError(f"metadata.{key}.{item}: must be {what}")
    return dict(value)


def _dependencies(value: object) -> list[str]:
    """``["name@range", ...]`` or ``[{"name", "version"}, ...]`` (as the manifest
    writes them) → register's ``NAME@RANGE`` strings."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError("metadata.dependencies: must be a list")
    out = []
    for index, item in enumerate(value):
        where = f"metadata.dependencies[{index}]"
        if isinstance(item, str):
            out.append(item)
            continue
        if not isinstance(item, dict) or set(item) != {"name", "version"}:
            raise ManifestError(f'{where}: write \'NAME@RANGE\' or {{"name", "version"}}')
        name, version = item["name"], item["version"]
        if not isinstance(name, str) or not isinstance(version, str):
            raise ManifestError(f"{where}: name and version must be strings")
        out.append(f"{name}@{version}")
    return out


def _code_commit(value: object) -> str | None:
    """``lineage: {code_commit}``. Lineage ``data`` names files on the registering
    machine, which over HTTP would be the server's own: refused."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ManifestError("metadata.lineage: must be an object")
    for key in value:
        if key == "data":
            raise ManifestError(
                "metadata.lineage.data: data files are recorded from the CLI, where they are"
            )
        if key != "code_commit":
            raise ManifestError(f"metadata.lineage.{key}: unknown key (allowed: code_commit)")
    commit = value.get("code_commit")
    if commit is not None and not isinstance(commit, str):
        raise ManifestError("metadata.lineage.code_commit: must be a string")
    return commit


# --- files out ------------------------------------------------------------------------


async def one_file(request: Request, target: Target, path: str) -> Response:
    """The bytes, verified; ``ETag`` is the sha256, ``Range`` (one) and
    ``If-None-Match`` are honoured.

    A file this server has checked before (unchanged since: :class:`KnownDigests
    <modelreg.hashing.KnownDigests>`) is sent at once. A big one not checked yet
    is checked *as it is sent*, so its first byte leaves without the whole file
    being read first: every block but the last goes out as it is read and hashed,
    and the last only once the sha256 is the manifest's. When it is not, the
    answer stops short of its ``Content-Length`` (a client sees a cut transfer,
    never a complete wrong file), the server logs it, and the next request checks
    the file before sending (repairing it from the DVC remote, or a 409). A range
    of an unchecked file, and a small file, are checked before the first byte.
    """
    ctx = context(request)

    def find(verify: bool) -> LocalFile:
        registry = ctx.registry()
        return registry.local_files(target.ref, [path], known=ctx.known, verify=verify).files[0]

    found = await blocking(find, False)
    etag = f'"{found.sha256}"'
    headers = {"etag": etag, "accept-ranges": "bytes", "cache-control": "no-cache"}
    if _matches(request.headers.get("if-none-match"), found.sha256):
        return Response(status_code=304, headers=headers)
    start, end = 0, found.size
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted is not None and (if_range is None or if_range.strip() == etag):
        span = byte_range(wanted, found.size)
        if span == "unsatisfiable":
            answer = error_response(
                BadRequest(f"the range '{wanted[:80]}' is not within {found.size} bytes"),
                status=416,
            )
            answer.headers["content-range"] = f"bytes */{found.size}"
            return answer
        if isinstance(span, tuple):
            start, end = span
    whole = (start, end) == (0, found.size)
    sending = request.method != "HEAD"
    if sending and not found.verified and (not whole or found.size < CHECK_FIRST_BELOW):
        found = await blocking(find, True)
    status = 206 if not whole else 200
    headers["content-length"] = str(end - start)
    if status == 206:
        headers["content-range"] = f"bytes {start}-{end - 1}/{found.size}"
    headers["content-disposition"] = _disposition(path.rsplit("/", 1)[-1])
    body = _read(found, start, end, ctx.known) if sending else _nothing()
    return FileStream(
        body, status_code=status, headers=headers, media_type="application/octet-stream"
    )


def _matches(header: str | None, sha256: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or f'"{sha256}"' in tags


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range → (start, end exclusive); ``"unsatisfiable"``; or None
    for a header that is ignored (malformed, or several ranges: the whole file is
    sent, as RFC 9110 allows)."""
    found = _RANGE.fullmatch(header.strip())
    if found is None or (not found.group(1) and not found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - count), size
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size)


class CutShort(Exception):
    """A file's answer must stop before its last byte (its bytes are wrong)."""


class FileStream(StreamingResponse):
    """A streamed answer that :class:`CutShort` ends without its last bytes: the
    server then closes the connection, and the client, short of the
    ``Content-Length`` it was promised, knows the transfer failed."""

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except CutShort as exc:
            log.error("%s", exc)


class _Blocks:
    """A file's bytes from ``start`` to ``end``, one block per call of :meth:`next`,
    and, when ``check`` (the whole file), their sha256 fed block by block by
    :meth:`hash` (each on a worker thread)."""

    def __init__(self, found: LocalFile, start: int, end: int, check: bool) -> None:
        self.found = found
        self.handle = open(found.local, "rb", buffering=0)  # noqa: SIM115 (closed by close_after)
        self.before = os.fstat(self.handle.fileno())
        self.handle.seek(start)
        self.left = end - start
        self.sha256 = hashlib.sha256() if check else None

    def next(self) -> bytes:
        """The next block; ``b""`` at the end."""
        wanted = min(READ_BLOCK, self.left)
        chunk = self.handle.read(wanted) if wanted else b""
        while 0 < len(chunk) < wanted:  # a short read: ask again
            more = self.handle.read(wanted - len(chunk))
            if not more:
                break
            chunk += more
        if len(chunk) < wanted:  # the object shrank under us
            raise CutShort(f"{self.found.local} ended {self.left - len(chunk)} bytes early")
        self.left -= wanted
        return chunk

    def hash(self, chunk: bytes) -> None:
        assert self.sha256 is not None
        self.sha256.update(chunk)  # hashlib lets go of the GIL for big buffers

    def check(self, known: KnownDigests) -> None:
        """After the last block is hashed: the sha256 remembered (right or wrong, so
        the next request knows), and :class:`CutShort` if it is not the manifest's."""
        assert self.sha256 is not None
        got = self.sha256.hexdigest()
        known.learn(self.handle.fileno(), self.before, got)
        if got != self.found.sha256:
            raise CutShort(
                f"{self.found.path}: the object {self.found.local} does not match its sha256 "
                f"(expected {self.found.sha256[:12]}…, got {got[:12]}…); the answer was cut "
                "short, and the next request checks the file first"
            )

    def close_after(self, *pending: asyncio.Future[Any]) -> None:
        """Close the file once no work on it is under way (a failure of that work is
        of no interest any more: nobody waits for it)."""
        for work in pending:
            if work.done() and not work.cancelled():
                work.exception()
        left = [work for work in pending if not work.done()]
        if left:
            left[0].add_done_callback(lambda _done: self.close_after(*left))
            return
        self.handle.close()


async def _read(
    found: LocalFile, start: int, end: int, known: KnownDigests | None = None
) -> AsyncIterator[bytes]:
    """``found``'s bytes from ``start`` to ``end``, :data:`READ_BLOCK` at a time, the
    next block read on a worker thread while the last one is sent.

    A file not verified yet (sent whole, with ``known`` to tell) is hashed as it is
    read, on another worker thread: block ``i + 1`` is read while block ``i`` is
    hashed and block ``i - 1`` sent, so on two cores the sha256 costs little more
    than the reading. The last block is held back until the digest is known
    (:meth:`_Blocks.check`)."""
    loop = asyncio.get_running_loop()
    check = not found.verified
    if check and (known is None or (start, end) != (0, found.size)):
        raise AssertionError("an unverified file is sent whole, with somewhere to learn")
    blocks = await loop.run_in_executor(None, _Blocks, found, start, end, check)
    reading = loop.run_in_executor(None, blocks.next)
    hashing: asyncio.Future[None] = loop.create_future()
    hashing.set_result(None)
    try:
        held = b""
        while chunk := await reading:
            reading = loop.run_in_executor(None, blocks.next)
            if check:
                await hashing  # the sha256 takes the blocks in order
                hashing = loop.run_in_executor(None, blocks.hash, chunk)
                chunk, held = held, chunk
            if chunk:
                yield chunk
        if check:
            assert known is not None
            await hashing
            blocks.check(known)
            if held:
                yield held
    finally:
        # A client that went away cancels this generator while a block may still be
        # being read or hashed: the file closes after that.
        blocks.close_after(reading, hashing)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    quoted = quote(filename)
    if quoted == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quoted}"


# --- archive ---------------------------------------------------------------------------


async def archive(request: Request, target: Target) -> Response:
    """The version's files as one tar stream (``NAME-VERSION/PATH`` entries),
    each verified before the first byte is sent; its length is known in advance."""
    ctx = context(request)

    def find() -> tuple[str, str, tuple[LocalFile, ...], int]:
        registry = ctx.registry()
        info = registry.show(target.ref)
        found = registry.local_files(target.ref, known=ctx.known)
        return found.name, found.version, found.files, info.registered_at or 0

    name, version, local, when = await blocking(find)
    folder = f"{name.rsplit('/', 1)[-1]}-{version}"
    headers_of = [_tar_header(f"{folder}/{f.path}", f.size, when) for f in local]
    size = sum(len(h) + _padded(f.size) for h, f in zip(headers_of, local, strict=True))
    size = _padded_record(size + 2 * tarfile.BLOCKSIZE)
    headers = {
        "content-length": str(size),
        "content-disposition": _disposition(f"{folder}.tar"),
    }

    async def stream() -> AsyncIterator[bytes]:
        sent = 0
        for header, item in zip(headers_of, local, strict=True):
            yield header
            async for chunk in _read(item, 0, item.size):
                yield chunk
            padding = _padded(item.size) - item.size
            if padding:
                yield bytes(padding)
            sent += len(header) + _padded(item.size)
        yield bytes(size - sent)  # the end-of-archive blocks, to a whole record

    body = stream() if request.method != "HEAD" else _nothing()
    return StreamingResponse(body, headers=headers, media_type="application/x-tar")


def _tar_header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = mtime
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _padded(size: int) -> int:
    return -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


def _padded_record(size: int) -> int:
    return -(-size // tarfile.RECORDSIZE) * tarfile.RECORDSIZE


# --- the upload area's upkeep -------------------------------------------------------------


@contextlib.asynccontextmanager
async def upkeep(area: UploadArea, root: Path) -> AsyncIterator[None]:
    """Before the first request: every partial upload and staging folder a killed
    server left, and expired uploads. Then expired uploads again, every quarter of
    their lifetime (at most every 10 minutes), until the server stops."""
    await blocking(area.sweep, starting=True)
    await blocking(area.sweep_staging, root)

    async def again() -> None:
        while True:
            await asyncio.sleep(min(max(area.max_age / 4, 0.5), 600.0))
            await blocking(area.sweep)

    task = asyncio.create_task(again())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
