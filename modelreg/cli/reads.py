"""The reads: list, show, history, resolve, deps, diff.

A read imports only what it prints (``modelreg list --json`` loads no Rich, DVC or
write side: ``tests/test_cli.py`` checks), so its imports stay inside the command.
The bodies of list, show, history and resolve are in :mod:`.fastpath`, which
answers their plain forms without Click.
"""

from __future__ import annotations

import click

from . import fastpath
from ._common import _Context, _fail, json_option, pass_ctx, repo_option


@click.command("list")
@click.option("-a", "--all", "include_all", is_flag=True, help="Include deprecated models.")
@repo_option
@json_option
@pass_ctx
def list_(obj: _Context, include_all: bool, repo: str | None, as_json: bool) -> None:
    """List models with their latest version and who holds each stage.

    Example: modelreg list --json
    """
    fastpath.list_models(obj.reader(repo), include_all, as_json)


@click.command()
@click.argument("ref", metavar="NAME[@vV|#STAGE]")
@repo_option
@json_option
@pass_ctx
def show(obj: _Context, ref: str, repo: str | None, as_json: bool) -> None:
    """Show one version: manifest, stages, files and digests (NAME alone: latest).

    Example: modelreg show fraud-detector#production
    """
    fastpath.show(obj.reader(repo), ref, as_json)


@click.command()
@click.argument("name", required=False)
@click.option("--reverse", is_flag=True, help="Newest first.")
@repo_option
@json_option
@pass_ctx
def history(
    obj: _Context, name: str | None, reverse: bool, repo: str | None, as_json: bool
) -> None:
    """Every event of one model (or all): time, who, event, version, stage, reason.

    Example: modelreg history fraud-detector
    """
    fastpath.history(obj.reader(repo), name, reverse, as_json)


@click.command()
@click.argument("ref", metavar="NAME#STAGE|NAME@latest|NAME@vV")
@repo_option
@json_option
@pass_ctx
def resolve(obj: _Context, ref: str, repo: str | None, as_json: bool) -> None:
    """Print the version a reference means (for scripts).

    Example: VERSION=$(modelreg resolve fraud-detector#production)
    """
    fastpath.resolve(obj.reader(repo), ref, as_json)


@click.command()
@click.argument("ref", metavar="NAME[@vV]")
@click.option("--reverse", is_flag=True, help="List the model versions that depend on NAME.")
@click.option("--stage", metavar="STAGE", help="Resolve against what holds STAGE.")
@json_option
@pass_ctx
def deps(obj: _Context, ref: str, reverse: bool, stage: str | None, as_json: bool) -> None:
    """Dependency tree of a version: resolved versions, conflicts, cycles, missing models.

    Each dependency resolves to the highest registered version in its range, or
    with --stage to the version holding that stage. Exits 1 when something does
    not resolve. --reverse lists every version that depends on NAME instead.

    Example: modelreg deps fraud-detector --stage production
    """
    from .. import render

    registry = obj.registry()
    if reverse:
        from ..deps import unsatisfied
        from ..refs import parse_ref

        name = parse_ref(ref).name
        found = registry.dependents(name, stage=stage)
        render.dependents(name, stage, found, as_json)
        _fail(unsatisfied(name, found))
        return
    tree = registry.deps(ref, stage=stage)
    render.dependency_tree(tree, as_json)
    _fail(tree.failure(ref))


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@json_option
@click.option("--markdown", is_flag=True, help="Print a Markdown table (for a pull request).")
@pass_ctx
def diff(obj: _Context, a: str, b: str, as_json: bool, markdown: bool) -> None:
    """Compare two versions (or two stages): metadata, metrics with deltas, params,
    dependencies and files.

    Example: modelreg diff fraud-detector#production fraud-detector#staging --markdown
    """
    from .. import render

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    render.version_diff(obj.registry().diff(a, b), as_json, markdown)
