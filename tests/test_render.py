"""What people see (modelreg.render): text read from git cannot drive their terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg import Registry
from modelreg.render import _Columns, visible

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


# --- piped output without Rich: the same text Rich prints --------------------------------

# Text from git as it may come: wide and combining characters, emoji, markup-like
# brackets and emoji codes (shown as they are), control characters (made visible).
cell_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["模型", "e\u0301", "🙂", "[bold]x[/]", ":smile:", "a  b", " ", "", "x\t\x1b"]),
)


def _rich_lines(table: _Columns) -> list[str]:
    """What the CLI prints through Rich on a pipe (render._LazyConsole's settings)."""
    from rich.console import Console

    console = Console(file=io.StringIO(), highlight=False, soft_wrap=True, width=10_000)
    with console.capture() as captured:
        console.print(table.rich())
    return [line.rstrip() for line in captured.get().splitlines()]


@settings(max_examples=300, deadline=None)
@given(
    header=st.booleans(),
    right=st.lists(st.booleans(), min_size=1, max_size=4),
    rows=st.lists(st.lists(cell_text, min_size=4, max_size=4), max_size=4),
    styled=st.booleans(),
)
def test_a_piped_table_is_what_rich_prints(
    header: bool, right: list[bool], rows: list[list[str]], styled: bool
) -> None:
    table = _Columns(header=header)
    for n, flush_right in enumerate(right):
        table.column(f"col{n}", right=flush_right, style="dim" if styled and n == 0 else "")
    for row in rows:
        cells = row[: len(right)]
        table.row(*([(c, ""), (" (x)", "dim")] if styled else c for c in cells))
    assert table.lines() == _rich_lines(table)


def test_show_history_and_list_say_on_a_pipe_what_rich_says(
    registry: Registry,
    files: FileMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """show, history and list on a pipe print, without Rich, what Rich prints."""
    from rich.console import Console

    from modelreg import render

    monkeypatch.setattr(render.out, "_console", None)  # as in a new process

    registry.register("m", [files()], description="wide 模型 [b]x[/b] :smile: \x1b[2J")
    registry.promote("m@v0.1.0", "staging", message="ok 🙂")
    registry.promote("m@v0.1.0", "production")
    registry.deprecate("m", message="gone")
    shows = [
        lambda: render.version(registry.show("m@v0.1.0"), False),
        lambda: render.history(registry.history("m"), False),
        lambda: render.models(registry.list_models(include_deprecated=True), ("staging",), False),
    ]
    for show in shows:
        show()
        plain = capsys.readouterr().out
        assert render.out._console is None  # Rich was not needed
        rich = Console(file=io.StringIO(), highlight=False, soft_wrap=True, width=10_000)
        render.out._console = rich
        try:
            show()
        finally:
            render.out._console = None
        assert capsys.readouterr().out == ""
        through_rich = rich.file.getvalue()  # type: ignore[attr-defined]
        assert plain == through_rich
