"""Plan-quality checks on hand-made plans."""

from __future__ import annotations

from datetime import date

from agents.travel.checks import check_plan
from bot.schemas import Activity, Condition, Itinerary, ItineraryDay, Place, TripRequest, WeatherDay, WeatherReport

REQUEST = TripRequest(destination="Hangzhou", start_date=date(2026, 12, 2), end_date=date(2026, 12, 3), around=True)
WEATHER = WeatherReport(place=Place(name="Hangzhou", latitude=30.3, longitude=120.2), days=(
    WeatherDay(date=date(2026, 12, 2), condition=Condition.RAIN, temp_min_c=6, temp_max_c=12,
               precipitation_probability=80, source="forecast"),
    WeatherDay(date=date(2026, 12, 3), condition=Condition.SUNNY, temp_min_c=4, temp_max_c=14,
               precipitation_probability=5, source="forecast"),
))
MUSEUM = Activity(time="09:00", name="Museum", indoor=True)
LAKE = Activity(time="09:00", name="West Lake", indoor=False)
DRIVE = Activity(time="08:00", name="Drive to Wuzhen", indoor=True, drive_hours=1.5)


def _plan(*days: tuple[date, tuple[Activity, ...]]) -> Itinerary:
    return Itinerary(destination="Hangzhou", days=tuple(
        ItineraryDay(date=d, title="t", activities=a, notes="Plan B if it rains: the museum.") for d, a in days))


def test_a_good_plan_passes() -> None:
    plan = _plan((date(2026, 12, 2), (DRIVE, MUSEUM)), (date(2026, 12, 3), (LAKE,)))
    assert check_plan(REQUEST, WEATHER, plan) == []


def test_outdoor_on_a_rainy_day_wrong_dates_and_no_day_trip_are_reported() -> None:
    plan = _plan((date(2026, 12, 2), (LAKE,)), (date(2026, 12, 4), (MUSEUM,)))
    problems = check_plan(REQUEST, WEATHER, plan)
    assert any("rain expected but outdoor West Lake" in p for p in problems)
    assert any(p.startswith("dates") for p in problems)
    assert "a trip around the city has no day trip" in problems
