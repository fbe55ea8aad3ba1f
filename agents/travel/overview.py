"""The summary line and the practical tips of an offline itinerary."""

from __future__ import annotations

from collections.abc import Sequence

from bot.schemas import Budget, TravelMode, TripRequest

from .render import RenderContext, daily_spend
from .selection import DayChoice, Preferences

_MAX_TIPS = 6
_GROUP_SIZE = 5


def _estimated(days: Sequence[DayChoice]) -> bool:
    # Anything that is not a live forecast must be labelled as an estimate.
    return any(d.weather is not None and d.weather.source != "forecast" for d in days)


def summary(request: TripRequest, days: Sequence[DayChoice], ctx: RenderContext) -> str:
    """One or two sentences: length, kind of trip, dates, day trips and the weather's nature."""
    trips = [ctx.name(d.trip) for d in days if d.trip is not None]
    city_days = len(days) - len(trips)
    if trips:
        names = ("、" if ctx.zh else ", ").join(trips)
        key = "parts_trips" if city_days else "parts_trips_only"
        parts = ctx.say(key, count=len(trips), names=names, city_days=city_days)
    else:
        parts = ctx.say("parts_city", city_days=city_days)
    kind = {TravelMode.SELF_DRIVE: "kind_drive", TravelMode.PUBLIC_TRANSPORT: "kind_transit"}
    text = ctx.say(
        "summary",
        days=len(days),
        kind=ctx.say(kind.get(request.mode, "kind_plain")),
        where=ctx.say("where_around" if request.around else "where_in", city=ctx.city),
        start=days[0].date.isoformat(),
        end=days[-1].date.isoformat(),
        parts=parts,
    )
    if any(d.wet for d in days):
        text += ctx.say("summary_rain")
    if free := sum(d.free for d in days):
        text += ctx.say("summary_free", count=free)
    text += ("" if ctx.zh else " ") + daily_spend(ctx)
    return text + (ctx.say("summary_estimate") if _estimated(days) else "")


def tips(request: TripRequest, days: Sequence[DayChoice], prefs: Preferences, ctx: RenderContext) -> tuple[str, ...]:
    """Practical tips for this request: weather, transport, budget, party; at most six."""
    keys: list[tuple[str, dict[str, object]]] = []
    if _estimated(days):
        keys.append(("tip_estimate", {}))
    if request.mode is TravelMode.SELF_DRIVE:
        keys.append(("tip_drive", {}))
    elif request.mode is TravelMode.PUBLIC_TRANSPORT:
        keys.append(("tip_transit", {}))
    if any(d.wet for d in days):
        keys.append(("tip_rain", {}))
    if request.budget in (Budget.LOW, Budget.HIGH):
        keys.append((f"tip_budget_{request.budget.value}", {}))
    if prefs.kids:
        keys.append(("tip_kids", {}))
    if request.travelers >= _GROUP_SIZE:
        keys.append(("tip_group", {"count": request.travelers}))
    keys.append(("tip_booking", {}))
    return tuple(ctx.say(key, **values) for key, values in keys[:_MAX_TIPS])
