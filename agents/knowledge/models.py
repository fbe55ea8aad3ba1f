"""Validated models of the built-in destination knowledge (the JSON files under ``data/``).

Every figure the offline planner and the offline climate show to users comes from these
models, so they validate strictly: ranges, 12 climate months, at least 6 attractions of
which 2 are indoor, 3 local foods, and tags from a fixed vocabulary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.schemas import WET_CONDITIONS, Condition


class Interest(StrEnum):
    """The interest tags attractions and day trips are labelled with."""

    FOOD = "food"
    HISTORY = "history"
    NATURE = "nature"
    HIKING = "hiking"
    SHOPPING = "shopping"
    MUSEUMS = "museums"
    KIDS = "kids"
    PHOTOGRAPHY = "photography"
    HOT_SPRINGS = "hot_springs"
    NIGHTLIFE = "nightlife"
    ART = "art"
    TEMPLES = "temples"
    TEA = "tea"


class Knowledge(BaseModel):
    """Base of the knowledge models: immutable, unknown keys rejected (catches typos in the data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Named(Knowledge):
    """Something with an English and a Chinese name."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class ClimateMonth(Knowledge):
    """Climate normals of one calendar month.

    The data stores a month compactly as ``[min_c, max_c, wet_pct, "dry_condition"]``.
    """

    min_c: float = Field(ge=-45, le=40)
    max_c: float = Field(ge=-35, le=48)
    wet_pct: int = Field(ge=0, le=100)  # probability that a day has measurable precipitation
    dry_condition: Condition  # what a typical dry day looks like

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) == 4:
            return dict(zip(("min_c", "max_c", "wet_pct", "dry_condition"), value, strict=True))
        return value

    @model_validator(mode="after")
    def _check(self) -> ClimateMonth:
        if self.min_c > self.max_c:
            raise ValueError(f"mean minimum {self.min_c} above mean maximum {self.max_c}")
        if self.dry_condition in WET_CONDITIONS:
            raise ValueError(f"dry-day condition cannot be wet: {self.dry_condition}")
        return self


class Attraction(Named):
    """A sight in the destination city."""

    indoor: bool
    hours: float = Field(gt=0, le=10)  # typical visit length
    tags: tuple[Interest, ...] = Field(min_length=1)
    desc_en: str = Field(min_length=1)
    desc_zh: str = Field(min_length=1)


class Highlight(Named):
    """One stop of a day trip."""

    indoor: bool


class DayTrip(Named):
    """A trip out of the city and back on the same day."""

    drive_hours: float = Field(gt=0, le=6)  # one way, by car, normal traffic
    train: bool  # reachable by train or public transport for a day trip
    tags: tuple[Interest, ...] = ()
    food: Named
    highlights: tuple[Highlight, ...] = Field(min_length=2, max_length=3)


class Place(Knowledge):
    """A real place: its names and where it is."""

    name: str = Field(min_length=1)  # canonical English name
    zh: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    country: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    timezone: str = Field(pattern=r"^[A-Za-z_]+/[A-Za-z_/+-]+$")

    def all_names(self) -> tuple[str, ...]:
        """The canonical name, the Chinese name and every alias."""
        return (self.name, self.zh, *self.aliases)


class Destination(Place):
    """Everything the bot knows offline about one destination."""

    climate: tuple[ClimateMonth, ...] = Field(min_length=12, max_length=12)
    attractions: tuple[Attraction, ...] = Field(min_length=6)
    foods: tuple[Named, ...] = Field(min_length=3)
    day_trips: tuple[DayTrip, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Destination:
        if sum(a.indoor for a in self.attractions) < 2:
            raise ValueError(f"{self.name}: needs at least 2 indoor attractions")
        names = [a.en.casefold() for a in self.attractions]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate attraction names")
        return self

    def month(self, number: int) -> ClimateMonth:
        """Climate normals of calendar month ``number`` (1-12)."""
        return self.climate[number - 1]

    def label(self, chinese: bool) -> str:
        """The destination's name in Chinese or English."""
        return self.zh if chinese else self.name


class GazetteerPlace(Place):
    """A real place the bot can locate (and give climate for) but has no sight list for offline."""

    climate: tuple[ClimateMonth, ...] | None = Field(default=None, min_length=12, max_length=12)
