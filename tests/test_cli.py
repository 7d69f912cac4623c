"""modelreg/cli/: the CLI's contract apart from any one command: help, exit codes, imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from modelreg import Registry
from modelreg.cli import cli as root_command

from .conftest import Cli, FileMaker, Unchanged, assert_user_error, git

COMMANDS = [
    "init", "register", "list", "show", "history", "promote", "rollback", "deprecate",
    "checkout", "get", "resolve", "push", "pull",
]  # fmt: skip


def test_every_command_of_the_design_exists() -> None:
    assert isinstance(root_command, click.Group)
    assert set(COMMANDS) <= set(root_command.commands)


@pytest.mark.parametrize("name", sorted(root_command.commands))  # type: ignore[attr-defined]
def test_every_command_and_option_has_help_and_an_example(name: str) -> None:
    command = root_command.commands[name]  # type: ignore[attr-defined]
    assert command.help and len(command.help.split()) > 5, name
    assert "Example: modelreg" in command.help or "Example: VERSION=$(modelreg" in command.help
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts} has no help"


def test_group_options_have_help() -> None:
    for param in root_command.params:
        if isinstance(param, click.Option) and param.name != "version":
            assert param.help, param.opts


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


PROBE = """
import sys
from modelreg.cli import main
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m == 'dvc' or m.startswith(('dvc.', 'dvc_')))
print('DVC-MODULES:', loaded, file=sys.stderr)
heavy = [m for m in {heavy!r} if m in sys.modules]
print('HEAVY-MODULES:', heavy, file=sys.stderr)
sys.exit(code)
"""
# What a read has no use for: Rich (its tables are laid out without it on a pipe), the
# modules that write, move bytes, gate or check, and every operation module but its
# own (ops/ loads one on first use). Importing them costs ~40 ms a command.
NOT_FOR_READS = (
    "rich",
    "tempfile",
    "modelreg.storage",
    "modelreg.registering",
    "modelreg.txn",
    "modelreg.verify",
    "modelreg.deps",
    "modelreg.check",
    "modelreg.sharing",
    "modelreg.workspace",
    "modelreg.hashing",
    "modelreg.events",
    "modelreg.gates",
    "modelreg._results",
    *(
        f"modelreg.ops.{name}"
        for name in (
            "files",
            "import_mlflow",
            "init",
            "inspect",
            "publish",
            "register",
            "remotes",
            "stages",
            "sync",
        )
    ),
    # the server's (only `serve` pays for them)
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
)
# resolve and history answer from tags alone: no YAML parser, no manifest.
NOT_FROM_TAGS_ALONE = ("yaml", "modelreg.manifest", "modelreg.manifests")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["list", "--json"],
        ["list"],
        ["show", "m", "--json"],
        ["show", "m"],
        ["history", "--json"],
        ["history", "m"],
        ["resolve", "m#production"],
    ],
)
def test_read_commands_import_no_dvc_nor_rich_nor_the_write_side(
    cli: Cli, repo: Path, files: FileMaker, args: list[str]
) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    heavy = NOT_FOR_READS
    if args[0] in ("history", "resolve", "--help"):
        heavy += NOT_FROM_TAGS_ALONE
    done = _python(PROBE.format(args=args, heavy=heavy), repo)
    assert done.returncode == 0, done.stderr
    assert "DVC-MODULES: []" in done.stderr, done.stderr
    assert "HEAVY-MODULES: []" in done.stderr, done.stderr
    if args[0] == "list" and "--json" in args:
        assert json.loads(done.stdout)["models"][0]["name"] == "m"
    elif args[0] != "--help":
        assert "0.1.0" in done.stdout  # the answer itself, printed without the modules


GIT_LOGGER = """#!/bin/sh
printf '%s\\n' "$*" >> "$MODELREG_TEST_GIT_LOG"
exec {git} "$@"
"""


def _extra_models(root: Path, count: int) -> None:
    """``count`` more models, 3 versions and a production holder each, as annotated
    tags written by one ``git fast-import``: the registry grows, a read's work must not."""
    head = git(root, "rev-parse", "HEAD").strip()
    stream = []
    for i in range(count):
        events = [(f"extra-{i}@v0.{k}.0", f"Register extra-{i} v0.{k}.0") for k in (1, 2, 3)]
        events.append((f"extra-{i}#production#1", f"Promote extra-{i} v0.2.0 to production"))
        for n, (tag, subject) in enumerate(events):
            message = f"{subject}\n".encode()
            stream.append(
                f"tag {tag}\nfrom {head}\ntagger T <t@example.com> {1_790_000_000 + n} +0000\n"
                f"data {len(message)}\n".encode()
                + message
                + b"\n"
            )
    subprocess.run(
        ["git", "-C", str(root), "fast-import", "--quiet"], input=b"".join(stream), check=True
    )


READS_AND_PROMOTE = [
    ["list", "--json"],
    ["show", "m"],
    ["show", "m#production", "--json"],
    ["history", "m"],
    ["resolve", "m#production"],
    ["promote", "m@v0.1.0", "--to", "staging"],
]


def test_reads_and_promote_spawn_as_many_git_processes_in_a_big_registry(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    """The design that keeps them fast, whatever the registry's size: one git call per
    kind of read (no process per tag or per model), one model's tags only for
    show/history/resolve/promote, and no DVC import (DVC costs 0.3 s to import)."""
    import shutil

    real_git = shutil.which("git")
    assert real_git is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(GIT_LOGGER.format(git=real_git))
    wrapper.chmod(0o755)
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")

    def calls(args: list[str]) -> list[str]:
        """The git commands ``args`` runs the second time (the first fills the state
        cache: a manifest read once is not read from git again)."""
        log = tmp_path / "git.log"
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        env["MODELREG_TEST_GIT_LOG"] = str(log)
        for _time in range(2):
            log.unlink(missing_ok=True)
            done = subprocess.run(
                [sys.executable, "-c", PROBE.format(args=args, heavy=())],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "DVC-MODULES: []" in done.stderr, done.stderr
            git(repo, "tag", "-d", "m#staging#2", check=False)  # promote again next time
        return log.read_text().splitlines() if log.exists() else []

    small = {" ".join(args): calls(args) for args in READS_AND_PROMOTE}
    _extra_models(repo, 200)  # 800 more tags
    large = {" ".join(args): calls(args) for args in READS_AND_PROMOTE}
    for command, made in small.items():
        assert len(large[command]) == len(made), (command, made, large[command])
        # A read: few calls. promote also reads its manifest, checks whether any
        # manifest declares dependencies (one git grep) and writes the tag.
        assert len(made) <= (8 if command.startswith("promote") else 5), (command, made)
    for command in ("show m", "history m", "resolve m#production", "promote m@v0.1.0 --to staging"):
        reads = [c for c in large[command] if c.startswith("for-each-ref")]
        assert len(reads) == 1 and "refs/tags/m@*" in reads[0], large[command]
    # A manifest shown before comes from the state cache, not from git.
    assert not [c for c in large["show m"] if c.startswith("cat-file")], large["show m"]


def test_help_does_not_import_the_library() -> None:
    code = (
        "import sys\nfrom modelreg.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('git', 'rich', 'yaml', 'modelreg.registry') if m in sys.modules]\n"
        "print('HEAVY:', heavy, file=sys.stderr)\n"
    )
    done = _python(code, Path.cwd())
    assert "HEAVY: []" in done.stderr, done.stderr
    assert "register" in done.stdout


def test_usage_errors_exit_2(cli: Cli, repo: Path) -> None:
    result = cli("-C", repo, "promote", "m@v0.1.0")
    assert result.exit_code == 2
    assert "Missing option '--to'" in result.stderr
    assert cli("-C", repo, "no-such-command").exit_code == 2
    bad_metric = cli("-C", repo, "register", "m", repo / ".modelreg.yaml", "--metric", "auc=high")
    assert bad_metric.exit_code == 2 and "not a number" in bad_metric.stderr


def test_a_bug_exits_3_with_the_traceback_in_a_file(
    cli: Cli, repo: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    from modelreg.registry import Registry

    def broken(self: Registry, **kwargs: object) -> object:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Registry, "list_models", broken)
    result = cli("-C", repo, "list")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "internal error (RuntimeError: simulated bug)" in lines[0]
    log = isolated / "cache" / "modelreg" / "last-traceback.txt"
    assert str(log) in lines[0]
    assert "Traceback" in log.read_text() and "simulated bug" in log.read_text()

    verbose = cli("-C", repo, "--traceback", "list")
    assert verbose.exit_code == 3
    assert "Traceback (most recent call last)" in verbose.stderr


def test_keyboard_interrupt_exits_130(
    cli: Cli, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelreg.registry import Registry

    def interrupted(self: Registry, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(Registry, "list_models", interrupted)
    result = cli("-C", repo, "list")
    assert (result.exit_code, result.stderr.strip()) == (130, "modelreg: interrupted")


def test_python_dash_m_runs_the_cli(repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelreg", "-C", str(repo), "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"models": []}


def test_version_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelreg", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("modelreg ")


def test_the_library_never_reads_or_changes_the_process_directory() -> None:
    """A server runs many registries in one process: only the CLI may know the
    process's working directory; the library is given its caller's. Every module of
    the package is read, the CLI's too: it does not chdir either (-C's directory is
    passed to the library as the caller's)."""
    import ast

    package = Path(__file__).resolve().parent.parent / "modelreg"
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("chdir", "getcwd", "getcwdb"):
                found.append(f"{path.relative_to(package)}:{node.lineno}: {node.attr}")
            elif isinstance(node, ast.Attribute) and node.attr == "cwd":
                if isinstance(node.value, ast.Name) and node.value.id == "Path":
                    found.append(f"{path.relative_to(package)}:{node.lineno}: Path.cwd")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                names = {a.name for a in node.names} & {"chdir", "getcwd", "getcwdb"}
                found += [f"{path.relative_to(package)}:{node.lineno}: {n}" for n in names]
    assert found == []


def test_file_system_errors_are_user_errors(
    cli: Cli, registry: Registry, files: FileMaker, tmp_path: Path
) -> None:
    registry.register("fr", [files("m.pkl", b"x")])
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = cli("-C", registry.root, "get", "fr@v0.1.0", "-o", blocker / "sub")
    assert result.exit_code == 1, result
    assert result.stderr.startswith("modelreg: error: ")
    long_name = cli("-C", registry.root, "register", "fr", "x" * 300)
    assert long_name.exit_code == 1, long_name


def test_dash_c_makes_relative_paths_relative_to_it(
    cli: Cli, registry: Registry, tmp_path: Path
) -> None:
    (registry.root / "out").mkdir()
    (registry.root / "out" / "w.bin").write_bytes(b"relative")
    cli.ok("-C", registry.root, "register", "fr", "out/w.bin")
    data = json.loads(cli.ok("-C", registry.root, "show", "fr", "--json").stdout)
    assert data["manifest"]["artifacts"][0]["size"] == len(b"relative")
    missing = cli("-C", tmp_path / "nope", "list")
    assert missing.exit_code == 2 and "no such directory" in missing.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "nope"], "unknown model 'nope'"),
        (["show", "m@v9.9.9"], "m has no version v9.9.9"),
        (["resolve", "m#staging"], "no version of m holds stage 'staging'"),
        (["resolve", "m@1.0"], "is not a SemVer version"),
        (["history", "nope"], "unknown model 'nope'"),
        (["promote", "m@v9.0.0", "--to", "production"], "m has no version v9.0.0"),
        (["promote", "nope@v0.1.0", "--to", "production"], "unknown model 'nope'"),
        (["promote", "m@v0.1.0", "--to", "prod"], "'prod' is not a stage of this registry"),
        (["promote", "m@v0.1.0", "--to", "-x"], "invalid stage name"),
        (["rollback", "m", "--stage", "production"], "no earlier version of m held production"),
        (["rollback", "m", "--stage", "staging"], "no version of m holds staging"),
        (["rollback", "m", "--stage", "production", "--to", "7.0.0"], "no version v7.0.0"),
        (["deprecate", "m#production"], "deprecate takes NAME"),
        (["checkout", "m@v3.0.0"], "no version v3.0.0"),
        (["get", "ghost@v0.1.0"], "unknown model 'ghost'"),
        (["show", "bad name"], "invalid model name"),
        (["push", "--remote", "orign"], "no git remote 'orign'"),
        (["pull"], "no git remote 'origin'"),
    ],
)
def test_unknown_things_and_refused_requests(
    cli: Cli, populated: Path, assert_unchanged: Unchanged, args: list[str], fragment: str
) -> None:
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, *args), fragment)


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "m@v0.1.0", "--to", "staging", "-m", "bad\udc9b"],
        ["register", "m", "model.pkl", "--description", "bad\udcff"],
    ],
    ids=["promote-reason", "register-description"],
)
def test_text_that_is_not_utf8_is_refused_in_one_line(
    cli: Cli, populated: Path, assert_unchanged: Unchanged, args: list[str]
) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (what a shell passes
    for $'bad\\x9b'); they were an internal error in the write lock."""
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, *args), "is not valid UTF-8 text")


def test_commands_work_from_a_subdirectory(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    sub = repo / "models" / "m"
    assert cli.ok("resolve", "m@latest", cwd=sub).stdout == "0.1.0\n"
