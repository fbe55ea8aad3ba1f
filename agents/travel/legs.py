"""Getting from one city of a trip to the next: how, and roughly how long, from the great-circle distance.

Deliberately coarse (a transfer day is planned light anyway): high-speed rail inside China, Japan, South
Korea and Europe up to 1,300 km, a car when the party drives and the distance is a day's drive, else a
flight with three hours of airport time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.schemas import Place

_RAIL_COUNTRIES = frozenset({"China", "Japan", "South Korea", "France", "Italy", "Spain", "Netherlands",
                             "Czech Republic", "United Kingdom", "Austria", "Germany", "Switzerland"})
_EUROPE = _RAIL_COUNTRIES - {"China", "Japan", "South Korea"}
_RAIL_KMH, _ROAD_KMH, _AIR_KMH = 250.0, 80.0, 700.0
_DETOUR = 1.25  # rails and roads are longer than the great circle
_MAX_RAIL_KM, _MAX_DRIVE_KM = 1300.0, 700.0
_LONGEST_HOURS = 20.0  # a long-haul day: the transfer is the whole day


@dataclass(frozen=True)
class Transfer:
    """How the party moves between two cities."""

    by: str  # "train", "drive" or "flight"
    hours: float


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance between two places."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _half_hours(hours: float) -> float:
    return max(0.5, math.ceil(hours * 2) / 2)


def transfer(origin: Place, destination: Place, self_drive: bool) -> Transfer:
    """The likely way from ``origin`` to ``destination`` and its door-to-door hours."""
    direct = distance_km(origin, destination)
    km = direct * _DETOUR
    same_network = origin.country == destination.country or {origin.country, destination.country} <= _EUROPE
    if self_drive and same_network and km <= _MAX_DRIVE_KM:
        return Transfer("drive", _half_hours(km / _ROAD_KMH))
    if same_network and origin.country in _RAIL_COUNTRIES and km <= _MAX_RAIL_KM:
        return Transfer("train", _half_hours(km / _RAIL_KMH + 1.0))
    return Transfer("flight", min(_half_hours(direct / _AIR_KMH + 3.0), _LONGEST_HOURS))
