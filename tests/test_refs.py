"""Version references on the command line (modelreg.refs)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg.errors import (
    InvalidNameError,
    InvalidReferenceError,
    InvalidVersionError,
    ModelregError,
)
from modelreg.refs import Ref, parse_ref
from modelreg.versions import Version

FAST = settings(max_examples=200, deadline=None)

gto_names = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9_/-]{0,30}[a-zA-Z0-9])?", fullmatch=True).filter(
    lambda n: "//" not in n
)
# A leading '-' is refused on the command line (it reads as an option), even where
# GTO's dirname grammar would allow it.
dirnames = st.from_regex(r"[a-zA-Z0-9_./-]{1,15}", fullmatch=True).filter(
    lambda d: "//" not in d and not d.startswith("-")
)
names = st.one_of(gto_names, st.builds(lambda d, n: f"{d}:{n}", dirnames, gto_names))
stages = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9_/-]{0,15}[a-zA-Z0-9])?", fullmatch=True)
versions = st.builds(
    Version,
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.lists(st.sampled_from(["rc", "1", "alpha", "0", "x-y"]), max_size=3).map(tuple),
    st.lists(st.sampled_from(["build", "5", "sha-1"]), max_size=2).map(tuple),
)
refs = st.one_of(
    st.builds(Ref, names),
    st.builds(lambda n, v: Ref(n, version=v), names, versions),
    st.builds(lambda n, s: Ref(n, stage=s), names, stages),
    st.builds(lambda n: Ref(n, latest=True), names),
)


VALID = [
    ("fraud", Ref("fraud")),
    ("fraud@v1.2.0", Ref("fraud", version=Version(1, 2, 0))),
    ("fraud@1.2.0", Ref("fraud", version=Version(1, 2, 0))),
    ("fraud@v1.2.0-rc.1+b.7", Ref("fraud", version=Version(1, 2, 0, ("rc", "1"), ("b", "7")))),
    ("fraud@latest", Ref("fraud", latest=True)),
    ("fraud@greatest", Ref("fraud", latest=True)),  # GTO's spelling
    ("fraud#production", Ref("fraud", stage="production")),
    ("team/fraud#staging", Ref("team/fraud", stage="staging")),
    ("team/fraud@v0.1.0", Ref("team/fraud", version=Version(0, 1, 0))),
    ("Fraud#Prod", Ref("Fraud", stage="Prod")),  # read names: anything GTO accepts
    ("dir/sub:bert@v2.0.0", Ref("dir/sub:bert", version=Version(2, 0, 0))),
    ("dir:bert#prod", Ref("dir:bert", stage="prod")),
    ("m#a/b", Ref("m", stage="a/b")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_parse_ref(text: str, expected: Ref) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("fraud", "fraud"),
        ("fraud@1.2.0", "fraud@v1.2.0"),
        ("fraud@v1.2.0", "fraud@v1.2.0"),
        ("fraud@greatest", "fraud@latest"),
        ("fraud#prod", "fraud#prod"),
    ],
)
def test_str_is_canonical(text: str, canonical: str) -> None:
    assert str(parse_ref(text)) == canonical


def test_is_bare() -> None:
    assert parse_ref("fraud").is_bare
    assert not parse_ref("fraud@v1.0.0").is_bare
    assert not parse_ref("fraud#prod").is_bare
    assert not parse_ref("fraud@latest").is_bare


INVALID = [
    ("-fraud", InvalidReferenceError),  # looks like an option
    ("--help", InvalidReferenceError),
    ("-", InvalidReferenceError),
    ("fraud@", InvalidReferenceError),
    ("fraud#", InvalidReferenceError),
    ("fraud@v1.2", InvalidVersionError),
    ("fraud@1", InvalidVersionError),
    ("fraud@LATEST", InvalidVersionError),
    ("fraud@vv1.0.0", InvalidVersionError),
    ("fraud@v1.0.0#prod", InvalidVersionError),
    ("fraud@v1.0.0@v2.0.0", InvalidVersionError),
    ("fraud@latest#prod", InvalidVersionError),
    ("@v1.0.0", InvalidNameError),
    ("#prod", InvalidNameError),
    ("", InvalidNameError),
    ("fra ud", InvalidNameError),
    ("a//b@v1.0.0", InvalidNameError),
    ("fraud-#prod", InvalidNameError),
    ("fraud#prod@v1.0.0", InvalidNameError),
    ("fraud#prod#3", InvalidNameError),
    ("fraud#-prod", InvalidNameError),
    ("fraud#prod!", InvalidNameError),
    ("caf\u00e9", InvalidNameError),
    ("fraud\n", InvalidNameError),
    ("fraud#prod\n", InvalidNameError),
]


@pytest.mark.parametrize(("text", "error"), INVALID, ids=[repr(t) for t, _ in INVALID])
def test_invalid_refs(text: str, error: type[ModelregError]) -> None:
    with pytest.raises(error) as info:
        parse_ref(text)
    assert info.value.exit_code == 1


def test_bad_version_message_names_the_reference_and_hints() -> None:
    with pytest.raises(InvalidVersionError) as info:
        parse_ref("fraud@v1.2")
    assert "fraud@v1.2" in str(info.value)
    assert info.value.hint and "NAME@v" in info.value.hint


def test_empty_suffix_message_hints_the_forms() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_ref("fraud@")
    assert info.value.hint and "NAME#STAGE" in info.value.hint


@FAST
@given(refs)
def test_str_parse_round_trip(ref: Ref) -> None:
    assert parse_ref(str(ref)) == ref


@FAST
@given(names, versions)
def test_version_with_and_without_v_agree(name: str, version: Version) -> None:
    assert parse_ref(f"{name}@{version}") == parse_ref(f"{name}@v{version}")


def _refish() -> st.SearchStrategy[str]:
    fragments = [
        "m", "Fraud", "a/b", "dir:", "@", "#", "!", "-", "v", "1.0.0", "1.2", "latest",
        "greatest", "prod", " ", "\n", ":", "=", ".", "//",
    ]  # fmt: skip
    return st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(fragments), max_size=10).map("".join),
    )


@FAST
@given(_refish())
def test_fuzz_parse_ref_only_raises_modelreg_errors(text: str) -> None:
    try:
        ref = parse_ref(text)
    except ModelregError:
        return
    # What parses is stable under formatting.
    assert parse_ref(str(ref)) == ref
    assert "\n" not in ref.name
