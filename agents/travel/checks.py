"""Plan-quality checks: does an itinerary honour the request and the weather?

Used on every LLM-made plan (a plan that fails is replaced by the offline planner's) and by
``tourguide bench plans`` to measure the offline planner over many requests.
"""

from __future__ import annotations

from datetime import timedelta

from bot.schemas import Activity, Itinerary, TripRequest, WeatherReport


def _is_leg(activity: Activity) -> bool:
    """Driving there and back is neither indoor nor outdoor sightseeing."""
    return activity.drive_hours is not None


def check_plan(request: TripRequest, weather: WeatherReport | None, plan: Itinerary) -> list[str]:
    """Every rule the plan breaks, as short sentences (empty when it is fine)."""
    problems = _date_problems(request, plan)
    wet = {d.date for d in weather.days if d.is_wet} if weather else set()
    for day in plan.days:
        if not day.activities:
            problems.append(f"{day.date}: no activities")
        outdoor = [a.name for a in day.activities if not a.indoor and not _is_leg(a)]
        if day.date in wet and outdoor:
            problems.append(f"{day.date}: rain expected but outdoor {', '.join(outdoor)}")
    if request.around and request.days > 1 and not any(_is_leg(a) for d in plan.days for a in d.activities):
        problems.append("a trip around the city has no day trip")
    return problems


def _date_problems(request: TripRequest, plan: Itinerary) -> list[str]:
    if request.start_date is None or request.end_date is None:
        return ["the request has no dates"]
    wanted = [request.start_date + timedelta(days=i) for i in range(request.days)]
    got = [d.date for d in plan.days]
    return [] if got == wanted else [f"dates {got[:1]}..{got[-1:]} ({len(got)} days) instead of {request.days} days"]
