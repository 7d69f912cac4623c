"""The commands that place a version's files: checkout (in this registry) and get
(anywhere, from any registry)."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import (
    _Context,
    jobs_option,
    json_result_option,
    pass_ctx,
    plain_http_option,
    repo_option,
)
from .fastpath import warn


@click.command()
@click.argument("ref", metavar="NAME@vV|NAME#STAGE")
@json_result_option
@pass_ctx
def checkout(obj: _Context, ref: str, as_json: bool) -> None:
    """Restore models/NAME/ (manifest, .dvc files, bytes) to a version.

    Refuses to overwrite changes that are not registered.

    Example: modelreg checkout fraud-detector#production
    """
    from .. import render

    render.files_written(obj.registry().checkout(ref), "Checked out", as_json)


@click.command()
@click.argument("ref", metavar="NAME@vV|NAME#STAGE|oci://HOST/REPO:TAG")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    envvar="MODELREG_OUT",
    show_envvar=True,
    help="Directory to write the files to (default: ./NAME).",
)
@repo_option
@click.option("--force", is_flag=True, help="Replace different files already in the directory.")
@jobs_option(
    "Files to copy at once (default: 4 x CPUs from a network remote, CPUs from local "
    "files; at most 8)."
)
@plain_http_option
@json_result_option
@pass_ctx
def get(
    obj: _Context,
    ref: str,
    out: Path | None,
    repo: str | None,
    force: bool,
    jobs: int | None,
    plain_http: bool,
    as_json: bool,
) -> None:
    """Fetch a version's files, verify every sha256, and write them to a directory.

    An oci:// reference is read from an OCI registry (what 'modelreg publish' put
    there): every layer digest and file sha256 is verified; no git repository needed.

    Example: modelreg get fraud-detector#production -o /srv/model --repo git@host:ml/registry
    """
    from .. import render
    from ..oci.reference import is_oci
    from ..refs import parse_ref

    if is_oci(ref):
        if repo is not None:
            raise click.UsageError("--repo does not apply to an oci:// reference")
        from ..oci.pull import get_artifact

        fetched = get_artifact(ref, out, force=force, cwd=obj.cwd, plain_http=plain_http)
        render.files_written(fetched, "Fetched", as_json)
        return
    parsed = parse_ref(ref)
    result = obj.reader(repo).get(parsed, out, force=force, jobs=jobs, cwd=obj.cwd)
    warn(result.warnings)
    render.files_written(result, "Fetched", as_json)
