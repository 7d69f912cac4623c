"""import_mlflow: an MLflow registry moves in — every model, version (files,
description, tags), stage and alias — so a team keeps its history.

**What is carried.** Each MLflow version N becomes version ``N.0.0`` of the
model (so MLflow clients of ``modelreg serve`` see the same numbers: the
registration ordinal is N when the versions are registered in order, which
this does), its files verified into DVC, its description, its tags as labels.
Then each stage and alias becomes a promote, in the order MLflow last changed
them: ``Staging``/``Production`` → ``staging``/``production``, an alias → the
stage of that name (after the stages, so an alias wins a clash), ``Archived`` →
the version is deregistered. MLflow's open-source registry keeps no history of
transitions, only each version's current stage and its last update time, so
that is the order the events are written in.

**Idempotent.** The MLflow version number is recorded in the version's
manifest as the label ``mlflow.version``: it travels with the version in git
(any clone can see what was imported), ``show`` displays it, and it needs no
second store. A re-run skips versions whose number is recorded and writes a
stage event only where the holder differs from MLflow's; it imports only what
is new. The tracking URI is not part of the key, so a moved MLflow server is
still recognised.

Gates apply to imported promotions with ``force`` (recorded in the tag, with
the reason "imported from MLflow"): the history is MLflow's, already made.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import IMPORT_ONE_MODEL, InvalidNameError, PolicyError, Remedy
from ..results import ImportResult, ImportStep
from ..tags import validate_new_name, validate_stage

if TYPE_CHECKING:
    from ..mlflow_source import MlflowSource, SourceModel, SourceVersion
    from ..registry import Registry

VERSION_LABEL = "mlflow.version"
REASON = "imported from MLflow"


@dataclass(frozen=True)
class _Transition:
    stage: str  # modelreg's stage name, or "" for a deregistration
    version: SourceVersion


def import_mlflow(
    self: Registry,
    tracking_uri: str,
    *,
    model: str | None = None,
    push: bool = False,
) -> ImportResult:
    """Copy the MLflow registry at ``tracking_uri`` (only ``model``, if given) into
    this one; what was imported before is skipped."""
    from ..mlflow_source import MlflowSource

    source = MlflowSource(tracking_uri)
    names = [model] if model is not None else source.model_names()
    models = [source.model(name) for name in names]
    _refuse_unknown_stages(self, models)
    steps: list[ImportStep] = []
    notes: list[str] = []
    skipped = 0
    for found in models:
        name = found.name
        target = modelreg_name(name)
        if target != name:
            notes.append(f"MLflow's {name} is {target} here")
        done, skip = _versions(self, source, found, target, push, steps)
        skipped += skip
        _stages(self, found, target, done, push, steps, notes)
    return ImportResult(tracking_uri, tuple(steps), skipped, tuple(notes))


def _stages_needed(found: SourceModel) -> set[str]:
    stages = {v.stage.lower() for v in found.versions} - {"none", "archived"}
    return stages | set(found.aliases)


def _refuse_unknown_stages(self: Registry, models: list[SourceModel]) -> None:
    """Before anything is written: every stage and alias must be a stage this
    registry allows (``stages`` in its config, a committed policy the import does
    not change on its own)."""
    from ..config import CONFIG_FILE

    missing = sorted(
        {s for m in models for s in _stages_needed(m) if not self.config.stage_allowed(s)}
    )
    if missing:
        allowed = ", ".join(self.config.stages)
        raise PolicyError(
            f"MLflow uses stages or aliases this registry does not have: {', '.join(missing)} "
            f"(its stages: {allowed})",
            hint=f"add them to 'stages' in {CONFIG_FILE}, commit, and import again",
        )


def modelreg_name(name: str) -> str:
    """An MLflow name as a modelreg name: ``.`` is ``/`` (as ``modelreg serve``
    spells ``/`` for MLflow clients), other characters modelreg refuses are ``-``."""
    import re

    spelt = re.sub(r"[^a-zA-Z0-9\-/_]", "-", name.replace(".", "/"))
    spelt = re.sub(r"/+", "/", spelt).strip("-/_") or "model"
    try:
        return validate_new_name(spelt)
    except InvalidNameError as exc:
        raise InvalidNameError(
            f"MLflow model '{name}' has no modelreg name ({exc.message})",
            hint=f"{IMPORT_ONE_MODEL}, or rename it in MLflow",
            remedy=Remedy("model", IMPORT_ONE_MODEL),
        ) from None


def _imported(self: Registry, name: str) -> dict[int, str]:
    """MLflow version number → SemVer of the versions already imported."""
    model = self._find_model(name, refresh=True)
    if model is None:
        return {}
    manifests = self._manifests([(name, v) for v in model.versions if v.registered])
    found = {}
    for (_name, semver), manifest in manifests.items():
        number = manifest.labels.get(VERSION_LABEL, "")
        if number.isascii() and number.isdigit():  # '²' is a digit to isdigit, not to int
            found[int(number)] = semver
    return found


def _versions(
    self: Registry,
    source: MlflowSource,
    found: SourceModel,
    name: str,
    push: bool,
    steps: list[ImportStep],
) -> tuple[dict[int, str], int]:
    done = _imported(self, name)
    skipped = 0
    for version in found.versions:
        if version.number in done:
            skipped += 1
            continue
        labels = dict(version.tags)
        labels[VERSION_LABEL] = str(version.number)
        if version.run_id:
            labels["mlflow.run_id"] = version.run_id
        labels["mlflow.creation_timestamp"] = str(version.created)
        with tempfile.TemporaryDirectory(prefix="modelreg-mlflow-") as folder:
            files = Path(folder) / "files"
            files.mkdir()
            source.download(version, files)
            result = self.register(
                name,
                files,
                version=f"{version.number}.0.0",
                author=version.user_id or None,
                description=version.description or found.description or None,
                labels=labels,
                message=f"{REASON}: {found.name} version {version.number}",
                push=push,
            )
        done[version.number] = result.version
        steps.append(ImportStep(name, "register", result.version, None, version.number))
    return done, skipped


def _stages(
    self: Registry,
    found: SourceModel,
    name: str,
    done: dict[int, str],
    push: bool,
    steps: list[ImportStep],
    notes: list[str],
) -> None:
    transitions: list[_Transition] = []
    for version in sorted(found.versions, key=lambda v: (v.updated, v.number)):
        stage = version.stage.lower()
        if stage == "archived":
            transitions.append(_Transition("", version))
        elif stage != "none":
            transitions.append(_Transition(stage, version))
    by_number = {v.number: v for v in found.versions}
    for alias, number in sorted(found.aliases.items(), key=lambda a: (a[1], a[0])):
        if number in by_number:
            transitions.append(_Transition(alias, by_number[number]))
    final = {t.stage: t.version.number for t in transitions if t.stage}
    for transition in transitions:
        semver = done.get(transition.version.number)
        if semver is None:
            continue
        model = self._model(name, refresh=True)
        state = model.find(semver)
        if not transition.stage:
            if state is not None and state.active:
                self.deprecate(f"{name}@v{semver}", message=REASON, push=push)
                steps.append(
                    ImportStep(name, "deregister", semver, None, transition.version.number)
                )
            continue
        try:
            validate_stage(transition.stage)
        except InvalidNameError:
            notes.append(f"{found.name}: '{transition.stage}' is no modelreg stage name; skipped")
            continue
        holder = model.stages.get(transition.stage)
        wanted = done.get(final[transition.stage])
        if holder in (wanted, semver):
            continue  # in place already (a re-run): nothing new
        if state is None or not state.active:
            continue
        self.promote(f"{name}@v{semver}", transition.stage, message=REASON, force=True, push=push)
        steps.append(
            ImportStep(name, "assign", semver, transition.stage, transition.version.number)
        )
