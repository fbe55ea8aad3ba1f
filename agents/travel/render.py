"""Turns the planner's selections into user-facing activities, titles, notes and tips.

All decisions about *what* to do were taken in :mod:`agents.travel.selection`; this module
only decides *when* (a simple clock with meal windows) and *how to say it*.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agents.knowledge.models import Attraction, DayTrip, Highlight, Named
from bot.schemas import Activity, Budget, ItineraryDay, Language, WeatherDay

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


def _clock(hours: float) -> str:
    whole = int(hours)
    return f"{whole:02d}:{round((hours - whole) * 60):02d}"


def _half_hour_ceil(hours: float) -> float:
    return math.ceil(hours * 2) / 2


def _schedule(steps: Sequence[_Step], start: float) -> tuple[Activity, ...]:
    activities: list[Activity] = []
    clock = start
    for step in steps:
        begins = _half_hour_ceil(max(clock, step.not_before))
        if step.meal and clock > step.not_before + 1.0:
            begins = step.not_before  # a long visit runs through the meal: eat on site
        else:
            gap = 0.0 if step.drive_hours is not None else _GAP_HOURS
            clock = begins + step.hours + gap
        activities.append(Activity(time=_clock(begins), name=step.name, description=step.description,
                                   indoor=step.indoor, duration_hours=step.hours, drive_hours=step.drive_hours))
    return tuple(activities)


def _meal_steps(meals: Sequence[Named], ctx: RenderContext) -> list[_Step]:
    level = ctx.budget.value if ctx.budget in (Budget.LOW, Budget.HIGH) else "medium"
    description = ctx.say(f"meal_desc_{level}")
    kinds = (("lunch", 1.0, _LUNCH_FROM), ("dinner", 1.5, _DINNER_FROM))
    return [_Step(ctx.say(kind, food=ctx.name(food)), description, True, hours, start, meal=True)
            for (kind, hours, start), food in zip(kinds, meals, strict=False)]


def _attraction_step(attraction: Attraction, ctx: RenderContext) -> _Step:
    description = attraction.desc_zh if ctx.zh else attraction.desc_en
    return _Step(ctx.name(attraction), description, attraction.indoor, attraction.hours)


def _city_steps(choice: DayChoice, ctx: RenderContext) -> list[_Step]:
    sights = [_attraction_step(a, ctx) for a in choice.attractions]
    meals = _meal_steps(choice.meals, ctx)
    return [*sights[:1], *meals[:1], *sights[1:], *meals[1:]]


def _highlight_step(highlight: Highlight, trip: DayTrip, hours: float, ctx: RenderContext) -> _Step:
    key = "highlight_desc_indoor" if highlight.indoor else "highlight_desc"
    return _Step(ctx.name(highlight), ctx.say(key, place=ctx.name(trip)), highlight.indoor, hours)


def _travel_steps(trip: DayTrip, ctx: RenderContext) -> tuple[_Step, _Step]:
    place, hours = ctx.name(trip), f"{trip.drive_hours:g}"
    mode = "transit" if ctx.transit else "drive"
    drive = None if ctx.transit else trip.drive_hours
    there = _Step(ctx.say(f"go_{mode}", place=place), ctx.say(f"go_{mode}_desc", hours=hours, city=ctx.city),
                  True, trip.drive_hours, drive_hours=drive)
    back = _Step(ctx.say(f"back_{mode}", city=ctx.city), ctx.say("back_desc", hours=hours),
                 True, trip.drive_hours, drive_hours=drive)
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
    estimate = ctx.say("estimate") if weather.source != "forecast" else ""
    values = {"low": f"{weather.temp_min_c:.0f}", "high": f"{weather.temp_max_c:.0f}", "estimate": estimate}
    if weather.is_wet:
        return ctx.say("wet_note", chance=weather.precipitation_probability, **values)
    return ctx.say("dry_note", **values)


def _title(choice: DayChoice, ctx: RenderContext) -> str:
    if choice.trip is not None:
        key = "trip_title_transit" if ctx.transit else "trip_title_drive"
        title = ctx.say(key, place=ctx.name(choice.trip), hours=f"{choice.trip.drive_hours:g}")
    elif choice.last:
        title = ctx.say("last_title", city=ctx.city)
    else:
        title = ctx.say("city_title", city=ctx.city, first=ctx.name(choice.attractions[0]))
    return title + (ctx.say("rainy_suffix") if choice.wet else "")


def _notes(choice: DayChoice, ctx: RenderContext) -> str:
    parts = [_weather_note(choice.weather, ctx)]
    if choice.trip is not None:
        parts.append(ctx.say("trip_note", hours=f"{choice.trip.drive_hours:g}"))
    elif choice.last:
        parts.append(ctx.say("last_note_home" if ctx.around else "last_note_depart"))
    return ("" if ctx.zh else " ").join(parts)


def render_day(choice: DayChoice, ctx: RenderContext) -> ItineraryDay:
    """The ItineraryDay of one selection, timed and worded for ``ctx``."""
    if choice.trip is not None:
        activities = _schedule(_trip_steps(choice, choice.trip, ctx), _TRIP_START)
    else:
        activities = _schedule(_city_steps(choice, ctx), _CITY_START)
    return ItineraryDay(date=choice.date, title=_title(choice, ctx), activities=activities,
                        weather=choice.weather, notes=_notes(choice, ctx))
