"""ops/remotes.py: ``modelreg remote``: DVC remotes configured with credentials kept out
of commits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg import Registry

from ..conftest import Cli, Unchanged, assert_user_error, git


def test_add_list_default_remove(cli: Cli, registry: Registry) -> None:
    root = registry.root
    result = cli(
        "-C", root, "remote", "add", "store", "s3://ml-models/registry",
        "--endpoint-url", "http://127.0.0.1:9000", "--default",
        "--local-option", "access_key_id=AKIAEXAMPLE",
        "--local-option", "secret_access_key=very-secret",
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert "very-secret" not in result.stdout + result.stderr
    committed = (root / ".dvc" / "config").read_text()
    assert "s3://ml-models/registry" in committed and "endpointurl" in committed
    assert "very-secret" not in committed and "AKIAEXAMPLE" not in committed
    assert "very-secret" in (root / ".dvc" / "config.local").read_text()
    assert git(root, "status", "--porcelain") == ""  # config committed, config.local ignored
    assert git(root, "log", "-1", "--format=%s").startswith("modelreg: DVC remote store")

    listed = json.loads(cli.ok("-C", root, "remote", "list", "--json").stdout)["remotes"]
    store = next(r for r in listed if r["name"] == "store")
    assert store == {
        "name": "store",
        "url": "s3://ml-models/registry",
        "default": True,
        "options": {"endpointurl": "http://127.0.0.1:9000"},
        "local_options": ["access_key_id", "secret_access_key"],
    }
    table = cli.ok("-C", root, "remote", "list").stdout
    assert "secret_access_key=***" in table and "very-secret" not in table

    cli.ok("-C", root, "remote", "default", "modelreg")
    cli.ok("-C", root, "remote", "remove", "store")
    names = [
        r["name"]
        for r in json.loads(cli.ok("-C", root, "remote", "list", "--json").stdout)["remotes"]
    ]
    assert names == ["modelreg"]
    assert "very-secret" not in (root / ".dvc" / "config.local").read_text()


def test_credentials_are_refused_where_they_would_be_committed(
    cli: Cli, registry: Registry, assert_unchanged: object
) -> None:
    root = registry.root
    before = git(root, "rev-parse", "HEAD")
    secret = cli("-C", root, "remote", "add", "s", "s3://b/x", "--option", "secret_access_key=x")
    assert secret.exit_code == 1 and "is a credential" in secret.stderr
    in_url = cli("-C", root, "remote", "add", "w", "https://user:pw@example.com/store")
    assert in_url.exit_code == 1 and "holds a password" in in_url.stderr
    assert git(root, "rev-parse", "HEAD") == before


@pytest.mark.parametrize("command", ["remove", "default"])
def test_unknown_dvc_remote(
    cli: Cli, populated: Path, command: str, assert_unchanged: Unchanged
) -> None:
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "remote", command, "nope"), "no DVC remote named 'nope'"
        )
