"""What DVC keeps in a work tree, read and written without DVC: the names of its
folder and files, ``.dvc`` files and their ``.gitignore`` lines exactly as ``dvc
add`` writes them, and the committed ``cache.dir`` (read with configobj, DVC's own
light config reader, so ``check`` and ``verify`` need no DVC import).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import yamlio
from ..errors import StorageError, UnsafePathError
from ..paths import write_replacing

DVC_DIR = ".dvc"
DVC_CONFIG = f"{DVC_DIR}/config"  # committed
DVC_LOCAL_CONFIG = f"{DVC_DIR}/config.local"  # this clone's settings, never committed
DVC_CACHE = f"{DVC_DIR}/cache"  # the default cache folder
DVC_WORK_FOLDERS = (f"{DVC_DIR}/tmp", DVC_CACHE)  # what DVC writes as it works
DVC_IGNORE = ".dvcignore"
# What ``dvc init`` makes that a registry commits (with ``.modelreg.yaml``).
DVC_SET_UP_FILES = (DVC_CONFIG, f"{DVC_DIR}/.gitignore", DVC_IGNORE)
DVC_FILE_SUFFIX = ".dvc"


def objects_dir(store: Path) -> Path:
    """Where a DVC cache or local-folder remote at ``store`` keeps its objects
    (DVC 3: ``files/md5/XX/REST``)."""
    return store / "files" / "md5"


@dataclass(frozen=True)
class StoredFile:
    """A file to track: its path in the work tree and the md5 already computed."""

    path: Path
    md5: str
    size: int


def dvc_file_name(path: str) -> str:
    """The ``.dvc`` file that tracks ``path`` (``model.pkl`` -> ``model.pkl.dvc``)."""
    return path + DVC_FILE_SUFFIX


def is_dvc_file_name(name: str) -> bool:
    return name.endswith(DVC_FILE_SUFFIX)


def tracked_name(dvc_file: str) -> str:
    """The file a ``.dvc`` file tracks (``model.pkl.dvc`` -> ``model.pkl``)."""
    return dvc_file[: -len(DVC_FILE_SUFFIX)]


def is_initialised(root: Path) -> bool:
    return (root / DVC_DIR).is_dir()


def committed_cache_dir(root: Path) -> str | None:
    """``cache.dir`` as the committed ``.dvc/config`` sets it (None: not set, or the
    file is unreadable), read without DVC for ``check`` and ``verify``."""
    import configobj  # type: ignore[import-untyped]  # DVC's own config reader; light

    path = root / DVC_CONFIG
    if not path.is_file():
        return None
    try:
        cache = configobj.ConfigObj(str(path), encoding="utf-8").get("cache", {})
    except (configobj.ConfigObjError, UnicodeDecodeError, OSError):
        return None
    value = cache.get("dir") if isinstance(cache, dict) else None
    return value if isinstance(value, str) and value else None


def foreign_cache_problem(root: Path, cache_dir: str) -> str | None:
    """Why a committed ``cache.dir`` is refused: it puts DVC's cache (written on
    every fetch) outside the repository, where whoever pushed it chose."""
    target = Path(os.path.realpath(root / DVC_DIR / os.path.expanduser(cache_dir)))
    inside = Path(os.path.realpath(root))
    if target == inside or inside in target.parents:
        return None
    return (
        f"cache.dir '{cache_dir}' puts the DVC cache outside the repository ({target}); "
        "a committed setting may not make modelreg write there"
    )


def read_dvc_out(data: bytes) -> dict[str, Any] | None:
    """The first output a ``.dvc`` file lists (its ``md5``, ``size``, ``path``), or
    None when the bytes are not such a file."""
    try:
        out = yamlio.load(data)["outs"][0]
    except (yamlio.YamlError, KeyError, IndexError, TypeError):
        return None
    return out if isinstance(out, dict) else None


def write_dvc_file(path: Path, md5: str, size: int) -> Path:
    """``PATH.dvc`` and the ``/PATH`` line in its folder's ``.gitignore``, as
    ``dvc add PATH`` writes them for a file (keys in DVC's order)."""
    out: dict[str, object] = {"md5": md5, "size": size}
    if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        out["isexec"] = True
    out["hash"] = "md5"
    out["path"] = path.name
    dvc_file = path.with_name(dvc_file_name(path.name))
    write_replacing(dvc_file, yamlio.dump({"outs": [out]}).encode("utf-8"))
    _ignore_add(path)
    return dvc_file


def remove_dvc_file(dvc_file: Path) -> None:
    """Remove a ``.dvc`` file and the ``.gitignore`` entries of its outputs, as
    ``dvc remove --keep-outs`` would; one already gone is skipped."""
    try:
        data = yamlio.load(dvc_file.read_bytes())
    except FileNotFoundError:
        return
    except yamlio.YamlError as exc:
        raise StorageError(f"cannot read {dvc_file}: {exc}") from None
    outs = data.get("outs") if isinstance(data, dict) else None
    for out in outs if isinstance(outs, list) else []:
        if isinstance(out, dict) and "path" in out:
            _ignore_remove(dvc_file.parent / own_out_path(dvc_file, out["path"]))
    dvc_file.unlink()


def _gitignore_entry(path: Path) -> str:
    # As DVC (scmrepo) writes it: anchored, with gitignore's wildcards escaped.
    return "/" + "".join("\\" + c if c in "[]!*#?" else c for c in path.name)


def own_out_path(dvc_file: Path, path: object) -> str:
    """A ``.dvc`` file's ``outs.path``, accepted only as modelreg writes it: the
    plain name of the file beside it (``model.pkl`` in ``model.pkl.dvc``). Any
    other path (``../../x``, ``/etc/x``, ``sub/x``) is someone else's and refused."""
    expected = tracked_name(dvc_file.name)
    if path != expected:
        raise UnsafePathError(
            f"{dvc_file}: outs path '{path}' is not the file beside it ('{expected}'); refused",
            hint="modelreg writes the name of the file beside it; 'modelreg check' lists all",
        )
    return expected


def _gitignore_of(path: Path) -> Path:
    """The ``.gitignore`` beside ``path``; never a symlink (it would be written through)."""
    gitignore = path.parent / ".gitignore"
    if gitignore.is_symlink():
        raise UnsafePathError(
            f"{gitignore} is a symlink; refused (modelreg never writes through one)",
            hint="remove the symlink ('git rm' it if committed); 'modelreg check' lists all",
        )
    return gitignore


def _ignore_add(path: Path) -> None:
    gitignore = _gitignore_of(path)
    entry = _gitignore_entry(path)
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if entry in text.splitlines():
        return
    prefix = "\n" if text and not text.endswith("\n") else ""
    write_replacing(gitignore, f"{text}{prefix}{entry}\n".encode())


def _ignore_remove(path: Path) -> None:
    gitignore = _gitignore_of(path)
    try:
        lines = gitignore.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return
    entries = {_gitignore_entry(path), "/" + path.name}
    kept = [line for line in lines if line.strip() not in entries]
    if not kept:
        gitignore.unlink()
    elif kept != lines:
        write_replacing(gitignore, "".join(kept).encode())
