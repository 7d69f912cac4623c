"""``modelreg import mlflow``: a registry moves in from elsewhere, with its history.

The work is :meth:`modelreg.registry.Registry.import_mlflow`'s (one call); this
module parses and renders.
"""

from __future__ import annotations

import click

from ._common import _Context, _Group, json_option, pass_ctx, push_option


@click.group("import", cls=_Group)
def import_() -> None:
    """Copy another registry into this one, history included.

    Example: modelreg import mlflow http://127.0.0.1:5000
    """


@import_.command("mlflow")
@click.argument("tracking_uri", metavar="TRACKING_URI")
@click.option("--model", metavar="NAME", help="Import this MLflow model only (default: all).")
@push_option
@json_option
@pass_ctx
def import_mlflow(
    obj: _Context, tracking_uri: str, model: str | None, push: bool, as_json: bool
) -> None:
    """Copy an MLflow registry: every model, version (files, description, tags),
    stage and alias, one event per transition in the order MLflow last changed them.

    Version N becomes vN.0.0 (MLflow clients of 'modelreg serve' see N again);
    an alias or a stage becomes the stage of that name (Production: production);
    Archived deregisters the version. Run it again to import only what is new:
    each version records its MLflow number (label mlflow.version). Credentials
    are MLflow's: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME/PASSWORD.

    Example: modelreg import mlflow http://mlflow.internal:5000 --model fraud
    """
    from .. import render

    result = obj.registry().import_mlflow(tracking_uri, model=model, push=push)
    render.imported(result, as_json)
