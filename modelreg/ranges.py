"""SemVer ranges: comparators joined by ``,`` (``>=1.2.0,<2.0.0``), npm's
``^1.2.0`` and ``~1.2.0``, ``*``, or an exact version. As in npm, a pre-release
only satisfies a range whose comparators name a pre-release of the same
``major.minor.patch``. Pure: no I/O. Apart from :mod:`.versions` so that a read of
tags, which needs versions and no ranges, does not define these classes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import InvalidVersionError
from .records import Record
from .versions import MAX_VERSION_LENGTH, Version

Operator = Literal[">=", ">", "<=", "<", "="]
_COMPARATOR = r"(>=|<=|>|<|=|\^|~)?[ \t]*(.+)"  # with fullmatch; compiled on first use


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
    match = re.fullmatch(_COMPARATOR, part, re.DOTALL)
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
