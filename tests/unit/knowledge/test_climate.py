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


def test_temperatures_are_the_monthly_normals(climate: OfflineClimate) -> None:
    december = Catalog.load().get("Hangzhou").month(12)
    for day in climate.report("Hangzhou", START, END).days:
        assert (day.temp_min_c, day.temp_max_c) == (december.min_c, december.max_c)  # typical, not invented
        assert day.temp_min_c < day.temp_max_c


def test_no_day_is_presented_as_wet(climate: OfflineClimate) -> None:
    # Climate normals say how often it rains in a month, never that it rains on a given day.
    days = climate.days("Guilin", date(2026, 4, 1), date(2026, 6, 30), source="offline")
    assert not any(d.expected_wet for d in days)
    assert {d.condition for d in days} <= {Condition.SUNNY, Condition.PARTLY_CLOUDY, Condition.CLOUDY, Condition.FOG}
    may = next(d for d in days if d.date.month == 5)
    normals = Catalog.load().get("Guilin").month(5)
    assert may.precipitation_probability == normals.wet_pct
    assert may.rain_days == round(31 * normals.wet_pct / 100) and may.snow_days == 0


def test_wet_share_follows_the_normals(climate: OfflineClimate) -> None:
    dry_place = climate.days("Dubai", date(2026, 6, 1), date(2026, 6, 1))[0]
    wet_place = climate.days("Guilin", date(2026, 6, 1), date(2026, 6, 1))[0]
    assert (dry_place.rain_days or 0) < (wet_place.rain_days or 0)


def test_freezing_months_have_snow_days_not_rain_days(climate: OfflineClimate) -> None:
    january = climate.days("Harbin", date(2027, 1, 1), date(2027, 1, 1))[0]
    assert january.rain_days == 0 and (january.snow_days or 0) > 0


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
