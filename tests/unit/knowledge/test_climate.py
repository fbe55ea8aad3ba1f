"""Offline weather from climate normals: deterministic, labelled, never invented."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agents.knowledge.catalog import Catalog
from agents.tools.climate import OFFLINE_NOTE, OfflineClimate, climate_day
from bot.errors import UnknownPlace
from bot.schemas import Condition

START, END = date(2026, 12, 2), date(2026, 12, 6)


@pytest.fixture(scope="module")
def climate() -> OfflineClimate:
    return OfflineClimate(Catalog.load())


def test_report_covers_exactly_the_requested_dates(climate: OfflineClimate) -> None:
    report = climate.report("杭州", START, END)
    assert [d.date for d in report.days] == [START + timedelta(days=i) for i in range(5)]
    assert report.place.name == "Hangzhou"


def test_report_is_labelled_offline_and_an_estimate(climate: OfflineClimate) -> None:
    report = climate.report("Hangzhou", START, END)
    assert all(d.source == "offline" for d in report.days)
    assert report.note == OFFLINE_NOTE
    assert "estimate" in report.note.lower() and "no live forecast" in report.note


def test_report_is_deterministic(climate: OfflineClimate) -> None:
    assert climate.report("Hangzhou", START, END) == climate.report("hangzhou", START, END)


def test_temperatures_stay_near_the_monthly_normals(climate: OfflineClimate) -> None:
    december = Catalog.load().get("Hangzhou").month(12)
    for day in climate.report("Hangzhou", START, END).days:
        assert abs(day.temp_min_c - december.min_c) <= 2.0
        assert abs(day.temp_max_c - december.max_c) <= 2.0
        assert day.temp_min_c < day.temp_max_c


def test_wet_decision_matches_the_probability(climate: OfflineClimate) -> None:
    days = climate.days("Hangzhou", date(2026, 3, 1), date(2026, 6, 30), source="offline")
    wet = [d for d in days if d.is_wet]
    assert 0 < len(wet) < len(days)  # a mix, roughly at the spring wet-day rate
    for day in days:
        assert (day.precipitation_probability >= 60) == (day.condition not in {
            Condition.SUNNY, Condition.PARTLY_CLOUDY, Condition.CLOUDY, Condition.FOG})


def test_wet_share_follows_the_normals(climate: OfflineClimate) -> None:
    dry_place = climate.days("Dubai", date(2026, 6, 1), date(2026, 8, 31))
    wet_place = climate.days("Guilin", date(2026, 4, 1), date(2026, 6, 30))
    assert sum(d.is_wet for d in dry_place) < sum(d.is_wet for d in wet_place)


def test_freezing_wet_days_are_snow(climate: OfflineClimate) -> None:
    days = climate.days("Harbin", date(2027, 1, 1), date(2027, 1, 31))
    assert {d.condition for d in days if d.is_wet} == {Condition.SNOW}


def test_climate_days_for_the_live_agent_are_labelled_climate(climate: OfflineClimate) -> None:
    days = climate.days("Kyoto", date(2027, 4, 1), date(2027, 4, 3))
    assert [d.source for d in days] == ["climate"] * 3
    kyoto = Catalog.load().get("Kyoto")
    assert climate_day(kyoto, date(2027, 4, 1)) == days[0]


def test_unknown_place_gets_no_weather(climate: OfflineClimate) -> None:
    with pytest.raises(UnknownPlace):
        climate.report("Gotham", START, END)


def test_reversed_dates_are_rejected(climate: OfflineClimate) -> None:
    with pytest.raises(ValueError, match="before"):
        climate.report("Hangzhou", END, START)
