"""SemVer 2.0.0 versions and npm-style ranges (modelreg.versions)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg.errors import InvalidVersionError, ModelregError
from modelreg.ranges import Comparator, Range
from modelreg.versions import (
    FIRST_VERSION,
    MAX_VERSION_LENGTH,
    Version,
    highest,
)

FAST = settings(max_examples=200, deadline=None)

# --- strategies -------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=10**12).map(str)
alnum_pre = st.from_regex(r"\A[0-9]*[a-zA-Z-][0-9a-zA-Z-]{0,8}\Z")
pre_ids = st.one_of(numbers, alnum_pre)
build_ids = st.from_regex(r"\A[0-9a-zA-Z-]{1,10}\Z")


@st.composite
def semver_strings(draw: st.DrawFn) -> str:
    text = f"{draw(numbers)}.{draw(numbers)}.{draw(numbers)}"
    pre = draw(st.lists(pre_ids, max_size=4))
    build = draw(st.lists(build_ids, max_size=3))
    if pre:
        text += "-" + ".".join(pre)
    if build:
        text += "+" + ".".join(build)
    return text


small = st.integers(min_value=0, max_value=5)
versions = st.builds(
    Version,
    small,
    small,
    small,
    st.lists(
        st.one_of(st.integers(0, 3).map(str), st.sampled_from(["alpha", "beta", "rc"])), max_size=3
    ).map(tuple),
    st.just(()),
)
releases = st.builds(Version, small, small, small)


# --- parsing ------------------------------------------------------------------

# Valid examples from the SemVer 2.0.0 test suite (semver.org regex tests).
VALID = [
    "0.0.4",
    "1.2.3",
    "10.20.30",
    "1.1.2-prerelease+meta",
    "1.1.2+meta",
    "1.1.2+meta-valid",
    "1.0.0-alpha",
    "1.0.0-beta",
    "1.0.0-alpha.beta",
    "1.0.0-alpha.beta.1",
    "1.0.0-alpha.1",
    "1.0.0-alpha0.valid",
    "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
    "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123",
    "1.2.3-beta",
    "10.2.3-DEV-SNAPSHOT",
    "1.2.3-SNAPSHOT-123",
    "1.0.0",
    "2.0.0",
    "1.1.7",
    "2.0.0+build.1848",
    "2.0.1-alpha.1227",
    "1.0.0-alpha+beta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
    "1.2.3----R-S.12.9.1--.12+meta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12",
    "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "99999999999999999999999.999999999999999999.99999999999999999",
    "1.0.0-0A.is.legal",
    "1.0.0+001",
]

# Invalid examples from the same suite, plus things a CLI user might type.
INVALID = [
    "",
    "1",
    "1.2",
    "1.2.3-0123",
    "1.2.3-0123.0123",
    "1.1.2+.123",
    "+invalid",
    "-invalid",
    "-invalid+invalid",
    "-invalid.01",
    "alpha",
    "alpha.beta",
    "alpha.beta.1",
    "alpha.1",
    "alpha+beta",
    "alpha_beta",
    "alpha.",
    "alpha..",
    "beta",
    "1.0.0-alpha_beta",
    "-alpha.",
    "1.0.0-alpha..",
    "1.0.0-alpha..1",
    "1.0.0-alpha...1",
    "1.0.0-alpha....1",
    "1.0.0-alpha.....1",
    "1.0.0-alpha......1",
    "1.0.0-alpha.......1",
    "01.1.1",
    "1.01.1",
    "1.1.01",
    "1.2.3.DEV",
    "1.2-SNAPSHOT",
    "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
    "1.2-RC-SNAPSHOT",
    "-1.0.3-gamma+b7718",
    "+justmeta",
    "9.8.7+meta+meta",
    "9.8.7-whatever+meta+meta",
    "1.0.0-",
    "1.0.0+",
    "1.0.0.0",
    "V1.0.0",
    "vv1.0.0",
    "v",
    " 1.0.0",
    "1.0.0 ",
    "1.0.0\t",
    "1.0.0\n",  # '$' must not let a trailing newline through
    "v1.0.0\n",
    "1.0.1\u0661",  # ARABIC-INDIC DIGIT ONE: SemVer digits are ASCII
    "1.0.0-\u0661a",
    "\uff11.0.0",  # FULLWIDTH DIGIT ONE
    "1.0.0-alpha+b\u00e9ta",
    "latest",
]


@pytest.mark.parametrize("text", VALID)
def test_parse_valid_round_trips(text: str) -> None:
    version = Version.parse(text)
    assert str(version) == text
    assert Version.is_valid(text)


@pytest.mark.parametrize("text", VALID)
def test_leading_v_is_accepted_and_dropped(text: str) -> None:
    assert Version.parse("v" + text) == Version.parse(text)
    assert str(Version.parse("v" + text)) == text
    assert Version.is_valid("v" + text)


@pytest.mark.parametrize("text", INVALID)
def test_parse_invalid_raises(text: str) -> None:
    with pytest.raises(InvalidVersionError):
        Version.parse(text)
    assert not Version.is_valid(text)


@pytest.mark.parametrize("value", [None, 1, 1.0, b"1.0.0", ["1.0.0"]])
def test_parse_non_string_raises(value: object) -> None:
    with pytest.raises(InvalidVersionError):
        Version.parse(value)  # type: ignore[arg-type]
    assert not Version.is_valid(value)  # type: ignore[arg-type]


def test_parse_fields() -> None:
    version = Version.parse("v1.22.333-rc.1.x-y+build.007")
    assert version == Version(1, 22, 333, ("rc", "1", "x-y"), ("build", "007"))
    assert version.core == (1, 22, 333)
    assert version.tag_form == "v1.22.333-rc.1.x-y+build.007"


def test_huge_numbers_are_exact() -> None:
    version = Version.parse("99999999999999999999999.0.1")
    assert version.major == 99999999999999999999999
    assert version > Version.parse("99999999999999999999998.999.999")


def test_error_message_names_the_input_and_hints() -> None:
    with pytest.raises(InvalidVersionError) as info:
        Version.parse("1.2")
    assert "1.2" in str(info.value)
    assert info.value.hint
    assert info.value.exit_code == 1


def test_overlong_input_is_refused_with_short_message() -> None:
    text = "1.0.0-" + "a" * 10_000
    with pytest.raises(InvalidVersionError) as info:
        Version.parse(text)
    assert len(str(info.value)) < 200


def test_is_valid_agrees_with_parse_on_overlong_versions() -> None:
    # A syntactically valid SemVer longer than MAX_VERSION_LENGTH: parse refuses it,
    # so is_valid must not claim it is valid (state.py relies on is_valid => parse).
    text = "1.0.0-" + "a" * MAX_VERSION_LENGTH
    with pytest.raises(InvalidVersionError):
        Version.parse(text)
    assert not Version.is_valid(text)


@FAST
@given(semver_strings())
def test_generated_semver_round_trips(text: str) -> None:
    version = Version.parse(text)
    assert str(version) == text
    assert Version.parse(version.tag_form) == version
    assert Version.is_valid(text)


@FAST
@given(versions)
def test_version_objects_round_trip_through_text(version: Version) -> None:
    assert Version.parse(str(version)) == version
    assert Version.parse(version.tag_form) == version


@FAST
@given(st.text(max_size=80))
def test_fuzz_parse_never_raises_anything_else(text: str) -> None:
    try:
        version = Version.parse(text)
    except InvalidVersionError:
        assert not Version.is_valid(text)
        return
    # Whatever parses is exactly its canonical text (with an optional leading v).
    assert str(version) == (text[1:] if text.startswith("v") else text)
    assert Version.is_valid(text)


@FAST
@given(semver_strings(), st.text(min_size=1, max_size=5))
def test_fuzz_valid_version_with_junk_suffix(text: str, junk: str) -> None:
    candidate = text + junk
    try:
        version = Version.parse(candidate)
    except InvalidVersionError:
        return
    assert str(version) == candidate


# --- precedence -----------------------------------------------------------------

SPEC_ORDER = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
]


@pytest.mark.parametrize(("lower", "higher"), list(itertools.combinations(SPEC_ORDER, 2)))
def test_spec_precedence(lower: str, higher: str) -> None:
    a, b = Version.parse(lower), Version.parse(higher)
    assert a < b
    assert b > a
    assert not b < a
    assert a.precedence_key() < b.precedence_key()


def test_sorting_the_spec_examples() -> None:
    shuffled = list(reversed(SPEC_ORDER))
    shuffled[2], shuffled[5] = shuffled[5], shuffled[2]
    assert [str(v) for v in sorted(Version.parse(s) for s in shuffled)] == SPEC_ORDER


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.2.9", "1.2.10"),  # numeric, not lexical
        ("1.9.0", "1.10.0"),
        ("9.0.0", "10.0.0"),
        ("1.0.0-2", "1.0.0-10"),  # numeric pre-release identifiers compare numerically
        ("1.0.0-999", "1.0.0-a"),  # numeric identifiers before alphanumeric
        ("1.0.0-Z", "1.0.0-a"),  # alphanumeric identifiers compare in ASCII order
        ("1.0.0-alpha", "1.0.0-alpha.0"),  # a longer set of fields wins when equal so far
        ("1.0.0-0", "1.0.0-0.0"),
        ("0.0.0", "0.0.1"),
    ],
)
def test_precedence_details(lower: str, higher: str) -> None:
    assert Version.parse(lower) < Version.parse(higher)


def test_build_metadata_is_ignored_for_precedence_but_kept_for_equality() -> None:
    a, b = Version.parse("1.0.0+a"), Version.parse("1.0.0+b")
    assert a.precedence_key() == b.precedence_key() == Version.parse("1.0.0").precedence_key()
    assert not a < b and not b < a
    assert a != b
    assert str(a) == "1.0.0+a"


def test_comparison_with_other_types() -> None:
    assert Version(1, 0, 0) != "1.0.0"
    with pytest.raises(TypeError):
        _ = Version(1, 0, 0) < "1.0.0"  # type: ignore[operator]


@FAST
@given(versions, versions)
def test_precedence_is_a_total_order(a: Version, b: Version) -> None:
    outcomes = [a < b, b < a, a.precedence_key() == b.precedence_key()]
    assert outcomes.count(True) == 1
    if a.prerelease and not b.prerelease and a.core == b.core:
        assert a < b  # a release sorts after all of its pre-releases


@FAST
@given(versions, versions, versions)
def test_precedence_is_transitive(a: Version, b: Version, c: Version) -> None:
    if a < b and b < c:
        assert a < c


@FAST
@given(releases, releases)
def test_release_precedence_is_tuple_order(a: Version, b: Version) -> None:
    assert (a < b) == (a.core < b.core)


# --- bump / highest -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "part", "expected"),
    [
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "patch", "1.2.4"),
        ("0.1.0", "patch", "0.1.1"),
        ("1.2.3+build.5", "patch", "1.2.4"),
        ("1.2.0-rc.1", "patch", "1.2.0"),
        ("1.2.3-rc.1", "patch", "1.2.3"),
        ("1.2.3-rc.1", "major", "2.0.0"),
        ("1.2.3-rc.1+b", "minor", "1.3.0"),
    ],
)
def test_bump(start: str, part: str, expected: str) -> None:
    assert str(Version.parse(start).bump(part)) == expected  # type: ignore[arg-type]


def test_bump_unknown_part() -> None:
    with pytest.raises(InvalidVersionError):
        Version(1, 0, 0).bump("micro")  # type: ignore[arg-type]


@FAST
@given(versions, st.sampled_from(["major", "minor", "patch"]))
def test_bump_always_goes_up_to_a_release(version: Version, part: str) -> None:
    bumped = version.bump(part)  # type: ignore[arg-type]
    assert bumped > version
    assert bumped.prerelease == () and bumped.build == ()


def test_first_version() -> None:
    assert str(FIRST_VERSION) == "0.1.0"


def test_highest() -> None:
    found = highest([Version.parse(s) for s in ["1.9.0", "1.10.0", "1.10.0-rc.1", "0.9.9"]])
    assert found == Version.parse("1.10.0")
    assert highest([]) is None
    assert highest([Version.parse("2.0.0-rc.1"), Version.parse("1.99.0")]) == Version.parse(
        "2.0.0-rc.1"
    )


# --- ranges ---------------------------------------------------------------------

RANGE_CASES = [
    # simple comparators
    (">=1.2.0", "1.2.0", True),
    (">=1.2.0", "1.1.9", False),
    (">=1.2.0", "2.0.0", True),
    (">=1.2.0", "1.3.0-rc.1", False),  # pre-release of another core
    (">1.2.0", "1.2.0", False),
    (">1.2.0", "1.2.1", True),
    ("<=1.2.0", "1.2.0", True),
    ("<=1.2.0", "1.2.1", False),
    ("<1.2.0", "1.1.9", True),
    ("<1.2.0", "1.2.0", False),
    ("<1.2.0", "1.2.0-rc.1", False),  # pre-release rule: no comparator names 1.2.0-*
    ("=1.2.0", "1.2.0", True),
    ("=1.2.0", "1.2.1", False),
    ("=1.2.0", "1.2.0+build.7", True),  # build metadata ignored
    ("1.2.0", "1.2.0", True),  # exact
    ("1.2.0", "1.2.1", False),
    ("v1.2.0", "1.2.0", True),
    ("=1.0.0-rc.1", "1.0.0-rc.1", True),
    ("=1.0.0-rc.1", "1.0.0", False),
    (">= 1.2.0", "1.2.0", True),  # spaces after the operator
    # conjunctions
    (">=1.2.0,<2.0.0", "1.2.0", True),
    (">=1.2.0,<2.0.0", "1.99.99", True),
    (">=1.2.0,<2.0.0", "2.0.0", False),
    (">=1.2.0,<2.0.0", "1.1.0", False),
    (">=1.2.0,<2.0.0", "2.0.0-alpha", False),
    (" >= 1.2.0 , < 2.0.0 ", "1.5.0", True),
    (">=1.0.0,<=1.0.0", "1.0.0", True),
    (">1.0.0,<1.0.1", "1.0.0", False),
    ("^1.2.3,^1.3.0", "1.2.5", False),
    ("^1.2.3,^1.3.0", "1.3.0", True),
    (">=1.0.0-alpha,<1.0.0", "1.0.0-beta", True),
    (">=1.0.0-alpha,<1.0.0", "1.0.0", False),
    (">1.2.3-alpha.3", "1.2.3-alpha.7", True),  # npm docs examples
    (">1.2.3-alpha.3", "3.4.5-alpha.9", False),
    (">1.2.3-alpha.3", "3.4.5", True),
    (">1.2.3-alpha.3", "1.2.3-alpha.3", False),
    # caret
    ("^1.2.3", "1.2.3", True),
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "2.0.0-0", False),
    ("^1.2.3", "2.0.0-alpha", False),
    ("^1.2.3", "1.3.0-beta", False),
    ("^0.2.3", "0.2.3", True),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.2.3", "0.2.2", False),
    ("^0.2.3", "1.0.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0.3", "0.0.2", False),
    ("^0.0.3", "0.1.0", False),
    ("^0.0.0", "0.0.0", True),
    ("^0.0.0", "0.0.1", False),
    ("^1.2.3-beta.2", "1.2.3-beta.2", True),
    ("^1.2.3-beta.2", "1.2.3-beta.4", True),
    ("^1.2.3-beta.2", "1.2.3-beta.1", False),
    ("^1.2.3-beta.2", "1.2.3", True),
    ("^1.2.3-beta.2", "1.9.0", True),
    ("^1.2.3-beta.2", "1.2.4-beta.2", False),
    ("^0.0.3-beta", "0.0.3-pr.2", True),
    ("^0.0.3-beta", "0.0.3", True),
    ("^0.0.3-beta", "0.0.4", False),
    ("^v1.2.3", "1.5.0", True),
    # tilde
    ("~1.2.3", "1.2.3", True),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.2.2", False),
    ("~1.2.3", "1.3.0", False),
    ("~1.2.3", "1.3.0-0", False),
    ("~1.2.0", "1.2.0", True),
    ("~1.2.0", "1.3.0", False),
    ("~0.2.3", "0.2.5", True),
    ("~0.2.3", "0.3.0", False),
    ("~0.0.1", "0.0.9", True),
    ("~0.0.1", "0.1.0", False),
    ("~1.2.3-beta.2", "1.2.3-beta.4", True),
    ("~1.2.3-beta.2", "1.2.4-beta.2", False),
    ("~1.2.3-beta.2", "1.2.5", True),
    # any
    ("*", "0.0.0", True),
    ("*", "99.99.99", True),
    ("*", "1.0.0-alpha", False),
    ("x", "1.0.0", True),
    ("X", "1.0.0", True),
]


@pytest.mark.parametrize(("text", "version", "expected"), RANGE_CASES)
def test_range_contains(text: str, version: str, expected: bool) -> None:
    assert Range.parse(text).contains(Version.parse(version)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("^1.2.3", (">=1.2.3", "<2.0.0-0")),
        ("^0.2.3", (">=0.2.3", "<0.3.0-0")),
        ("^0.0.3", (">=0.0.3", "<0.0.4-0")),
        ("~1.2.3", (">=1.2.3", "<1.3.0-0")),
        ("~0.2.3", (">=0.2.3", "<0.3.0-0")),
        (">=1.0.0,<2.0.0", (">=1.0.0", "<2.0.0")),
        ("1.2.3", ("=1.2.3",)),
        ("*", (">=0.0.0",)),
    ],
)
def test_range_desugars_to_comparators(text: str, expected: tuple[str, ...]) -> None:
    assert tuple(str(c) for c in Range.parse(text).comparators) == expected


def test_range_keeps_what_the_user_wrote() -> None:
    rng = Range.parse("  >=2.0.0,<3.0.0  ")
    assert str(rng) == ">=2.0.0,<3.0.0"
    assert rng.text == ">=2.0.0,<3.0.0"


INVALID_RANGES = [
    "",
    "   ",
    ",",
    ">=1.0.0,",
    ",>=1.0.0",
    ">=1.0.0,,<2.0.0",
    ">=1.0",
    "1.x",
    "1.2.x",
    ">>1.0.0",
    "=>1.0.0",
    "=<1.0.0",
    ">=1.0.0 <2.0.0",  # conjunction is ',' only
    "1.0.0 - 2.0.0",
    "1.0.0 || 2.0.0",
    "^",
    "~",
    ">=",
    "^^1.0.0",
    "~>1.0.0",
    "latest",
    "**",
    ">=01.0.0",
    ">=1.0.0-",
    "^1.0.0-" + "a" * MAX_VERSION_LENGTH,  # valid SemVer, but over the length limit
]


@pytest.mark.parametrize("text", INVALID_RANGES)
def test_invalid_range(text: str) -> None:
    with pytest.raises(InvalidVersionError):
        Range.parse(text)


@pytest.mark.parametrize("value", [None, 1, ["^1.0.0"]])
def test_range_non_string(value: object) -> None:
    with pytest.raises(InvalidVersionError):
        Range.parse(value)  # type: ignore[arg-type]


def test_invalid_range_message_names_the_range_and_hints() -> None:
    with pytest.raises(InvalidVersionError) as info:
        Range.parse(">=2.0,<3.0.0")
    assert ">=2.0,<3.0.0" in str(info.value)
    assert info.value.hint


@pytest.mark.parametrize(
    ("op", "base", "candidate", "expected"),
    [
        (">=", "1.0.0", "1.0.0", True),
        (">", "1.0.0", "1.0.0", False),
        ("<=", "1.0.0", "1.0.0", True),
        ("<", "1.0.0", "1.0.0", False),
        ("=", "1.0.0", "1.0.0+x", True),
        ("=", "1.0.0", "1.0.1", False),
        ("<", "1.0.0", "1.0.0-rc.1", True),  # Comparator alone: plain precedence
    ],
)
def test_comparator(op: str, base: str, candidate: str, expected: bool) -> None:
    comparator = Comparator(op, Version.parse(base))  # type: ignore[arg-type]
    assert comparator.test(Version.parse(candidate)) is expected
    assert str(comparator) == f"{op}{base}"


def _caret_reference(base: Version, candidate: Version) -> bool:
    if candidate < base:
        return False
    if base.major > 0:
        return candidate.major == base.major
    if base.minor > 0:
        return candidate.major == 0 and candidate.minor == base.minor
    return candidate.core == base.core


@FAST
@given(releases, releases)
def test_caret_matches_npm_semantics(base: Version, candidate: Version) -> None:
    assert Range.parse(f"^{base}").contains(candidate) is _caret_reference(base, candidate)


@FAST
@given(releases, releases)
def test_tilde_matches_npm_semantics(base: Version, candidate: Version) -> None:
    expected = candidate >= base and candidate.core[:2] == base.core[:2]
    assert Range.parse(f"~{base}").contains(candidate) is expected


@FAST
@given(releases, releases, st.sampled_from([">=", ">", "<=", "<", "="]))
def test_single_comparator_ranges_on_releases(base: Version, candidate: Version, op: str) -> None:
    a, b = candidate.precedence_key(), base.precedence_key()
    expected = {
        ">=": a >= b,
        ">": a > b,
        "<=": a <= b,
        "<": a < b,
        "=": a == b,
    }[op]
    assert Range.parse(f"{op}{base}").contains(candidate) is expected


@FAST
@given(versions, versions)
def test_prerelease_rule(base: Version, candidate: Version) -> None:
    rng = Range.parse(f">={base}")
    if candidate.prerelease and not (base.prerelease and base.core == candidate.core):
        assert not rng.contains(candidate)
    if not candidate.prerelease:
        assert rng.contains(candidate) is (candidate >= base)


@FAST
@given(versions)
def test_star_contains_every_release_and_no_prerelease(version: Version) -> None:
    assert Range.parse("*").contains(version) is (not version.prerelease)


@FAST
@given(versions)
def test_exact_range_contains_itself(version: Version) -> None:
    assert Range.parse(str(version)).contains(version)
    assert Range.parse(f"={version.tag_form}").contains(version)


@FAST
@given(st.text(max_size=60))
def test_fuzz_range_parse(text: str) -> None:
    try:
        rng = Range.parse(text)
    except InvalidVersionError as exc:
        assert isinstance(exc, ModelregError)
        return
    assert rng.comparators
    assert rng.text == text.strip()


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                ">=",
                ">",
                "<",
                "<=",
                "=",
                "^",
                "~",
                "*",
                ",",
                " ",
                "v",
                "1",
                "0",
                ".",
                "-",
                "+",
                "rc",
                "x",
            ]
        ),
        max_size=20,
    ).map("".join)
)
def test_fuzz_range_from_range_like_tokens(text: str) -> None:
    try:
        rng = Range.parse(text)
    except InvalidVersionError:
        return
    # Whatever parses can be evaluated.
    rng.contains(Version(1, 0, 0))
    rng.contains(Version(1, 0, 0, ("rc", "1")))
