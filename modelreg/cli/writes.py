"""The commands that write an event: register, promote, rollback, deprecate."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import (
    _Context,
    _pairs,
    force_option,
    json_result_option,
    message_option,
    pass_ctx,
    push_option,
    sign_option,
    yes_option,
)

if TYPE_CHECKING:
    from ..results import EventResult


def _number(value: str, key: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{key}={value}: not a number", param_hint="--metric") from None
    from ..manifest import metric_problem

    problem = metric_problem(number)
    if problem:
        raise click.BadParameter(f"{key}={value}: {problem}", param_hint="--metric")
    return number


def _scalar(value: str) -> str | int | float | bool | None:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


@click.command()
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--version", "version", metavar="V", help="Version to register (default: next minor)."
)
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    help="Bump the latest version instead of naming one.",
)
@click.option(
    "--author",
    envvar="MODELREG_AUTHOR",
    show_envvar=True,
    help="Author (default: git's user.name <user.email>).",
)
@click.option("--license", "license_", metavar="SPDX", help="Licence, as an SPDX expression.")
@click.option("--description", help="One line describing the model.")
@click.option("--framework", help="sklearn, pytorch, onnx, ...")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="A label (repeatable).")
@click.option("--metric", "metrics", multiple=True, metavar="K=V", help="A metric (repeatable).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A parameter (repeatable).")
@click.option(
    "--dep",
    "deps",
    multiple=True,
    metavar="NAME@RANGE",
    help="A model this one needs, e.g. embedder@^2.0.0 (repeatable).",
)
@click.option(
    "--allow-unresolved", is_flag=True, help="Register even if no version satisfies a --dep."
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Training data (lineage).",
)
@click.option("--code-commit", metavar="SHA", help="Commit the model was trained from (lineage).")
@message_option
@push_option
@sign_option
@json_result_option
@pass_ctx
def register(
    obj: _Context,
    name: str,
    paths: tuple[Path, ...],
    version: str | None,
    bump: str | None,
    author: str | None,
    license_: str | None,
    description: str | None,
    framework: str | None,
    labels: tuple[str, ...],
    metrics: tuple[str, ...],
    params: tuple[str, ...],
    deps: tuple[str, ...],
    allow_unresolved: bool,
    data: tuple[Path, ...],
    code_commit: str | None,
    message: str | None,
    push: bool,
    sign: bool,
    as_json: bool,
) -> None:
    """Register files or a folder as a new version of NAME.

    Copies the files under models/NAME/ (unless they are there already), tracks
    them with DVC, writes models/NAME/model.yaml, commits only those files and
    tags NAME@vVERSION.

    Example: modelreg register fraud-detector model.pkl --metric auc=0.91 -m "weekly retrain"
    """
    from .. import render

    result = obj.registry().register(
        name,
        list(paths),
        version=version,
        bump=bump,  # type: ignore[arg-type]
        author=author,
        license=license_,
        description=description,
        framework=framework,
        labels=_pairs(labels, "--label"),
        metrics={k: _number(v, k) for k, v in _pairs(metrics, "--metric").items()},
        params={k: _scalar(v) for k, v in _pairs(params, "--param").items()},
        dependencies=deps,
        allow_unresolved=allow_unresolved,
        data=list(data),
        code_commit=code_commit,
        message=message,
        push=push,
        sign=sign,
        cwd=obj.cwd,
    )
    render.registered(result, as_json)


# --- stages ----------------------------------------------------------------------


def _gated(force: bool, yes: bool, as_json: bool, change: Callable[[bool], EventResult]) -> None:
    """Run a stage change; with --force, show what the gates refuse and (on a
    terminal, without --yes) ask before overriding them."""
    from .. import render
    from ..errors import GateError

    if not force:
        render.event(change(False), as_json)
        return
    try:
        result = change(False)
    except GateError as refused:
        for failure in refused.failures:
            render.warning(f"gate '{failure.gate}' refuses: {failure.message}")
        # (with --json the question goes to stderr: stdout holds only the document)
        if (
            not yes
            and sys.stdin.isatty()
            and not click.confirm("Override and record it?", err=as_json)
        ):
            raise click.exceptions.Abort() from None
        result = change(True)
    render.event(result, as_json)


@click.command()
@click.argument("ref", metavar="NAME@vV")
@click.option("--to", "stage", required=True, metavar="STAGE", help="Stage to assign.")
@message_option
@push_option
@sign_option
@force_option
@yes_option
@json_result_option
@pass_ctx
def promote(
    obj: _Context,
    ref: str,
    stage: str,
    message: str | None,
    push: bool,
    sign: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Assign a stage to a version (a new NAME#STAGE#N tag).

    Gates: the stage is in .modelreg.yaml; with promotion_order, the version
    holds the previous stage; its dependencies have satisfying versions in the
    stage; models already in the stage keep theirs satisfied.

    Example: modelreg promote fraud-detector@v1.3.0 --to production -m "passed shadow test"
    """
    registry = obj.registry()
    _gated(
        force,
        yes,
        as_json,
        lambda forced: registry.promote(
            ref, stage, message=message, push=push, force=forced, sign=sign
        ),
    )


@click.command()
@click.argument("name")
@click.option("--stage", required=True, help="Stage to roll back.")
@click.option(
    "--to", "to", metavar="V", help="Version to give the stage to (default: the one before)."
)
@message_option
@push_option
@sign_option
@force_option
@yes_option
@json_result_option
@pass_ctx
def rollback(
    obj: _Context,
    name: str,
    stage: str,
    to: str | None,
    message: str | None,
    push: bool,
    sign: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Give STAGE back to the version that held it before (a new tag; none is moved).

    The dependency gates of promote apply.

    Example: modelreg rollback fraud-detector --stage production -m "latency regression"
    """
    registry = obj.registry()
    _gated(
        force,
        yes,
        as_json,
        lambda forced: registry.rollback(
            name, stage, to=to, message=message, push=push, force=forced, sign=sign
        ),
    )


@click.command()
@click.argument("ref", metavar="NAME[@vV]")
@message_option
@push_option
@sign_option
@yes_option
@json_result_option
@pass_ctx
def deprecate(
    obj: _Context, ref: str, message: str | None, push: bool, sign: bool, yes: bool, as_json: bool
) -> None:
    """Deprecate a model (NAME) or deregister one version (NAME@vV).

    Example: modelreg deprecate fraud-detector@v1.0.0 -m "trained on leaked labels"
    """
    from .. import render

    if "@" not in ref and not yes and sys.stdin.isatty():
        click.confirm(f"Deprecate the whole model {ref}?", abort=True, err=as_json)
    render.event(obj.registry().deprecate(ref, message=message, push=push, sign=sign), as_json)
