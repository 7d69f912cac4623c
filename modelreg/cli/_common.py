"""What every command module shares: the context object handed to each command
(from :mod:`.context`), the options several commands take, and the helpers that turn
library answers into warnings and failures.

Only Click and the standard library at import: ``modelreg --help`` loads this.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from .context import _Context as _Context

if TYPE_CHECKING:
    from ..errors import ModelregError


pass_ctx = click.make_pass_decorator(_Context)
repo_option = click.option(
    "--repo",
    metavar="URL",
    envvar="MODELREG_REPO",
    show_envvar=True,
    help="Read the registry at this git URL (or clone path) instead, without a clone.",
)
plain_http_option = click.option(
    "--plain-http",
    is_flag=True,
    envvar="MODELREG_OCI_PLAIN_HTTP",
    show_envvar=True,
    help="Talk to the OCI registry over http:// (the default for localhost and 127.0.0.1).",
)
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON (a stable shape; see README) instead of a table.",
)
json_result_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON (a stable shape; see README) instead of text.",
)
message_option = click.option(
    "-m",
    "--message",
    envvar="MODELREG_MESSAGE",
    show_envvar=True,
    help="Why: recorded in the tag as Modelreg-Reason and shown by history.",
)
push_option = click.option(
    "--push",
    is_flag=True,
    envvar="MODELREG_PUSH",
    show_envvar=True,
    help="Also push the event (and its files) to the git and DVC remotes.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Override a refusing gate (needs -m REASON; recorded as Modelreg-Forced in the tag).",
)
sign_option = click.option(
    "--sign",
    is_flag=True,
    envvar="MODELREG_SIGN",
    show_envvar=True,
    help="Sign the event's tag (git tag -s, with git's gpg.format and user.signingkey).",
)
yes_option = click.option(
    "-y",
    "--yes",
    is_flag=True,
    envvar="MODELREG_YES",
    show_envvar=True,
    help="Do not ask for confirmation (on a terminal, --force and deprecating a model ask).",
)


def jobs_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 256),
        envvar="MODELREG_JOBS",
        show_envvar=True,
        help=help,
    )


class _Group(click.Group):
    """Lists commands in the order they were added (the order of a model's life)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{value}' is not KEY=VALUE", param_hint=option)
        out[key] = item
    return out


def _fail(failure: ModelregError | None) -> None:
    """A report rendered, the command fails as the report says (exit 1)."""
    if failure is not None:
        raise failure
