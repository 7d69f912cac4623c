"""``modelreg report``: the web page as static HTML, for a registry with no server
(a CI job publishes the folder to GitHub or GitLab Pages). Jinja2 is imported
inside the command, so ``modelreg --help`` never loads it."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import _Context, json_result_option, pass_ctx, repo_option


@click.command()
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the pages to (new, empty, or an earlier report's).",
)
@repo_option
@json_result_option
@pass_ctx
def report(obj: _Context, out: Path, repo: str | None, as_json: bool) -> None:
    """Write the web page's pages as static HTML: every model, version and diff.

    Links are relative: open DIR/index.html from disk or publish DIR as it is.

    Example: modelreg report -o public && python -m http.server -d public
    """
    from .. import render
    from ..server.web.report import write_report

    if obj.cwd is not None and not out.is_absolute():
        out = obj.cwd / out  # like every path under -C
    out = out.resolve()
    registry = obj.reader(repo)
    result = write_report(registry, out)
    render.report_written(result, as_json)
