"""The reads a script runs in a loop, answered without Click; and their bodies,
which the Click commands run too.

``modelreg resolve fraud#production`` in a deploy script, ``show`` and ``history``
in a git hook: these are asked many times a day, and importing Click and every
command's definition is most of the time they take (~55 of ~110 ms). Their plain
forms — the global ``-C DIR`` and ``-q``, the command, its arguments, its flags
(below, :data:`READS`) — are parsed here, and run through the same bodies and the
same error boundary as through Click, so the answer, its warnings and its errors
are the same either way (``tests/test_cli_fastpath.py`` runs every form both ways).
Anything else — ``--help``, an option not listed here, ``--repo``, a usage error,
an environment variable Click would refuse — is left to Click, which says what it
says for every command.

Imports nothing at start but the standard library: the library and ``render``
load inside the bodies, as in the Click commands.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .context import _Context

if TYPE_CHECKING:
    from ..registry import Registry


# --- the bodies: the Click commands in reads.py run these too ---------------------------


def warn(warnings: Sequence[str]) -> None:
    """What the library says about an answer, on stderr before the answer."""
    from .. import render

    for warning in warnings:
        render.warning(warning)


def list_models(registry: Registry, include_all: bool, as_json: bool) -> None:
    from .. import render

    models = registry.list_models(include_deprecated=include_all)
    warn(models.warnings)
    render.models(models, registry.config.stages if registry.config.exists else (), as_json)


def show(registry: Registry, ref: str, as_json: bool) -> None:
    from .. import render

    shown = registry.show(ref)
    warn(shown.warnings)
    render.version(shown, as_json)


def history(registry: Registry, name: str | None, reverse: bool, as_json: bool) -> None:
    from .. import render

    events = registry.history(name, reverse=reverse)
    warn(events.warnings)
    render.history(events, as_json)


def resolve(registry: Registry, ref: str, as_json: bool) -> None:
    from .. import render

    resolved = registry.resolve(ref)
    warn(resolved.warnings)
    render.resolved(resolved, as_json)


# --- the plain forms, parsed without Click ----------------------------------------------


class _Form(NamedTuple):
    """One read's plain form: how many arguments, which flags (each spelling named
    by the flag it sets), and how to run it on a registry."""

    arguments: tuple[int, int]  # at least, at most
    flags: dict[str, str]
    run: Callable[[Registry, list[str], set[str]], None]


JSON = {"--json": "json"}
READS: dict[str, _Form] = {
    "list": _Form(
        (0, 0),
        {"-a": "all", "--all": "all", **JSON},
        lambda r, _args, on: list_models(r, "all" in on, "json" in on),
    ),
    "show": _Form((1, 1), JSON, lambda r, args, on: show(r, args[0], "json" in on)),
    "history": _Form(
        (0, 1),
        {"--reverse": "reverse", **JSON},
        lambda r, args, on: history(r, args[0] if args else None, "reverse" in on, "json" in on),
    ),
    "resolve": _Form((1, 1), JSON, lambda r, args, on: resolve(r, args[0], "json" in on)),
}

# The group's flags given by environment variables, as Click reads them: unset or
# empty is off, and a value Click does not take as a boolean is Click's to refuse.
_FLAG_VARIABLES = ("MODELREG_QUIET", "MODELREG_TRACEBACK")
_BOOLEAN_WORDS = {"", "1", "0", "yes", "no", "true", "false", "on", "off", "t", "f", "y", "n"}


def plan(args: Sequence[str]) -> Callable[[], None] | None:
    """The read ``args`` asks for, ready to run; None when it is not one of the plain
    forms (Click then parses it)."""
    directory = os.environ.get("MODELREG_DIR") or "."
    quiet = traceback = False
    i = 0
    while i < len(args):  # the group's options
        if args[i] in ("-q", "--quiet"):
            quiet, i = True, i + 1
        elif args[i] == "--traceback":
            traceback, i = True, i + 1
        elif args[i] == "-C" and i + 1 < len(args) and args[i + 1][:1] not in ("", "-"):
            directory, i = args[i + 1], i + 2
        else:
            break
    form = READS.get(args[i]) if i < len(args) else None
    if form is None or os.environ.get("MODELREG_REPO"):
        return None
    if any(os.environ.get(v, "").strip().lower() not in _BOOLEAN_WORDS for v in _FLAG_VARIABLES):
        return None
    arguments: list[str] = []
    on: set[str] = set()
    for arg in args[i + 1 :]:
        if arg.startswith("-"):  # a flag of this form, once; anything else is Click's
            flag = form.flags.get(arg)
            if flag is None or flag in on:
                return None
            on.add(flag)
        else:
            arguments.append(arg)
    least, most = form.arguments
    if not least <= len(arguments) <= most:
        return None
    context = _Context.at(Path(directory), quiet, traceback)
    if context is None:  # not a folder: Click's to refuse
        return None
    return lambda: form.run(context.registry(), arguments, on)
