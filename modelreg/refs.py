"""Version references on the command line: ``NAME``, ``NAME@vV``, ``NAME@V``,
``NAME@latest`` and ``NAME#STAGE``. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidReferenceError, InvalidVersionError
from .records import Record
from .tags import validate_read_name, validate_stage
from .versions import Version


@dataclass(frozen=True, eq=False, repr=False)
class Ref(Record):
    """A parsed reference. At most one of ``version``, ``stage``, ``latest`` is set;
    none of them means the model itself (its latest version, where one is needed)."""

    name: str
    version: Version | None = None
    stage: str | None = None
    latest: bool = False

    @property
    def is_bare(self) -> bool:
        return self.version is None and self.stage is None and not self.latest

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version.tag_form}"
        if self.stage is not None:
            return f"{self.name}#{self.stage}"
        if self.latest:
            return f"{self.name}@latest"
        return self.name


def parse_ref(text: str) -> Ref:
    if text.startswith("-"):
        raise InvalidReferenceError(f"'{text}' is not a model reference (it starts with '-')")
    at, hash_ = text.find("@"), text.find("#")
    cuts = [i for i in (at, hash_) if i >= 0]
    if not cuts:
        return Ref(validate_read_name(text))
    cut = min(cuts)
    name, sep, rest = text[:cut], text[cut], text[cut + 1 :]
    validate_read_name(name)
    if not rest:
        raise InvalidReferenceError(
            f"'{text}' is not a model reference",
            hint="use NAME@vVERSION, NAME@latest or NAME#STAGE",
        )
    if sep == "#":
        return Ref(name, stage=validate_stage(rest))
    if rest in ("latest", "greatest"):
        return Ref(name, latest=True)
    try:
        return Ref(name, version=Version.parse(rest))
    except InvalidVersionError as exc:
        raise InvalidVersionError(
            f"'{text}': '{rest}' is not a SemVer version",
            hint="use NAME@v1.2.0, NAME@latest or NAME#STAGE",
        ) from exc
