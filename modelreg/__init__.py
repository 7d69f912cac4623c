"""modelreg: a model registry that lives in a git repository.

>>> from modelreg import Registry
>>> registry = Registry(".")
>>> registry.resolve("fraud-detector#production").version  # doctest: +SKIP
'1.3.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    DirtyStateError,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    ManifestError,
    ModelregError,
    NotARepositoryError,
    NotInitialisedError,
    PolicyError,
    UnknownModelError,
    UnknownVersionError,
    VersionExistsError,
)

if TYPE_CHECKING:
    from .registry import Registry


def __getattr__(name: str) -> object:
    # Loaded on first use: Registry pulls in PyYAML and the core, and the version
    # needs importlib.metadata; 'modelreg --help' needs neither.
    if name == "Registry":
        from .registry import Registry

        return Registry
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("modelreg")
        except PackageNotFoundError:  # running from a source tree
            return "0.0.0"
    raise AttributeError(f"module 'modelreg' has no attribute {name!r}")


__all__ = [
    "DirtyStateError",
    "IntegrityError",
    "InvalidNameError",
    "InvalidVersionError",
    "ManifestError",
    "ModelregError",
    "NotARepositoryError",
    "NotInitialisedError",
    "PolicyError",
    "Registry",
    "UnknownModelError",
    "UnknownVersionError",
    "VersionExistsError",
    "__version__",
]
