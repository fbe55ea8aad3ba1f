"""The destination catalog: built-in knowledge loaded from the JSON package data.

The catalog is what lets the bot work with no API keys and no network: it locates places,
carries climate normals for the offline weather, and the attractions, foods and day trips
the offline planner builds itineraries from.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources

from pydantic import TypeAdapter, ValidationError

from bot.errors import UnknownPlace
from bot.schemas import Language, Place

from .models import Destination

_DATA_PACKAGE = "agents.knowledge.data"
_FILE_ADAPTER = TypeAdapter(list[Destination])


def normalise(name: str) -> str:
    """The lookup key of a place name: case-folded, trimmed, inner whitespace collapsed."""
    return re.sub(r"\s+", " ", name).strip().casefold()


def _compact(key: str) -> str:
    # "hang zhou", "Xi'an" and "xian" should all land on the same city.
    return re.sub(r"[\s'’.-]", "", key)


class Catalog:
    """An immutable, validated set of destinations indexed by every name they go by."""

    def __init__(self, destinations: Iterable[Destination]) -> None:
        """Index ``destinations``; raises ValueError when two of them share a name or alias."""
        self._destinations = tuple(destinations)
        self._index: dict[str, Destination] = {}
        self._aliases: dict[str, str] = {}
        for destination in self._destinations:
            self._add(destination)
        self._compact_index = {_compact(key): dest for key, dest in self._index.items()}

    @classmethod
    @functools.cache
    def load(cls) -> Catalog:
        """Read and validate every JSON file of the package data once; raises ValueError on bad data.

        Cached: the data ships with the package, and inline agents and the intake share one copy.
        """
        destinations: list[Destination] = []
        for entry in sorted(resources.files(_DATA_PACKAGE).iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            try:
                destinations.extend(_FILE_ADAPTER.validate_json(entry.read_bytes()))
            except (ValidationError, json.JSONDecodeError) as exc:
                raise ValueError(f"invalid knowledge file {entry.name}: {exc}") from exc
        return cls(destinations)

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

    def local_name(self, name: str, language: Language) -> str:
        """The destination's name in ``language`` (杭州 for Hangzhou in Chinese); unknown names as given."""
        if language != Language.ZH or name not in self:
            return name
        return self.get(name).zh

    def place(self, name: str) -> Place:
        """The located :class:`Place` of a destination; raises UnknownPlace."""
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
