"""AliasIndex: longest alias wins, Latin aliases on word boundaries, CJK as substrings."""

from __future__ import annotations

import pytest

from agents.understanding import AliasIndex

INDEX = AliasIndex(
    {
        "杭州": "Hangzhou",
        "hangzhou": "Hangzhou",
        "西湖": "West Lake",
        "杭州西湖": "West Lake",
        "York": "York",
        "New York": "New York",
        "Nice": "Nice",
        "京都": "Kyoto",
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("下周去杭州玩", "Hangzhou"),
        ("3 days in HANGZHOU", "Hangzhou"),
        ("杭州西湖一日游", "West Lake"),
        ("a trip to new york", "New York"),
        ("York in spring", "York"),
        ("去Kyoto玩", "Kyoto"),  # the canonical name is an alias of itself, found next to CJK
        ("京都の旅", "Kyoto"),
    ],
)
def test_finds_canonical_name(text: str, expected: str) -> None:
    assert INDEX.find_in(text) == expected


@pytest.mark.parametrize("text", ["a nicer hotel", "yorkshire pudding", "asdkjh qwe", ""])
def test_latin_alias_needs_word_boundaries(text: str) -> None:
    assert INDEX.find_in(text) is None


def test_tie_goes_to_the_earliest_alias() -> None:
    index = AliasIndex({"杭州": "Hangzhou", "苏州": "Suzhou"})
    assert index.find_in("苏州和杭州") == "Suzhou"


def test_counts_distinct_aliases() -> None:
    assert len(AliasIndex({"杭州": "Hangzhou", "HANGZHOU": "Hangzhou"})) == 2


def test_find_all_lists_each_place_once_in_order() -> None:
    index = AliasIndex({"杭州": "Hangzhou", "杭州市": "Hangzhou", "苏州": "Suzhou", "Kyoto": "Kyoto"})
    assert index.find_all("明天杭州市和苏州的天气，还有Kyoto") == ["Hangzhou", "Suzhou", "Kyoto"]
    assert index.find_all("nothing here") == []
