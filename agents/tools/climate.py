"""Weather estimates from the catalog's monthly climate normals.

Used in two ways: as the whole weather source when the bot runs offline (``source="offline"``),
and by the live weather agent for days beyond the 16-day forecast horizon
(``source="climate"``). Either way the figures are averages, never a forecast, and the
report says so. Only catalog destinations get an estimate: an unknown place raises
:class:`~bot.errors.UnknownPlace` instead of receiving invented weather.

No day is ever presented as rainy: every day carries the month's typical range, its typical dry-day
sky, and how many days of that month usually see rain or snow (``rain_days`` / ``snow_days``). Plans
keep an indoor alternative every day instead of betting on invented wet days. Snow is reported as
snow where the month's mean temperature is near or below freezing.
"""

from __future__ import annotations

from datetime import date, timedelta

from agents.knowledge.catalog import Catalog
from agents.knowledge.models import ClimateMonth, Destination
from bot.schemas import WeatherDay, WeatherReport, WeatherSource

OFFLINE_NOTE = "Offline estimate from climate normals (no live forecast)"
CLIMATE_NOTE = "Climate averages for days beyond the forecast horizon (not a forecast)"
MAX_DAYS = 366


_SNOW_MEAN_C = 0.0  # at or below this monthly mean, precipitation falls as snow
_MIXED_MEAN_C = 4.0  # up to this mean, about half of it does


def _days_in_month(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - date(day.year, day.month, 1)).days


def wet_days(normals: ClimateMonth, day: date) -> tuple[int, int]:
    """(rain days, snow days) in a typical ``day.month`` at these normals."""
    wet = round(_days_in_month(day) * normals.wet_pct / 100)
    mean = (normals.min_c + normals.max_c) / 2
    if mean <= _SNOW_MEAN_C:
        return 0, wet
    if mean <= _MIXED_MEAN_C:
        return wet - wet // 2, wet // 2
    return wet, 0


def climate_day(destination: Destination, day: date, source: WeatherSource = "climate") -> WeatherDay:
    """The climate normals of one day at ``destination``, labelled with ``source``: typical, not a forecast."""
    return normal_day(destination.climate, day, source)


def normal_day(climate: tuple[ClimateMonth, ...], day: date, source: WeatherSource = "climate") -> WeatherDay:
    """The normals of ``day``'s month from twelve monthly normals."""
    normals = climate[day.month - 1]
    rain, snow = wet_days(normals, day)
    return WeatherDay(
        date=day,
        condition=normals.dry_condition,
        temp_min_c=normals.min_c,
        temp_max_c=normals.max_c,
        precipitation_probability=normals.wet_pct,  # the share of the month's days with precipitation
        source=source,
        rain_days=rain,
        snow_days=snow,
    )


def _dates(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"{count} days requested, at most {MAX_DAYS}")
    return [start + timedelta(days=offset) for offset in range(count)]


class OfflineClimate:
    """Weather estimates for catalog destinations, from climate normals only."""

    def __init__(self, catalog: Catalog) -> None:
        """Estimate weather for the destinations of ``catalog``."""
        self._catalog = catalog

    def days(
        self, destination: str, start: date, end: date, source: WeatherSource = "climate"
    ) -> tuple[WeatherDay, ...]:
        """One estimated WeatherDay per date from ``start`` to ``end`` inclusive.

        Raises UnknownPlace for a destination not in the catalog and ValueError for
        reversed dates or a range longer than a year.
        """
        found = self._catalog.climate(destination)
        if found is None:
            return ()
        return tuple(normal_day(found[0], day, source) for day in _dates(start, end))

    def report(self, destination: str, start: date, end: date) -> WeatherReport:
        """An offline weather report (``source="offline"``) clearly labelled as an estimate.

        Raises UnknownPlace for a destination not in the catalog, ValueError for bad dates.
        """
        place = self._catalog.place(destination)
        found = self._catalog.climate(destination)
        days = self.days(destination, start, end, source="offline")
        if found is None:
            note = f"No climate figures offline for {place.name}"
        elif found[1] != place.name:
            note = f"{OFFLINE_NOTE}; normals of nearby {found[1]}"
        else:
            note = OFFLINE_NOTE
        return WeatherReport(place=place, days=days, note=note)
