"""errors.py: every error has a kind that each face maps (exit code, HTTP status),
and library messages speak of the operation; the CLI adds its flag names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

import modelreg
from modelreg import errors
from modelreg.cli import cli, cli_words
from modelreg.errors import EXIT_CODES, HTTP_STATUS, Kind, ModelregError, Remedy

from .conftest import Cli, FileMaker, assert_user_error, git

PACKAGE = Path(modelreg.__file__).parent


def _subclasses(cls: type[ModelregError]) -> list[type[ModelregError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _subclasses(sub)
    return found


ERRORS = _subclasses(ModelregError)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_has_a_kind_both_faces_map(cls: type[ModelregError]) -> None:
    assert isinstance(cls.kind, Kind)
    assert cls.kind is not Kind.BUG  # raised on purpose: never a bug
    # every user error exits 1, as before; a malformed request (the HTTP face's
    # BadRequest, a serve setting) is a usage error, as Click's are: 2
    assert EXIT_CODES[cls.kind] == (2 if cls.kind is Kind.USAGE else 1)
    assert 400 <= HTTP_STATUS[cls.kind] < 500 or HTTP_STATUS[cls.kind] == 503


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name)
def test_the_tables_cover_every_kind(kind: Kind) -> None:
    assert EXIT_CODES[kind] in (1, 2, 3)
    status = HTTP_STATUS[kind]
    if kind is Kind.BUG:
        assert (EXIT_CODES[kind], status) == (3, 500)
    else:
        assert 400 <= status < 500 or status == 503, "never 5xx for bad input"
    if kind is Kind.USAGE:
        assert EXIT_CODES[kind] == 2


def test_the_kinds_that_matter_over_http() -> None:
    assert errors.UnknownModelError("x").http_status == 404
    assert errors.UnknownRemoteError("x").http_status == 404
    assert errors.InvalidVersionError("x").http_status == 422
    assert errors.VersionExistsError("x").http_status == 409
    assert errors.LockTimeoutError("x").http_status == 503
    assert errors.GitError("x").exit_code == 1


# A modelreg flag in a string: `--force`, `'--push'`, ` -m REASON`, ` -o DIR`.
_FLAG = re.compile(r"(?:^|\s|')(--[a-z][a-z-]*)| (-[mo]) ")
# The CLI (every module of cli/) is the face that says flags; the git module's strings
# are git's own argv.
# The HTTP face (server/) may point people at the CLI's commands in its docs.
_FACES = {"cli", "render.py", "server"}
_GIT_ARGV = {"gitrepo.py", "git"}  # gitrepo.py and every module under git/


def _cli_flags() -> set[str]:
    flags: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            flags.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("-"))
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli)
    return flags


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_library_string_names_a_cli_flag() -> None:
    """Messages and hints name the operation's parameter; only the CLI says
    `--force`. Git's and DVC's own flags in a command to run (`git rm --cached`)
    are not modelreg's."""
    flags = _cli_flags()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in _FACES | _GIT_ARGV:
            continue
        for line, text in _strings(path):
            for match in _FLAG.finditer(text):
                flag = match.group(1) or match.group(2)
                if flag in flags:
                    found.append(f"{path.relative_to(PACKAGE)}:{line}: {text!r}")
    assert found == []


def test_every_remedy_phrase_has_cli_words() -> None:
    from modelreg.cli import _flag_words

    phrases = {
        value
        for name, value in vars(errors).items()
        if name.isupper() and isinstance(value, str) and name != "UNFORCEABLE_GATES"
    }
    assert phrases == set(_flag_words())


def test_cli_words_swap_the_phrase_for_the_flag() -> None:
    remedy = Remedy("force", errors.FORCE_WITH_REASON, (("gate", "tests"),))
    exc = ModelregError("refused", hint=f"fix the cause, or {remedy.text}", remedy=remedy)
    assert cli_words(exc) == ("refused", "fix the cause, or override with --force -m REASON")
    said = errors.about_input("code_commit")
    exc = ModelregError(f"{said.text}x': not a commit", remedy=said)
    assert cli_words(exc) == ("--code-commit 'x': not a commit", None)
    plain = ModelregError("no remedy", hint="a hint")
    assert cli_words(plain) == ("no remedy", "a hint")


def test_the_cli_says_force(cli: Cli, stack: modelreg.Registry) -> None:
    refused = cli("-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production")
    assert_user_error(refused, "(hint: fix the cause, or override with --force -m REASON (gate: ")
    no_reason = cli(
        "-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production", "--force"
    )
    assert no_reason.exit_code == 1  # after a warning naming the gate being overridden
    assert "modelreg: error: --force needs a reason: add -m REASON (it is recorded" in (
        no_reason.stderr
    )


def test_the_cli_says_allow_unresolved(cli: Cli, repo: Path, files: FileMaker) -> None:
    refused = cli("-C", repo, "register", "app", files(), "--dep", "ghost@^1.0.0")
    assert_user_error(refused, "(hint: register it first, or pass --allow-unresolved)")


def test_the_cli_says_repair(cli: Cli, repo: Path, files: FileMaker) -> None:
    git_dir = Path(git(repo, "rev-parse", "--absolute-git-dir").strip())
    (git_dir / "modelreg").mkdir(exist_ok=True)
    (git_dir / "modelreg" / "journal-register-0000.json").write_text("{}")
    refused = cli("-C", repo, "register", "m", files())
    assert_user_error(
        refused,
        "error: an earlier modelreg command was interrupted (journal-register-0000.json) "
        "(hint: run 'modelreg doctor --repair' to finish or undo it)",
    )
