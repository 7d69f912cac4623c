"""The safe YAML entry point (modelreg.yamlio)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg import yamlio
from modelreg.yamlio import MAX_YAML_BYTES, YamlError

FAST = settings(max_examples=200, deadline=None)

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


# --- load -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
        ("", None),
        ("# only a comment\n", None),
        ("- 1\n- two\n", [1, "two"]),
        ("name: caf\u00e9\n", {"name": "caf\u00e9"}),
        ("v: '1.0'\n", {"v": "1.0"}),
        ("v: 1.0\n", {"v": 1.0}),
        ("b: yes\n", {"b": True}),
        ("n: ~\n", {"n": None}),
        ("t: 2026-11-22T14:03:11Z\n", {"t": dt.datetime(2026, 11, 22, 14, 3, 11, tzinfo=dt.UTC)}),
    ],
)
def test_load(text: str, expected: object) -> None:
    assert yamlio.load(text) == expected
    assert yamlio.load(text.encode("utf-8")) == expected


def test_load_bytes_with_bom() -> None:
    assert yamlio.load("\ufeffa: 1\n".encode()) == {"a": 1}


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(YamlError, match="UTF-8"):
        yamlio.load(b"a: \xff\xfe\n")


@pytest.mark.parametrize("kind", [str, bytes])
def test_oversized_input_is_refused(kind: type) -> None:
    text = "a: " + "x" * MAX_YAML_BYTES
    data = text if kind is str else text.encode()
    with pytest.raises(YamlError, match="KiB"):
        yamlio.load(data)


def test_input_at_the_limit_is_read() -> None:
    text = "a: " + "x" * (MAX_YAML_BYTES - 3)
    assert len(text) == MAX_YAML_BYTES
    assert yamlio.load(text) == {"a": "x" * (MAX_YAML_BYTES - 3)}


def test_aliases_are_refused_with_a_line_number() -> None:
    with pytest.raises(YamlError) as info:
        yamlio.load("a: &x 1\nb: *x\n")
    assert "alias" in str(info.value)
    assert "line 2" in str(info.value)


def test_anchor_without_alias_is_fine() -> None:
    assert yamlio.load("a: &x 1\n") == {"a": 1}


def test_billion_laughs_is_refused_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused at its first alias, before anything is built: work is counted, not timed
    (the 15 nodes of lines 1-2 up to ``*a``, out of 9**9 strings once expanded)."""
    seen = {"composed": 0, "constructed": 0}
    loader = yamlio._LimitedLoader
    compose, construct = loader.compose_node, loader.construct_document

    def counting_compose(self: Any, *args: Any) -> Any:
        seen["composed"] += 1
        return compose(self, *args)

    def counting_construct(self: Any, *args: Any) -> Any:
        seen["constructed"] += 1
        return construct(self, *args)

    monkeypatch.setattr(loader, "compose_node", counting_compose)
    monkeypatch.setattr(loader, "construct_document", counting_construct)
    with pytest.raises(YamlError, match="alias") as refused:
        yamlio.load(BILLION_LAUGHS)
    assert "line 2" in str(refused.value)
    assert seen == {"composed": 15, "constructed": 0}


def test_merge_key_with_alias_is_refused() -> None:
    with pytest.raises(YamlError):
        yamlio.load("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "a: !!python/name:os.system\n",
        "a: !!python/object:collections.OrderedDict {}\n",
        "a: !custom 1\n",
    ],
)
def test_unsafe_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlError):
        yamlio.load(text)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(YamlError):
        yamlio.load("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2\nb: 3\n",
        "a: b: c\n",
        "a:\n  - 1\n - 2\n",
        '"unterminated\n',
        "a: 1\na: 2\n\t- tab\n",
        "? [a, b]\n: 1\n",  # unhashable key
        "a: \x00\n",
        "--- 1\n--- 2\n",  # two documents
    ],
)
def test_syntax_errors_are_one_line_yaml_errors(text: str) -> None:
    with pytest.raises(YamlError) as info:
        yamlio.load(text)
    assert "\n" not in str(info.value)
    assert str(info.value)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(YamlError, match="line 3"):
        yamlio.load("a: 1\nb: 2\nc: d: e\n")


# Documents that PyYAML's SafeLoader fails to construct with plain Python errors
# (ValueError, KeyError, AttributeError, OverflowError...). load() promises YamlError
# "on any problem"; a bare ValueError escapes as a bug (exit code 3) in the CLI.
BAD_SCALARS = [
    "created: 2026-13-45\n",  # month 13
    "created: 2026-02-30\n",  # no such day
    "created: 2026-11-22T25:00:00Z\n",
    "a: !!timestamp not-a-time\n",
    "a: !!float abc\n",
    "a: !!float .\n",
    "a: !!int abc\n",
    "a: !!int 0x\n",
    "a: !!int 0b\n",
    "a: !!bool maybe\n",
    "a: " + "1" * 5000 + "\n",  # over Python's int string-conversion limit
]


@pytest.mark.parametrize("text", BAD_SCALARS, ids=[t[:30] for t in BAD_SCALARS])
def test_unconstructible_scalars_raise_yaml_error(text: str) -> None:
    with pytest.raises(YamlError):
        yamlio.load(text)


def test_yaml_error_is_a_value_error() -> None:
    assert issubclass(YamlError, ValueError)


# --- dump -------------------------------------------------------------------


def test_dump_keeps_key_order_and_block_style() -> None:
    text = yamlio.dump({"z": 1, "a": {"y": [1, 2], "b": "c"}, "m": None})
    assert text == "z: 1\na:\n  y:\n  - 1\n  - 2\n  b: c\nm: null\n"


def test_dump_writes_unicode_as_is() -> None:
    assert yamlio.dump({"author": "Zo\u00eb \u6f22"}) == "author: Zo\u00eb \u6f22\n"


@pytest.mark.parametrize(
    "value", ["1.0", "1.0.0", "yes", "null", "~", "2026-11-22", "0777", "*", "&a", "", " x", "#"]
)
def test_dump_quotes_strings_that_would_read_back_as_something_else(value: str) -> None:
    assert yamlio.load(yamlio.dump({"v": value})) == {"v": value}


def test_dump_load_round_trip_next_line_character() -> None:
    # U+0085 (NEL, e.g. a cp1252 ellipsis decoded as latin-1) must survive a dump.
    for data in ({"description": "a\x85b"}, {"description": "\x85"}, {"x\x85": 1}):
        assert yamlio.load(yamlio.dump(data)) == data


# U+0085 is left out here: it has its own test above.
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85")

json_like = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(_chars, max_size=30),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(_chars, max_size=10), children, max_size=4),
    ),
    max_leaves=20,
)


@FAST
@given(json_like)
def test_dump_load_round_trip(value: object) -> None:
    text = yamlio.dump(value)
    assert yamlio.load(text) == value
    assert yamlio.dump(yamlio.load(text)) == text


@FAST
@given(st.dictionaries(st.text(_chars, max_size=5), st.integers(), min_size=2, max_size=6))
def test_dump_preserves_insertion_order(data: dict[str, int]) -> None:
    assert list(yamlio.load(yamlio.dump(data))) == list(data)


# --- fuzz -------------------------------------------------------------------

_FRAGMENTS = [
    "a", "b", ": ", ":", "- ", "-", "\n", "  ", "\t", "[", "]", "{", "}", ",", "? ", "&x ", "*x",
    "!!str ", "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ",
    "!!python/object ", "!x ", "<<", "|", ">", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n",
    "2026-11-22", "T14:03:11Z", "-13-45", "0x", "0o", "0b", "1e5", ".inf", ".nan", "1_0", "1:30",
    "yes", "~", "null", "\\", "\x00", "\ufeff", "\u2028", "\x85",
]  # fmt: skip

yamlish = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=16).map("".join),
    st.builds(
        "key: {}-{}-{}\n".format,
        st.integers(0, 9999).map(lambda n: f"{n:04d}"),
        st.integers(0, 99),
        st.integers(0, 99),
    ),
)


@FAST
@given(yamlish)
def test_fuzz_load_raises_only_yaml_error(text: str) -> None:
    try:
        yamlio.load(text)
    except YamlError as exc:
        assert "\n" not in str(exc)


@FAST
@given(st.binary(max_size=60))
def test_fuzz_load_bytes_raises_only_yaml_error(data: bytes) -> None:
    try:
        yamlio.load(data)
    except YamlError as exc:
        assert "\n" not in str(exc)
