"""SemVer 2.0.0 versions and ranges. Pure: no I/O.

``Version.parse`` accepts an optional leading ``v`` (GTO writes tags with it);
``str(version)`` never has it. Ranges are comparators joined by ``,``
(``>=1.2.0,<2.0.0``), npm's ``^1.2.0`` and ``~1.2.0``, ``*``, or an exact
version. As in npm, a pre-release only satisfies a range whose comparators
name a pre-release of the same ``major.minor.patch``.
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

Operator = Literal[">=", ">", "<=", "<", "="]
_COMPARATOR_RE = re.compile(r"(>=|<=|>|<|=|\^|~)?[ \t]*(.+)", re.DOTALL)  # fullmatch


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


@dataclass(frozen=True, eq=False, repr=False)
class Comparator(Record):
    op: Operator
    version: Version

    def test(self, version: Version) -> bool:
        a, b = version.precedence_key(), self.version.precedence_key()
        if self.op == ">=":
            return a >= b
        if self.op == ">":
            return a > b
        if self.op == "<=":
            return a <= b
        if self.op == "<":
            return a < b
        return a == b

    def __str__(self) -> str:
        return f"{self.op}{self.version}"


@dataclass(frozen=True, eq=False, repr=False)
class Range(Record):
    """A conjunction of comparators; ``text`` is what the user wrote."""

    text: str
    comparators: tuple[Comparator, ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_VERSION_LENGTH:
            raise InvalidVersionError(f"'{str(text)[:40]}' is not a version range")
        comparators: list[Comparator] = []
        for part in text.split(","):
            comparators.extend(_parse_comparator(part.strip(), text))
        return cls(text.strip(), tuple(comparators))

    def contains(self, version: Version) -> bool:
        if not all(c.test(version) for c in self.comparators):
            return False
        if version.prerelease:
            return any(
                c.version.prerelease and c.version.core == version.core for c in self.comparators
            )
        return True

    def __str__(self) -> str:
        return self.text


def _parse_comparator(part: str, whole: str) -> list[Comparator]:
    if part in ("*", "x", "X"):
        return [Comparator(">=", Version(0, 0, 0))]
    match = _COMPARATOR_RE.fullmatch(part)
    if not part or match is None:
        raise InvalidVersionError(
            f"'{whole}' is not a version range",
            hint="write comparators joined by ',', e.g. '>=1.2.0,<2.0.0', '^1.2.0' or '~1.2.0'",
        )
    op, raw = match.group(1) or "=", match.group(2).strip()
    try:
        version = Version.parse(raw)
    except InvalidVersionError:
        raise InvalidVersionError(
            f"'{whole}' is not a version range: '{raw}' is not a SemVer version",
            hint="write comparators joined by ',', e.g. '>=1.2.0,<2.0.0', '^1.2.0' or '~1.2.0'",
        ) from None
    if op == "^":
        if version.major > 0:
            upper = Version(version.major + 1, 0, 0)
        elif version.minor > 0:
            upper = Version(0, version.minor + 1, 0)
        else:
            upper = Version(0, 0, version.patch + 1)
        return [Comparator(">=", version), Comparator("<", _upper_bound(upper))]
    if op == "~":
        upper = Version(version.major, version.minor + 1, 0)
        return [Comparator(">=", version), Comparator("<", _upper_bound(upper))]
    return [Comparator(op, version)]  # type: ignore[arg-type]


def _upper_bound(version: Version) -> Version:
    # '<2.0.0' from a caret must also exclude 2.0.0-alpha: bound at 2.0.0-0.
    return Version(version.major, version.minor, version.patch, ("0",))


def highest(versions: list[Version]) -> Version | None:
    return max(versions, key=Version.precedence_key, default=None)
