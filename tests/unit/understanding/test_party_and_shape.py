"""Party size in every common form, origin vs destination, and multi-city splits."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from agents.understanding import AliasIndex, understand
from agents.understanding.party import Party, party_of
from bot.errors import BadDates

MORE_PLACES = {"北京": "Beijing", "Beijing": "Beijing", "Bangkok": "Bangkok", "曼谷": "Bangkok",
               "Singapore": "Singapore", "新加坡": "Singapore", "三亚": "Sanya", "Sanya": "Sanya"}


@pytest.fixture
def world(places: AliasIndex) -> AliasIndex:
    from tests.unit.understanding.conftest import PLACES

    return AliasIndex(PLACES | MORE_PLACES)


@pytest.mark.parametrize(
    ("text", "party"),
    [
        ("一家四口去三亚", Party(4)),
        ("我和老公带两个孩子去三亚", Party(4, children=2)),
        ("我和老婆去三亚", Party(2)),
        ("带爸妈去杭州", Party(3, seniors=2)),
        ("我们两个带爸妈去杭州", Party(4, seniors=2)),
        ("两个大人一个小孩", Party(3, children=1)),
        ("带娃去杭州", Party(2, children=1)),
        ("带奶奶去杭州", Party(2, seniors=1)),
        ("a couple in Kyoto", Party(2)),
        ("six of us in Kyoto", Party(6)),
        ("Sanya for two", Party(2)),
        ("Sanya for two days", None),
        ("family of four", Party(4)),
        ("2 adults and 2 kids", Party(4, children=2)),
        ("my wife and I with the kids", Party(3, children=1)),
        ("with my elderly parents", Party(3, seniors=2)),
        ("solo", Party(1)),
        ("Kyoto next weekend", None),
    ],
)
def test_party(text: str, party: Party | None) -> None:
    assert party_of(text) == party


def test_children_and_seniors_are_on_the_request(now: datetime, world: AliasIndex) -> None:
    req = understand("我和老公带两个孩子和爸妈去三亚5天", now, world)
    assert (req.travelers, req.children, req.seniors) == (6, 2, 2)


def test_origin_is_not_the_destination(now: datetime, world: AliasIndex) -> None:
    known = understand("从上海自驾去杭州玩3天", now, world)
    assert (known.origin, known.destination) == ("Shanghai", "Hangzhou")
    unknown = understand("从上海自驾去婺源", now, world)
    assert (unknown.origin, unknown.destination) == ("Shanghai", "婺源")
    english = understand("driving from Shanghai to Hangzhou next weekend", now, world)
    assert (english.origin, english.destination) == ("Shanghai", "Hangzhou")


@pytest.mark.parametrize(
    ("text", "legs"),
    [
        ("北京5天然后上海3天", [("Beijing", 5), ("Shanghai", 3)]),
        ("先去北京玩5天，再去上海3天", [("Beijing", 5), ("Shanghai", 3)]),
        ("Bangkok 3 days then Singapore 2 days", [("Bangkok", 3), ("Singapore", 2)]),
        ("3 days in Bangkok and 2 in Singapore", [("Bangkok", 3), ("Singapore", 2)]),
        ("杭州2天、苏州2天、上海1天", [("Hangzhou", 2), ("Suzhou", 2), ("Shanghai", 1)]),
        ("下周三到下周日，杭州3天然后苏州", [("Hangzhou", 3), ("Suzhou", 2)]),  # the rest of a stated range
    ],
)
def test_multi_city_split(text: str, legs: list[tuple[str, int]], now: datetime, world: AliasIndex) -> None:
    req = understand(text, now, world)
    assert [(leg.destination, leg.days) for leg in req.legs] == legs
    assert req.destination == legs[0][0]
    assert req.days == sum(days for _name, days in legs)
    for before, after in zip(req.legs, req.legs[1:], strict=False):  # contiguous, in order
        assert before.end_date is not None and after.start_date is not None
        assert (after.start_date - before.end_date).days == 1


def test_multi_city_starts_tomorrow_without_dates(now: datetime, world: AliasIndex) -> None:
    req = understand("北京5天然后上海3天", now, world)
    assert (req.start_date, req.end_date) == (date(2026, 11, 24), date(2026, 12, 1))


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("杭州和苏州玩5天", "各待几天"),
        ("Bangkok then Singapore next week", "How many"),
        ("下周三到下周日杭州3天然后苏州3天", "加起来是6天"),
    ],
)
def test_a_split_it_cannot_know_is_asked_back(text: str, asked: str, now: datetime, world: AliasIndex) -> None:
    with pytest.raises(BadDates) as caught:
        understand(text, now, world)
    assert asked in (caught.value.user_message or "")


def test_a_single_city_with_a_day_trip_name_is_not_multi_city(now: datetime, world: AliasIndex) -> None:
    req = understand("帮我做一个下周三到下周日杭州周边自驾游方案", now, world)
    assert req.legs == () and req.around


def test_follow_ups_to_a_multi_city_trip_keep_every_city(now: datetime, world: AliasIndex) -> None:
    from agents.understanding import amend

    trip = understand("北京5天然后上海3天", now, world)
    cheaper = amend(trip, "便宜点", now, world)
    assert cheaper is not None and [leg.destination for leg in cheaper.legs] == ["Beijing", "Shanghai"]
    moved = amend(trip, "改到下周一出发", now, world)
    assert moved is not None and moved.start_date == date(2026, 11, 30)
    assert [leg.start_date for leg in moved.legs] == [date(2026, 11, 30), date(2026, 12, 5)]
    with pytest.raises(BadDates) as caught:
        amend(trip, "改成6天", now, world)
    assert "怎么分" in (caught.value.user_message or "")
