"""The command line: parse options, make one library call, render the result.

This package is also the one error boundary (:func:`main`): a
:class:`~modelreg.errors.ModelregError` is one line on stderr and the exit code of
its kind (1 or 2); Click's usage errors exit 2; anything else is a bug, reported in
one line with the path of the traceback (exit 3); Ctrl-C is 130.

Only Click is imported at start-up, so ``modelreg --help`` stays fast; the
library, Rich and (where bytes move) DVC load inside the commands.

Layout:

- ``__init__.py``: the group :func:`cli` (global options), the list of commands
  added to it, and :func:`main` (the entry point ``modelreg.cli:main``);
- ``_common.py``: the context object, shared options, ``_warn``/``_fail``, and the
  boundary's pieces (:func:`cli_words`: the library's remedies in flag words);
- one module per theme: ``admin.py`` (init, check, verify, doctor, remote),
  ``writes.py`` (register, promote, rollback, deprecate), ``reads.py`` (list,
  show, history, resolve, deps, diff), ``files.py`` (checkout, get),
  ``sharing.py`` (push, pull), ``publish.py`` (publish: to an OCI registry),
  ``serve.py`` (serve), ``token.py`` (token add/list/remove: who may use the server),
  ``report.py`` (the web page as static HTML).
  ``imports.py`` (import mlflow).

To add a command: define it with ``@click.command()`` (and ``@pass_ctx`` from
``_common``) in a theme module, or in a new one, and add it to ``COMMANDS`` below,
at the place it should have in ``modelreg --help``. That list is the one place
where commands are registered. Keep module-level imports to Click and
``_common``; import the library, ``render`` and anything heavy inside the command
(``tests/test_cli.py`` checks what ``--help`` and the reads load), and never
``gitrepo`` or ``storage`` (``tests/test_architecture.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from . import admin, files, imports, publish, reads, report, serve, sharing, token, writes
from ._common import _Context, _flag_words, _Group, _refuse_undecodable, _traceback_file, cli_words

__all__ = ["COMMANDS", "_flag_words", "cli", "cli_words", "main"]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    envvar="MODELREG_DIR",
    show_envvar=True,
    help="Run as if started in this directory (like git -C).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    envvar="MODELREG_QUIET",
    show_envvar=True,
    help="No progress bars or notes on stderr.",
)
@click.option(
    "--traceback",
    is_flag=True,
    envvar="MODELREG_TRACEBACK",
    show_envvar=True,
    help="On an internal error, print the full traceback.",
)
@click.version_option(package_name="modelreg", message="modelreg %(version)s")
@click.pass_context
def cli(ctx: click.Context, directory: Path, quiet: bool, traceback: bool) -> None:
    """A model registry that lives in your git repository.

    Metadata is YAML committed to git, model files go to a DVC remote, and every
    event (register, promote, rollback, deprecate) is an annotated git tag that
    GTO reads too.

    Example: modelreg init && modelreg register fraud model.pkl && modelreg list
    """
    cwd = None
    if directory != Path("."):
        # Like git -C: everything, relative paths included, happens from there (passed
        # to the library as its caller's directory: the process's stays as it is).
        if not directory.exists() and ctx.invoked_subcommand == "init":
            directory.mkdir(parents=True)  # 'modelreg -C new-folder init' makes it
        if not directory.is_dir():
            raise click.BadParameter(f"{directory}: no such directory", param_hint="-C")
        cwd = directory.resolve()
    ctx.obj = _Context(cwd or Path("."), quiet, traceback, cwd)


# The commands, in the order ``modelreg --help`` lists them (the order of a model's
# life). The one place a command is registered: a new one goes here.
COMMANDS: tuple[click.Command, ...] = (
    admin.init,
    writes.register,
    reads.list_,
    reads.show,
    reads.history,
    reads.resolve,
    writes.promote,
    writes.rollback,
    writes.deprecate,
    reads.deps,
    admin.check,
    admin.verify,
    admin.doctor,
    reads.diff,
    files.checkout,
    files.get,
    sharing.push,
    sharing.pull,
    publish.publish,
    admin.remote,
    serve.serve,
    token.token,
    report.report,
    imports.import_,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    from ..errors import EXIT_CODES, Kind, ModelregError

    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    _refuse_undecodable(args)
    try:
        cli.main(args=args, prog_name="modelreg", standalone_mode=False)
    except ModelregError as exc:
        from ..render import error

        error(*cli_words(exc))
        sys.exit(EXIT_CODES[exc.kind])
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("modelreg: interrupted\n")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("modelreg: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        # The file system refused something the user named (a path too long, a
        # folder where a file should be, no permission): their problem to fix.
        from ..render import error

        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}", None)
        sys.exit(1)
    except Exception as exc:  # the bug boundary
        import traceback

        text = traceback.format_exc()
        if show_traceback:
            sys.stderr.write(text)
        where = "(could not write the traceback)"
        try:
            path = _traceback_file()
            path.write_text(text, encoding="utf-8")
            where = f"traceback in {path}"
        except OSError:
            pass
        sys.stderr.write(
            f"modelreg: internal error ({type(exc).__name__}: {exc}); this is a bug; {where}\n"
        )
        sys.exit(EXIT_CODES[Kind.BUG])
    sys.exit(0)
