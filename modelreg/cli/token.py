"""``modelreg token add|list|remove``: who may use this registry's server.

The store is :mod:`modelreg.tokens` (one per registry, hashed secrets); these
commands only parse, make one store call and render.
"""

from __future__ import annotations

import click

from ._common import _Context, _Group, json_option, pass_ctx


@click.group(cls=_Group)
def token() -> None:
    """Tokens for 'modelreg serve': once one exists, every request needs one.

    Each token has a name (the tagger of the events it writes, so history says
    who did it), a role (read, or write: promote, rollback, deprecate, register)
    and an optional email. Only a hash of its secret is kept, under
    $XDG_CONFIG_HOME/modelreg/, per registry; a running server sees changes at
    once.

    Example: modelreg token add ci --role write --email ci@example.com
    """


@token.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["read", "write"]),
    required=True,
    help="read: every GET; write: also promote, rollback, deprecate, register.",
)
@click.option("--email", metavar="E", help="Recorded with the name as the tagger of its events.")
@pass_ctx
def token_add(obj: _Context, name: str, role: str, email: str | None) -> None:
    """Add a token and print its secret, once: it is not kept and cannot be shown again.

    The secret is the last word on stdout; send it as 'Authorization: Bearer
    SECRET' (or as the password of HTTP basic auth).

    Example: TOKEN=$(modelreg token add ci --role write | awk '{print $NF}')
    """
    from .. import render
    from ..tokens import TokenStore

    store = TokenStore.of(obj.registry())
    added, secret = store.add(name, role, email)
    render.token_added(added, secret)


@token.command("list")
@json_option
@pass_ctx
def token_list(obj: _Context, as_json: bool) -> None:
    """List the tokens: name, role, email and when each was added (never a secret).

    Example: modelreg token list --json
    """
    from .. import render
    from ..tokens import TokenStore

    render.tokens(TokenStore.of(obj.registry()).list(), as_json)


@token.command("remove")
@click.argument("name")
@pass_ctx
def token_remove(obj: _Context, name: str) -> None:
    """Remove a token: a running server refuses its secret from the next request on.

    Example: modelreg token remove ci
    """
    from .. import render
    from ..tokens import TokenStore

    render.token_removed(TokenStore.of(obj.registry()).remove(name))
