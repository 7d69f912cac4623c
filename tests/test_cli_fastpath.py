"""modelreg/cli/fastpath.py: the plain reads answered without Click say exactly what
Click's commands say — the answer, the warnings, the errors and the exit code — and
every other command line is left to Click."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelreg.cli.fastpath import plan

from .conftest import Showcase

# Both ways run in a process of their own, as a user's command does.
FAST = """
import sys
from modelreg.cli import main
try:
    main(sys.argv[1:])
finally:
    print('CLICK-LOADED:', 'click' in sys.modules, file=sys.stderr)
"""
THROUGH_CLICK = """
import sys
from modelreg.cli import boundary
from modelreg.cli.group import run_click
args = sys.argv[1:]
boundary.run(lambda: run_click(args), args)
"""


def _run(code: str, args: list[str], cwd: Path, **env: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    return done.returncode, done.stdout, done.stderr


def _both(args: list[str], cwd: Path, **env: str) -> tuple[tuple[int, str, str], bool]:
    """What the entry point says, what Click's own path says, and whether the entry
    point loaded Click; asserts the two say the same."""
    code, out, err = _run(FAST, args, cwd, **env)
    err, _, loaded = err.rpartition("CLICK-LOADED: ")
    click = _run(THROUGH_CLICK, args, cwd, **env)
    assert (code, out, err) == click, f"fast path: {(code, out, err)}\nClick: {click}"
    return click, loaded.strip() == "True"


PLAIN_READS = [
    ["resolve", "team/fraud#production"],
    ["resolve", "team/fraud#production", "--json"],
    ["resolve", "team/fraud@latest"],
    ["resolve", "embedder@v2.0.0"],
    ["show", "team/fraud"],
    ["show", "--json", "team/fraud#production"],
    ["show", "ranker@v1.0.0"],
    ["history", "team/fraud"],
    ["history", "team/fraud", "--reverse", "--json"],
    ["history"],
    ["history", "--json"],
    ["list"],
    ["list", "--json"],
    ["-q", "list", "-a"],
    ["list", "--all", "--json"],
]


@pytest.mark.parametrize("args", PLAIN_READS, ids=" ".join)
def test_a_plain_read_skips_click_and_says_what_click_says(
    showcase: Showcase, args: list[str]
) -> None:
    assert plan(args) is not None
    (code, out, _err), loaded = _both(args, showcase.root)
    assert code == 0 and out.strip()
    assert not loaded


def test_dash_c_and_the_directory_variable_take_the_plain_path(
    showcase: Showcase, tmp_path: Path
) -> None:
    args = ["-C", str(showcase.root), "resolve", "team/fraud#production"]
    (code, out, _err), loaded = _both(args, tmp_path)
    assert (code, loaded) == (0, False) and out.strip()
    sub = showcase.root / "models"
    (code, out_here, _err), loaded = _both(args[2:], tmp_path, MODELREG_DIR=str(sub))
    assert (code, out_here, loaded) == (0, out, False)


ERRORS = [
    ["resolve", "no-such-model#production"],
    ["resolve", "team/fraud#no-such-stage"],
    ["resolve", "Bad Name!"],
    ["show", "team/fraud@v9.9.9"],
    ["show", ""],
    ["history", "no-such-model"],
]


@pytest.mark.parametrize("args", ERRORS, ids=" ".join)
def test_an_error_on_the_plain_path_is_the_same_one_line(
    showcase: Showcase, args: list[str]
) -> None:
    assert plan(args) is not None
    (code, out, err), loaded = _both(args, showcase.root)
    assert code == 1 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith("modelreg: error: ")
    assert not loaded


def test_outside_a_repository_the_plain_path_fails_as_click_does(tmp_path: Path) -> None:
    (code, out, err), loaded = _both(["resolve", "m#production"], tmp_path)
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert not loaded


LEFT_TO_CLICK = [
    ["resolve", "--help"],
    ["show"],
    ["resolve", "a#production", "b#production"],
    ["show", "--bogus", "team/fraud"],
    ["resolve", "--", "team/fraud#production"],
    ["history", "--reverse", "--reverse", "team/fraud"],
    ["-C", "no-such-folder", "list"],
    ["-C", "", "list"],
    ["--version"],
    ["deps", "team/fraud"],
    ["list", "--json=yes"],
]


@pytest.mark.parametrize("args", LEFT_TO_CLICK, ids=" ".join)
def test_anything_else_is_parsed_by_click(showcase: Showcase, args: list[str]) -> None:
    assert plan(args) is None
    _said, loaded = _both(args, showcase.root)
    assert loaded


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MODELREG_QUIET", "banana"), ("MODELREG_TRACEBACK", "maybe"), ("MODELREG_REPO", "x")],
)
def test_settings_click_would_read_or_refuse_are_left_to_it(
    showcase: Showcase, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    args = ["list", "--json"]
    monkeypatch.setenv(variable, value)
    assert plan(args) is None
    (code, _out, err), loaded = _both(args, showcase.root)
    assert code != 0 and err.strip() and loaded


@pytest.mark.parametrize("value", ["", "1", "no", " TRUE "])
def test_flag_settings_click_takes_keep_the_plain_path(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MODELREG_QUIET", value)
    assert plan(["list"]) is not None


def test_a_closed_pipe_ends_a_plain_read_quietly(showcase: Showcase) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-m", "modelreg", "history"],
        cwd=showcase.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()
    err = reader.stderr.read().decode()
    assert reader.wait() in (0, -13) and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["history", "--json"], 0),
        (["show", "team/fraud", "--json"], 0),
        (["resolve", "no-such-model#production"], 1),
    ],
)
def test_the_entry_point_ends_a_plain_read_with_everything_written(
    showcase: Showcase, tmp_path: Path, args: list[str], code: int
) -> None:
    """Run as ``python -m modelreg`` (no teardown after a plain read): every byte of
    the answer reaches a file, the error reaches stderr, the exit code is kept."""
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "modelreg", *args],
            cwd=showcase.root,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
    click = _run(THROUGH_CLICK, args, showcase.root)
    assert (done.returncode, out.read_text(), err.read_text()) == click
    assert done.returncode == code
