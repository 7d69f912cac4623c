"""The GTO tag grammar, name validation and tag-message trailers (modelreg.tags)."""

from __future__ import annotations

import re._constants as sre
import re._parser as sre_parse
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg.errors import InvalidNameError
from modelreg.tags import (
    _TAG_RE,
    MAX_NAME_LENGTH,
    MAX_TRAILER_VALUE,
    EventKind,
    ParsedTag,
    format_message,
    format_tag_name,
    name_to_tag,
    one_line,
    parse_message,
    parse_tag_name,
    tag_to_name,
    validate_new_name,
    validate_read_name,
    validate_stage,
)
from modelreg.versions import Version

FAST = settings(max_examples=200, deadline=None)

# --- strategies -------------------------------------------------------------

new_names = st.from_regex(r"[a-z0-9]([a-z0-9_/-]{0,30}[a-z0-9])?", fullmatch=True).filter(
    lambda n: "//" not in n
)
gto_names = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9_/-]{0,30}[a-zA-Z0-9])?", fullmatch=True).filter(
    lambda n: "//" not in n
)
dirnames = st.from_regex(r"[a-zA-Z0-9_./-]{1,15}", fullmatch=True).filter(lambda d: "//" not in d)
read_names = st.one_of(gto_names, st.builds(lambda d, n: f"{d}:{n}", dirnames, gto_names))
stages = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9_/-]{0,15}[a-zA-Z0-9])?", fullmatch=True)
counters = st.one_of(st.none(), st.integers(min_value=0, max_value=999_999_999))
pre_ids = st.one_of(
    st.integers(0, 10**6).map(str),
    st.from_regex(r"[0-9]*[a-zA-Z-][0-9a-zA-Z-]{0,6}", fullmatch=True),
)
versions = st.builds(
    Version,
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.lists(pre_ids, max_size=3).map(tuple),
    st.lists(st.from_regex(r"[0-9a-zA-Z-]{1,6}", fullmatch=True), max_size=2).map(tuple),
)


# --- names ------------------------------------------------------------------

VALID_NEW_NAMES = [
    "fraud",
    "fraud-detector",
    "fraud_detector",
    "team/fraud",
    "team/sub/fraud-v2",
    "a",
    "0",
    "a1",
    "1a",
    "a-b-c",
    "a_b/c-d",
    "a" * MAX_NAME_LENGTH,
]

INVALID_NEW_NAMES = [
    "",
    "Fraud",
    "fraudA",
    "FRAUD",
    "team/Fraud",
    "a..b",
    "a/../b",
    "../a",
    "a//b",
    "/a",
    "a/",
    "-a",
    "a-",
    "_a",
    "a_",
    "a b",
    " a",
    "a ",
    "a\tb",
    "a.b",
    "a@b",
    "a#b",
    "a:b",
    "a=b",
    "a!",
    "caf\u00e9",
    "\u0430",  # Cyrillic a
    "a" * (MAX_NAME_LENGTH + 1),
    "a\n",  # a trailing newline is not part of the grammar
    "fraud\n",
]


@pytest.mark.parametrize("name", VALID_NEW_NAMES)
def test_valid_new_names(name: str) -> None:
    assert validate_new_name(name) == name
    assert validate_read_name(name) == name  # every new name is also readable


@pytest.mark.parametrize("name", INVALID_NEW_NAMES)
def test_invalid_new_names(name: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_new_name(name)
    assert info.value.hint
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "empty"),
        ("a" * 101, "longer than 100"),
        ("a..b", ".."),
        ("a//b", "//"),
        ("Fraud", "upper case"),
        ("a b", "only a-z"),
    ],
)
def test_new_name_error_says_why(name: str, words: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_new_name(name)
    assert words in str(info.value)


@FAST
@given(new_names)
def test_generated_new_names_are_valid(name: str) -> None:
    assert validate_new_name(name) == name


@FAST
@given(st.text(max_size=40))
def test_fuzz_new_name_matches_the_grammar(name: str) -> None:
    import re

    grammar = re.fullmatch(r"[a-z0-9]([a-z0-9_/-]*[a-z0-9])?", name) is not None
    expected = grammar and "//" not in name and len(name) <= MAX_NAME_LENGTH
    try:
        validate_new_name(name)
    except InvalidNameError:
        assert not expected
    else:
        assert expected


VALID_READ_NAMES = [
    "Fraud",
    "FRAUD-Detector",
    "Team/Fraud_Model",
    "a1B2",
    "dir:name",
    "path/to/dir:Name",
    "a.b-c_d:name",
    "../up:name",  # GTO's dirname accepts dots
    "a" * 1000,
]

INVALID_READ_NAMES = [
    "",
    "a//b",
    "dir//x:name",
    "-a",
    "a-",
    "_a",
    "a b",
    "a@b",
    "a#b",
    "a:",
    ":a",
    "a:b:c",
    "a=b",
    "caf\u00e9",
    "a" * 1001,
    "a\n",
    "dir:name\n",
]


@pytest.mark.parametrize("name", VALID_READ_NAMES)
def test_valid_read_names(name: str) -> None:
    assert validate_read_name(name) == name


@pytest.mark.parametrize("name", INVALID_READ_NAMES)
def test_invalid_read_names(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_read_name(name)


@FAST
@given(read_names)
def test_generated_gto_names_are_readable(name: str) -> None:
    assert validate_read_name(name) == name


@pytest.mark.parametrize(
    "stage", ["dev", "staging", "production", "Prod", "qa-1", "a/b", "a_b", "0", "s" * 100]
)
def test_valid_stages(stage: str) -> None:
    assert validate_stage(stage) == stage


@pytest.mark.parametrize(
    "stage",
    ["", "-dev", "dev-", "_dev", "a b", "a#b", "a@b", "a!", "a:b", "s" * 101, "dev\n", "pr\u00f6d"],
)
def test_invalid_stages(stage: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        validate_stage(stage)
    assert info.value.hint


def test_name_tag_separator_conversion() -> None:
    assert name_to_tag("dir/sub:model") == "dir/sub=model"
    assert tag_to_name("dir/sub=model") == "dir/sub:model"
    assert name_to_tag("plain") == "plain"


# --- tag names --------------------------------------------------------------

V130 = Version(1, 3, 0)

TAG_CASES = [
    # the DESIGN table
    ("fraud@v1.3.0", ParsedTag("fraud@v1.3.0", "fraud", EventKind.REGISTER, version=V130)),
    (
        "fraud@v1.3.0!#4",
        ParsedTag("fraud@v1.3.0!#4", "fraud", EventKind.DEREGISTER, version=V130, counter=4),
    ),
    (
        "fraud#production#5",
        ParsedTag("fraud#production#5", "fraud", EventKind.ASSIGN, stage="production", counter=5),
    ),
    (
        "fraud#production!#6",
        ParsedTag(
            "fraud#production!#6", "fraud", EventKind.UNASSIGN, stage="production", counter=6
        ),
    ),
    (
        "fraud@deprecated#7",
        ParsedTag("fraud@deprecated#7", "fraud", EventKind.DEPRECATE, counter=7),
    ),
    # GTO forms without a counter
    ("fraud#prod", ParsedTag("fraud#prod", "fraud", EventKind.ASSIGN, stage="prod")),
    ("fraud#prod!", ParsedTag("fraud#prod!", "fraud", EventKind.UNASSIGN, stage="prod")),
    ("fraud@v1.3.0!", ParsedTag("fraud@v1.3.0!", "fraud", EventKind.DEREGISTER, version=V130)),
    ("fraud@deprecated", ParsedTag("fraud@deprecated", "fraud", EventKind.DEPRECATE)),
    ("fraud@created", ParsedTag("fraud@created", "fraud", EventKind.CREATE)),
    ("fraud@created#1", ParsedTag("fraud@created#1", "fraud", EventKind.CREATE, counter=1)),
    # GTO's dirname prefix, spelt '=' in tags and ':' in names
    (
        "models/nlp=bert@v2.0.0",
        ParsedTag(
            "models/nlp=bert@v2.0.0",
            "models/nlp:bert",
            EventKind.REGISTER,
            version=Version(2, 0, 0),
        ),
    ),
    (
        "a.b-c_d=Bert#Prod#12",
        ParsedTag(
            "a.b-c_d=Bert#Prod#12", "a.b-c_d:Bert", EventKind.ASSIGN, stage="Prod", counter=12
        ),
    ),
    # namespaces, upper case, pre-release and build metadata, a register with a counter
    (
        "team/fraud#staging#1",
        ParsedTag(
            "team/fraud#staging#1", "team/fraud", EventKind.ASSIGN, stage="staging", counter=1
        ),
    ),
    (
        "Fraud@v0.1.0",
        ParsedTag("Fraud@v0.1.0", "Fraud", EventKind.REGISTER, version=Version(0, 1, 0)),
    ),
    (
        "m@v1.0.0-rc.1+build.5!#3",
        ParsedTag(
            "m@v1.0.0-rc.1+build.5!#3",
            "m",
            EventKind.DEREGISTER,
            version=Version(1, 0, 0, ("rc", "1"), ("build", "5")),
            counter=3,
        ),
    ),
    (
        "m@v1.0.0#2",
        ParsedTag("m@v1.0.0#2", "m", EventKind.REGISTER, version=Version(1, 0, 0), counter=2),
    ),
    ("m#a/b#0", ParsedTag("m#a/b#0", "m", EventKind.ASSIGN, stage="a/b", counter=0)),
    (
        "m#p#999999999",
        ParsedTag("m#p#999999999", "m", EventKind.ASSIGN, stage="p", counter=999999999),
    ),
]


@pytest.mark.parametrize(("tag", "expected"), TAG_CASES, ids=[t for t, _ in TAG_CASES])
def test_parse_tag_name(tag: str, expected: ParsedTag) -> None:
    assert parse_tag_name(tag) == expected


NOT_REGISTRY_TAGS = [
    "",
    "v1.0.0",
    "1.0.0",
    "release-1",
    "fraud",
    "fraud@1.0.0",  # GTO tags always carry the v
    "fraud@V1.0.0",
    "fraud@v1.0",
    "fraud@v01.0.0",
    "fraud@v1.0.0-",
    "fraud@",
    "fraud#",
    "fraud#prod#",
    "fraud#prod#abc",
    "fraud#prod#-1",
    "fraud@v1.0.0#",
    "fraud@v1.0.0!!",
    "fraud@v1.0.0!#",
    "fraud@deprecated!",
    "fraud@deprecated!#3",
    "fraud@latest",
    "fraud@greatest",
    "fraud@something",
    "fraud#-prod#1",
    "fraud#prod-#1",
    "fraud#prod#1#2",
    "fraud#prod@v1.0.0",
    "@v1.0.0",
    "#prod#1",
    "-fraud@v1.0.0",
    "fraud-@v1.0.0",
    "fra ud@v1.0.0",
    "a=b=c@v1.0.0",
    "fraud@v1.0.0\n",
    "fraud#prod#1\n",
    "fraud@v1.0.1\u0661",  # a non-ASCII digit is not SemVer
    "x" * 1300 + "@v1.0.0",
]


@pytest.mark.parametrize("tag", NOT_REGISTRY_TAGS)
def test_non_registry_tags_give_none(tag: str) -> None:
    assert parse_tag_name(tag) is None


def test_tag_with_overlong_version_does_not_raise() -> None:
    # 'a@v1.0.0-xxx...' matches the grammar but its version is over Version's length
    # limit: parse_tag_name promises None for tags it cannot read, not an exception.
    tag = "a@v1.0.0-" + "x" * 300
    assert parse_tag_name(tag) is None


@pytest.mark.parametrize(
    "tag",
    ["a" * 1150 + "@", "a-" * 590 + "#", "a=" * 590, "a/" * 590 + "@v1.0.0-", "a." * 590 + "="],
)
def test_pathological_tags_are_fast(tag: str) -> None:
    """No catastrophic backtracking: matching the tag grammar against these tags, a
    plain backtracker over re's own parse (none of sre's shortcuts, which only save steps) tests at
    most ten characters per character of the tag, and agrees with ``re``."""
    assert parse_tag_name(tag) is None
    matched, steps = _backtracking_steps(_TAG_RE.pattern, tag, budget=10 * len(tag))
    assert matched is (_TAG_RE.fullmatch(tag) is not None)
    assert steps <= 10 * len(tag)
    # The ruler itself: nested repeats blow that budget, a single repeat stays inside.
    with pytest.raises(_TooManySteps):
        _backtracking_steps(r"(?:[a-z]+)+!", "a" * 30, budget=10 * 30)
    assert _backtracking_steps(r"[a-z]+!", "a" * 30, budget=10 * 30) == (False, 61)


class _TooManySteps(Exception):
    pass


def _backtracking_steps(pattern: str, text: str, budget: int) -> tuple[bool, int]:
    """Fullmatch ``text`` with a plain backtracking matcher over ``re``'s own parse of
    ``pattern`` (greedy repeats, alternatives in order, as sre); return whether it
    matched and how many single-character tests it made. Work is counted, not timed."""
    steps = 0

    def in_set(items: list[tuple[Any, Any]], code: int) -> bool:
        for op, arg in items:
            if op is sre.LITERAL and code == arg:
                return True
            if op is sre.RANGE and arg[0] <= code <= arg[1]:
                return True
            if op not in (sre.LITERAL, sre.RANGE):
                raise NotImplementedError(op)
        return False

    def match(seq: list[tuple[Any, Any]], i: int, then: Callable[[int], bool]) -> bool:
        nonlocal steps
        if not seq:
            return then(i)
        (op, arg), rest = seq[0], seq[1:]
        if op is sre.LITERAL or op is sre.IN:
            steps += 1
            if steps > budget:
                raise _TooManySteps(steps)
            code = ord(text[i]) if i < len(text) else -1
            hit = code == arg if op is sre.LITERAL else code >= 0 and in_set(arg, code)
            return hit and match(rest, i + 1, then)
        if op is sre.SUBPATTERN:
            return match(list(arg[3]), i, lambda j: match(rest, j, then))
        if op is sre.BRANCH:
            return any(match(list(alt), i, lambda j: match(rest, j, then)) for alt in arg[1])
        if op is sre.MAX_REPEAT:
            low, high, body = arg

            def repeat(count: int, j: int) -> bool:
                more = high is sre.MAXREPEAT or count < high
                if more and match(list(body), j, lambda k: k != j and repeat(count + 1, k)):
                    return True
                return count >= low and match(rest, j, then)

            return repeat(0, i)
        raise NotImplementedError(op)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 100 * len(text) + 1000))
    try:
        matched = match(list(sre_parse.parse(pattern)), 0, lambda j: j == len(text))
    finally:
        sys.setrecursionlimit(limit)
    return matched, steps


@FAST
@given(
    st.sampled_from(list(EventKind)).filter(lambda k: k is not EventKind.CREATE),
    read_names,
    versions,
    stages,
    counters,
)
def test_format_parse_round_trip(
    kind: EventKind, name: str, version: Version, stage: str, counter: int | None
) -> None:
    has_version = kind in (EventKind.REGISTER, EventKind.DEREGISTER)
    has_stage = kind in (EventKind.ASSIGN, EventKind.UNASSIGN)
    tag = format_tag_name(
        kind,
        name,
        version=version if has_version else None,
        stage=stage if has_stage else None,
        counter=counter,
    )
    assert ":" not in tag
    parsed = parse_tag_name(tag)
    assert parsed == ParsedTag(
        tag,
        name,
        kind,
        version=version if has_version else None,
        stage=stage if has_stage else None,
        counter=counter,
    )


@FAST
@given(
    st.sampled_from([EventKind.REGISTER, EventKind.DEREGISTER]),
    read_names,
    versions,
    stages,
    counters,
)
def test_format_ignores_stage_for_version_events(
    kind: EventKind, name: str, version: Version, stage: str, counter: int | None
) -> None:
    tag = format_tag_name(kind, name, version=version, stage=stage, counter=counter)
    parsed = parse_tag_name(tag)
    assert parsed is not None
    assert (parsed.kind, parsed.stage, parsed.version) == (kind, None, version)


@pytest.mark.parametrize(
    ("kind", "kwargs", "expected"),
    [
        (EventKind.REGISTER, {"version": V130}, "fraud@v1.3.0"),
        (EventKind.DEREGISTER, {"version": V130, "counter": 4}, "fraud@v1.3.0!#4"),
        (EventKind.ASSIGN, {"stage": "production", "counter": 5}, "fraud#production#5"),
        (EventKind.UNASSIGN, {"stage": "production", "counter": 6}, "fraud#production!#6"),
        (EventKind.DEPRECATE, {"counter": 7}, "fraud@deprecated#7"),
    ],
)
def test_format_tag_name_design_table(kind: EventKind, kwargs: dict, expected: str) -> None:
    assert format_tag_name(kind, "fraud", **kwargs) == expected


def test_format_tag_name_dirname() -> None:
    tag = format_tag_name(EventKind.REGISTER, "dir/sub:bert", version=Version(1, 0, 0))
    assert tag == "dir/sub=bert@v1.0.0"


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        (EventKind.REGISTER, {}),
        (EventKind.DEREGISTER, {"stage": "prod"}),
        (EventKind.ASSIGN, {}),
        (EventKind.UNASSIGN, {"version": V130}),
        (EventKind.CREATE, {}),
    ],
)
def test_format_tag_name_missing_parts(kind: EventKind, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        format_tag_name(kind, "fraud", **kwargs)


def _tagish() -> st.SearchStrategy[str]:
    fragments = [
        "m", "Fraud", "a/b", "dir=", "@", "#", "!", "v", "1", "0", ".", "-", "+",
        "rc", "prod", "deprecated", "created", "latest", "=", "_", " ", "\n", "\u0661",
        "1.0.0", "v1.2.3", "#3", "!#4",
    ]  # fmt: skip
    return st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(fragments), max_size=12).map("".join),
    )


@FAST
@given(_tagish())
def test_fuzz_parse_tag_name(tag: str) -> None:
    parsed = parse_tag_name(tag)  # never raises
    if parsed is None or parsed.kind is EventKind.CREATE:
        return
    # Whatever parses is exactly the tag modelreg would write for that event.
    assert parsed.tag == tag
    again = format_tag_name(
        parsed.kind,
        parsed.name,
        version=parsed.version,
        stage=parsed.stage,
        counter=parsed.counter,
    )
    assert again == tag


@FAST
@given(
    st.sampled_from(list(EventKind)).filter(lambda k: k is not EventKind.CREATE),
    read_names,
    versions,
    stages,
    counters,
)
def test_gto_reads_what_modelreg_writes(
    kind: EventKind, name: str, version: Version, stage: str, counter: int | None
) -> None:
    gto_constants = pytest.importorskip("gto.constants")
    has_version = kind in (EventKind.REGISTER, EventKind.DEREGISTER)
    has_stage = kind in (EventKind.ASSIGN, EventKind.UNASSIGN)
    tag = format_tag_name(
        kind,
        name,
        version=version if has_version else None,
        stage=stage if has_stage else None,
        counter=counter,
    )
    match = gto_constants.tag_re.match(tag)
    assert match is not None
    assert gto_constants.tag_to_name(match["artifact"]) == name
    assert match["stage"] == (stage if has_stage else None)
    assert match["version"] == (version.tag_form if has_version else None)
    assert (int(match["counter"]) if match["counter"] is not None else None) == counter
    assert bool(match["cancel"]) == (kind in (EventKind.DEREGISTER, EventKind.UNASSIGN))
    assert bool(match["deprecated"]) == (kind is EventKind.DEPRECATE)


# --- tag messages -----------------------------------------------------------


def test_format_message_layout() -> None:
    message = format_message(
        "Promote fraud-detector v1.3.0 to production",
        {
            "Event": "assign",
            "Version": "1.3.0",
            "Stage": "production",
            "Modelreg-Manifest-Sha256": "ab" * 32,
            "Reason": "passed shadow test",
        },
    )
    assert message == (
        "Promote fraud-detector v1.3.0 to production\n"
        "\n"
        "Modelreg-Event: assign\n"
        "Modelreg-Version: 1.3.0\n"
        "Modelreg-Stage: production\n"
        f"Modelreg-Manifest-Sha256: {'ab' * 32}\n"
        "Modelreg-Reason: passed shadow test\n"
    )


def test_parse_message_reads_trailers() -> None:
    parsed = parse_message(
        "Promote m v1.0.0 to prod\n\nModelreg-Event: assign\nModelreg-Stage: prod\n"
    )
    assert parsed.subject == "Promote m v1.0.0 to prod"
    assert parsed.trailers == {"Modelreg-Event": "assign", "Modelreg-Stage": "prod"}
    assert parsed.get("Stage") == "prod"
    assert parsed.get("Reason") is None
    assert parsed.body == ""


def test_user_text_is_collapsed_to_one_line() -> None:
    message = format_message("two\nlines", {"Reason": "line one\nline two\r\n\tthree  "})
    assert message.splitlines()[0] == "two lines"
    assert parse_message(message).get("Reason") == "line one line two three"


def test_a_reason_cannot_forge_a_trailer() -> None:
    message = format_message(
        "Promote m v1.0.0 to dev",
        {"Reason": "ok\nModelreg-Stage: production\nModelreg-Event: deprecate", "Stage": "dev"},
    )
    parsed = parse_message(message)
    assert parsed.get("Stage") == "dev"
    assert parsed.get("Event") is None
    assert len(message.strip().splitlines()) == 4


@pytest.mark.parametrize(
    "separator", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_unicode_line_breaks_cannot_forge_a_trailer(separator: str) -> None:
    message = format_message(
        "s", {"Reason": f"x{separator}Modelreg-Stage: production", "Stage": "dev"}
    )
    assert parse_message(message).get("Stage") == "dev"


def test_long_values_are_truncated() -> None:
    message = format_message("s" * 500, {"Reason": "r" * 5000})
    parsed = parse_message(message)
    assert parsed.subject == "s" * 200
    assert parsed.get("Reason") == "r" * MAX_TRAILER_VALUE


def test_one_line() -> None:
    assert one_line("  a \n b\t\tc  ") == "a b c"
    assert one_line("abcdef", limit=3) == "abc"
    assert one_line("") == ""


def test_gto_message_has_no_trailers() -> None:
    parsed = parse_message("Promoted after review\n")
    assert parsed.subject == "Promoted after review"
    assert parsed.trailers == {}
    assert parsed.body == ""


def test_hand_written_body_is_kept() -> None:
    parsed = parse_message("subject\n\nfirst paragraph\nsecond line\n\nModelreg-Event: register\n")
    assert parsed.subject == "subject"
    assert parsed.body == "first paragraph\nsecond line"
    assert parsed.get("Event") == "register"


def test_signature_block_is_ignored() -> None:
    message = format_message("Register m v1.0.0", {"Event": "register", "Version": "1.0.0"})
    signed = (
        message + "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\nModelreg-Event: forged\n"
        "-----END PGP SIGNATURE-----\n"
    )
    parsed = parse_message(signed)
    assert parsed.trailers == {"Modelreg-Event": "register", "Modelreg-Version": "1.0.0"}
    assert "BEGIN" not in parsed.body


def test_first_trailer_wins_and_subject_is_not_a_trailer() -> None:
    parsed = parse_message(
        "Modelreg-Event: subject-line\n\nModelreg-Event: assign\nModelreg-Event: again\n"
    )
    assert parsed.subject == "Modelreg-Event: subject-line"
    assert parsed.get("Event") == "assign"


def test_parse_empty_and_huge_messages() -> None:
    assert parse_message("") == parse_message("\n\n")
    assert parse_message("").subject == ""
    huge = parse_message("s\n\n" + "Modelreg-Reason: " + "x" * 300_000)
    assert huge.subject == "s"


def test_trailers_survive_an_empty_summary() -> None:
    message = format_message("", {"Event": "assign", "Stage": "prod"})
    parsed = parse_message(message)
    assert parsed.trailers == {"Modelreg-Event": "assign", "Modelreg-Stage": "prod"}


def test_trailers_survive_a_reason_that_mentions_a_pem_header() -> None:
    message = format_message(
        "Promote m v1.0.0 to prod",
        {
            "Event": "assign",
            "Reason": "rotated -----BEGIN CERTIFICATE----- in config",
            "Stage": "prod",
        },
    )
    parsed = parse_message(message)
    assert parsed.get("Reason") == "rotated -----BEGIN CERTIFICATE----- in config"
    assert parsed.get("Stage") == "prod"


trailer_keys = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda k: not k.startswith("Modelreg-")
)
human_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@FAST
@given(
    human_text.filter(lambda s: one_line(s, 200) != ""),
    st.dictionaries(trailer_keys, human_text, max_size=6),
)
def test_format_parse_message_round_trip(summary: str, trailers: dict[str, str]) -> None:
    parsed = parse_message(format_message(summary, trailers))
    assert parsed.subject == one_line(summary, 200)
    assert parsed.trailers == {f"Modelreg-{k}": one_line(v) for k, v in trailers.items()}
    for key, value in trailers.items():
        assert parsed.get(key) == one_line(value)


@FAST
@given(st.text(max_size=500))
def test_fuzz_parse_message_never_raises(message: str) -> None:
    parsed = parse_message(message)
    assert "\n" not in parsed.subject
    for key, value in parsed.trailers.items():
        assert key.startswith("Modelreg-")
        assert "\n" not in value
