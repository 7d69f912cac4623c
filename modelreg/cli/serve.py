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
@pass_ctx
def serve(obj: _Context, host: str, port: int, sync: float | None, public: bool) -> None:
    """Serve this registry over HTTP: the REST API, its docs and the web page.

    Example: modelreg serve --port 8080
    """
    from ..server.run import serve as run
    from ..server.settings import Settings

    run(Settings(root=obj.registry().root, host=host, port=port, sync=sync, public=public))
