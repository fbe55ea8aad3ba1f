"""Plan-quality checks: does an itinerary honour the request, the weather and the rules of a good trip?

Used on every LLM-made plan (a plan that fails is sent back once with the violations, then replaced by
the offline planner's) and by ``tourguide bench plans`` to measure the offline planner. Each violation
names its rule, so the benchmark can report a pass rate per rule.

Activities without a ``kind`` (LLM plans) are classified by their shape: a drive time is travel, a
name starting with lunch / dinner / 午餐 / 晚餐 is a meal, anything else is a sight.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from agents.knowledge.models import Destination
from agents.knowledge.rules import is_pricey, is_snack, opening
from bot.schemas import Activity, ActivityKind, Budget, Itinerary, ItineraryDay, TripRequest, WeatherReport

RULES = (
    "dates",  # exactly the requested dates, in order
    "weather",  # no outdoor sight on a day a forecast says is wet
    "indoor_option",  # every day planned outdoors offers an indoor plan B
    "around",  # "周边 / around" requests get day trips
    "no_repeat",  # no sight twice in a trip
    "full_days",  # a full day has two sights or one long one
    "opening",  # sights on days they are open, in season
    "meals",  # lunch and dinner are meals, not snacks
    "pace",  # children / older people: at most two sights and about five hours a day
    "budget",  # a low budget skips expensive tickets and states a daily spend
)
LONG_SIGHT_HOURS = 3.5
SLOW_MAX_SIGHTS, SLOW_MAX_HOURS = 2, 5.5
_MEAL_NAME = re.compile(r"^\s*(?:lunch|dinner|午餐|晚餐|午饭|晚饭)\s*[:：]?\s*", re.IGNORECASE)
_SPEND = re.compile(r"预计花费|每人每天|rough spend|per person a day", re.IGNORECASE)
_PLAN_B = re.compile(r"雨|雪|rain|snow|weather turns|plan b", re.IGNORECASE)


@dataclass(frozen=True)
class Violation:
    """One broken rule, with a short sentence saying where."""

    rule: str
    message: str


def kind_of(activity: Activity) -> ActivityKind:
    """The activity's kind as stated, or as its shape suggests."""
    if activity.kind is not None:
        return activity.kind
    if activity.drive_hours is not None:
        return "travel"
    return "meal" if _MEAL_NAME.match(activity.name) else "sight"


def _sights(day: ItineraryDay) -> list[Activity]:
    return [a for a in day.activities if kind_of(a) == "sight"]


def check_plan(
    request: TripRequest, weather: WeatherReport | None, plan: Itinerary, destination: Destination | None = None
) -> list[str]:
    """Every rule the plan breaks, as short sentences (empty when it is fine)."""
    return [v.message for v in violations(request, weather, plan, destination)]


def violations(
    request: TripRequest, weather: WeatherReport | None, plan: Itinerary, destination: Destination | None = None
) -> list[Violation]:
    """Every rule the plan breaks; ``destination`` (the catalog entry) enables opening, meal and budget rules."""
    found = _date_problems(request, plan)
    wet = {d.date for d in weather.days if d.expected_wet} if weather else set()
    for day in plan.days:
        found += _day_problems(request, day, day.date in wet, destination)
    if request.around and request.days > 1 and not any(kind_of(a) == "travel" for d in plan.days
                                                       for a in d.activities):
        found.append(Violation("around", "a trip around the city has no day trip"))
    names = {a.name.casefold(): a.name for d in reversed(plan.days) for a in _sights(d)}  # as first written
    seen = Counter(a.name.casefold() for d in plan.days for a in _sights(d))
    found += [Violation("no_repeat", f"{names[key]} is planned {count} times")
              for key, count in seen.items() if count > 1]
    if request.budget is Budget.LOW and not any(_SPEND.search(t) for t in (plan.summary, *plan.tips)) and not any(
            _SPEND.search(d.notes) for d in plan.days):
        found.append(Violation("budget", "a low-budget plan gives no daily spend"))
    return found


def _day_problems(
    request: TripRequest, day: ItineraryDay, wet: bool, destination: Destination | None
) -> list[Violation]:
    found: list[Violation] = []
    sights = _sights(day)
    if not day.activities:
        found.append(Violation("full_days", f"{day.date}: no activities"))
    outdoor = [a.name for a in sights if not a.indoor]
    if wet and outdoor:
        found.append(Violation("weather", f"{day.date}: rain expected but outdoor {', '.join(outdoor)}"))
    if (not wet and sights and not any(a.indoor for a in day.activities if kind_of(a) in ("sight", "free"))
            and not _PLAN_B.search(day.notes) and day.kind not in ("trip",)
            and not any(kind_of(a) == "travel" for a in day.activities)):
        found.append(Violation("indoor_option", f"{day.date}: outdoors all day with no indoor plan B"))
    full = day.kind in (None, "city") and day.date not in (request.start_date, request.end_date)
    if full and not any(kind_of(a) in ("travel", "free") for a in day.activities) and not (
            len(sights) >= 2 or any(a.duration_hours >= LONG_SIGHT_HOURS for a in sights)):
        found.append(Violation("full_days", f"{day.date}: a full day with {len(sights)} short sight(s)"))
    slow = request.children > 0 or request.seniors > 0
    # One long sight (a national park, a theme park) is a day in itself; the rule is against cramming.
    cramming = len(sights) > 1 and sum(a.duration_hours for a in sights) > SLOW_MAX_HOURS
    if slow and (len(sights) > SLOW_MAX_SIGHTS or cramming):
        found.append(Violation("pace", f"{day.date}: too much for children or older people"))
    if destination is not None:
        found += _catalog_problems(request, day, destination)
    return found


def _catalog_problems(request: TripRequest, day: ItineraryDay, destination: Destination) -> list[Violation]:
    """Rules that need the catalog's facts: opening days and seasons, snacks, expensive tickets."""
    found: list[Violation] = []
    by_name = {name.casefold(): a for a in destination.attractions for name in (a.en, a.zh)}
    for activity in day.activities:
        attraction = by_name.get(activity.name.casefold())
        kind = kind_of(activity)
        if attraction is not None and kind == "sight":
            if not opening(destination, attraction).open_on(day.date):
                found.append(Violation("opening", f"{day.date}: {activity.name} is closed that day"))
            if request.budget is Budget.LOW and is_pricey(attraction):
                found.append(Violation("budget", f"{day.date}: {activity.name} is expensive for a low budget"))
        if kind == "meal":
            dish = _MEAL_NAME.sub("", activity.name).casefold()
            if any(is_snack(f.en) and dish in (f.en.casefold(), f.zh.casefold()) for f in destination.foods):
                found.append(Violation("meals", f"{day.date}: {activity.name} is a snack, not a meal"))
    return found


def _date_problems(request: TripRequest, plan: Itinerary) -> list[Violation]:
    if request.start_date is None or request.end_date is None:
        return [Violation("dates", "the request has no dates")]
    wanted = [request.start_date + timedelta(days=i) for i in range(request.days)]
    got = [d.date for d in plan.days]
    if got == wanted:
        return []
    return [Violation("dates", f"dates {got[:1]}..{got[-1:]} ({len(got)} days) instead of {request.days} days")]
