"""paths.py: a name or path read from git becomes a path strictly inside its root,
or an UnsafePathError; nothing is ever written through a symlink."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelreg import Registry
from modelreg.errors import ModelregError, UnsafePathError
from modelreg.paths import inside, model_folder, name_problem, replace_into, write_replacing

from .conftest import Cli

SAFE = ["model.pkl", "sub/model.pkl", "a/b/c.bin", ".hidden", "a..b", "x y.bin", "ünï.bin"]
UNSAFE = [
    "",
    "..",
    "../x",
    "a/../../x",
    "a/..",
    ".",
    "./a",
    "a//b",
    "a/",
    "/etc/passwd",
    "C:/x",
    "c:x",
    "a\\..\\b",
    "a\x00b",
    "a\nb",
    "a\x1b[2Jb",
    "a\tb",
    "trailing ",
    "dir /x",
]


@pytest.mark.parametrize("rel", SAFE)
def test_a_plain_relative_path_stays_inside(tmp_path: Path, rel: str) -> None:
    assert inside(tmp_path, rel, "artifact") == tmp_path / rel


@pytest.mark.parametrize("rel", UNSAFE)
def test_a_path_that_leaves_or_breaks_is_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(UnsafePathError) as caught:
        inside(tmp_path, rel, "artifact")
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    "name", ["../../sentinel:x", "..:x", "a/../b", "/abs:x", "dir/:x", "a\nb", "x:..", "a//b"]
)
def test_a_name_that_climbs_is_no_model_folder(tmp_path: Path, name: str) -> None:
    assert name_problem(name)
    with pytest.raises(UnsafePathError):
        model_folder(tmp_path, "models", name)


@pytest.mark.parametrize("name", ["fraud", "team/fraud", "dir:name", "a.b/c:d-e_f"])
def test_gto_names_are_model_folders(tmp_path: Path, name: str) -> None:
    expected = tmp_path / "models" / name.replace(":", "/")
    assert model_folder(tmp_path, "models", name) == expected


def test_a_symlink_in_any_existing_component_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "models" / "m").mkdir(parents=True)
    (root / "models" / "m" / "sub").symlink_to(outside)
    (root / "models" / "link").symlink_to(outside)
    for rel in ("models/m/sub/x.bin", "models/link/x"):
        with pytest.raises(UnsafePathError, match="symlink"):
            inside(root, rel, "artifact", final_link=True)
    # the name itself may be a link only when the caller replaces it (final_link)
    assert inside(root, "models/link", "artifact", final_link=True) == root / "models" / "link"
    with pytest.raises(UnsafePathError):
        inside(root, "models/link", "artifact")


def test_replace_into_never_writes_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "b").symlink_to(outside)
    source = tmp_path / "bytes"
    source.write_bytes(b"x")
    with pytest.raises(UnsafePathError):
        replace_into(root, "a/b/file", source, "artifact")
    assert list(outside.iterdir()) == []
    # a link at the name itself is replaced, its target untouched
    target = outside / "target"
    target.write_bytes(b"keep")
    (root / "a" / "file").symlink_to(target)
    replace_into(root, "a/file", source, "artifact")
    assert (root / "a" / "file").read_bytes() == b"x" and not (root / "a" / "file").is_symlink()
    assert target.read_bytes() == b"keep"
    # folders on the way are made
    source.write_bytes(b"y")
    replace_into(root, "new/deep/file", source, "artifact")
    assert (root / "new" / "deep" / "file").read_bytes() == b"y"


def test_write_replacing_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_bytes(b"keep")
    link = tmp_path / ".gitignore"
    link.symlink_to(target)
    write_replacing(link, b"/model.pkl\n")
    assert not link.is_symlink() and link.read_bytes() == b"/model.pkl\n"
    assert target.read_bytes() == b"keep"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(max_size=40) | st.lists(st.sampled_from(["..", ".", "", "a", "/", "b:c"])).map("/".join)
)
def test_whatever_the_string_the_path_is_inside_or_refused(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root"
    try:
        path = inside(root, rel, "artifact")
    except ModelregError:
        return
    resolved = Path(os.path.normpath(path))
    assert root in resolved.parents


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="ab./:-_\\\n", max_size=30))
def test_whatever_the_name_the_folder_is_inside_models_or_refused(
    tmp_path: Path, name: str
) -> None:
    try:
        folder = model_folder(tmp_path, "models", name)
    except ModelregError:
        return
    assert tmp_path / "models" in Path(os.path.normpath(folder)).parents


def test_the_journals_undo_never_touches_a_path_outside(repo: Path, cli: Cli) -> None:
    """A journal (in .git) naming paths outside the work tree: doctor --repair
    refuses those entries and removes nothing outside."""
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"keep")
    (outside / ".modelreg-txn-1").mkdir()
    Registry(repo)  # a registry with its .git
    journal = repo / ".git" / "modelreg" / "journal-register-deadbeef.json"
    journal.parent.mkdir(exist_ok=True)
    record = {
        "op": "register",
        "pid": 1,
        "root": str(repo),
        "description": "register m v1.0.0",
        "placed": ["../outside/keep.txt"],
        "moved": [["../outside/keep.txt", "models/m/x"]],
        "snapshots": {"../outside/keep.txt": None},
        "backups": ["../outside/.modelreg-txn-1"],
    }
    journal.write_text(json.dumps(record))
    result = cli("doctor", "--repair", cwd=repo)
    assert result.exit_code == 1, result
    assert len(result.stderr.strip().splitlines()) == 1 and "refused" in result.stderr
    assert (outside / "keep.txt").read_bytes() == b"keep"
    assert (outside / ".modelreg-txn-1").is_dir()
