"""The errors modelreg raises on purpose.

Every user-facing failure is a :class:`ModelregError`: it carries one line for
stderr, an optional hint, and a :class:`Kind` that each face maps through one
table: :data:`EXIT_CODES` for the CLI, :data:`HTTP_STATUS` for HTTP. Anything
else escaping the library is a bug (kind ``BUG``: exit code 3, status 500).

Messages and hints speak of the operation, never of a command-line flag: where
the fix is a parameter (``force``, ``allow_unresolved``, ``repair``...), the
error carries a :class:`Remedy` naming it, and each face words it its own way.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .records import Record


class Kind(enum.Enum):
    """What sort of failure an error is, for each face to map."""

    INVALID = "invalid"  # the caller's input breaks a grammar or a schema
    NOT_FOUND = "not-found"  # no such repository, registry, model, version or remote
    CONFLICT = "conflict"  # the registry's state refuses it: exists, raced, dirty, pending
    POLICY = "policy"  # a stage, gate or signing rule refused it
    PROBLEMS = "problems"  # a check, verify, deps or doctor report found problems
    INTEGRITY = "integrity"  # bytes that do not match their recorded digest
    UNSAFE = "unsafe"  # a name or path from git that would lead outside its folder
    BUSY = "busy"  # another process holds the write lock
    UNAVAILABLE = "unavailable"  # git, DVC storage or the file system could not do it
    USAGE = "usage"  # a missing or malformed option (the CLI's parser)
    UNAUTHENTICATED = "unauthenticated"  # no credentials, or a secret no token has
    FORBIDDEN = "forbidden"  # a known token asking for more than its role allows
    BUG = "bug"  # anything not raised on purpose


EXIT_CODES: dict[Kind, int] = {kind: 1 for kind in Kind} | {Kind.USAGE: 2, Kind.BUG: 3}
"""The CLI's exit code per kind (130, an interrupt, is no error kind)."""

HTTP_STATUS: dict[Kind, int] = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.POLICY: 409,  # 401/403 are kept for who is asking (tokens)
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.PROBLEMS: 409,
    Kind.INTEGRITY: 409,
    Kind.UNSAFE: 422,
    Kind.BUSY: 503,
    Kind.UNAVAILABLE: 503,
    Kind.USAGE: 400,
    Kind.BUG: 500,
}
"""The HTTP status per kind: 4xx for what the caller can fix, 503 to retry, 500 for a bug."""


@dataclass(frozen=True, eq=False, repr=False)
class Remedy(Record):
    """A fix that is one of the operation's parameters, machine-readable.

    ``param`` names it (``force``, ``allow_unresolved``, ``out_dir``, ``repair``...),
    ``said`` is the phrase the message or hint used for it (a face may swap it for
    its own words), ``args`` the values that wording needs (a gate, an option key)."""

    param: str
    said: str  # a template: one of the phrases below, with ``{arg}`` fields
    args: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """The phrase as it stands in the message or hint."""
        return self.said.format(**dict(self.args))


class GateFailureLike(Protocol):
    @property
    def gate(self) -> str: ...

    @property
    def message(self) -> str: ...


class ModelregError(Exception):
    """A request that cannot be done: bad input, unknown object, policy refused."""

    kind: Kind = Kind.INVALID

    def __init__(
        self, message: str, hint: str | None = None, *, remedy: Remedy | None = None
    ) -> None:
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.hint = _one_line(hint) if hint is not None else None
        self.remedies: tuple[Remedy, ...] = (remedy,) if remedy is not None else ()

    def with_remedy(self, remedy: Remedy) -> ModelregError:
        """The same error, with one more fix named (for a message grown after raising)."""
        self.remedies += (remedy,)
        return self

    @property
    def remedy(self) -> Remedy | None:
        """The first fix that is a parameter of the operation, if any."""
        return self.remedies[0] if self.remedies else None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind]

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.kind]

    def __str__(self) -> str:
        return self.message


def _one_line(text: str) -> str:
    """Errors are one line on stderr: line breaks in user input are shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class NotARepositoryError(ModelregError):
    """The directory is not inside a git repository."""

    kind = Kind.NOT_FOUND


class NotInitialisedError(ModelregError):
    """The repository has no registry set up (no .modelreg.yaml or DVC)."""

    kind = Kind.NOT_FOUND


class InvalidNameError(ModelregError):
    """A model or stage name that breaks the name grammar."""

    kind = Kind.INVALID


class InvalidVersionError(ModelregError):
    """A version string that is not SemVer 2.0.0, or a range that does not parse."""

    kind = Kind.INVALID


class InvalidReferenceError(ModelregError):
    """A NAME@vV / NAME#STAGE / NAME@latest reference that does not parse."""

    kind = Kind.INVALID


class UnknownModelError(ModelregError):
    """No model with that name is registered."""

    kind = Kind.NOT_FOUND


class UnknownVersionError(ModelregError):
    """The model exists but not the version (or no version holds the stage)."""

    kind = Kind.NOT_FOUND


class UnknownFileError(ModelregError):
    """The version exists but its manifest lists no file at that path."""

    kind = Kind.NOT_FOUND


class VersionExistsError(ModelregError):
    """Registering a version that is already registered."""

    kind = Kind.CONFLICT


class ManifestError(ModelregError):
    """A manifest or config file that fails validation."""

    kind = Kind.INVALID


class PolicyError(ModelregError):
    """A stage, promotion-order or rollback rule refused the request."""

    kind = Kind.POLICY


UNFORCEABLE_GATES = ("stage",)

# The phrases a message or hint uses for a fix that is a parameter of the
# operation; a face keys its own wording on them (the CLI: its flag names).
FORCE_WITH_REASON = "override it with force and a reason"
NO_FORCE = "force cannot override this"
FORCE_NEEDS_REASON = "forcing needs a reason: give a message"
FORCE_OR_OUT_DIR = "force replacing it, or choose another output folder"
ALLOW_UNRESOLVED = "allow unresolved dependencies"
SIGN = "sign the event"
LISTEN_PUBLIC = "say that an open server is meant"
IMPORT_ONE_MODEL = "import the other models one at a time"
LOCAL_OPTION = "pass it as a local option"
PASSWORD_LOCAL_OPTION = "in a local option"
REMOTE_LOCAL_OPTIONS = "add the remote with local options"
ROLLBACK_TO = "name one: roll back {name}'s {stage} to a chosen version"
REPAIR_WITH_DOCTOR = "repair it with doctor"
REGISTERED_WITHOUT_PUSH = (
    "the version was registered without pushing its files; push them from the clone that "
    "registered it"
)
VERIFY_REMOTE = "verify against the remote"
VERIFY_REMOTE_FINDS = "verifying against the remote finds them"
ADD_DEFAULT_REMOTE = "add a default remote with its URL"
INIT_REMOTE = "set one up with its URL"
INIT_REMOTE_RUN = "set up a remote with its URL"
PARAM = "{param} '"
"""An input named in a message: ``license 'X': ...``."""
PARAM_BARE = "{param} "


class GateError(PolicyError):
    """One or more promotion gates refused a stage change (``--force`` overrides)."""

    def __init__(self, failures: Sequence[GateFailureLike]) -> None:
        self.failures = tuple(failures)
        first = self.failures[0]
        more = f" (and {len(self.failures) - 1} more gate(s))" if len(self.failures) > 1 else ""
        if first.gate in UNFORCEABLE_GATES:
            # An unknown stage is a typo or a missing config line, never a policy to override.
            remedy = Remedy("force", NO_FORCE)
            hint = f"check the spelling, or add it to .modelreg.yaml ({NO_FORCE})"
        else:
            remedy = Remedy("force", FORCE_WITH_REASON, (("gate", first.gate),))
            hint = f"fix the cause, or {FORCE_WITH_REASON} (gate: {first.gate})"
        super().__init__(f"{first.message}{more}", hint=hint, remedy=remedy)


class DirtyStateError(ModelregError):
    """Uncommitted changes would be overwritten or swept into a commit."""

    kind = Kind.CONFLICT


class IntegrityError(ModelregError):
    """Bytes whose digest differs from the one the manifest recorded."""

    kind = Kind.INTEGRITY


class InputPathError(ModelregError):
    """A file argument that is missing, empty, or escapes the repository."""

    kind = Kind.INVALID


class GitError(ModelregError):
    """A git command failed in a way the user can act on."""

    kind = Kind.UNAVAILABLE


class StorageError(ModelregError):
    """DVC could not store, push or fetch bytes."""

    kind = Kind.UNAVAILABLE


class LockTimeoutError(ModelregError):
    """Another modelreg process holds the registry's write lock."""

    kind = Kind.BUSY


class RaceLostError(ModelregError):
    """Another process or clone wrote the same event first."""

    kind = Kind.CONFLICT


class UnsafePathError(ModelregError):
    """A name or path read from git that would lead outside its folder (``..``, an
    absolute path, a symlink): refused, never followed."""

    kind = Kind.UNSAFE


class WriteError(ModelregError):
    """A file could not be written (no space left, no permission, ...)."""

    kind = Kind.UNAVAILABLE


class OciRegistryError(ModelregError):
    """An OCI registry could not be reached, or refused or failed a request."""

    kind = Kind.UNAVAILABLE


class OciNotFoundError(ModelregError):
    """No such manifest or blob in an OCI registry."""

    kind = Kind.NOT_FOUND


class OciAuthError(ModelregError):
    """An OCI registry wants credentials we do not have, or refused the ones we sent."""

    kind = Kind.UNAUTHENTICATED


class UnknownRemoteError(ModelregError):
    """No DVC remote with that name is configured."""

    kind = Kind.NOT_FOUND


class CommittedSecretError(ModelregError):
    """A credential given where it would be committed (a shared remote option, a URL)."""

    kind = Kind.INVALID


class PendingWorkError(ModelregError):
    """An earlier write was interrupted: it must be finished or undone first."""

    kind = Kind.CONFLICT


class ReportError(ModelregError):
    """A check, verify, deps or doctor report that found problems (it was shown)."""

    kind = Kind.PROBLEMS


REPAIR = Remedy("repair", REPAIR_WITH_DOCTOR)
"""The fix for work an interrupted write left behind."""


def about_input(param: str, words: str | None = None, bare: bool = False) -> Remedy:
    """The remedy naming the input a message starts with (``license 'X': ...``):
    ``param`` is the operation's parameter, ``words`` how the message says it."""
    said = PARAM_BARE if bare else PARAM
    return Remedy(param, said, (("param", words or param.replace("_", " ")),))
