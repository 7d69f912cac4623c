"""publish: a version to an OCI registry (its reading side is ``get oci://...``)."""

from __future__ import annotations

import click

from ._common import _Context, json_result_option, pass_ctx, plain_http_option


@click.command()
@click.argument("ref", metavar="NAME@vV|NAME#STAGE")
@click.argument("target", metavar="oci://HOST[:PORT]/REPOSITORY[:TAG]")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Another tag for the same artifact (a stage name, say); repeatable.",
)
@plain_http_option
@json_result_option
@pass_ctx
def publish(
    obj: _Context, ref: str, target: str, tags: tuple[str, ...], plain_http: bool, as_json: bool
) -> None:
    """Push a version to an OCI registry as a ModelKit (KitOps) that ORAS reads file by file.

    The tag is TARGET's, else the version. Credentials come from MODELREG_OCI_USERNAME
    and MODELREG_OCI_PASSWORD, else ~/.docker/config.json; they are never printed.
    Where it went is kept in a git note on the version's commit ('show' lists it).

    Example: modelreg publish fraud-detector#production oci://ghcr.io/acme/fraud --tag production
    """
    from .. import render

    render.published(obj.registry().publish(ref, target, tags=tags, plain_http=plain_http), as_json)
