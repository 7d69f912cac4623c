"""modelreg: a model registry that lives in a git repository.

>>> from modelreg import Registry
>>> registry = Registry(".")
>>> registry.resolve("fraud-detector#production").version  # doctest: +SKIP
'1.3.0'
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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
from .registry import Registry

try:
    __version__ = version("modelreg")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

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
