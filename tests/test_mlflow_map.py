"""MLflow's words for a modelreg registry: filters, pages, listings, names (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelreg import mlflow_map as mm

ROW = ({"name": "team.fraud", "version_number": 3}, {"modelreg.version": "0.3.0", "team": "risk"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("name = 'team.fraud'", True),
        ("name='team.fraud'", True),
        ("name != 'team.fraud'", False),
        ("name LIKE '%fraud'", True),
        ("name LIKE '%FRAUD'", False),
        ("name ILIKE '%FRAUD'", True),
        ("name LIKE 'team._raud'", True),
        ("tag.`mlflow.prompt.is_prompt` != 'true'", True),  # absent: != holds
        ("tag.`mlflow.prompt.is_prompt` = 'true'", False),
        ("tags.team = 'risk' AND name LIKE 'team%'", True),
        ("tag.\"modelreg.version\" = '0.3.0' and version_number >= 3", True),
        ("version_number > 3", False),
        ("name IN ('a', 'team.fraud')", True),
        ("name NOT IN ('a', 'team.fraud')", False),
        ('name = "team.fraud"', True),
    ],
)
def test_filters(text: str, expected: bool) -> None:
    clauses = mm.parse_filter(text, mm.VERSION_ATTRIBUTES)
    assert mm.matches(clauses, ROW) is expected


@pytest.mark.parametrize(
    "text",
    ["name", "name = ", "name ~ 'x'", "owner = 'x'", "name = 'x' OR name = 'y'", "name = 'x' AND",
     "name IN 'x'", "name = ('a')", "'x' = name"],
)  # fmt: skip
def test_bad_filters_are_invalid_parameter_value(text: str) -> None:
    with pytest.raises(mm.MlflowError) as refused:
        mm.parse_filter(text, mm.VERSION_ATTRIBUTES)
    assert refused.value.code == mm.INVALID_PARAMETER_VALUE


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=12))
def test_pages_cover_every_row_once(count: int, size: int) -> None:
    rows = [{"n": i} for i in range(count)]
    seen: list[dict[str, int]] = []
    token = None
    while True:
        chunk, token = mm.page(rows, size, token)
        seen += chunk
        if token is None:
            break
    assert seen == rows


def test_listing_is_one_folder_relative_to_it() -> None:
    files = [("MLmodel", 10), ("sub/a.bin", 3), ("sub/deep/b.bin", 4)]
    assert mm.listing(files, "") == [
        {"path": "MLmodel", "is_dir": False, "file_size": 10},
        {"path": "sub", "is_dir": True},
    ]
    assert mm.listing(files, "sub") == [
        {"path": "a.bin", "is_dir": False, "file_size": 3},
        {"path": "deep", "is_dir": True},
    ]
    assert mm.listing(files, "sub/a.bin") == [{"path": "a.bin", "is_dir": False, "file_size": 3}]
    with pytest.raises(mm.MlflowError):
        mm.listing(files, "nope")


def test_names_with_a_slash_are_spelt_with_a_dot_both_ways() -> None:
    assert mm.mlflow_name("team/fraud") == "team.fraud"
    assert mm.modelreg_name("team.fraud") == mm.modelreg_name("team/fraud") == "team/fraud"
    assert mm.split_artifact_path("modelreg/team.fraud/2/sub/a.bin", ["team/fraud"]) == (
        "team/fraud", "2", "sub/a.bin"
    )  # fmt: skip
    assert mm.split_artifact_path("modelreg/other/2/a", ["team/fraud"]) is None
    assert mm.split_artifact_path("elsewhere/team.fraud/2", ["team/fraud"]) is None
