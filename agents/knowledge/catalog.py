"""The destination catalog: built-in knowledge loaded from the JSON package data.

The catalog is what lets the bot work with no API keys and no network: it locates places,
carries climate normals for the offline weather, and the attractions, foods and day trips
the offline planner builds itineraries from.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Iterator
from importlib import resources

from pydantic import TypeAdapter, ValidationError

from bot.errors import UnknownPlace
from bot.schemas import Language, Place

from .models import ClimateMonth, Destination, GazetteerPlace

_DATA_PACKAGE = "agents.knowledge.data"
_FILE_ADAPTER = TypeAdapter(list[Destination])
_GAZETTEER_FILE = "gazetteer.json"
_GAZETTEER_ADAPTER = TypeAdapter(list[GazetteerPlace])
# A place without its own normals borrows those of the nearest destination up to this far away.
CLIMATE_RADIUS_KM = 300.0


def normalise(name: str) -> str:
    """The lookup key of a place name: case-folded, trimmed, inner whitespace collapsed."""
    return re.sub(r"\s+", " ", name).strip().casefold()


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _compact(key: str) -> str:
    # "hang zhou", "Xi'an" and "xian" should all land on the same city.
    return re.sub(r"[\s'’.-]", "", key)


class Catalog:
    """An immutable, validated set of destinations indexed by every name they go by."""

    def __init__(self, destinations: Iterable[Destination], gazetteer: Iterable[GazetteerPlace] = ()) -> None:
        """Index ``destinations`` and the ``gazetteer`` places (located, no sights); raises ValueError when two
        of them share a name or alias."""
        self._destinations = tuple(destinations)
        self._index: dict[str, Destination] = {}
        self._aliases: dict[str, str] = {}
        for destination in self._destinations:
            self._add(destination)
        self._compact_index = {_compact(key): dest for key, dest in self._index.items()}
        self._places: dict[str, GazetteerPlace] = {}
        for place in gazetteer:
            for alias in place.all_names():
                key = normalise(alias)
                if key in self._index or self._places.get(key, place) is not place:
                    raise ValueError(f"gazetteer alias {alias!r} of {place.name} is already taken")
                self._places[key] = place
                self._aliases[alias] = place.name
        self._compact_places = {_compact(key): place for key, place in self._places.items()}

    @classmethod
    @functools.cache
    def load(cls) -> Catalog:
        """Read and validate every JSON file of the package data once; raises ValueError on bad data.

        Cached: the data ships with the package, and inline agents and the intake share one copy.
        """
        destinations: list[Destination] = []
        gazetteer: list[GazetteerPlace] = []
        for entry in sorted(resources.files(_DATA_PACKAGE).iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            try:
                if entry.name == _GAZETTEER_FILE:
                    gazetteer.extend(_GAZETTEER_ADAPTER.validate_json(entry.read_bytes()))
                else:
                    destinations.extend(_FILE_ADAPTER.validate_json(entry.read_bytes()))
            except (ValidationError, json.JSONDecodeError) as exc:
                raise ValueError(f"invalid knowledge file {entry.name}: {exc}") from exc
        return cls(destinations, gazetteer)

    def _add(self, destination: Destination) -> None:
        for alias in destination.all_names():
            key = normalise(alias)
            owner = self._index.get(key)
            if owner is not None and owner is not destination:
                raise ValueError(f"alias {alias!r} of {destination.name} already names {owner.name}")
            self._index[key] = destination
            self._aliases[alias] = destination.name

    def get(self, name: str) -> Destination:
        """The destination called ``name`` (canonical name or alias); raises UnknownPlace."""
        key = normalise(name)
        found = self._index.get(key) or self._compact_index.get(_compact(key))
        if found is None:
            raise UnknownPlace(f"no built-in knowledge of {name!r}")
        return found

    def __contains__(self, name: object) -> bool:
        """True when ``name`` is a known destination name or alias."""
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except UnknownPlace:
            return False
        return True

    def aliases(self) -> dict[str, str]:
        """Every name a destination goes by (as written in the data) -> its canonical name."""
        return dict(self._aliases)

    def gazetteer_place(self, name: str) -> GazetteerPlace | None:
        """The gazetteer entry called ``name`` (a place known without sights), or None."""
        key = normalise(name)
        return self._places.get(key) or self._compact_places.get(_compact(key))

    def knows(self, name: str) -> bool:
        """True for a destination or a gazetteer place."""
        return name in self or self.gazetteer_place(name) is not None

    def local_name(self, name: str, language: Language) -> str:
        """The place's name in ``language`` (杭州 for Hangzhou in Chinese); unknown names as given."""
        if language != Language.ZH:
            return name
        if name in self:
            return self.get(name).zh
        found = self.gazetteer_place(name)
        return found.zh if found is not None else name

    def climate(self, name: str) -> tuple[tuple[ClimateMonth, ...], str] | None:
        """Monthly normals for a place and where they come from (its own name, or the nearby destination's
        whose normals it borrows); None when nothing within CLIMATE_RADIUS_KM has any."""
        if name in self:
            dest = self.get(name)
            return dest.climate, dest.name
        found = self.gazetteer_place(name)
        if found is None:
            raise UnknownPlace(f"no built-in knowledge of {name!r}")
        if found.climate is not None:
            return found.climate, found.name
        here = self.place(name)
        nearest = min(self._destinations, key=lambda d: _km(here.latitude, here.longitude, d.latitude, d.longitude))
        if _km(here.latitude, here.longitude, nearest.latitude, nearest.longitude) > CLIMATE_RADIUS_KM:
            return None
        return nearest.climate, nearest.name

    def place(self, name: str) -> Place:
        """The located :class:`Place` of a destination or gazetteer place; raises UnknownPlace."""
        found = self.gazetteer_place(name) if name not in self else None
        if found is not None:
            return Place(name=found.name, country=found.country, latitude=found.latitude,
                         longitude=found.longitude, timezone=found.timezone)
        dest = self.get(name)
        return Place(
            name=dest.name,
            country=dest.country,
            latitude=dest.latitude,
            longitude=dest.longitude,
            timezone=dest.timezone,
        )

    def __len__(self) -> int:
        """Number of destinations."""
        return len(self._destinations)

    def __iter__(self) -> Iterator[Destination]:
        """The destinations in data order."""
        return iter(self._destinations)
