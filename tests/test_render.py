"""What people see (modelreg.render): text read from git cannot drive their terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelreg.render import visible

from .conftest import Cli, FileMaker, git

CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
TITLE = "\x1b]0;pwned\x07"  # set the window title (OSC ... BEL)
C1 = "\x9b31m"  # CSI as one C1 character


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcödé, 模型", "plain text, ünïcödé, 模型"),
        (CLEAR, "\\x1b[2J\\x1b[H"),
        (TITLE, "\\x1b]0;pwned\\x07"),
        (C1, "\\x9b31m"),
        ("a\tb\nc\rd\x00\x7f", "a\\tb\\nc\\rd\\x00\\x7f"),
    ],
)
def test_visible_shows_control_characters_as_escapes(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_escape_sequences_from_git_are_shown_not_obeyed(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    description = f"scorer{CLEAR}{C1}"
    reason = f"ship it{TITLE}"
    cli.ok("-C", repo, "register", "m", files(), "--description", description)
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "staging", "-m", reason)
    # A tag written by hand or by GTO: its whole message is the reason.
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "tag", "-a", "m#production#9", "-m", f"by hand{CLEAR}{TITLE}", head)

    outputs = {
        command: cli.ok("-C", repo, *command.split()).stdout
        for command in ("show m@v0.1.0", "history m", "history", "list")
    }
    for command, shown in outputs.items():
        assert not any(c in shown for c in "\x1b\x07\x9b"), (command, shown)
    assert "scorer\\x1b[2J\\x1b[H\\x9b31m" in outputs["show m@v0.1.0"]
    # modelreg itself writes a reason without control characters (spaces instead)
    assert "ship it ]0;pwned" in outputs["history m"]
    assert "by hand\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07" in outputs["history"]
    assert "#production" in outputs["list"] and "v0.1.0" in outputs["list"]

    # JSON keeps the text exactly.
    shown = json.loads(cli.ok("-C", repo, "show", "m@v0.1.0", "--json").stdout)
    assert shown["manifest"]["description"] == description
    events = json.loads(cli.ok("-C", repo, "history", "m", "--json").stdout)["events"]
    assert {e["reason"] for e in events} >= {"ship it ]0;pwned", f"by hand{CLEAR}{TITLE}"}
