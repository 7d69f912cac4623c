"""``modelreg token add|list|remove``: the secret once, on stdout's last word."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelreg.registry import Registry
from modelreg.tokens import TokenStore

from .conftest import Cli


def _store(repo: Path) -> TokenStore:
    return TokenStore.of(Registry(repo))


def test_add_prints_the_secret_once_as_the_last_word(cli: Cli, repo: Path) -> None:
    added = cli.ok("-C", repo, "token", "add", "ci", "--role", "write", "--email", "ci@example.com")
    lines = added.stdout.splitlines()
    assert len(lines) == 1
    secret = lines[0].split()[-1]
    assert _store(repo).verify(secret).name == "ci"
    assert "only this once" in added.stderr and secret not in added.stderr
    listed = cli.ok("-C", repo, "token", "list")
    assert "ci" in listed.stdout and "ci@example.com" in listed.stdout and "write" in listed.stdout
    assert secret not in listed.stdout


def test_the_shell_idiom_takes_the_secret(repo: Path) -> None:
    env = {**os.environ, "MODELREG": f"{sys.executable} -m modelreg -C {repo}"}
    done = subprocess.run(
        [
            "sh",
            "-c",
            "TOKEN=$($MODELREG token add ci --role read | awk '{print $NF}'); printf %s \"$TOKEN\"",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert _store(repo).verify(done.stdout).role == "read"


def test_list_json_is_the_serializer_s(cli: Cli, repo: Path) -> None:
    assert json.loads(cli.ok("-C", repo, "token", "list", "--json").stdout) == {"tokens": []}
    cli.ok("-C", repo, "token", "add", "reader", "--role", "read")
    document = json.loads(cli.ok("-C", repo, "token", "list", "--json").stdout)
    assert [(t["name"], t["role"], t["email"]) for t in document["tokens"]] == [
        ("reader", "read", None)
    ]
    assert "sha256" not in document["tokens"][0]


def test_no_token_says_what_that_means(cli: Cli, repo: Path) -> None:
    assert "serves everyone" in cli.ok("-C", repo, "token", "list").stdout


def test_remove(cli: Cli, repo: Path) -> None:
    secret = cli.ok("-C", repo, "token", "add", "ci", "--role", "read").stdout.split()[-1]
    removed = cli.ok("-C", repo, "token", "remove", "ci")
    assert removed.stdout == "Removed token ci (read): its secret is refused from now on\n"
    assert _store(repo).load().empty
    gone = cli("-C", repo, "token", "remove", "ci")
    assert gone.exit_code == 1 and gone.stdout == ""
    assert gone.stderr.count("\n") == 1 and "no token named 'ci'" in gone.stderr
    assert secret


def test_bad_input_is_one_line_and_changes_nothing(cli: Cli, repo: Path) -> None:
    cli.ok("-C", repo, "token", "add", "ci", "--role", "read")
    before = _store(repo).path.read_bytes()
    for argv, code, words in (
        (["add", "ci", "--role", "write"], 1, "exists already"),
        (["add", "Bad Name", "--role", "read"], 1, "invalid token name"),
        (["add", "ok", "--role", "read", "--email", "nobody"], 1, "invalid email"),
        (["add", "ok", "--role", "admin"], 2, "admin"),
        (["add", "ok"], 2, "--role"),
    ):
        result = cli("-C", repo, "token", *argv)
        assert result.exit_code == code, (argv, result)
        assert result.stdout == "" and words in result.stderr, (argv, result)
        if code == 1:
            assert result.stderr.count("\n") == 1
    assert _store(repo).path.read_bytes() == before


def test_outside_a_repository(cli: Cli, tmp_path: Path) -> None:
    result = cli("-C", tmp_path, "token", "list")
    assert result.exit_code == 1 and "not inside a git repository" in result.stderr
