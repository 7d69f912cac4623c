"""The command line: parse options, make one library call, render the result.

:func:`main` (the entry point ``modelreg.cli:main``) runs every command inside the
one error boundary (:mod:`.boundary`): a :class:`~modelreg.errors.ModelregError`
is one line on stderr and the exit code of its kind (1 or 2); Click's usage errors
exit 2; anything else is a bug, reported in one line with the path of the
traceback (exit 3); Ctrl-C is 130.

Nothing is imported at start-up but this package's Click-free parts: the plain
reads a script runs in a loop (``resolve``, ``show``, ``history``, ``list``) are
answered without Click (:mod:`.fastpath`), and every other command line loads the
Click group (:mod:`.group`). ``modelreg --help`` loads Click and no library;
the library, Rich and (where bytes move) DVC load inside the commands.

Layout:

- ``__init__.py``: :func:`main`;
- ``boundary.py``: the error boundary and its pieces (:func:`cli_words`: the
  library's remedies in flag words; undecodable arguments; the traceback file);
- ``fastpath.py``: the read commands' bodies, and their plain forms parsed
  without Click;
- ``context.py``: the context object every command is handed;
- ``group.py``: the group :data:`cli` (global options) and ``COMMANDS``, the list
  of commands added to it;
- ``_common.py``: shared options, ``_fail``;
- one module per theme: ``admin.py`` (init, check, verify, doctor, remote),
  ``writes.py`` (register, promote, rollback, deprecate), ``reads.py`` (list,
  show, history, resolve, deps, diff), ``files.py`` (checkout, get),
  ``sharing.py`` (push, pull), ``publish.py`` (publish: to an OCI registry),
  ``serve.py`` (serve), ``token.py`` (token add/list/remove: who may use the server),
  ``report.py`` (the web page as static HTML).
  ``imports.py`` (import mlflow).

To add a command: define it with ``@click.command()`` (and ``@pass_ctx`` from
``_common``) in a theme module, or in a new one, and add it to ``COMMANDS`` in
``group.py``, at the place it should have in ``modelreg --help``. That list is the
one place where commands are registered. Keep module-level imports to Click and
``_common``; import the library, ``render`` and anything heavy inside the command
(``tests/test_cli.py`` checks what ``--help`` and the reads load), and never
``gitrepo`` or ``storage`` (``tests/test_architecture.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import boundary
from .boundary import _flag_words, cli_words

if TYPE_CHECKING:
    from .group import COMMANDS, cli

__all__ = ["COMMANDS", "_flag_words", "cli", "cli_words", "main"]


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    from .fastpath import plan

    action = plan(args)
    if action is None:

        def action() -> None:
            from .group import run_click

            run_click(args)

    elif argv is None:  # the process is this command alone: end it without teardown
        try:
            boundary.run(action, args)
        except SystemExit as done:
            _end_now(done.code)
    boundary.run(action, args)


def _end_now(code: object) -> NoReturn:
    """Exit with ``code`` without Python's teardown (freeing every module and object:
    ~7 ms of a 75 ms ``resolve``). Only for the plain reads, which leave nothing to
    finish: their files are closed, the state cache's writes committed (SQLite's
    rollback journal: committed is on disk), no thread runs; stdout and stderr are
    flushed here."""
    import contextlib
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: written is all
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def __getattr__(name: str) -> Any:
    # The Click group loads on first use: the plain reads never need it.
    if name in ("cli", "COMMANDS"):
        from . import group

        return getattr(group, name)
    raise AttributeError(f"module 'modelreg.cli' has no attribute {name!r}")
