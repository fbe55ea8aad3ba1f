"""The offline planner: the Hangzhou reference request and the planning rules."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise

import pytest

from agents.knowledge.catalog import Catalog
from agents.tools.climate import OfflineClimate
from agents.travel.offline_planner import OfflinePlanner
from agents.travel.phrases import PHRASES
from bot.errors import UnknownPlace
from bot.schemas import (
    Budget,
    Condition,
    Itinerary,
    Language,
    Place,
    TravelMode,
    TripRequest,
    WeatherDay,
    WeatherReport,
)
from bot.text import has_cjk

START, END = date(2026, 12, 2), date(2026, 12, 6)
HANGZHOU = Place(name="Hangzhou", country="China", latitude=30.27, longitude=120.16, timezone="Asia/Shanghai")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def planner(catalog: Catalog) -> OfflinePlanner:
    return OfflinePlanner(catalog)


def _request(**changes: object) -> TripRequest:
    base = TripRequest(
        destination="Hangzhou", start_date=START, end_date=END, mode=TravelMode.SELF_DRIVE,
        around=True, language=Language.ZH, text="帮我做一个下周三到下周日杭州周边自驾游方案",
    )
    return base.model_copy(update=changes)


def _day(offset: int, condition: Condition, chance: int) -> WeatherDay:
    return WeatherDay(date=START + timedelta(days=offset), condition=condition, temp_min_c=3,
                      temp_max_c=11, precipitation_probability=chance, source="forecast")


MIXED = WeatherReport(place=HANGZHOU, days=(
    _day(0, Condition.RAIN, 80), _day(1, Condition.SUNNY, 5), _day(2, Condition.CLOUDY, 65),
    _day(3, Condition.PARTLY_CLOUDY, 10), _day(4, Condition.DRIZZLE, 40),
))


def _texts(itinerary: Itinerary) -> list[str]:
    days = [[d.title, d.notes, *(a.name for a in d.activities)] for d in itinerary.days]
    return [itinerary.summary, *itinerary.tips, *(text for day in days for text in day)]


def test_reference_request_gives_one_day_per_date(planner: OfflinePlanner) -> None:
    itinerary = planner.plan(_request(), MIXED)
    assert [d.date for d in itinerary.days] == [START + timedelta(days=i) for i in range(5)]
    assert [d.weather for d in itinerary.days] == list(MIXED.days)


def test_wet_days_are_indoor_only_and_dry_days_go_outside(planner: OfflinePlanner) -> None:
    itinerary = planner.plan(_request(), MIXED)
    wet = [d for d in itinerary.days if d.weather is not None and d.weather.is_wet]
    dry = [d for d in itinerary.days if d.weather is not None and not d.weather.is_wet]
    assert len(wet) == 3 and len(dry) == 2
    for day in wet:
        assert all(a.indoor for a in day.activities), day.title
        assert "室内" in day.notes
    for day in dry:
        assert any(not a.indoor for a in day.activities), day.title


def test_around_trip_includes_day_trips_with_drive_times(planner: OfflinePlanner, catalog: Catalog) -> None:
    itinerary = planner.plan(_request(), MIXED)
    trip_names = {t.zh for t in catalog.get("Hangzhou").day_trips}
    trip_days = [d for d in itinerary.days if any(name in d.title for name in trip_names)]
    assert len(trip_days) >= 2
    for day in trip_days:
        drives = [a for a in day.activities if a.drive_hours is not None]
        assert len(drives) == 2 and all(a.drive_hours > 0 for a in drives)
        assert "自驾约" in day.title


def test_no_two_long_drives_in_a_row_and_a_light_last_day(planner: OfflinePlanner) -> None:
    long_trip = _request(end_date=START + timedelta(days=8))
    itinerary = planner.plan(long_trip, None)
    longest = [max((a.drive_hours or 0 for a in d.activities), default=0) for d in itinerary.days]
    assert not any(a >= 2 and b >= 2 for a, b in pairwise(longest))
    assert longest[-1] == 0


def test_reference_text_is_chinese(planner: OfflinePlanner) -> None:
    itinerary = planner.plan(_request(), MIXED)
    assert itinerary.destination == "杭州"
    for text in _texts(itinerary):
        assert has_cjk(text), text


def test_offline_weather_is_called_an_estimate(planner: OfflinePlanner, catalog: Catalog) -> None:
    weather = OfflineClimate(catalog).report("Hangzhou", START, END)
    itinerary = planner.plan(_request(), weather)
    assert "估计" in itinerary.summary
    assert all("气候常年值，并非预报" in d.notes for d in itinerary.days)  # typical weather, never a forecast


def test_english_kyoto_request_gets_english_text(planner: OfflinePlanner) -> None:
    request = TripRequest(destination="Kyoto", start_date=date(2027, 4, 5), end_date=date(2027, 4, 8),
                          language=Language.EN, interests=("temples",), budget=Budget.HIGH)
    itinerary = planner.plan(request, None)
    assert itinerary.destination == "Kyoto" and len(itinerary.days) == 4
    for text in _texts(itinerary):
        assert not has_cjk(text), text
    assert any(a.time == "09:00" for a in itinerary.days[0].activities)


def test_public_transport_only_uses_train_reachable_trips(planner: OfflinePlanner, catalog: Catalog) -> None:
    request = _request(mode=TravelMode.PUBLIC_TRANSPORT, language=Language.EN,
                       end_date=START + timedelta(days=6))
    itinerary = planner.plan(request, None)
    trips = catalog.get("Hangzhou").day_trips
    titles = [d.title for d in itinerary.days]
    assert any(t.startswith("Day trip to") for t in titles)
    for trip in trips:
        if not trip.train:
            assert not any(trip.en in title for title in titles), trip.en


def test_no_attraction_is_repeated_in_a_three_day_trip(planner: OfflinePlanner, catalog: Catalog) -> None:
    request = TripRequest(destination="北京", start_date=START, end_date=START + timedelta(days=2),
                          language=Language.EN, text="with two kids")
    itinerary = planner.plan(request, MIXED)
    sights = {a.en for a in catalog.get("Beijing").attractions}
    visited = [a.name for d in itinerary.days for a in d.activities if a.name in sights]
    assert len(visited) >= 4  # with children: at most two sights a day
    assert len(visited) == len(set(visited))
    assert any("children" in tip for tip in itinerary.tips)


def test_meals_and_times_on_every_day(planner: OfflinePlanner) -> None:
    itinerary = planner.plan(_request(), MIXED)
    for day in itinerary.days:
        assert any(a.name.startswith(("午餐", "晚餐")) for a in day.activities)
        assert all(re.fullmatch(r"\d\d:\d\d", a.time) for a in day.activities)
        times = [a.time for a in day.activities]
        assert times == sorted(times)


def test_plan_is_deterministic(planner: OfflinePlanner) -> None:
    assert planner.plan(_request(), MIXED) == planner.plan(_request(), MIXED)


def test_unknown_destination_is_never_planned(planner: OfflinePlanner) -> None:
    with pytest.raises(UnknownPlace):
        planner.plan(_request(destination="Narnia"), None)
    with pytest.raises(UnknownPlace):
        planner.plan(_request(destination=None), None)


def test_missing_dates_are_a_programming_error(planner: OfflinePlanner) -> None:
    with pytest.raises(ValueError, match="dates"):
        planner.plan(_request(start_date=None), None)


def test_every_phrase_exists_in_both_languages() -> None:
    for key, versions in PHRASES.items():
        assert set(versions) == set(Language), key


def test_interests_rank_matching_attractions_first(planner: OfflinePlanner) -> None:
    request = TripRequest(destination="Kyoto", start_date=date(2027, 4, 5), end_date=date(2027, 4, 6),
                          language=Language.EN, interests=("tea",))
    first_day = planner.plan(request, None).days[0]
    assert first_day.activities[0].name == "Tea ceremony experience"
