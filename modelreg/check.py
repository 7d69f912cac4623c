"""``modelreg check``: validate the config and every manifest in the work tree.

For pre-commit hooks and CI: reads files and tags only (no DVC, no network) and
reports every problem as ``path:field: message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import config as config_mod
from . import deps as deps_mod
from . import hostile, spdx, yamlio
from . import manifest as manifest_mod
from .errors import ReportError
from .manifest import MANIFEST_FILE, Manifest
from .ranges import Range
from .state import RegistryState
from .storage import dvc_file_name, read_dvc_out
from .tags import MANIFEST_SHA256


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.field}: {self.message}"
            if self.field
            else (f"{self.path}: {self.message}")
        )


@dataclass(frozen=True)
class CheckReport:
    checked: tuple[str, ...]  # files read
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def failure(self) -> ReportError | None:
        """The error that makes a failing check fail (None: it passed)."""
        if self.ok:
            return None
        files = len({p.path for p in self.problems})
        return ReportError(f"check found {len(self.problems)} problem(s) in {files} file(s)")


def _split(path: str, text: str) -> Problem:
    """``field: message`` (as the validators write them) into a Problem."""
    field, sep, message = text.partition(": ")
    if not sep or " " in field:
        return Problem(path, "", text)
    return Problem(path, field, message)


def check(root: Path, state: RegistryState) -> CheckReport:
    checked: list[str] = []
    problems: list[Problem] = []
    config = _check_config(root, checked, problems)
    base = root / config.models_dir
    manifests: dict[str, tuple[str, Manifest]] = {}
    for path in sorted(base.rglob(MANIFEST_FILE)) if base.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        checked.append(rel)
        found = _check_manifest(root, config, path, rel, state, problems)
        if found is not None:
            manifests[found.name] = (rel, found)
    _check_dependencies(manifests, state, problems)
    problems.extend(
        Problem(h.path, "", h.message)
        for h in hostile.scan(root, config.models_dir)
        if h.kind != "artifact-path"  # named by the manifest's own validation above
    )
    return CheckReport(tuple(checked), tuple(sorted(set(problems))))


def _check_config(root: Path, checked: list[str], problems: list[Problem]) -> config_mod.Config:
    path = root / config_mod.CONFIG_FILE
    if not path.exists():
        return config_mod.Config()
    checked.append(config_mod.CONFIG_FILE)
    try:
        raw = yamlio.load(path.read_bytes())
    except yamlio.YamlError as exc:
        problems.append(Problem(config_mod.CONFIG_FILE, "", f"not valid YAML: {exc}"))
        return config_mod.Config()
    found = config_mod.validate(raw)
    problems.extend(_split(config_mod.CONFIG_FILE, p) for p in found)
    if found:
        return config_mod.Config()
    return config_mod.parse(path.read_bytes())


def _check_manifest(
    root: Path,
    config: config_mod.Config,
    path: Path,
    rel: str,
    state: RegistryState,
    problems: list[Problem],
) -> Manifest | None:
    data = path.read_bytes()
    try:
        raw = yamlio.load(data)
    except yamlio.YamlError as exc:
        problems.append(Problem(rel, "", f"not valid YAML: {exc}"))
        return None
    manifest, found = manifest_mod.validate(raw)
    problems.extend(_split(rel, p) for p in found)
    licence = raw.get("license") if isinstance(raw, dict) else None
    if isinstance(licence, str):
        issue = spdx.problem(licence)
        if issue:
            problems.append(Problem(rel, "license", issue))
    if manifest is None:
        return None
    folder = path.parent.relative_to(root / config.models_dir).as_posix()
    if manifest.name.replace(":", "/") != folder:
        problems.append(
            Problem(rel, "name", f"'{manifest.name}' does not match its folder models/{folder}/")
        )
    for index, artifact in enumerate(manifest.artifacts):
        problems.extend(_check_dvc_file(path.parent, rel, index, artifact))
    problems.extend(_check_registered_bytes(rel, manifest, data, state))
    return manifest


def _check_dvc_file(
    folder: Path, rel: str, index: int, artifact: manifest_mod.ArtifactFile
) -> Iterable[Problem]:
    where = f"artifacts[{index}]"
    name = dvc_file_name(artifact.path)
    dvc_file = folder / name
    if not dvc_file.is_file():
        yield Problem(rel, where, f"{name} is missing (the file is not tracked by DVC)")
        return
    out = read_dvc_out(dvc_file.read_bytes())
    if out is None:
        yield Problem(rel, where, f"{name} cannot be read")
        return
    md5, size = out.get("md5"), out.get("size")
    if md5 != artifact.md5:
        yield Problem(rel, f"{where}.md5", f"differs from {name} ({md5})")
    if size is not None and size != artifact.size:
        yield Problem(rel, f"{where}.size", f"differs from {name} ({size})")


def _check_registered_bytes(
    rel: str, manifest: Manifest, data: bytes, state: RegistryState
) -> Iterable[Problem]:
    """A manifest whose version is registered must be the registered bytes."""
    model = state.model(manifest.name)
    if model is None:
        return
    registration = model.registration(str(manifest.version))
    recorded = registration.trailer(MANIFEST_SHA256) if registration else None
    if recorded and recorded != manifest_mod.digest(data):
        yield Problem(
            rel,
            "",
            f"differs from the manifest registered as v{manifest.version} "
            "(a registered version never changes: register a new version)",
        )


def _check_dependencies(
    manifests: dict[str, tuple[str, Manifest]], state: RegistryState, problems: list[Problem]
) -> None:
    for rel, manifest in manifests.values():
        for index, dep in enumerate(manifest.dependencies):
            where = f"dependencies[{index}]"
            wanted = Range.parse(dep.version)
            model = state.model(dep.name)
            registered = model is not None and deps_mod.best_match(model, wanted) is not None
            local = dep.name in manifests and wanted.contains(manifests[dep.name][1].version)
            if not registered and not local:
                problems.append(
                    Problem(rel, where, f"no version of {dep.name} satisfies '{dep.version}'")
                )
    graph = {name: [d.name for d in m.dependencies] for name, (_rel, m) in manifests.items()}
    for cycle in deps_mod.find_cycles(graph):
        rel = manifests[cycle[0]][0]
        problems.append(Problem(rel, "dependencies", "cycle: " + " -> ".join(cycle)))
