"""The distribution API (the OCI distribution spec) over ``http.client``.

One :class:`OciClient` per repository and operation. It keeps one connection
open, answers a 401 once per request by following its ``WWW-Authenticate``
challenge (Basic with the credentials; Bearer: a token fetched from the realm the
registry names, as Harbor, GHCR and Docker Hub want), and turns every failure into
one :class:`~modelreg.errors.ModelregError` line that names the registry, never a
secret.

Blobs are pushed only when the registry lacks them (``HEAD``), in one ``PUT`` when
small and in ``PATCH`` chunks when large (some registries, GHCR among them, cap a
request's body), and pulled as a stream (following a redirect to storage without
our credentials).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from ..errors import OciAuthError, OciNotFoundError, OciRegistryError
from .auth import Credentials, parse_challenge
from .reference import OciRef

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CHUNK_ENV = "MODELREG_OCI_CHUNK_SIZE"
DEFAULT_CHUNK = 64 * 1024 * 1024
BLOCK = 1024 * 1024  # bytes per socket write/read
TIMEOUT = 300.0
Progress = Callable[[int], None]  # bytes moved since the last call


def chunk_size() -> int:
    """Blobs up to this size go in one PUT; larger ones in PATCH chunks of it."""
    try:
        return max(1024, int(os.environ.get(CHUNK_ENV, DEFAULT_CHUNK)))
    except ValueError:
        return DEFAULT_CHUNK


class _Slice:
    """``length`` bytes of a file from ``start``, as a body ``http.client`` streams."""

    def __init__(self, handle: BinaryIO, start: int, length: int, progress: Progress | None):
        self.handle, self.left, self.progress = handle, length, progress
        handle.seek(start)

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        if self.progress and data:
            self.progress(len(data))
        return data


def _registry_message(body: bytes) -> str:
    """The ``errors`` a registry sends back, as one short line."""
    try:
        errors = json.loads(body).get("errors") or []
        parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors]
        return "; ".join(p for p in parts if p)[:300]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace").strip()


class OciClient:
    """Requests to one repository of one registry."""

    def __init__(
        self,
        ref: OciRef,
        credentials: Credentials | None,
        *,
        plain_http: bool = False,
        push: bool = False,
    ) -> None:
        self.ref = ref
        self.credentials = credentials
        self.secure = not (plain_http or ref.loopback)
        self.scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        self._auth: str | None = None
        self._conn: http.client.HTTPConnection | None = None
        self.base = f"/v2/{ref.repository}"

    # --- the connection --------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.secure else http.client.HTTPConnection
            self._conn = cls(self.ref.host, timeout=TIMEOUT, blocksize=BLOCK)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _unreachable(self, exc: Exception) -> OciRegistryError:
        self.close()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return OciRegistryError(
            f"the OCI registry {self.ref.host} could not be reached or dropped the "
            f"connection: {reason}",
            hint="check that it is running and reachable, then try again",
        )

    def _send(
        self, method: str, target: str, body: object, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        conn = self._connection()
        if self._auth:
            headers = {**headers, "Authorization": self._auth}
        try:
            conn.request(method, target, body=body, headers=headers)  # type: ignore[arg-type]
            return conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | Callable[[], object] | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        what: str = "",
    ) -> tuple[http.client.HTTPResponse, bytes | None]:
        """Send a request (``body``: bytes, or a function making a fresh file-like
        body for each try); answer one 401 by authenticating. Returns the response and
        its body, read, unless the status is in ``ok`` and the method is GET (then the
        caller reads the stream)."""
        headers = dict(headers or {})
        for attempt in (1, 2):
            payload = body() if callable(body) else body
            if payload is None and method in ("PUT", "PATCH", "POST"):
                headers.setdefault("Content-Length", "0")
            response = self._send(method, target, payload, headers)
            if response.status == 401 and attempt == 1:
                response.read()
                self._authenticate(response.getheader("WWW-Authenticate") or "")
                continue
            if response.status in ok and method == "GET":
                return response, None
            try:
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise self._unreachable(exc) from exc
            if response.status in ok:
                return response, data
            raise self._refused(response.status, data, method, what or target)
        raise AssertionError("unreachable")

    def _refused(self, status: int, data: bytes, method: str, what: str) -> Exception:
        said = _registry_message(data)
        said = f" ({said})" if said else ""
        where = f"{self.ref.host}/{self.ref.repository}"
        if status == 401:
            return OciAuthError(
                f"{where} refused our credentials for {what}{said}",
                hint="log in (docker login / oras login) or set MODELREG_OCI_USERNAME and "
                "MODELREG_OCI_PASSWORD",
            )
        if status == 403:
            return OciAuthError(
                f"{where}: access to {what} is denied{said}",
                hint="these credentials may not push or pull this repository",
            )
        if status == 404:
            return OciNotFoundError(f"{where} has no {what}{said}")
        return OciRegistryError(f"{where} answered {status} to {method} {what}{said}")

    # --- authentication --------------------------------------------------------

    def _authenticate(self, header: str) -> None:
        challenge = parse_challenge(header)
        where = self.ref.host
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise OciAuthError(
                    f"{where} wants a user name and password, and none is set",
                    hint="log in (docker login) or set MODELREG_OCI_USERNAME and "
                    "MODELREG_OCI_PASSWORD",
                )
            self._auth = self.credentials.basic()
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise OciAuthError(f"{where} asks for authentication we do not speak: {header[:80]}")
        self._auth = "Bearer " + self._token(challenge.params)

    def _token(self, params: dict[str, str]) -> str:
        """A Bearer token from the realm (the token flow of the distribution spec)."""
        realm = params["realm"]
        scheme = urllib.parse.urlsplit(realm).scheme
        if scheme not in ("http", "https"):
            raise OciAuthError(f"{self.ref.host} names a token service that is not http(s)")
        if scheme == "http" and self.secure and self.credentials is not None:
            # The registry is reached over TLS: its credentials never go out in clear.
            raise OciAuthError(
                f"{self.ref.host} names a token service over plain http; refusing to send "
                "credentials there"
            )
        scopes = [self.scope] if self.scope.endswith("push") else []
        scopes = scopes or [params.get("scope", self.scope)]
        query = {"scope": scopes[0]}
        if "service" in params:
            query["service"] = params["service"]
        creds = self.credentials
        headers = {"User-Agent": "modelreg"}
        data = None
        if creds is not None and creds.refresh_token:
            form = {**query, "grant_type": "refresh_token", "refresh_token": creds.refresh_token}
            form["client_id"] = "modelreg"
            data = urllib.parse.urlencode(form).encode()
            url = realm
        else:
            if creds is not None:
                headers["Authorization"] = creds.basic()
            url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, data=data, headers=headers), timeout=60
            ) as answer:
                document = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise OciAuthError(
                f"the token service of {self.ref.host} refused us ({exc.code})",
                hint="check the credentials (docker login, or MODELREG_OCI_USERNAME/PASSWORD)",
            ) from exc
        except (OSError, ValueError) as exc:
            raise OciRegistryError(
                f"the token service of {self.ref.host} could not be reached: {exc}"
            ) from exc
        token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not token:
            raise OciAuthError(f"the token service of {self.ref.host} sent no token")
        return token

    # --- blobs -------------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        response, _ = self.request(
            "HEAD", f"{self.base}/blobs/{digest}", ok=(200, 404), what=f"blob {digest}"
        )
        return response.status == 200

    def _location(self, response: http.client.HTTPResponse) -> str:
        location = response.getheader("Location")
        if not location:
            raise OciRegistryError(f"{self.ref.host} started an upload without a Location")
        parts = urllib.parse.urlsplit(location)
        if parts.netloc and parts.netloc != self.ref.host:
            raise OciRegistryError(
                f"{self.ref.host} sent the upload to another host ({parts.netloc}): not supported"
            )
        return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))

    @staticmethod
    def _with_digest(location: str, digest: str) -> str:
        joiner = "&" if "?" in location else "?"
        return f"{location}{joiner}digest={urllib.parse.quote(digest)}"

    def push_bytes(self, digest: str, data: bytes) -> None:
        """Push a small blob held in memory (a config), unless the registry has it."""
        if self.has_blob(digest):
            return
        response, _ = self.request(
            "POST", f"{self.base}/blobs/uploads/", ok=(202,), what="a new upload"
        )
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
        self.request(
            "PUT",
            self._with_digest(self._location(response), digest),
            body=data,
            headers=headers,
            ok=(201,),
            what=f"blob {digest}",
        )

    def push_file(
        self, digest: str, size: int, handle: BinaryIO, progress: Progress | None = None
    ) -> bool:
        """Push a file's bytes as blob ``digest`` unless the registry has it (then
        False): one PUT up to :func:`chunk_size`, PATCH chunks beyond."""
        if self.has_blob(digest):
            if progress:
                progress(size)
            return False
        response, _ = self.request(
            "POST", f"{self.base}/blobs/uploads/", ok=(202,), what="a new upload"
        )
        location = self._location(response)
        step = chunk_size()
        octets = {"Content-Type": "application/octet-stream"}
        if size <= step:
            self.request(
                "PUT",
                self._with_digest(location, digest),
                body=lambda: _Slice(handle, 0, size, progress),
                headers={**octets, "Content-Length": str(size)},
                ok=(201,),
                what=f"blob {digest}",
            )
            return True
        start = 0
        while start < size:
            length = min(step, size - start)
            first = start

            def body(first: int = first, length: int = length) -> _Slice:
                return _Slice(handle, first, length, progress)

            headers = {
                **octets,
                "Content-Length": str(length),
                "Content-Range": f"{start}-{start + length - 1}",
            }
            response, _ = self.request(
                "PATCH", location, body=body, headers=headers, ok=(202,), what=f"blob {digest}"
            )
            location = self._location(response)
            start += length
        self.request("PUT", self._with_digest(location, digest), ok=(201,), what=f"blob {digest}")
        return True

    @contextmanager
    def blob(self, digest: str) -> Iterator[http.client.HTTPResponse]:
        """The blob's bytes as a stream (a redirect to storage is followed without our
        credentials, which are for the registry alone)."""
        response, _ = self.request(
            "GET", f"{self.base}/blobs/{digest}", ok=(200, 307, 302, 303), what=f"blob {digest}"
        )
        try:
            if response.status in (302, 303, 307):
                location = response.getheader("Location") or ""
                response.read()
                yield from_url(location, self.ref.host)
            else:
                yield response
        finally:
            response.close()
            self.close()

    # --- manifests -----------------------------------------------------------------

    def put_manifest(self, reference: str, data: bytes, media_type: str = MANIFEST_TYPE) -> str:
        """PUT a manifest under a tag (or its digest); returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.request(
            "PUT",
            f"{self.base}/manifests/{reference}",
            body=data,
            headers={"Content-Type": media_type, "Content-Length": str(len(data))},
            ok=(201,),
            what=f"manifest {reference}",
        )
        return digest

    def get_manifest(self, reference: str, limit: int = 4 * 1024 * 1024) -> tuple[bytes, str]:
        """A manifest's bytes and media type (an index is refused by the caller)."""
        response, _ = self.request(
            "GET",
            f"{self.base}/manifests/{reference}",
            headers={"Accept": f"{MANIFEST_TYPE}, {INDEX_TYPE}"},
            what=f"manifest {reference}",
        )
        try:
            data = response.read(limit + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from exc
        if len(data) > limit:
            self.close()
            raise OciRegistryError(f"{self.ref.host}: manifest {reference} is implausibly large")
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return data, kind


def from_url(url: str, registry: str) -> http.client.HTTPResponse:
    """GET ``url`` (a blob's storage, after a redirect) and return the open response."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OciRegistryError(f"{registry} redirected a download to '{url[:80]}'")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.netloc, timeout=TIMEOUT, blocksize=BLOCK)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        conn.request("GET", target)
        response = conn.getresponse()
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise OciRegistryError(f"the storage {registry} redirected to failed: {exc}") from exc
    if response.status != 200:
        raise OciRegistryError(f"the storage {registry} redirected to answered {response.status}")
    return response
