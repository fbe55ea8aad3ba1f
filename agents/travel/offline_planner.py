"""The offline planner: a deterministic, rule-based itinerary from the built-in catalog.

This is what answers when there is no LLM key and no network. It never invents places:
an unknown destination raises :class:`~bot.errors.UnknownPlace`. Weather, when given, is
matched to each date by day; wet days get indoor plans only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from agents.knowledge.catalog import Catalog
from agents.knowledge.models import Destination
from bot.errors import UnknownPlace
from bot.schemas import Itinerary, Language, TravelMode, TripRequest, WeatherDay, WeatherReport

from .legs import transfer
from .overview import summary, tips
from .render import RenderContext, render_day
from .selection import choose_days, preferences

MAX_DAYS = 60


def _dates(request: TripRequest) -> list[date]:
    start, end = request.start_date, request.end_date
    if start is None or end is None:
        raise ValueError("the trip request has no resolved dates")
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"{count}-day trip is longer than the {MAX_DAYS} days the planner handles")
    return [start + timedelta(days=offset) for offset in range(count)]


def _weather_by_date(weather: WeatherReport | None, dates: list[date]) -> list[WeatherDay | None]:
    known = {day.date: day for day in weather.days} if weather is not None else {}
    return [known.get(day) for day in dates]


class OfflinePlanner:
    """Builds itineraries from the catalog with fixed, explainable rules (no LLM)."""

    def __init__(self, catalog: Catalog) -> None:
        """Plan trips to the destinations of ``catalog``."""
        self._catalog = catalog

    def destination(self, name: str) -> Destination | None:
        """The catalog entry of ``name`` (for the plan checks), or None when the catalog has no sights for it."""
        try:
            return self._catalog.get(name)
        except UnknownPlace:
            return None

    def where(self, name: str, language: Language) -> str:
        """The place's name with its country ("婺源（China）"), or the name as given when it is unknown."""
        try:
            place = self._catalog.place(name)
        except UnknownPlace:
            return name
        local = self._catalog.local_name(place.name, language)
        return f"{local}（{place.country}）" if language is Language.ZH else f"{local} ({place.country})"

    def plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        """One ItineraryDay per date of ``request``, using ``weather`` where it covers the date.

        Raises ValueError when the request has no dates (or reversed / overlong ones) and
        UnknownPlace when its destination is missing or not in the catalog.
        """
        dates = _dates(request)
        if not request.destination:
            raise UnknownPlace("the trip request has no destination")
        destination = self._catalog.get(request.destination)
        prefs = preferences(request)
        choices = choose_days(destination, dates, _weather_by_date(weather, dates), prefs)
        chinese = request.language is Language.ZH
        ctx = RenderContext(
            language=request.language,
            city=destination.label(chinese),
            budget=request.budget,
            transit=request.mode is TravelMode.PUBLIC_TRANSPORT,
            around=request.around,
            country=destination.country,
            slow=prefs.slow,
            **self._arrival(request, chinese),
        )
        return Itinerary(
            destination=destination.label(chinese),
            days=tuple(render_day(choice, ctx) for choice in choices),
            summary=summary(request, choices, ctx),
            tips=tips(request, choices, prefs, ctx),
        )

    def _arrival(self, request: TripRequest, chinese: bool) -> dict[str, Any]:
        """The transfer that opens a multi-city leg: from the previous city, by train, car or plane."""
        if not request.arrive_from or not request.destination:
            return {}
        try:
            origin = self._catalog.place(request.arrive_from)
            name = self._catalog.local_name(request.arrive_from, request.language)
        except UnknownPlace:
            return {"arrive_from": request.arrive_from, "transfer_hours": 3.0}
        move = transfer(origin, self._catalog.place(request.destination), request.mode is TravelMode.SELF_DRIVE)
        return {"arrive_from": name, "transfer_hours": move.hours, "transfer_by": move.by}
