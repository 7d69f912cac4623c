"""Registries that are not the current directory: a clone path or a git URL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import NotARepositoryError
from .gitrepo import GitRepo
from .progress import Progress
from .registry import Registry


@contextmanager
def open_registry(url: str, *, progress: Progress | None = None) -> Iterator[Registry]:
    """A local clone is used where it stands (with its own DVC cache); anything
    else is cloned into a temporary directory, removed afterwards, and its files
    come from the DVC remote its configuration names."""
    local = Path(url).expanduser()
    if "://" not in url and local.is_dir():
        try:
            yield Registry(local, progress=progress)
            return
        except NotARepositoryError:
            pass  # perhaps a bare repository: clone it
    workdir = Path(tempfile.mkdtemp(prefix="modelreg-remote-"))
    try:
        GitRepo.clone(url, workdir / "registry").close()
        yield Registry(workdir / "registry", progress=progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
