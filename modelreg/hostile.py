"""Hostile entries in the work tree's models folder, for ``check`` and ``verify``.

Whoever can push can commit anything (DESIGN.md, "Untrusted input"). The
commands that write refuse such entries one by one (:mod:`paths`); this scan
names every one of them at once, so a pre-commit hook or CI job catches them
before a teammate pulls: a manifest whose name leads outside the models folder,
a symlink (a model folder, a subfolder or a file that leads elsewhere), a
``.dvc`` file whose ``outs`` path is not the file beside it, and a file name
with a control character. Artifact paths that climb or are absolute are
refused by the manifest's own validation. Reads only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import yamlio
from .manifest import MANIFEST_FILE
from .paths import name_problem, path_problem, symlink_below
from .storage import (
    DVC_CACHE,
    DVC_CONFIG,
    DVC_LOCAL_CONFIG,
    DVC_WORK_FOLDERS,
    committed_cache_dir,
    foreign_cache_problem,
    is_dvc_file_name,
    tracked_name,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, order=True)
class Hostile:
    path: str  # relative to the work tree, control characters escaped
    message: str
    kind: str = ""  # name, symlink, dvc-out, artifact-path, file-name, dvc-config, dvc-internals


def _shown(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def scan(root: Path, models_dir: str) -> list[Hostile]:
    """Every hostile entry under ``root/models_dir`` and in the committed DVC
    config, in path order."""
    base = root / models_dir
    found: list[Hostile] = _dvc_config(root)
    link = symlink_below(root, base)
    if link is not None:
        return [*found, _link(link.relative_to(root).as_posix(), link)]
    if not base.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(base):  # symlinked folders are not entered
        folder = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = folder / name
            rel = _shown(path.relative_to(root).as_posix())
            if _CONTROL.search(name) or name != name.rstrip():
                message = "file name holds a control character or ends in space"
                found.append(Hostile(rel, message, "file-name"))
            if path.is_symlink():
                if not _cache_link(root, path):
                    found.append(_link(rel, path))
            elif is_dvc_file_name(name) and path.is_file():
                found.extend(_dvc_out(path, rel))
            elif name == MANIFEST_FILE and path.is_file():
                found.extend(_manifest_name(path, rel, models_dir))
    return sorted(set(found))


def dvc_internals(entries: list[tuple[str, str]]) -> list[Hostile]:
    """Entries of DVC's own folder that no commit should carry, from the index
    (``(mode, path)``): a symlink anywhere in ``.dvc/`` (DVC writes its lock, its
    cache and its temporary files through them), anything under ``.dvc/tmp`` or
    ``.dvc/cache``, and ``.dvc/config.local`` (settings only this clone may make,
    such as a cache folder outside the repository)."""
    found = []
    for mode, path in entries:
        if mode == "120000":
            message = "is a committed symlink in DVC's folder; DVC would write through it"
        elif path == DVC_LOCAL_CONFIG:
            message = "is committed, but holds settings only this clone may make"
        elif any(path == f or path.startswith(f"{f}/") for f in DVC_WORK_FOLDERS):
            message = "is committed inside DVC's own working folders"
        else:
            continue
        found.append(Hostile(_shown(path), message, "dvc-internals"))
    return found


def _dvc_config(root: Path) -> list[Hostile]:
    """A committed ``cache.dir`` outside the repository (every fetch writes there)."""
    cache_dir = committed_cache_dir(root)
    problem = foreign_cache_problem(root, cache_dir) if cache_dir else None
    return [Hostile(DVC_CONFIG, _shown(problem), "dvc-config")] if problem else []


def _link(rel: str, path: Path) -> Hostile:
    target = _shown(os.readlink(path))
    return Hostile(rel, f"is a symlink to {target}; modelreg never writes through one", "symlink")


def _cache_link(root: Path, path: Path) -> bool:
    """A file DVC (``cache.type: symlink``) linked from its cache: not hostile."""
    target = Path(os.path.realpath(path))
    cache = Path(os.path.realpath(root / DVC_CACHE))
    return cache in target.parents and target.is_file()


def _dvc_out(path: Path, rel: str) -> list[Hostile]:
    data = path.read_bytes()
    wanted = tracked_name(path.name)
    if data.count(b"path:") == 1 and data.endswith(f"\n  path: {wanted}\n".encode()):
        return []  # as write_dvc_file writes it: no YAML parse needed
    try:
        outs = yamlio.load(data).get("outs")
    except (yamlio.YamlError, AttributeError):
        return []  # not a .dvc file modelreg would read
    found = []
    for out in outs if isinstance(outs, list) else []:
        if isinstance(out, dict) and "path" in out and out["path"] != wanted:
            shown = _shown(str(out["path"]))
            message = f"outs path '{shown}' is not the file beside it ('{wanted}')"
            found.append(Hostile(rel, message, "dvc-out"))
    return found


def _manifest_name(path: Path, rel: str, models_dir: str) -> list[Hostile]:
    try:
        raw = yamlio.load(path.read_bytes())
    except yamlio.YamlError:
        return []
    if not isinstance(raw, dict):
        return []
    found = []
    name = raw.get("name")
    problem = name_problem(name) if isinstance(name, str) else None
    if problem:
        found.append(
            Hostile(
                rel, f"name '{_shown(str(name))}' {problem}: it leads outside {models_dir}/", "name"
            )
        )
    artifacts = raw.get("artifacts")
    for index, item in enumerate(artifacts if isinstance(artifacts, list) else []):
        listed = item.get("path") if isinstance(item, dict) else None
        problem = path_problem(listed) if isinstance(listed, str) else None
        if problem:
            found.append(
                Hostile(
                    rel,
                    f"artifacts[{index}].path '{_shown(str(listed))}' {problem}: "
                    "it leads outside its model folder or breaks .gitignore",
                    "artifact-path",
                )
            )
    return found
