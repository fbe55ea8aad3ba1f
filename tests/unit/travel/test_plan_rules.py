"""The plan rules of issue 12, on the offline planner and on hand-made (LLM-like) plans."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agents.knowledge.catalog import Catalog
from agents.knowledge.rules import opening
from agents.tools.climate import OfflineClimate
from agents.travel.checks import violations
from agents.travel.offline_planner import OfflinePlanner
from bot.schemas import Activity, Budget, Itinerary, ItineraryDay, Language, TripRequest

CATALOG = Catalog.load()
PLANNER = OfflinePlanner(CATALOG)
CLIMATE = OfflineClimate(CATALOG)


def _request(place: str, start: date, days: int, **extra: object) -> TripRequest:
    return TripRequest(destination=place, start_date=start, end_date=start + timedelta(days=days - 1),
                       language=Language.EN, **extra)  # type: ignore[arg-type]


def _rules(request: TripRequest, plan: Itinerary) -> set[str]:
    assert request.destination and request.start_date and request.end_date
    weather = CLIMATE.report(request.destination, request.start_date, request.end_date)
    return {v.rule for v in violations(request, weather, plan, CATALOG.get(request.destination))}


def _sights(plan: Itinerary) -> list[str]:
    return [a.name for d in plan.days for a in d.activities if a.kind == "sight"]


@pytest.mark.parametrize("days", [5, 7, 10, 14])
def test_long_stays_never_recycle_a_sight(days: int) -> None:
    request = _request("Kyoto", date(2026, 12, 7), days)
    plan = PLANNER.plan(request, CLIMATE.report("Kyoto", request.start_date, request.end_date))  # type: ignore[arg-type]
    sights = _sights(plan)
    assert len(sights) == len(set(sights))
    kinds = [d.kind for d in plan.days]
    assert kinds.count("trip") >= min(3, days // 3)  # day trips fill in before any free day
    assert _rules(request, plan) == set()


def test_ice_and_snow_world_only_in_its_season() -> None:
    harbin = CATALOG.get("Harbin")
    ice = next(a for a in harbin.attractions if a.en == "Harbin Ice and Snow World")
    assert opening(harbin, ice).open_on(date(2027, 1, 15))
    assert not opening(harbin, ice).open_on(date(2027, 7, 15))
    summer = _request("Harbin", date(2027, 7, 12), 3)
    plan = PLANNER.plan(summer, None)
    assert "Harbin Ice and Snow World" not in _sights(plan)


def test_monday_closures_are_respected() -> None:
    monday = date(2026, 12, 7)
    plan = PLANNER.plan(_request("Beijing", monday, 1), None)
    assert "Forbidden City (Palace Museum)" not in _sights(plan)
    assert "National Museum of China" not in _sights(plan)


def test_children_slow_the_pace_and_budget_changes_the_plan() -> None:
    start = date(2026, 12, 8)
    family = PLANNER.plan(_request("Tokyo", start, 3, travelers=4, children=2), None)
    assert all(len([a for a in d.activities if a.kind == "sight"]) <= 2 for d in family.days)
    cheap = PLANNER.plan(_request("Tokyo", start, 3, budget=Budget.LOW), None)
    plush = PLANNER.plan(_request("Tokyo", start, 3, budget=Budget.HIGH), None)
    assert "teamLab Planets" not in _sights(cheap)  # pricey tickets dropped on a tight budget
    assert "US$" in cheap.summary and cheap.summary != plush.summary  # a daily spend, lower when cheap
    assert any("US$" in d.notes for d in cheap.days)


def test_meals_are_meals_even_where_the_foods_are_snacks() -> None:
    plan = PLANNER.plan(_request("Amsterdam", date(2026, 12, 8), 2), None)
    meals = [a.name for d in plan.days for a in d.activities if a.kind == "meal"]
    assert meals and not any("Stroopwafel" in m or "Bitterballen" in m for m in meals)


def _day(day: date, *names: str, notes: str = "Plan B if it rains: a museum.") -> ItineraryDay:
    return ItineraryDay(date=day, title="t", notes=notes, activities=tuple(
        Activity(time=f"{9 + 2 * i:02d}:00", name=name, duration_hours=2) for i, name in enumerate(names)))


def test_the_checker_names_each_broken_rule_of_an_llm_like_plan() -> None:
    start = date(2026, 12, 7)  # a Monday
    request = _request("Beijing", start, 3, children=1, travelers=3, budget=Budget.LOW)
    plan = Itinerary(destination="Beijing", days=(
        _day(start, "Forbidden City (Palace Museum)", "Lunch: Tanghulu candied haws"),
        _day(start + timedelta(days=1), "Temple of Heaven", notes=""),
        _day(start + timedelta(days=2), "Temple of Heaven", "Summer Palace", "Lama Temple"),
    ))
    assert _rules(request, plan) == {"opening", "meals", "full_days", "indoor_option", "no_repeat", "pace",
                                     "budget"}
