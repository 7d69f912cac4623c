"""``oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]``: where an artifact lives (pure).

The grammar is the distribution spec's: repository components are lower-case
alphanumerics joined by ``.``, ``_``, ``__`` or ``-``; a tag is at most 128 of
``[A-Za-z0-9_.-]`` and does not start with ``.`` or ``-``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidReferenceError
from ..results import Publication

SCHEME = "oci://"
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class OciRef:
    host: str  # with its port, as written: "127.0.0.1:5000"
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str | None:
        """What the manifest endpoint takes: the digest if given, else the tag."""
        return self.digest or self.tag

    @property
    def hostname(self) -> str:
        return self.host.rsplit(":", 1)[0] if not self.host.endswith("]") else self.host

    @property
    def loopback(self) -> bool:
        return self.hostname in LOOPBACK

    def with_tag(self, tag: str) -> OciRef:
        return OciRef(self.host, self.repository, tag, None)

    def __str__(self) -> str:
        tail = f"@{self.digest}" if self.digest else f":{self.tag}" if self.tag else ""
        return f"{SCHEME}{self.host}/{self.repository}{tail}"


def is_oci(text: str) -> bool:
    return text.startswith(SCHEME)


def parse_oci(text: str) -> OciRef:
    """Parse an ``oci://`` reference; a malformed one is an InvalidReferenceError."""
    hint = "write it as oci://HOST[:PORT]/REPOSITORY[:TAG], e.g. oci://ghcr.io/team/fraud:1.2.0"
    if not is_oci(text):
        raise InvalidReferenceError(f"'{text}' is not an oci:// reference", hint=hint)
    rest = text[len(SCHEME) :]
    host, slash, path = rest.partition("/")
    if not slash or not _HOST.match(host) or not path:
        raise InvalidReferenceError(f"'{text}' names no registry host and repository", hint=hint)
    digest = tag = None
    if "@" in path:
        path, _at, digest = path.partition("@")
        if not DIGEST.match(digest):
            raise InvalidReferenceError(f"'{text}': '{digest}' is not a sha256 digest", hint=hint)
    else:
        last = path.rsplit("/", 1)[-1]
        if ":" in last:
            path, _colon, tag = path.rpartition(":")
            if not TAG.match(tag):
                raise InvalidReferenceError(f"'{text}': '{tag}' is not a valid tag", hint=hint)
    if not REPOSITORY.match(path):
        raise InvalidReferenceError(
            f"'{text}': '{path}' is not a valid repository name (lower-case letters, digits, "
            "and . _ - between them, parts joined by /)",
            hint=hint,
        )
    return OciRef(host, path, tag, digest)


def tag_for_version(version: str) -> str:
    """A version as a tag: SemVer's '+' (build metadata) is not allowed in tags."""
    return version.replace("+", "_")


def publication_line(ref: OciRef, digest: str) -> str:
    """How one publication is written in the git note: ``oci://HOST/REPO:TAG@DIGEST``."""
    return f"{ref}@{digest}"


def parse_publications(lines: list[str]) -> tuple[Publication, ...]:
    """The note's lines as publications; a line that does not parse (someone's
    hand-written note) is skipped, since it comes from git."""
    found = []
    for line in lines:
        reference, at, digest = line.strip().rpartition("@")
        if at and DIGEST.match(digest) and is_oci(reference):
            try:
                parse_oci(reference)
            except InvalidReferenceError:
                continue
            found.append(Publication(reference, digest))
    return tuple(dict.fromkeys(found))
