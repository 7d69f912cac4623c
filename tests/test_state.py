"""Registry state computed from tag records (modelreg.state)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg import Registry
from modelreg.gitrepo import TagRecord
from modelreg.state import RegistryState, build, build_model
from modelreg.tags import EventKind, format_message
from modelreg.versions import Version

from .conftest import Cli, FileMaker, git

FAST = settings(max_examples=200, deadline=None)


def record(
    name: str,
    target: str,
    ts: int,
    message: str = "",
    *,
    annotated: bool = True,
    tagger: tuple[str, str] = ("Alice", "alice@example.com"),
) -> TagRecord:
    return TagRecord(
        name=name,
        annotated=annotated,
        object_sha=f"obj-{name}",
        target=target,
        tagger_name=tagger[0],
        tagger_email=tagger[1],
        timestamp=ts,
        message=message,
    )


class Log:
    """Writes one model's tags the way modelreg does: one second and one counter apart."""

    def __init__(self, name: str = "m", start: int = 1_000) -> None:
        self.name = name
        self.time = start
        self.counter = 0
        self.records: list[TagRecord] = []

    def _add(self, tag: str, target: str, message: str, **kwargs: object) -> TagRecord:
        self.time += 1
        rec = record(tag, target, self.time, message, **kwargs)  # type: ignore[arg-type]
        self.records.append(rec)
        return rec

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def register(self, version: str, commit: str, **kwargs: object) -> TagRecord:
        message = format_message(
            f"Register {self.name} v{version}", {"Event": "register", "Version": version}
        )
        return self._add(f"{self.name}@v{version}", commit, message, **kwargs)

    def deregister(self, version: str, commit: str) -> TagRecord:
        message = format_message(
            f"Deregister {self.name} v{version}", {"Event": "deregister", "Version": version}
        )
        return self._add(f"{self.name}@v{version}!#{self._next()}", commit, message)

    def assign(
        self, stage: str, commit: str, version: str | None = None, reason: str | None = None
    ) -> TagRecord:
        trailers = {"Event": "assign", "Stage": stage}
        if version is not None:
            trailers["Version"] = version
        if reason is not None:
            trailers["Reason"] = reason
        message = format_message(f"Promote {self.name} to {stage}", trailers)
        return self._add(f"{self.name}#{stage}#{self._next()}", commit, message)

    def unassign(self, stage: str, commit: str, version: str | None = None) -> TagRecord:
        trailers = {"Event": "unassign", "Stage": stage}
        if version is not None:
            trailers["Version"] = version
        message = format_message(f"Unassign {stage} from {self.name}", trailers)
        return self._add(f"{self.name}#{stage}!#{self._next()}", commit, message)

    def deprecate(self, commit: str) -> TagRecord:
        message = format_message(f"Deprecate {self.name}", {"Event": "deprecate"})
        return self._add(f"{self.name}@deprecated#{self._next()}", commit, message)

    def state(self) -> RegistryState:
        return build(self.records)


def model_of(log: Log):  # type: ignore[no-untyped-def]
    model = log.state().model(log.name)
    assert model is not None
    return model


# --- versions ---------------------------------------------------------------


def test_registered_versions() -> None:
    log = Log()
    log.register("1.0.0", "c1", tagger=("Jane", "jane@example.com"))
    log.register("1.1.0", "c2")
    model = model_of(log)
    assert [v.version for v in model.versions] == ["1.1.0", "1.0.0"]
    first = model.find("1.0.0")
    assert first is not None
    assert first.commit == "c1"
    assert first.registered and first.active
    assert first.registered_at == 1001
    assert (first.author, first.author_email) == ("Jane", "jane@example.com")
    assert first.stages == ()
    assert first.semver == Version(1, 0, 0)
    assert model.latest is not None and model.latest.version == "1.1.0"
    assert model.stages == {}
    assert not model.deprecated
    assert model.find("9.9.9") is None


def test_latest_is_highest_active_registered_semver() -> None:
    log = Log()
    log.register("1.10.0", "c1")  # registration order does not matter
    log.register("1.9.0", "c2")
    log.register("2.0.0", "c3")
    log.register("0.5.0", "c4")
    log.deregister("2.0.0", "c3")
    model = model_of(log)
    assert model.latest is not None
    assert model.latest.version == "1.10.0"  # numeric, not lexical; 2.0.0 is deregistered
    assert [v.version for v in model.versions] == ["2.0.0", "1.10.0", "1.9.0", "0.5.0"]
    assert not model.find("2.0.0").active  # type: ignore[union-attr]
    assert model.find("2.0.0").registered  # type: ignore[union-attr]


def test_versions_are_ordered_by_semver_precedence() -> None:
    log = Log()
    for i, version in enumerate(
        ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-beta.11", "1.0.0-beta.2"]
    ):
        log.register(version, f"c{i}")
    log.assign("prod", "deadbeef")  # a commit with no version: sorts after SemVer versions
    model = model_of(log)
    assert [v.version for v in model.versions] == [
        "1.0.0",
        "1.0.0-rc.1",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
        "1.0.0-alpha",
        "deadbeef",
    ]


def test_deregistering_the_only_version() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.deregister("1.0.0", "c1")
    model = model_of(log)
    assert model.latest is None
    (only,) = model.versions
    assert only.registered and not only.active


# --- stages -----------------------------------------------------------------


def test_stage_holder_is_the_highest_counter_assignment() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.assign("prod", "c1")
    log.assign("prod", "c2")
    log.assign("dev", "c2")
    log.assign("dev", "c1")
    model = model_of(log)
    assert model.stages == {"dev": "1.0.0", "prod": "1.1.0"}
    assert model.find("1.0.0").stages == ("dev",)  # type: ignore[union-attr]
    assert model.find("1.1.0").stages == ("prod",)  # type: ignore[union-attr]


def test_rollback_is_a_new_assignment() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.assign("prod", "c1")
    log.assign("prod", "c2")
    log.assign("prod", "c1")  # roll back: 1.0.0 assigned again, most recently
    assert model_of(log).stages == {"prod": "1.0.0"}


def test_unassigning_the_holder_hands_the_stage_back() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.register("1.2.0", "c3")
    log.assign("prod", "c1")
    log.assign("prod", "c2")
    log.assign("prod", "c3")
    log.unassign("prod", "c3")
    assert model_of(log).stages == {"prod": "1.1.0"}
    log.unassign("prod", "c2")
    assert model_of(log).stages == {"prod": "1.0.0"}
    log.unassign("prod", "c1")
    model = model_of(log)
    assert model.stages == {}
    assert all(v.stages == () for v in model.versions)


def test_unassigning_a_non_holder_keeps_the_holder() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.assign("prod", "c1")
    log.assign("prod", "c2")
    log.unassign("prod", "c1")
    log.unassign("prod", "c2")
    assert model_of(log).stages == {}  # 1.0.0 was unassigned earlier: nothing to hand back


def test_reassigning_after_unassign() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.assign("prod", "c1")
    log.unassign("prod", "c1")
    log.assign("prod", "c1")
    assert model_of(log).stages == {"prod": "1.0.0"}


def test_tagger_time_wins_over_counter_as_in_gto() -> None:
    # GTO reads no counter: a later-stamped event is the later one. (modelreg itself
    # never writes this: each new event is stamped after the model's latest.)
    records = [
        record("m@v1.0.0", "c1", 100),
        record("m@v1.1.0", "c2", 101),
        record("m#prod#1", "c1", 500),
        record("m#prod#2", "c2", 200),
    ]
    model = build(records).model("m")
    assert model is not None
    assert model.stages == {"prod": "1.0.0"}


def test_counterless_tags_take_their_place_by_time() -> None:
    # `gto assign --simple` writes m#prod, `gto deprecate --simple` m#prod!: each
    # ranks by its time among counted tags, not below all of them.
    records = [
        record("m@v1.0.0", "c1", 100),
        record("m@v1.1.0", "c2", 101),
        record("m#prod#1", "c1", 200),
        record("m#prod", "c2", 300),
    ]
    assert build(records).model("m").stages == {"prod": "1.1.0"}  # type: ignore[union-attr]
    records.append(record("m#prod!", "c2", 400))
    assert build(records).model("m").stages == {"prod": "1.0.0"}  # type: ignore[union-attr]
    records.append(record("m#prod#2", "c2", 500))
    assert build(records).model("m").stages == {"prod": "1.1.0"}  # type: ignore[union-attr]
    # Within one second, the counter decides (a counter-less tag ranks first).
    records.append(record("m#prod", "c1", 500))
    assert build(records).model("m").stages == {"prod": "1.1.0"}  # type: ignore[union-attr]


def test_deregistered_versions_hold_no_stage() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.assign("prod", "c1")
    log.assign("prod", "c2")
    log.assign("dev", "c2")
    log.deregister("1.1.0", "c2")
    model = model_of(log)
    assert model.stages == {"prod": "1.0.0"}  # handed back to the previous assignee
    assert model.find("1.1.0").stages == ()  # type: ignore[union-attr]
    assert model.latest.version == "1.0.0"  # type: ignore[union-attr]


def test_assignment_to_an_unregistered_commit() -> None:
    log = Log()
    log.assign("prod", "3f2a9c1e" * 5)
    model = model_of(log)
    assert model.stages == {"prod": "3f2a9c1e" * 5}
    (only,) = model.versions
    assert only.version == "3f2a9c1e" * 5
    assert only.commit == "3f2a9c1e" * 5
    assert not only.registered
    assert only.registered_at is None and only.author is None
    assert only.stages == ("prod",)
    assert only.semver is None
    assert model.latest is None  # not a registered version


def test_trailer_picks_among_versions_on_one_commit() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.0.1", "c1")  # same commit, two versions
    log.assign("prod", "c1", version="1.0.0")
    log.assign("dev", "c1")  # no trailer: the highest version at that commit
    model = model_of(log)
    assert model.stages == {"dev": "1.0.1", "prod": "1.0.0"}


def test_gto_tags_without_counters() -> None:
    records = [
        record("m@v1.0.0", "c1", 10, "Registering m\n"),
        record("m@v1.1.0", "c2", 20),
        record("m#staging", "c2", 30, "to staging"),
        record("m#prod", "c1", 40),
        record("m#prod!", "c1", 50),
    ]
    model = build(records).model("m")
    assert model is not None
    assert model.stages == {"staging": "1.1.0"}
    assert [e.kind for e in model.events] == [
        EventKind.REGISTER,
        EventKind.REGISTER,
        EventKind.ASSIGN,
        EventKind.ASSIGN,
        EventKind.UNASSIGN,
    ]
    assert model.max_counter == 0


# --- deprecation --------------------------------------------------------------


def test_deprecated_iff_latest_event_is_a_deprecation() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    assert not model_of(log).deprecated
    log.deprecate("c1")
    assert model_of(log).deprecated
    log.register("1.1.0", "c2")
    assert not model_of(log).deprecated
    log.deprecate("c2")
    assert model_of(log).deprecated
    log.assign("prod", "c2")
    assert not model_of(log).deprecated


def test_deprecation_alone_makes_a_model() -> None:
    records = [record("m@deprecated#1", "c1", 10)]
    model = build(records).model("m")
    assert model is not None
    assert model.deprecated
    assert model.versions == ()
    assert model.latest is None


def test_deprecation_keeps_versions_and_stages() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.assign("prod", "c1")
    log.deprecate("c1")
    model = model_of(log)
    assert model.deprecated
    assert model.stages == {"prod": "1.0.0"}
    assert model.latest.version == "1.0.0"  # type: ignore[union-attr]


# --- which tags count ---------------------------------------------------------


def test_lightweight_tags_are_skipped() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    light = log.register("2.0.0", "c2", annotated=False)
    light_stage = record("m#prod#7", "c2", 5000, annotated=False)
    only_light = record("other@v1.0.0", "c9", 5000, annotated=False)
    state = build([*log.records, light_stage, only_light])
    assert set(state.skipped) == {light.name, light_stage.name, only_light.name}
    model = state.model("m")
    assert model is not None
    assert [v.version for v in model.versions] == ["1.0.0"]
    assert model.stages == {}
    assert model.max_counter == 0
    assert state.model("other") is None


def test_non_registry_tags_are_ignored() -> None:
    records = [
        record("v1.0.0", "c1", 1),
        record("release-2026", "c1", 2),
        record("m@1.0.0", "c1", 3),  # no v: not GTO's grammar
        record("m@latest", "c1", 4),
        record("m@v1.0.0", "c1", 5),
    ]
    state = build(records)
    assert list(state.models) == ["m"]
    assert state.skipped == ()
    assert len(state.models["m"].events) == 1


def test_a_tag_with_an_overlong_version_does_not_break_the_registry() -> None:
    # Matches the tag grammar, but the version is longer than Version.parse accepts.
    records = [
        record("a@v1.0.0-" + "x" * 300, "c1", 1),
        record("b@v1.0.0", "c2", 2),
    ]
    state = build(records)
    assert state.model("b") is not None
    assert state.model("b").latest.version == "1.0.0"  # type: ignore[union-attr]


def test_a_sequence_trailer_of_unicode_digits_does_not_break_the_registry() -> None:
    # '²' is a digit to str.isdigit but not to int(): a pushed tag carrying it
    # broke list, show and history in every clone (and every page of the server).
    message = "Register a v1.0.0\n\nModelreg-Event: register\nModelreg-Version: 1.0.0\n"
    records = [
        record("a@v1.0.0", "c1", 5, message + "Modelreg-Sequence: ²"),
        record("a@v1.1.0", "c2", 5, message.replace("1.0.0", "1.1.0") + "Modelreg-Sequence: 0"),
    ]
    state = build(records)
    model = state.model("a")
    assert model is not None
    assert sorted(v.version for v in model.versions) == ["1.0.0", "1.1.0"]
    # the garbled trailer ranks the tag first among those of its second
    assert [e.version for e in model.events] == ["1.0.0", "1.1.0"]


def test_models_are_sorted_and_separate() -> None:
    records = [
        record("zeta@v1.0.0", "c1", 1),
        record("alpha@v2.0.0", "c2", 2),
        record("team/fraud@v0.1.0", "c3", 3),
        record("alpha#prod#1", "c2", 4),
        record("zeta#prod#1", "c1", 5),
    ]
    state = build(records)
    assert list(state.models) == ["alpha", "team/fraud", "zeta"]
    assert state.model("alpha").stages == {"prod": "2.0.0"}  # type: ignore[union-attr]
    assert state.model("zeta").stages == {"prod": "1.0.0"}  # type: ignore[union-attr]
    assert state.model("team/fraud").stages == {}  # type: ignore[union-attr]
    assert state.model("nope") is None


def test_dirname_names() -> None:
    records = [record("nlp/models=bert@v1.0.0", "c1", 1), record("nlp/models=bert#prod#1", "c1", 2)]
    state = build(records)
    assert list(state.models) == ["nlp/models:bert"]
    assert state.models["nlp/models:bert"].stages == {"prod": "1.0.0"}


def test_empty_registry() -> None:
    state = build([])
    assert state.models == {}
    assert state.skipped == ()


# --- events -----------------------------------------------------------------


def test_events_carry_who_when_what_and_why() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.assign("prod", "c1", version="1.0.0", reason="passed shadow test")
    model = model_of(log)
    register, assign = model.events
    assert register.kind is EventKind.REGISTER
    assert register.version == "1.0.0"
    assert register.counter is None
    assert register.reason is None
    assert register.summary == "Register m v1.0.0"
    assert assign.kind is EventKind.ASSIGN
    assert (assign.version, assign.stage, assign.counter) == ("1.0.0", "prod", 1)
    assert assign.reason == "passed shadow test"
    assert assign.trailers["Modelreg-Stage"] == "prod"
    assert (assign.author, assign.author_email) == ("Alice", "alice@example.com")
    assert assign.timestamp == 1002
    assert assign.commit == "c1"
    assert assign.tag == "m#prod#1"


def test_plain_gto_message_becomes_the_reason() -> None:
    records = [record("m@v1.0.0", "c1", 1), record("m#prod#1", "c1", 2, "approved by risk team\n")]
    model = build(records).model("m")
    assert model is not None
    assert model.events[-1].reason == "approved by risk team"


def test_events_are_chronological_whatever_the_input_order() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    log.register("1.1.0", "c2")
    log.assign("dev", "c1")
    log.assign("prod", "c2")
    log.deprecate("c2")
    expected = [r.name for r in log.records]
    shuffled = list(log.records)
    random.Random(4).shuffle(shuffled)
    model = build(shuffled).model("m")
    assert model is not None
    assert [e.tag for e in model.events] == expected
    assert model == model_of(log)


def test_max_counter() -> None:
    log = Log()
    log.register("1.0.0", "c1")
    assert model_of(log).max_counter == 0
    log.assign("prod", "c1")
    log.assign("dev", "c1")
    log.deprecate("c1")
    assert model_of(log).max_counter == 3


def test_build_model() -> None:
    log = Log("m")
    log.register("1.0.0", "c1")
    log.assign("prod", "c1")
    other = Log("other")
    other.register("5.0.0", "c9")
    records = [*log.records, *other.records, record("m@v2.0.0", "c2", 9999, annotated=False)]
    model = build_model("m", records)
    assert model is not None
    assert model == build(records).model("m")
    assert [v.version for v in model.versions] == ["1.0.0"]
    assert build_model("missing", records) is None
    assert build_model("m", [record("m@v1.0.0", "c1", 1, annotated=False)]) is None


# --- the DESIGN rules against a reference model ------------------------------

POOL = ["0.1.0", "1.0.0", "1.1.0", "1.10.0", "2.0.0-rc.1", "2.0.0"]
STAGES = ["dev", "prod"]

operations = st.lists(
    st.tuples(
        st.sampled_from(["assign", "assign", "unassign", "deregister", "deprecate"]),
        st.integers(0, len(POOL) - 1),
        st.sampled_from(STAGES),
    ),
    max_size=25,
)


@FAST
@given(
    st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=len(POOL), unique=True),
    operations,
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_state_follows_the_design_rules(
    registered: list[int],
    ops: list[tuple[str, int, str]],
    with_trailers: bool,
    rnd: random.Random,
) -> None:
    log = Log()
    versions = [POOL[i] for i in registered]
    commit = {v: f"c{POOL.index(v)}" for v in versions}
    for version in versions:
        log.register(version, commit[version])

    active = dict.fromkeys(versions, True)
    last: dict[tuple[str, str], tuple[str, int]] = {}
    last_kind = "register"
    for kind, index, stage in ops:
        version = versions[index % len(versions)]
        claimed = version if with_trailers else None
        if kind == "assign":
            log.assign(stage, commit[version], version=claimed)
            last[(version, stage)] = ("assign", log.counter)
        elif kind == "unassign":
            log.unassign(stage, commit[version], version=claimed)
            last[(version, stage)] = ("unassign", log.counter)
        elif kind == "deregister":
            log.deregister(version, commit[version])
            active[version] = False
        else:
            log.deprecate(commit[version])
        last_kind = kind

    holders: dict[str, tuple[int, str]] = {}
    for (version, stage), (kind, counter) in last.items():
        newer = stage not in holders or counter > holders[stage][0]
        if kind == "assign" and active[version] and newer:
            holders[stage] = (counter, version)
    expected_stages = {stage: version for stage, (_c, version) in holders.items()}
    live = [Version.parse(v) for v in versions if active[v]]
    expected_latest = str(max(live)) if live else None

    records = list(log.records)
    rnd.shuffle(records)  # git lists tags in name order, not event order
    model = build(records).model("m")
    assert model is not None
    assert model.stages == expected_stages
    assert (model.latest.version if model.latest else None) == expected_latest
    assert model.deprecated is (last_kind == "deprecate")
    assert {v.version for v in model.versions} == set(versions)
    for state in model.versions:
        assert state.active is active[state.version]
        assert state.registered
        assert state.stages == tuple(
            sorted(s for s, v in expected_stages.items() if v == state.version)
        )
    assert model.max_counter == len(ops)


@pytest.mark.parametrize("count", [1, 50])
def test_many_versions_and_events(count: int) -> None:
    log = Log()
    for i in range(count):
        log.register(f"1.{i}.0", f"c{i}")
        log.assign("prod", f"c{i}")
    model = model_of(log)
    assert model.stages == {"prod": f"1.{count - 1}.0"}
    assert model.latest.version == f"1.{count - 1}.0"  # type: ignore[union-attr]
    assert len(model.events) == 2 * count


def test_register_after_deprecate_in_the_same_second_revives_the_model(
    registry: Registry, files: FileMaker
) -> None:
    registry.register("fr", [files()])
    registry.deprecate("fr")
    registry.register("fr", [files()])  # same GIT_COMMITTER_DATE: a tie on time
    assert Registry(registry.root).promote("fr@v0.2.0", "dev").tag == "fr#dev#2"


def test_garbage_tags_are_skipped_with_a_warning(cli: Cli, populated: Path) -> None:
    commit = git(populated, "rev-parse", "HEAD").strip()
    git(populated, "tag", "m@v9.9.9", commit)  # lightweight: not an event
    # A name past SemVer's limits, as a remote could send it (too long for a loose ref).
    git(populated, "tag", "-a", "scratch", "-m", "too long", commit)
    obj = git(populated, "rev-parse", "refs/tags/scratch").strip()
    git(populated, "tag", "-d", "scratch")
    with (populated / ".git" / "packed-refs").open("a") as packed:
        packed.write(f"{obj} refs/tags/m@v1.0.0-{'x' * 300}\n^{commit}\n")
    git(
        populated,
        "tag",
        "-a",
        "m#production#99",
        "-m",
        "\x01\x02 garbage\n\nModelreg-Stage",
        commit,
    )
    result = cli("-C", populated, "list", "--json")
    assert result.exit_code == 0, result
    assert "skipped 2 tag(s)" in result.stderr
    listed = json.loads(result.stdout)["models"]
    assert listed[0]["latest"] == "0.2.0"  # the lightweight tag did not register a version
