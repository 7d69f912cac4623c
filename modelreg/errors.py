"""The errors modelreg raises on purpose.

Every user-facing failure is a :class:`ModelregError`: it carries one line for
stderr, an optional hint, and the process exit code. Anything else escaping
the library is a bug (exit code 3), handled by the CLI's error boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class GateFailureLike(Protocol):
    @property
    def gate(self) -> str: ...

    @property
    def message(self) -> str: ...


class ModelregError(Exception):
    """A request that cannot be done: bad input, unknown object, policy refused."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        message = _one_line(message)
        super().__init__(message)
        self.message = message
        self.hint = _one_line(hint) if hint is not None else None

    def __str__(self) -> str:
        return self.message


def _one_line(text: str) -> str:
    """Errors are one line on stderr: line breaks in user input are shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class NotARepositoryError(ModelregError):
    """The directory is not inside a git repository."""


class NotInitialisedError(ModelregError):
    """The repository has no registry set up (no .modelreg.yaml or DVC)."""


class InvalidNameError(ModelregError):
    """A model or stage name that breaks the name grammar."""


class InvalidVersionError(ModelregError):
    """A version string that is not SemVer 2.0.0, or a range that does not parse."""


class InvalidReferenceError(ModelregError):
    """A NAME@vV / NAME#STAGE / NAME@latest reference that does not parse."""


class UnknownModelError(ModelregError):
    """No model with that name is registered."""


class UnknownVersionError(ModelregError):
    """The model exists but not the version (or no version holds the stage)."""


class VersionExistsError(ModelregError):
    """Registering a version that is already registered."""


class ManifestError(ModelregError):
    """A manifest or config file that fails validation."""


class PolicyError(ModelregError):
    """A stage, promotion-order or rollback rule refused the request."""


UNFORCEABLE_GATES = ("stage",)


class GateError(PolicyError):
    """One or more promotion gates refused a stage change (``--force`` overrides)."""

    def __init__(self, failures: Sequence[GateFailureLike]) -> None:
        self.failures = tuple(failures)
        first = self.failures[0]
        more = f" (and {len(self.failures) - 1} more gate(s))" if len(self.failures) > 1 else ""
        if first.gate in UNFORCEABLE_GATES:
            # An unknown stage is a typo or a missing config line, never a policy to override.
            hint = "check the spelling, or add it to .modelreg.yaml (--force cannot override this)"
        else:
            hint = f"fix the cause, or override with --force -m REASON (gate: {first.gate})"
        super().__init__(f"{first.message}{more}", hint=hint)


class DirtyStateError(ModelregError):
    """Uncommitted changes would be overwritten or swept into a commit."""


class IntegrityError(ModelregError):
    """Bytes whose digest differs from the one the manifest recorded."""


class InputPathError(ModelregError):
    """A file argument that is missing, empty, or escapes the repository."""


class GitError(ModelregError):
    """A git command failed in a way the user can act on."""


class StorageError(ModelregError):
    """DVC could not store, push or fetch bytes."""


class LockTimeoutError(ModelregError):
    """Another modelreg process holds the registry's write lock."""


class RaceLostError(ModelregError):
    """Another process or clone wrote the same event first."""


class UnsafePathError(ModelregError):
    """A name or path read from git that would lead outside its folder (``..``, an
    absolute path, a symlink): refused, never followed."""


class WriteError(ModelregError):
    """A file could not be written (no space left, no permission, ...)."""
