"""push and pull: the registry's commits, tags and file bytes to and from its remotes."""

from __future__ import annotations

import click

from ._common import _Context, jobs_option, json_result_option, pass_ctx

git_remote_option = click.option(
    "--remote",
    default="origin",
    show_default=True,
    envvar="MODELREG_GIT_REMOTE",
    show_envvar=True,
    help="Git remote.",
)
dvc_remote_option = click.option(
    "--dvc-remote",
    metavar="NAME",
    envvar="MODELREG_DVC_REMOTE",
    show_envvar=True,
    help="DVC remote (default: the registry's).",
)


transfer_jobs_option = jobs_option(
    "Files to transfer at once (default: DVC's, 4 x CPUs for most remotes)."
)


@click.command()
@git_remote_option
@dvc_remote_option
@transfer_jobs_option
@json_result_option
@pass_ctx
def push(
    obj: _Context, remote: str, dvc_remote: str | None, jobs: int | None, as_json: bool
) -> None:
    """Push file bytes to the DVC remote, then commits and registry tags to git.

    Tags are never force-pushed.

    Example: modelreg push
    """
    from .. import render

    render.synced(obj.registry().push(remote, dvc_remote=dvc_remote, jobs=jobs), "push", as_json)


@click.command()
@git_remote_option
@dvc_remote_option
@transfer_jobs_option
@json_result_option
@pass_ctx
def pull(
    obj: _Context, remote: str, dvc_remote: str | None, jobs: int | None, as_json: bool
) -> None:
    """Fetch tags and commits, fast-forward the branch, and fetch the current files.

    Example: modelreg pull
    """
    from .. import render

    render.synced(obj.registry().pull(remote, dvc_remote=dvc_remote, jobs=jobs), "pull", as_json)
