"""Weather estimates from the catalog's monthly climate normals.

Used in two ways: as the whole weather source when the bot runs offline (``source="offline"``),
and by the live weather agent for days beyond the 16-day forecast horizon
(``source="climate"``). Either way the figures are averages, never a forecast, and the
report says so. Only catalog destinations get an estimate: an unknown place raises
:class:`~bot.errors.UnknownPlace` instead of receiving invented weather.

The wet/dry decision for a day is a stable hash of (destination, date) compared with the
month's wet-day probability, so the same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from agents.knowledge.catalog import Catalog
from agents.knowledge.models import ClimateMonth, Destination
from bot.schemas import Condition, WeatherDay, WeatherReport, WeatherSource

OFFLINE_NOTE = "Offline estimate from climate normals (no live forecast)"
CLIMATE_NOTE = "Climate averages for days beyond the forecast horizon (not a forecast)"
MAX_DAYS = 366
_TEMP_SWING_C = 2.0  # +/- day-to-day variation around the monthly means


def _unit(*parts: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``parts`` (hash() is salted per process)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _wet_condition(normals: ClimateMonth) -> Condition:
    if (normals.min_c + normals.max_c) / 2 <= 0:
        return Condition.SNOW
    if normals.max_c >= 28:
        return Condition.THUNDERSTORM  # hot-month rain is mostly convective showers
    return Condition.RAIN


def _probability(wet_pct: int, wet: bool) -> int:
    # Keep the figure consistent with the decision: WeatherDay.is_wet flips at 60 %.
    if wet:
        return max(60, min(95, wet_pct + 40))
    return min(wet_pct // 2, 40)


def climate_day(destination: Destination, day: date, source: WeatherSource = "climate") -> WeatherDay:
    """The climate-normal estimate of one day at ``destination``, labelled with ``source``."""
    normals = destination.month(day.month)
    key = (destination.name, day.isoformat())
    wet = _unit("wet", *key) * 100 < normals.wet_pct
    shift = (_unit("temp", *key) - 0.5) * 2 * _TEMP_SWING_C
    return WeatherDay(
        date=day,
        condition=_wet_condition(normals) if wet else normals.dry_condition,
        temp_min_c=round(normals.min_c + shift, 1),
        temp_max_c=round(normals.max_c + shift, 1),
        precipitation_probability=_probability(normals.wet_pct, wet),
        source=source,
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
        known = self._catalog.get(destination)
        return tuple(climate_day(known, day, source) for day in _dates(start, end))

    def report(self, destination: str, start: date, end: date) -> WeatherReport:
        """An offline weather report (``source="offline"``) clearly labelled as an estimate.

        Raises UnknownPlace for a destination not in the catalog, ValueError for bad dates.
        """
        return WeatherReport(
            place=self._catalog.place(destination),
            days=self.days(destination, start, end, source="offline"),
            note=OFFLINE_NOTE,
        )
