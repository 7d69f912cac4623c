"""What every command is handed: the group's options and the registry, opened on
first use. Without Click, so the reads that skip it (:mod:`.fastpath`) open the
registry exactly as the Click commands do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry import Registry


class _Context:
    """The group's options, and the registry, opened on first use. A plain class: a
    dataclass costs ~0.5 ms of start-up, which ``modelreg --help`` pays."""

    def __init__(
        self, directory: Path, quiet: bool, traceback: bool, cwd: Path | None = None
    ) -> None:
        self.directory = directory
        self.quiet = quiet
        self.traceback = traceback
        # -C's directory, which relative paths are taken from (None: the process's own)
        self.cwd = cwd
        self._registry: Registry | None = None

    @classmethod
    def at(cls, directory: Path, quiet: bool, traceback: bool) -> _Context | None:
        """The context for the group's options; None when ``-C DIRECTORY`` is not a
        folder. Like git -C: everything, relative paths included, happens from
        there (passed to the library as its caller's directory: the process's stays
        as it is)."""
        if directory == Path("."):
            return cls(directory, quiet, traceback)
        if not directory.is_dir():
            return None
        cwd = directory.resolve()
        return cls(cwd, quiet, traceback, cwd)

    def registry(self) -> Registry:
        if self._registry is None:
            from ..registry import Registry

            self._registry = Registry(self.directory, progress=self.progress())
        return self._registry

    def reader(self, repo: str | None) -> Registry:
        """The registry to read: this one, or the one at ``--repo``."""
        if repo is None:
            return self.registry()
        from ..remote import registry_at

        return registry_at(repo, progress=self.progress(), cwd=self.cwd)

    def progress(self) -> Any:
        from ..render import RichProgress

        return RichProgress(enabled=not self.quiet)
