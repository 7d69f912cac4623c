"""``/v2/models/{model_id}[/ACTION[/PATH]]``: which version and which action.

A ``model_id`` is any version reference (``name@vV``, ``name@V``, ``name@latest``,
``name``, ``name#stage`` with ``#`` sent as ``%23``), and names may hold ``/``
(``team/fraud``), so the path is split here rather than by the router: the
reference ends at the first segment holding ``@`` or ``#``; without one, at the
first segment that is an action's name. (A model whose name has a segment called
like an action, ``team/files``, is reached with an explicit ``@latest``.)
"""

from __future__ import annotations

from dataclasses import dataclass

from .http import BadRequest

ACTIONS = frozenset(
    {"files", "archive", "history", "resolve", "deps", "promote", "rollback", "deprecate"}
)


TEMPLATE = "/v2/models/{model_id}"
"""The documented form of every path under ``/v2/models/`` that names a version."""


@dataclass(frozen=True)
class Target:
    ref: str  # the version reference as the library takes it
    action: str | None  # None: the version itself
    path: str | None  # for ``files/PATH``: the file's path inside the version

    @property
    def template(self) -> str:
        """The route this target is, as the OpenAPI schema and the metrics name it
        (``/v2/models/{model_id}/files/{path}``): never the raw path, whose model
        names and file paths are unbounded."""
        action = f"/{self.action}" if self.action else ""
        path = "/{path}" if self.path is not None else ""
        return f"{TEMPLATE}{action}{path}"


def parse(rest: str) -> Target:
    """Split what follows ``/v2/models/``; a path trick is a 400, never a lookup."""
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in rest):
        raise BadRequest("the path holds a control character or a backslash")
    segments = rest.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise BadRequest("the path has an empty, '.' or '..' segment")
    end = next((i for i, s in enumerate(segments) if "@" in s or "#" in s), None)
    if end is None:
        end = next((i - 1 for i, s in enumerate(segments) if i > 0 and s in ACTIONS), None)
        if end is None:
            end = len(segments) - 1
    ref = "/".join(segments[: end + 1])
    tail = segments[end + 1 :]
    if not tail:
        return Target(ref, None, None)
    action, more = tail[0], tail[1:]
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r} after {ref!r}")
    if action == "files" and more:
        return Target(ref, action, "/".join(more))
    if more:
        raise BadRequest(f"nothing is under {ref}/{action}")
    return Target(ref, action, None)
