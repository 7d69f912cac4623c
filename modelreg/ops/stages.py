"""promote, rollback, deprecate: the stage events (tags only, no commit).

Each checks its request against a fresh read of the model's tags, asks
:mod:`..gates` whether the change may happen, and has :mod:`..events` write
(and, with ``push``, publish) the tag, under the write lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ROLLBACK_TO, InvalidReferenceError, PolicyError, Remedy
from ..events import record, write_event
from ..refs import Ref, parse_ref
from ..results import EventResult, StagePreview
from ..state import previous_holder
from ..tags import EVENT, PREVIOUS, STAGE, VERSION, EventKind, validate_read_name, validate_stage
from ..versions import Version

if TYPE_CHECKING:
    from ..registry import Registry
    from ..state import ModelState, VersionState


def promote(
    self: Registry,
    ref: str | Ref,
    stage: str,
    *,
    message: str | None = None,
    push: bool = False,
    force: bool = False,
    sign: bool = False,
) -> EventResult:
    """Assign ``stage`` to a version: a new ``NAME#STAGE#N`` tag.

    The gates (stage allowed, promotion order, dependencies in the stage, and
    the dependents already in it) refuse with a :class:`GateError`; ``force``
    (with a ``message``) overrides them and records which in the tag. With
    ``push`` the event counts only once it is on the remote (see
    :func:`modelreg.events.record`).
    """
    from ..gates import enforce_gates, gate_failures

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    validate_stage(stage)
    if ref.is_bare:
        raise InvalidReferenceError(
            f"promote takes a version: {ref.name}@vVERSION, {ref.name}@latest or "
            f"{ref.name}#STAGE, not '{ref.name}' alone"
        )

    def once() -> EventResult:
        model, version = _promotion(self, ref)
        previous = model.stages.get(stage)
        if previous == version.version:
            note = f"{model.name} v{version.version} already holds {stage}; nothing to do"
            return EventResult(
                model.name, "assign", version.version, stage, None, previous,
                changed=False, notes=(note,),
            )  # fmt: skip
        failures = gate_failures(self, model, version, stage, order=True)
        summary = f"Promote {model.name} v{version.version} to {stage}"
        trailers = {EVENT: "assign", VERSION: version.version, STAGE: stage}
        enforce_gates(failures, force, message, trailers)
        tag = write_event(
            self, model, EventKind.ASSIGN, version, stage, summary, trailers, message, sign
        )
        return EventResult(model.name, "assign", version.version, stage, tag, previous)

    return record(self, push, once)


def rollback(
    self: Registry,
    name: str,
    stage: str,
    *,
    to: str | None = None,
    message: str | None = None,
    push: bool = False,
    force: bool = False,
    sign: bool = False,
) -> EventResult:
    """Give ``stage`` back to the version that held it before (or to ``to``), with a
    new tag: no tag is ever moved or deleted. The same gates as :meth:`promote`
    apply, but for the promotion order (the version held the stage before)."""
    from ..gates import enforce_gates, gate_failures

    validate_read_name(name)
    validate_stage(stage)

    def once() -> EventResult:
        model, current, target = _rollback(self, name, stage, to)
        failures = gate_failures(self, model, target, stage, order=False)
        summary = f"Roll back {name} {stage} from v{current} to v{target.version}"
        trailers = {
            EVENT: "rollback",
            VERSION: target.version,
            STAGE: stage,
            PREVIOUS: current,
        }
        enforce_gates(failures, force, message, trailers)
        tag = write_event(
            self, model, EventKind.ASSIGN, target, stage, summary, trailers, message, sign
        )
        return EventResult(name, "rollback", target.version, stage, tag, current)

    return record(self, push, once)


def _promotion(self: Registry, ref: Ref) -> tuple[ModelState, VersionState]:
    """The model (fresh from its tags, not deprecated) and the version to promote."""
    model = self._model(ref.name, refresh=True)
    self._require_active(model)
    return model, self._pick(model, ref)


def _rollback(
    self: Registry, name: str, stage: str, to: str | None
) -> tuple[ModelState, str, VersionState]:
    """The model, the version holding ``stage`` now, and the one it goes back to."""
    model = self._model(name, refresh=True)
    self._require_active(model)
    current = model.stages.get(stage)
    if current is None:
        raise PolicyError(f"no version of {name} holds {stage}; nothing to roll back")
    if to is not None:
        target = self._pick(model, Ref(name, version=Version.parse(to)))
    else:
        earlier = previous_holder(model, stage)
        if earlier is None:
            remedy = Remedy("to", ROLLBACK_TO, (("name", name), ("stage", stage)))
            raise PolicyError(
                f"no earlier version of {name} held {stage} (v{current} holds it)",
                hint=remedy.text,
                remedy=remedy,
            )
        target = earlier
    if target.version == current:
        raise PolicyError(f"{name} v{current} already holds {stage}")
    return model, current, target


def promote_preview(self: Registry, ref: str | Ref, stage: str) -> StagePreview:
    """What :func:`promote` would do and what the gates say about it, writing
    nothing (the confirmation a person sees before promoting)."""
    from ..gates import gate_failures

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    validate_stage(stage)
    model, version = _promotion(self, ref)
    failures = gate_failures(self, model, version, stage, order=True)
    return StagePreview(
        model.name, "promote", version.version, stage, model.stages.get(stage), tuple(failures)
    )


def rollback_preview(
    self: Registry, name: str, stage: str, *, to: str | None = None
) -> StagePreview:
    """What :func:`rollback` would do and what the gates say about it, writing nothing."""
    from ..gates import gate_failures

    validate_read_name(name)
    validate_stage(stage)
    model, current, target = _rollback(self, name, stage, to)
    failures = gate_failures(self, model, target, stage, order=False)
    return StagePreview(model.name, "rollback", target.version, stage, current, tuple(failures))


def unassign(
    self: Registry,
    name: str,
    stage: str,
    *,
    message: str | None = None,
    push: bool = False,
    sign: bool = False,
) -> EventResult:
    """Take ``stage`` away so that no version holds it: a ``NAME#STAGE!#N`` tag
    (GTO's unassign) for the holder, and for each earlier holder GTO would fall
    back to (an assignment stands until it is unassigned). No gate applies:
    nothing is put into the stage. What deleting an MLflow alias means."""
    validate_read_name(name)
    validate_stage(stage)

    def once() -> EventResult:
        model = self._model(name, refresh=True)
        first = model.stages.get(stage)
        if first is None:
            raise PolicyError(f"no version of {name} holds {stage}; nothing to unassign")
        tags: list[str] = []
        while (current := model.stages.get(stage)) is not None:
            summary = f"Unassign {stage} from {name} v{current}"
            trailers = {EVENT: "unassign", VERSION: current, STAGE: stage}
            tags.append(
                write_event(
                    self, model, EventKind.UNASSIGN, model.find(current), stage, summary,
                    trailers, message, sign,
                )
            )  # fmt: skip
            model = self._model(name, refresh=True)
        notes = tuple(f"also unassigned from an earlier holder: {t}" for t in tags[1:])
        return EventResult(name, "unassign", first, stage, tags[0], first, notes=notes)

    return record(self, push, once)


def deprecate(
    self: Registry,
    ref: str | Ref,
    *,
    message: str | None = None,
    push: bool = False,
    sign: bool = False,
) -> EventResult:
    """``NAME``: deprecate the model. ``NAME@vV``: deregister that version."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    if ref.stage is not None or ref.latest:
        raise InvalidReferenceError(
            f"'{ref}': deprecate takes NAME (the model) or NAME@vVERSION (one version)"
        )

    def once() -> EventResult:
        model = self._model(ref.name, refresh=True)
        if ref.version is None:
            self._require_active(model)
            anchor = model.latest or (model.versions[0] if model.versions else None)
            tag = write_event(
                self, model, EventKind.DEPRECATE, anchor, None, f"Deprecate {model.name}",
                {EVENT: "deprecate"}, message, sign,
            )  # fmt: skip
            return EventResult(model.name, "deprecate", None, None, tag)
        version = self._pick(model, ref)
        summary = f"Deregister {model.name} v{version.version}"
        trailers = {EVENT: "deregister", VERSION: version.version}
        tag = write_event(
            self, model, EventKind.DEREGISTER, version, None, summary, trailers, message, sign
        )
        notes = tuple(f"v{version.version} no longer holds {s}" for s in version.stages)
        return EventResult(model.name, "deregister", version.version, None, tag, notes=notes)

    return record(self, push, once)
