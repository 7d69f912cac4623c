"""What every command module shares: the context object handed to each command, the
options several commands take, the helpers that turn library answers into warnings
and failures, and the error boundary's pieces (the CLI's words for the library's
remedies, undecodable arguments, the traceback file).

Only Click and the standard library at import: ``modelreg --help`` loads this.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..errors import ModelregError
    from ..registry import Registry


class _Context:
    """What every command is handed (``@pass_ctx``): the group's options, and the
    registry, opened on first use. A plain class: a dataclass costs ~0.5 ms of
    start-up, which ``modelreg --help`` pays."""

    def __init__(
        self, directory: Path, quiet: bool, traceback: bool, cwd: Path | None = None
    ) -> None:
        self.directory = directory
        self.quiet = quiet
        self.traceback = traceback
        # -C's directory, which relative paths are taken from (None: the process's own)
        self.cwd = cwd
        self._registry: Registry | None = None

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


def _warn(warnings: Sequence[str]) -> None:
    """What the library says about an answer, on stderr before the answer."""
    from .. import render

    for warning in warnings:
        render.warning(warning)


def _fail(failure: ModelregError | None) -> None:
    """A report rendered, the command fails as the report says (exit 1)."""
    if failure is not None:
        raise failure


# --- the error boundary ----------------------------------------------------------------


def _traceback_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "modelreg"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "last-traceback.txt"


def _refuse_undecodable(args: Sequence[str]) -> None:
    """Bytes that are not UTF-8 (Python hands them over as lone surrogates) cannot go
    into a tag message, a manifest or a git argument: one line, exit 1, before any
    work starts."""
    settings = [(f"${k}", v) for k, v in os.environ.items() if k.startswith("MODELREG_")]
    for shown, text in [(None, a) for a in args] + settings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            from ..render import error

            raw = repr(text.encode("utf-8", "surrogateescape"))[2:-1]
            where = f"{shown} " if shown else "argument "
            error(f"{where}'{raw}' is not valid UTF-8 text", "pass text in UTF-8")
            sys.exit(1)


def _flag_words() -> dict[str, str]:
    """The CLI's words for each fix the library names by its parameter: its flags."""
    from .. import errors as e

    return {
        e.FORCE_WITH_REASON: "override with --force -m REASON",
        e.NO_FORCE: "--force cannot override this",
        e.FORCE_NEEDS_REASON: "--force needs a reason: add -m REASON",
        e.FORCE_OR_OUT_DIR: "pass --force to replace it, or choose another -o DIR",
        e.ALLOW_UNRESOLVED: "pass --allow-unresolved",
        e.SIGN: "pass --sign",
        e.LISTEN_PUBLIC: "pass --public",
        e.IMPORT_ONE_MODEL: "import the others with --model NAME",
        e.LOCAL_OPTION: "pass it as --local-option",
        e.PASSWORD_LOCAL_OPTION: "in --local-option",
        e.REMOTE_LOCAL_OPTIONS: "modelreg remote add NAME URL --local-option",
        e.ROLLBACK_TO: "name one: modelreg rollback {name} --stage {stage} --to VERSION",
        e.REPAIR_WITH_DOCTOR: "run 'modelreg doctor --repair'",
        e.REGISTERED_WITHOUT_PUSH: "the version was registered without '--push'; "
        "run 'modelreg push' in the clone that registered it",
        e.VERIFY_REMOTE: "run 'modelreg verify --remote'",
        e.VERIFY_REMOTE_FINDS: "'modelreg verify --remote' finds them",
        e.ADD_DEFAULT_REMOTE: "modelreg remote add NAME URL --default",
        e.INIT_REMOTE: "modelreg init --remote URL",
        e.INIT_REMOTE_RUN: "run 'modelreg init --remote URL'",
        e.PARAM: "{flag} '",
        e.PARAM_BARE: "{flag} ",
    }


def cli_words(exc: ModelregError) -> tuple[str, str | None]:
    """The error's message and hint as the CLI says them: each fix the library
    named by the operation's parameter becomes the flag that sets it."""
    message, hint = exc.message, exc.hint
    words = _flag_words()
    for remedy in exc.remedies:
        said = remedy.text
        args = dict(remedy.args, flag="--" + remedy.param.replace("_", "-"))
        flag = words[remedy.said].format(**args)
        if said in message:
            message = message.replace(said, flag, 1)
        elif hint is not None:
            hint = hint.replace(said, flag, 1)
    return message, hint
