"""amend: follow-ups change only what they mention; new requests give None."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from agents.understanding import AliasIndex, amend, understand
from bot.schemas import Budget, TravelMode, TripRequest

FIRST = "帮我做一个下周三到下周日杭州周边自驾游方案"  # Hangzhou, 2026-12-02..06, self-drive, around


@pytest.fixture
def previous(now: datetime, places: AliasIndex) -> TripRequest:
    """The reference request, as understood."""
    return understand(FIRST, now, places)


def _changed(before: TripRequest, after: TripRequest) -> dict[str, Any]:
    return {
        field: value
        for field, value in after.model_dump().items()
        if field != "text" and value != getattr(before, field)
    }


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("改成3天", {"end_date": date(2026, 12, 4)}),
        ("改为两天", {"end_date": date(2026, 12, 3)}),
        ("make it 3 days", {"end_date": date(2026, 12, 4)}),
        ("only 2 days", {"end_date": date(2026, 12, 3)}),
        ("加一天", {"end_date": date(2026, 12, 7)}),
        ("再加两天", {"end_date": date(2026, 12, 8)}),
        ("one more day", {"end_date": date(2026, 12, 7)}),
        ("add a day", {"end_date": date(2026, 12, 7)}),
        ("少一天", {"end_date": date(2026, 12, 5)}),
        ("one day less", {"end_date": date(2026, 12, 5)}),
        ("make it cheaper", {"budget": Budget.LOW}),
        ("便宜点", {"budget": Budget.LOW}),
        ("预算低一点", {"budget": Budget.LOW}),
        ("more luxurious", {"budget": Budget.HIGH}),
        ("换成上海", {"destination": "Shanghai"}),
        ("改去苏州", {"destination": "Suzhou"}),
        ("go to Suzhou instead", {"destination": "Suzhou"}),
        ("上海呢？", {"destination": "Shanghai"}),
        ("改去乌镇", {"destination": "乌镇"}),  # unknown: kept as written, the supervisor reports it
        ("改成公共交通", {"mode": TravelMode.PUBLIC_TRANSPORT}),
        ("不开车了", {"mode": TravelMode.PUBLIC_TRANSPORT}),
        ("by train instead", {"mode": TravelMode.PUBLIC_TRANSPORT}),
        ("switch to public transport", {"mode": TravelMode.PUBLIC_TRANSPORT}),
        ("改成4个人", {"travelers": 4}),
        ("for 4 people", {"travelers": 4}),
        ("改到下周末", {"start_date": date(2026, 12, 5), "end_date": date(2026, 12, 9)}),
        ("move it to next weekend", {"start_date": date(2026, 12, 5), "end_date": date(2026, 12, 9)}),
        ("改到下下周末玩两天", {"start_date": date(2026, 12, 12), "end_date": date(2026, 12, 13)}),
        ("改到12月10日到12日", {"start_date": date(2026, 12, 10), "end_date": date(2026, 12, 12)}),
        ("我想多吃点美食", {"interests": ("food",)}),
        ("more food", {"interests": ("food",)}),
        ("便宜点，改成4个人", {"budget": Budget.LOW, "travelers": 4}),
    ],
)
def test_follow_up(
    text: str, changes: dict[str, Any], previous: TripRequest, now: datetime, places: AliasIndex
) -> None:
    amended = amend(previous, text, now, places)
    assert amended is not None
    assert _changed(previous, amended) == changes


@pytest.mark.parametrize(
    "text",
    [
        "去苏州玩三天",
        "two nights in Tokyo from Dec 18",
        "换成上海，下周末",  # destination and dates: a full new request
        "明天上海天气怎么样",  # a weather question
        "苏州下周末",  # another place without 换成 / instead
        "asdkjh qwe",
        "",
    ],
)
def test_new_request_is_not_a_follow_up(text: str, previous: TripRequest, now: datetime, places: AliasIndex) -> None:
    assert amend(previous, text, now, places) is None


def test_interests_are_added_not_replaced(now: datetime, places: AliasIndex) -> None:
    previous = understand("杭州三天，想看博物馆", now, places)
    amended = amend(previous, "more food", now, places)
    assert amended is not None
    assert amended.interests == ("museums", "food")


def test_new_length_without_previous_dates_starts_tomorrow(now: datetime, places: AliasIndex) -> None:
    previous = understand("帮我规划杭州行程", now, places)
    amended = amend(previous, "改成3天", now, places)
    assert amended is not None
    assert (amended.start_date, amended.end_date) == (date(2026, 11, 24), date(2026, 11, 26))


def test_shortening_never_ends_before_the_start(previous: TripRequest, now: datetime, places: AliasIndex) -> None:
    amended = amend(previous, "少十天", now, places)
    assert amended is not None
    assert amended.end_date == amended.start_date == date(2026, 12, 2)


def test_text_keeps_the_conversation(previous: TripRequest, now: datetime, places: AliasIndex) -> None:
    amended = amend(previous, "/trip 便宜点", now, places)
    assert amended is not None
    assert amended.text == f"{FIRST}\n便宜点"
