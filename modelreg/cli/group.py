"""The Click group: the global options, and every command in the order
``modelreg --help`` lists them (:data:`COMMANDS`, the one place a command is
registered). :func:`run_click` runs a command line through it, turning Click's own
outcomes into the boundary's (:mod:`.boundary`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from . import admin, files, imports, publish, reads, report, serve, sharing, token, writes
from ._common import _Group
from .context import _Context


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
    if not directory.exists() and ctx.invoked_subcommand == "init":
        directory.mkdir(parents=True)  # 'modelreg -C new-folder init' makes it
    ctx.obj = _Context.at(directory, quiet, traceback)
    if ctx.obj is None:
        raise click.BadParameter(f"{directory}: no such directory", param_hint="-C")


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


def run_click(args: Sequence[str]) -> None:
    """Run ``args`` through the group; Click's usage errors exit 2 as Click says them,
    its Abort (Ctrl-C at a prompt) is an interruption."""
    try:
        cli.main(args=list(args), prog_name="modelreg", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
