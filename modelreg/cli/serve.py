"""``modelreg serve``: the registry over HTTP (the only command that imports the
web framework)."""

from __future__ import annotations

import click

from ._common import _Context, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--sync",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Fetch what others published every SECONDS (a replica of the git remote).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Listen beyond loopback although no token exists (anyone could write).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="stderr's lines: one JSON object each (for a log collector), or text for people.",
)
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM/SIGINT, how long requests in flight may take to finish.",
)
@pass_ctx
def serve(
    obj: _Context,
    host: str,
    port: int,
    sync: float | None,
    public: bool,
    log_format: str,
    grace: int,
) -> None:
    """Serve this registry over HTTP: the REST API, its docs and the web page.

    Example: modelreg serve --port 8080
    """
    from ..server.run import serve as run
    from ..server.settings import Settings

    root = obj.registry().root
    run(Settings(root, host, port, sync=sync, public=public, log_format=log_format, grace=grace))
