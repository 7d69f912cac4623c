"""SemVer 2.0.0 versions. Pure: no I/O.

``Version.parse`` accepts an optional leading ``v`` (GTO writes tags with it);
``str(version)`` never has it. Ranges of versions are in :mod:`.ranges` (a read
of tags needs none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache, total_ordering
from typing import Literal

from .errors import InvalidVersionError
from .records import Record

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*"
_BUILD_ID = r"[0-9a-zA-Z-]+"
SEMVER_PATTERN = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
_SEMVER_RE = re.compile(rf"v?{SEMVER_PATTERN}")  # used with fullmatch
MAX_VERSION_LENGTH = 256

BumpPart = Literal["major", "minor", "patch"]


def _pre_key(identifier: str) -> tuple[int, int, str]:
    # Numeric identifiers sort before alphanumeric ones, numerically.
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


@total_ordering
@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Version(Record):
    """A SemVer 2.0.0 version. Ordering follows SemVer precedence; build metadata
    is kept for display and equality but ignored by ``precedence_key``."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        if not isinstance(text, str) or len(text) > MAX_VERSION_LENGTH:
            raise InvalidVersionError(f"'{str(text)[:40]}' is not a SemVer version")
        return _parse(text)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return (
            isinstance(text, str)
            and len(text) <= MAX_VERSION_LENGTH
            and bool(_SEMVER_RE.fullmatch(text))
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def tag_form(self) -> str:
        """The version as GTO writes it in tags: with a leading ``v``."""
        return f"v{self}"

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def precedence_key(self) -> tuple[object, ...]:
        # A release sorts after all of its pre-releases.
        if not self.prerelease:
            return (self.core, 1, ())
        return (self.core, 0, tuple(_pre_key(p) for p in self.prerelease))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.precedence_key() < other.precedence_key()

    def bump(self, part: BumpPart) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            # 1.2.0-rc.1 bumps to 1.2.0, as in SemVer tooling generally.
            if self.prerelease:
                return Version(self.major, self.minor, self.patch)
            return Version(self.major, self.minor, self.patch + 1)
        raise InvalidVersionError(f"unknown bump '{part}': use major, minor or patch")


FIRST_VERSION = Version(0, 1, 0)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Version:
    """Parse SemVer text (cached: a registry repeats the same versions across
    models, and a Version is immutable)."""
    match = _SEMVER_RE.fullmatch(text)
    if match is None:
        raise InvalidVersionError(
            f"'{text}' is not a SemVer version",
            hint="use MAJOR.MINOR.PATCH, e.g. 1.2.0 (a leading v is accepted)",
        )
    pre = match["pre"]
    build = match["build"]
    return Version(
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        tuple(pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )


def highest(versions: list[Version]) -> Version | None:
    return max(versions, key=Version.precedence_key, default=None)
