"""paths.py: a name or path read from git becomes a path strictly inside its root,
or an UnsafePathError; nothing is ever written through a symlink."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelreg import Registry
from modelreg.errors import ModelregError, UnsafePathError
from modelreg.paths import inside, model_folder, name_problem, replace_into, write_replacing

from .conftest import V1, Cli, FileMaker

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


@pytest.mark.parametrize("writing", ["model.yaml", "journal"])
def test_a_full_disk_leaves_no_temporary_file_and_names_the_path(
    cli: Cli,
    repo: Path,
    files: FileMaker,
    assert_unchanged: Callable[[Path], AbstractContextManager[None]],
    writing: str,
) -> None:
    """The disk fills up while the manifest (or the write's journal) is written:
    the write syscall itself fails with ENOSPC for that one file."""
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if f".{writing}" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    model = files("model.pkl", V1)
    with assert_unchanged(repo), pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "write", full_disk)
        refused = cli("-C", repo, "register", "m", model)
    assert refused.exit_code == 1, refused
    assert len(refused.stderr.splitlines()) == 1
    assert "No space left on device" in refused.stderr
    if writing == "model.yaml":
        assert f"cannot write {repo / 'models' / 'm' / 'model.yaml'}:" in refused.stderr
    else:
        assert "cannot write " in refused.stderr and "journal-register-" in refused.stderr
    assert [p for p in repo.rglob("*") if ".modelreg-" in p.name] == []
    assert cli("-C", repo, "doctor").exit_code == 0


def test_a_really_full_disk_leaves_no_temporary_file(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    """The model folder on a tiny tmpfs with room for the model file, its .dvc file
    and .gitignore but not the manifest (tmpfs counts whole 4 KiB pages)."""
    folder = repo / "models" / "m"
    folder.mkdir(parents=True)
    if os.sysconf("SC_PAGE_SIZE") != 4096 or os.geteuid() != 0:
        pytest.skip("needs root (to mount a tmpfs) and 4 KiB pages")
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        (folder / "filler").write_bytes(b"\0" * (16 - 5) * 4096)  # 5 pages left
        model = files("model.pkl", bytes(range(256)) * 40)  # 3 pages
        refused = cli("-C", repo, "register", "m", model)
        assert refused.exit_code == 1, refused
        assert len(refused.stderr.splitlines()) == 1
        assert f"cannot write {folder / 'model.yaml'}: No space left on device" in refused.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(folder)], check=False)
