"""The two boundaries, read from the source: git only in the git module
(``gitrepo.py`` and its parts in ``git/``; ``subprocess`` in ``git/runner.py`` alone),
DVC only behind the ``storage`` package, and the CLI importing neither (it goes through
``Registry``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "modelreg"
MODULES = sorted(PACKAGE.rglob("*.py"))
STORAGE = sorted((PACKAGE / "storage").glob("*.py"))
CLI_MODULES = sorted((PACKAGE / "cli").glob("*.py"))
# The one module that starts a process.
RUNNER = "git/runner.py"
DVC_LIBRARIES = ("dvc", "dvc_data", "dvc_objects", "configobj")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (inside functions and
    ``TYPE_CHECKING`` too), relative ones resolved to ``modelreg.<name>``."""
    package = ["modelreg", *path.parent.relative_to(PACKAGE).parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            if node.module is None:  # from . import x
                found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _in_storage(path: Path) -> bool:
    return path.parent == PACKAGE / "storage"


def _in_git_module(path: Path) -> bool:
    return _name(path) == "gitrepo.py" or _name(path).startswith("git/")


def test_the_modules_are_found() -> None:
    names = {_name(p) for p in MODULES}
    assert {"cli/__init__.py", "gitrepo.py", RUNNER, "registry.py", "ops/stages.py"} <= names
    assert {"storage/__init__.py", "storage/transfer.py"} <= names
    assert set(STORAGE) <= set(MODULES)
    assert {"cli/_common.py", "cli/reads.py", "cli/writes.py"} <= {_name(p) for p in CLI_MODULES}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_subprocess_only_in_the_git_runner(path: Path) -> None:
    if _name(path) == RUNNER:
        return
    assert "subprocess" not in {_top(m) for m in _imports(path)}


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_dvc_imported_only_in_storage(path: Path) -> None:
    if _in_storage(path):
        return
    assert not {_top(m) for m in _imports(path)} & set(DVC_LIBRARIES)


def _raw_git_calls(path: Path) -> list[str]:
    """Calls that hand git a command line (``git.run(...)``, ``self.git.try_run(...)``):
    outside the git module git is asked through a named ``GitRepo`` method."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if node.func.attr in ("run", "try_run") and named == "git":
            found.append(f"{_name(path)}:{node.lineno}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_git_command_lines_only_in_the_git_module(path: Path) -> None:
    if _in_git_module(path):
        return
    assert _raw_git_calls(path) == []


@pytest.mark.parametrize("path", CLI_MODULES, ids=_name)
def test_the_cli_imports_neither_git_nor_storage(path: Path) -> None:
    imported = _imports(path)
    assert "modelreg.gitrepo" not in imported
    assert not [m for m in imported if m == "modelreg.git" or m.startswith("modelreg.git.")]
    assert not {m for m in imported if m == "modelreg.storage" or m.startswith("modelreg.storage.")}
    assert not {_top(m) for m in imported} & {"subprocess", *DVC_LIBRARIES}


def test_the_boundaries_are_where_they_say() -> None:
    """The checks above look at the right names: the two boundaries do
    import what the others may not."""
    assert "subprocess" in _imports(PACKAGE / RUNNER)
    storage = {_top(m) for path in STORAGE for m in _imports(path)}
    assert {"dvc", "configobj"} <= storage
