"""The tag grammar shared with GTO, and the trailers in tag messages. Pure: no I/O.

| event      | tag                          |
|------------|------------------------------|
| register   | ``<name>@v<semver>``         |
| deregister | ``<name>@v<semver>!#<n>``    |
| assign     | ``<name>#<stage>#<n>``       |
| unassign   | ``<name>#<stage>!#<n>``      |
| deprecate  | ``<name>@deprecated#<n>``    |

Reading accepts everything GTO writes: tags without a counter, and names with
GTO's ``dirname:`` prefix (spelt ``dirname=`` in tags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import InvalidNameError, InvalidVersionError
from .records import Record
from .versions import SEMVER_PATTERN, Version


class EventKind(StrEnum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"
    CREATE = "create"


# GTO's grammar for reading (any case, optional "dirname:" prefix).
_GTO_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_GTO_DIRNAME = r"[a-zA-Z0-9\-_./]+"
_SEMVER_NO_GROUPS = re.sub(r"\?P<\w+>", "", SEMVER_PATTERN)
_TAG_RE = re.compile(  # every pattern here is used with fullmatch ("$" accepts "\n")
    rf"(?P<artifact>(?:{_GTO_DIRNAME}=)?{_GTO_NAME})"
    rf"(?:(?:#(?P<stage>{_GTO_NAME})|@(?P<version>v{_SEMVER_NO_GROUPS}))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated)|@(?P<created>created))"
    r"(?:#(?P<counter>[0-9]{1,9}))?"
)
_GTO_NAME_RE = re.compile(rf"(?:{_GTO_DIRNAME}:)?{_GTO_NAME}")

# Stricter grammar for names modelreg creates (lower case: one loose ref per name
# on case-insensitive filesystems).
NEW_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9_/-]*[a-z0-9])?")
MAX_NAME_LENGTH = 100
STAGE_RE = re.compile(_GTO_NAME)
MAX_STAGE_LENGTH = 100


def validate_new_name(name: str) -> str:
    """Check a name for a model modelreg is about to create; return it unchanged."""
    problem = _new_name_problem(name)
    if problem:
        raise InvalidNameError(
            f"invalid model name '{name}': {problem}",
            hint="use lower-case letters, digits, '-', '_' and '/' (for namespaces), "
            "starting and ending with a letter or digit, e.g. 'team/fraud-detector'",
        )
    return name


def _new_name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"longer than {MAX_NAME_LENGTH} characters"
    if name.startswith("-"):
        return "it starts with '-' (git would read it as an option)"
    if ".." in name or "//" in name:
        return "'..' and '//' are not allowed"
    if name != name.lower() and NEW_NAME_RE.fullmatch(name.lower()):  # else the charset is worse
        return "upper case is not allowed"
    if NEW_NAME_RE.fullmatch(name) is None:
        return "only a-z, 0-9, '-', '_', '/' are allowed, and it must start and end with a-z or 0-9"
    return None


def validate_read_name(name: str) -> str:
    """Check a name given to a read command: anything GTO accepts."""
    if not name or len(name) > 1000 or _GTO_NAME_RE.fullmatch(name) is None or "//" in name:
        raise InvalidNameError(f"invalid model name '{name}'")
    return name


def validate_stage(stage: str) -> str:
    if not stage or len(stage) > MAX_STAGE_LENGTH or STAGE_RE.fullmatch(stage) is None:
        raise InvalidNameError(
            f"invalid stage name '{stage}'",
            hint="letters, digits, '-', '_' and '/', starting and ending with a letter or digit",
        )
    return stage


def name_to_tag(name: str) -> str:
    return name.replace(":", "=")


def tag_to_name(text: str) -> str:
    return text.replace("=", ":")


def tag_patterns(name: str) -> tuple[str, ...] | None:
    """Globs (relative to ``refs/tags/``, in ``git for-each-ref``'s path-aware
    matching) that match every tag of model ``name`` and no other model's tag;
    None when the name itself holds a glob character (no valid name does).

    A name holds no ``@`` or ``#``, so ``NAME@`` and ``NAME#`` start only this
    model's tags. Stages may hold ``/``, which ``*`` does not cross: ``NAME#*/**``
    catches those.
    """
    base = name_to_tag(name)
    if any(c in base for c in "*?[]\\"):
        return None
    return (f"{base}@*", f"{base}#*", f"{base}#*/**")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ParsedTag(Record):
    """What a tag's name says; ``version`` is None for stage and deprecation events."""

    tag: str
    name: str
    kind: EventKind
    version: Version | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(tag: str) -> ParsedTag | None:
    """Parse one tag name; None when it is not a registry tag."""
    if len(tag) > 1200:
        return None
    match = _TAG_RE.fullmatch(tag)
    if match is None:
        return None
    name = tag_to_name(match["artifact"])
    counter = int(match["counter"]) if match["counter"] else None
    cancel = match["cancel"] == "!"
    if match["version"]:
        kind = EventKind.DEREGISTER if cancel else EventKind.REGISTER
        try:
            version = Version.parse(match["version"])
        except InvalidVersionError:
            return None  # fits the grammar but not SemVer's limits: not ours to read
        return ParsedTag(tag, name, kind, version=version, counter=counter)
    if match["stage"]:
        kind = EventKind.UNASSIGN if cancel else EventKind.ASSIGN
        return ParsedTag(tag, name, kind, stage=match["stage"], counter=counter)
    if match["deprecated"]:
        return ParsedTag(tag, name, EventKind.DEPRECATE, counter=counter)
    return ParsedTag(tag, name, EventKind.CREATE, counter=counter)


def in_grammar(tag: str) -> bool:
    """Shaped like a registry tag, whether or not its parts are valid."""
    return len(tag) <= 1200 and _TAG_RE.fullmatch(tag) is not None


def format_tag_name(
    kind: EventKind,
    name: str,
    *,
    version: Version | None = None,
    stage: str | None = None,
    counter: int | None = None,
) -> str:
    base = name_to_tag(name)
    if kind in (EventKind.REGISTER, EventKind.DEREGISTER):
        if version is None:
            raise ValueError(f"{kind} tag needs a version")
        text = f"{base}@{version.tag_form}" + ("!" if kind is EventKind.DEREGISTER else "")
    elif kind in (EventKind.ASSIGN, EventKind.UNASSIGN):
        if stage is None:
            raise ValueError(f"{kind} tag needs a stage")
        text = f"{base}#{stage}" + ("!" if kind is EventKind.UNASSIGN else "")
    elif kind is EventKind.DEPRECATE:
        text = f"{base}@deprecated"
    else:
        raise ValueError(f"modelreg does not write {kind} tags")
    if counter is not None:
        text += f"#{counter}"
    return text


# --- tag messages ---------------------------------------------------------

TRAILER_PREFIX = "Modelreg-"
# The trailers an event's tag message carries, by the name :mod:`events` writes
# (``Modelreg-`` + name in the message, as :attr:`Event.trailers` keys them).
EVENT = "Event"  # register, assign, rollback, deprecate, deregister
VERSION = "Version"
STAGE = "Stage"
PREVIOUS = "Previous"  # a rollback's stage holder before it
MANIFEST_SHA256 = "Manifest-Sha256"
SEQUENCE = "Sequence"  # a registration's place among the model's events
REASON = "Reason"
FORCED = "Forced"  # the gates a forced event overrode
_TRAILER_RE = re.compile(r"(Modelreg-[A-Za-z0-9-]+):[ \t]?(.*)")
_SIGNATURE_RE = re.compile(r"-----BEGIN (PGP|SSH|SIGNED) [A-Z ]*-----")
MAX_TRAILER_VALUE = 1000
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str, limit: int = MAX_TRAILER_VALUE) -> str:
    """Collapse user text (a reason) to one line that fits a trailer: control
    characters (a NUL sent over HTTP) become spaces, as line breaks do."""
    collapsed = " ".join(_CONTROLS.sub(" ", text).split())
    return collapsed[:limit]


def format_message(summary: str, trailers: dict[str, str]) -> str:
    """One human line, a blank line, then ``Modelreg-*`` trailers."""
    lines = [one_line(summary, 200), ""]
    for key, value in trailers.items():
        if not key.startswith(TRAILER_PREFIX):
            key = TRAILER_PREFIX + key
        lines.append(f"{key}: {one_line(value)}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False, repr=False)
class TagMessage(Record):
    subject: str
    trailers: dict[str, str]
    body: str

    def get(self, key: str) -> str | None:
        return self.trailers.get(TRAILER_PREFIX + key)


def is_signed(message: str) -> bool:
    """Whether a tag message (as ``%(contents)`` gives it) ends in a signature block."""
    return any(_SIGNATURE_RE.fullmatch(line.rstrip("\r")) for line in message.split("\n"))


def parse_message(message: str) -> TagMessage:
    """Read the subject and ``Modelreg-*`` trailers of any tag message, defensively.

    Messages written by GTO or by hand have no trailers; their text is kept as
    the body. A signature block is ignored.
    """
    lines = message[:100_000].split("\n")
    for index, line in enumerate(lines):
        if _SIGNATURE_RE.fullmatch(line.rstrip("\r")):
            lines = lines[:index]  # a signed tag's signature block ends the message
            break
    while lines and not lines[-1].strip():
        lines.pop()
    subject = lines[0].strip() if lines else ""
    trailers: dict[str, str] = {}
    body_lines: list[str] = []
    for line in lines[1:]:
        match = _TRAILER_RE.fullmatch(line)
        if match:
            trailers.setdefault(match.group(1), match.group(2).strip())
        else:
            body_lines.append(line)
    return TagMessage(subject, trailers, "\n".join(body_lines).strip())
