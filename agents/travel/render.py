"""Turns the planner's selections into user-facing activities, titles, notes and tips.

All decisions about *what* to do were taken in :mod:`agents.travel.selection`; this module
only decides *when* (a simple clock with meal windows) and *how to say it*.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agents.knowledge.models import Attraction, DayTrip, Highlight, Named
from agents.knowledge.rules import daily_cost
from bot.schemas import Activity, ActivityKind, Budget, DayKind, ItineraryDay, Language, WeatherDay

from .phrases import say
from .selection import DayChoice

_GAP_HOURS = 0.5  # walking / taxi between two sights
_HIGHLIGHT_HOURS = 1.5
_LUNCH_FROM, _DINNER_FROM = 11.5, 18.0
_CITY_START, _TRIP_START = 9.0, 8.0


@dataclass(frozen=True)
class RenderContext:
    """Request-wide facts the wording depends on."""

    language: Language
    city: str  # the base city's name in the request's language
    budget: Budget
    transit: bool  # public transport instead of driving
    around: bool
    country: str = ""
    arrive_from: str = ""  # the previous city of a multi-city trip, in the request's language
    transfer_hours: float = 0.0
    transfer_by: str = "train"  # "train", "drive" or "flight"
    slow: bool = False  # children or older people: a midday rest

    @property
    def zh(self) -> bool:
        """True when the answer is written in Chinese."""
        return self.language is Language.ZH

    def say(self, key: str, **values: object) -> str:
        """The phrase ``key`` in this context's language."""
        return say(self.language, key, **values)

    def name(self, item: Named) -> str:
        """The name of a sight, food or trip in this context's language."""
        return item.zh if self.zh else item.en


@dataclass(frozen=True)
class _Step:
    name: str
    description: str
    indoor: bool
    hours: float
    not_before: float = 0.0
    meal: bool = False
    drive_hours: float | None = None
    kind: ActivityKind = "sight"


def _clock(hours: float) -> str:
    whole = int(hours)
    return f"{whole:02d}:{round((hours - whole) * 60):02d}"


def _half_hour_ceil(hours: float) -> float:
    return math.ceil(hours * 2) / 2


def _schedule(steps: Sequence[_Step], start: float) -> tuple[Activity, ...]:
    activities: list[Activity] = []
    clock = start
    after_sight = False
    for step in steps:
        begins = _half_hour_ceil(max(clock, step.not_before))
        if step.meal and after_sight and clock > step.not_before + 1.0:
            begins = step.not_before  # a long visit runs through the meal: eat on site (never on a train)
        else:
            gap = 0.0 if step.drive_hours is not None else _GAP_HOURS
            clock = begins + step.hours + gap
        after_sight = step.kind == "sight" or (step.meal and after_sight)
        activities.append(Activity(time=_clock(begins), name=step.name, description=step.description,
                                   indoor=step.indoor, duration_hours=step.hours, drive_hours=step.drive_hours,
                                   kind=step.kind))
    return tuple(activities)


def _meal_steps(meals: Sequence[Named], ctx: RenderContext) -> list[_Step]:
    level = ctx.budget.value if ctx.budget in (Budget.LOW, Budget.HIGH) else "medium"
    description = ctx.say(f"meal_desc_{level}")
    kinds = (("lunch", 1.0, _LUNCH_FROM), ("dinner", 1.5, _DINNER_FROM))
    return [_Step(ctx.say(kind, food=ctx.name(food)), description, True, hours, start, meal=True, kind="meal")
            for (kind, hours, start), food in zip(kinds, meals, strict=False)]


def _snack_step(snack: Named | None, ctx: RenderContext) -> list[_Step]:
    if snack is None:
        return []
    return [_Step(ctx.say("snack", food=ctx.name(snack)), ctx.say("snack_desc"), True, 0.5, kind="snack")]


def _free_step(choice: DayChoice, ctx: RenderContext) -> _Step:
    return _Step(ctx.say("free_time", city=ctx.city), ctx.say("free_time_desc"), False, 3.0, kind="free")


def _transfer_step(ctx: RenderContext) -> _Step:
    hours = f"{ctx.transfer_hours:g}"
    name = ctx.say(f"transfer_{ctx.transfer_by}", origin=ctx.arrive_from, city=ctx.city)
    drive = ctx.transfer_hours if ctx.transfer_by == "drive" else None
    return _Step(name, ctx.say("transfer_desc", hours=hours), True, ctx.transfer_hours, drive_hours=drive,
                 kind="travel")


def _attraction_step(attraction: Attraction, ctx: RenderContext) -> _Step:
    description = attraction.desc_zh if ctx.zh else attraction.desc_en
    return _Step(ctx.name(attraction), description, attraction.indoor, attraction.hours)


def _city_steps(choice: DayChoice, ctx: RenderContext) -> list[_Step]:
    sights = [_attraction_step(a, ctx) for a in choice.attractions]
    if choice.free:
        sights.append(_free_step(choice, ctx))
    meals = _meal_steps(choice.meals, ctx)
    if choice.transfer:
        return [_transfer_step(ctx), *meals[:1], *sights, *_snack_step(choice.snack, ctx), *meals[1:]]
    # The snack goes between two afternoon sights when there are two, else before dinner.
    return [*sights[:1], *meals[:1], *sights[1:2], *_snack_step(choice.snack, ctx), *sights[2:], *meals[1:]]


def _highlight_step(highlight: Highlight, trip: DayTrip, hours: float, ctx: RenderContext) -> _Step:
    key = "highlight_desc_indoor" if highlight.indoor else "highlight_desc"
    return _Step(ctx.name(highlight), ctx.say(key, place=ctx.name(trip)), highlight.indoor, hours)


def _travel_steps(trip: DayTrip, ctx: RenderContext) -> tuple[_Step, _Step]:
    place, hours = ctx.name(trip), f"{trip.drive_hours:g}"
    mode = "transit" if ctx.transit else "drive"
    drive = None if ctx.transit else trip.drive_hours
    there = _Step(ctx.say(f"go_{mode}", place=place), ctx.say(f"go_{mode}_desc", hours=hours, city=ctx.city),
                  True, trip.drive_hours, drive_hours=drive, kind="travel")
    back = _Step(ctx.say(f"back_{mode}", city=ctx.city), ctx.say("back_desc", hours=hours),
                 True, trip.drive_hours, drive_hours=drive, kind="travel")
    return there, back


def _trip_steps(choice: DayChoice, trip: DayTrip, ctx: RenderContext) -> list[_Step]:
    there, back = _travel_steps(trip, ctx)
    hours = max(_HIGHLIGHT_HOURS, 3.0 / max(len(choice.highlights), 1))
    stops = [_highlight_step(h, trip, hours, ctx) for h in choice.highlights]
    meals = _meal_steps(choice.meals, ctx)
    return [there, *stops[:1], *meals[:1], *stops[1:], back, *meals[1:]]


def _weather_note(weather: WeatherDay | None, ctx: RenderContext) -> str:
    if weather is None:
        return ctx.say("no_weather_note")
    values = {"low": f"{weather.temp_min_c:.0f}", "high": f"{weather.temp_max_c:.0f}", "estimate": ""}
    if weather.source != "forecast":
        # Climate normals: what the month is usually like, never a claim about this day.
        rain, snow = weather.rain_days or 0, weather.snow_days or 0
        key = "typical_snow" if snow and not rain else "typical_mixed" if snow else "typical_rain"
        month = str(weather.date.month) if ctx.zh else f"{weather.date:%B}"
        return ctx.say(key, rain=rain, snow=snow, month=month, **values)
    if weather.expected_wet and weather.condition.value == "snow":
        return ctx.say("snow_note", chance=weather.precipitation_probability, **values)
    if weather.expected_wet:
        return ctx.say("wet_note", chance=weather.precipitation_probability, **values)
    return ctx.say("dry_note", **values)


def _title(choice: DayChoice, ctx: RenderContext) -> str:
    if choice.trip is not None:
        key = "trip_title_transit" if ctx.transit else "trip_title_drive"
        title = ctx.say(key, place=ctx.name(choice.trip), hours=f"{choice.trip.drive_hours:g}")
    elif choice.transfer:
        title = ctx.say("transfer_title", origin=ctx.arrive_from, city=ctx.city)
    elif choice.free:
        title = ctx.say("free_title", city=ctx.city)
    elif choice.last:
        title = ctx.say("last_title", city=ctx.city)
    else:
        title = ctx.say("city_title", city=ctx.city, first=ctx.name(choice.attractions[0]))
    snowy = choice.weather is not None and choice.weather.condition.value == "snow"
    suffix = "snowy_suffix" if snowy else "rainy_suffix"
    return title + (ctx.say(suffix) if choice.wet else "")


def _plan_b(choice: DayChoice, ctx: RenderContext) -> str:
    if choice.wet or choice.trip is not None:
        return ""
    if choice.alternative is not None:
        return ctx.say("plan_b", place=ctx.name(choice.alternative))
    if not any(a.indoor for a in choice.attractions):
        return ctx.say("plan_b_any")
    return ""


def daily_spend(ctx: RenderContext) -> str:
    """The rough spend per person per day for the context's budget, in yuan (Chinese) or dollars."""
    cny, usd = daily_cost(ctx.country, ctx.budget.value)
    return ctx.say("spend", cny=cny, usd=usd)


def _notes(choice: DayChoice, ctx: RenderContext) -> str:
    parts = [_weather_note(choice.weather, ctx)]
    if plan_b := _plan_b(choice, ctx):
        parts.append(plan_b)
    if ctx.slow and choice.trip is None and not choice.free:
        parts.append(ctx.say("slow_note"))
    if ctx.budget is not Budget.UNSPECIFIED:
        parts.append(daily_spend(ctx))
    if choice.free:
        parts.append(ctx.say("free_note"))
    if choice.trip is not None:
        parts.append(ctx.say("trip_note", hours=f"{choice.trip.drive_hours:g}"))
    elif choice.last:
        parts.append(ctx.say("last_note_home" if ctx.around else "last_note_depart"))
    return ("" if ctx.zh else " ").join(parts)


def render_day(choice: DayChoice, ctx: RenderContext) -> ItineraryDay:
    """The ItineraryDay of one selection, timed and worded for ``ctx``."""
    kind: DayKind
    if choice.trip is not None:
        activities, kind = _schedule(_trip_steps(choice, choice.trip, ctx), _TRIP_START), "trip"
    else:
        start = _TRIP_START if choice.transfer else _CITY_START
        activities = _schedule(_city_steps(choice, ctx), start)
        kind = "transfer" if choice.transfer else "free" if choice.free else "city"
    return ItineraryDay(date=choice.date, title=_title(choice, ctx), activities=activities,
                        weather=choice.weather, notes=_notes(choice, ctx), kind=kind, city=ctx.city)
