"""The gates: whether a stage change or a registration may happen. One place.

A promotion or rollback is refused (:class:`GateError`) unless the stage is one of
the registry's, the promotion order is kept (promote only), every dependency of
the version has a satisfying version in the stage, and no model holding the
stage would be left with a dependency the change breaks. A forced change with a
reason overrides what may be overridden and records which gates in its tag. A
registration's dependencies must resolve (or be explicitly allowed not to).

:mod:`events` writes what the gates let through; :mod:`deps` resolves ranges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import config as config_mod
from .deps import Status, best_match, resolve_one
from .errors import (
    ALLOW_UNRESOLVED,
    FORCE_NEEDS_REASON,
    UNFORCEABLE_GATES,
    GateError,
    PolicyError,
    Remedy,
)
from .manifest import Dependency, Manifest
from .results import GateFailure
from .state import ModelState, RegistryState, VersionState
from .tags import FORCED
from .versions import Version

if TYPE_CHECKING:
    from .registry import Registry


def gate_failures(
    self: Registry, model: ModelState, version: VersionState, stage: str, *, order: bool
) -> list[GateFailure]:
    """Every promotion gate the change ``model`` v``version`` -> ``stage`` fails."""
    failures: list[GateFailure] = []
    if not self.config.stage_allowed(stage):
        failures.append(
            GateFailure(
                "stage",
                f"'{stage}' is not a stage of this registry (stages in "
                f"{config_mod.CONFIG_FILE}: {', '.join(self.config.stages)})",
            )
        )
    stages = self.config.stages
    if order and self.config.promotion_order and stage in stages and stage != stages[0]:
        before = stages[stages.index(stage) - 1]
        if before not in version.stages:
            failures.append(
                GateFailure(
                    "promotion-order",
                    f"{model.name} v{version.version} must hold {before} before {stage} "
                    "(promotion_order is on)",
                )
            )
    manifest, _sha256 = self._own_manifest(model.name, version)
    needed = [d.name for d in manifest.dependencies] if manifest else []
    # Its dependencies' stage holders: only those models' tags are read.
    dependencies = self._read_state(needed) if needed else RegistryState({}, ())
    failures += dependency_gate(
        dependencies, StageChange(model.name, version.version, stage, manifest)
    )
    if dependencies_in_use(self):
        # Who holds the stage and needs this model: every stage holder's manifest.
        state = self.state()
        holders = [
            (other.name, held)
            for other in state.models.values()
            if stage in other.stages and other.name != model.name
            for held in [other.find(other.stages[stage])]
            if held is not None
        ]
        found = self._manifests(holders, mentioning=model.name)
        change = StageChange(
            model.name, version.version, stage, manifest, {n: m for (n, _v), m in found.items()}
        )
        failures += dependents_gate(state, change)
    return failures


def dependencies_in_use(self: Registry) -> bool:
    """Whether any model's manifest in HEAD declares dependencies (known from the
    state cache, kept up to date by reading only the files changed since).
    When none does, no stage holder can be broken by a change, and the gate
    need not read every holder's manifest: promote then costs the same in any
    registry. (A holder registered with dependencies that every later version
    dropped is the one case this shortcut misses; ``deps --reverse`` shows it.)"""
    return self._declares_dependencies()


def check_dependencies(
    name: str, deps: Sequence[Dependency], state: RegistryState, allow: bool
) -> None:
    """Refuse a registration whose dependencies name itself, or (unless ``allow``)
    have no registered version in range."""
    for dep in deps:
        if dep.name == name:
            raise PolicyError(f"{name} cannot depend on itself")
        model = state.model(dep.name)
        satisfied = model is not None and best_match(model, dep.range) is not None
        if not satisfied and not allow:
            raise PolicyError(
                f"no registered version of {dep.name} satisfies '{dep.version}'",
                hint=f"register it first, or {ALLOW_UNRESOLVED}",
                remedy=Remedy("allow_unresolved", ALLOW_UNRESOLVED),
            )


@dataclass(frozen=True)
class StageChange:
    """``name`` v``version`` is about to hold ``stage``."""

    name: str
    version: str
    stage: str
    manifest: Manifest | None
    holders: Mapping[str, Manifest] = field(default_factory=dict)  # other models' stage holders


def dependency_gate(state: RegistryState, change: StageChange) -> list[GateFailure]:
    """Every dependency of the version must have a satisfying version in the stage."""
    failures = []
    for dep in change.manifest.dependencies if change.manifest else ():
        status, _found, detail = resolve_one(state, dep, change.stage)
        if status is not Status.OK:
            failures.append(
                GateFailure(
                    "dependencies",
                    f"{change.name} v{change.version} needs {dep.name} {dep.version} in "
                    f"{change.stage}, but {detail}",
                )
            )
    return failures


def dependents_gate(state: RegistryState, change: StageChange) -> list[GateFailure]:
    """No model holding the stage may be left with a dependency the change breaks."""
    failures = []
    new = Version.parse(change.version) if Version.is_valid(change.version) else None
    for other, manifest in sorted(change.holders.items()):
        if other == change.name:
            continue
        for dep in manifest.dependencies:
            if dep.name != change.name:
                continue
            if new is None or not dep.range.contains(new):
                failures.append(
                    GateFailure(
                        "dependents",
                        f"{other} v{manifest.version} holds {change.stage} and needs "
                        f"{change.name} {dep.version}; v{change.version} would break it",
                    )
                )
    return failures


def enforce_gates(
    failures: list[GateFailure], force: bool, message: str | None, trailers: dict[str, str]
) -> None:
    """Refuse on the first failed gate, or record the overridden gates in the tag."""
    if not failures:
        return
    unforceable = [f for f in failures if f.gate in UNFORCEABLE_GATES]
    if not force or unforceable:
        raise GateError(unforceable or failures)
    if not message or not message.strip():
        raise PolicyError(
            f"{FORCE_NEEDS_REASON} (it is recorded in the tag)",
            hint=f"the gate(s) being overridden: {', '.join(f.gate for f in failures)}",
            remedy=Remedy("message", FORCE_NEEDS_REASON),
        )
    trailers[FORCED] = ", ".join(dict.fromkeys(f.gate for f in failures))
