"""Domain models shared by the agents, the adapters and storage.

These are plain validated value objects: a parsed trip request, a weather report and an
itinerary. The wire envelopes that carry them over RocketMQ live in :mod:`bot.wire`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Language(StrEnum):
    """Language the user wrote in; answers are composed in it."""

    ZH = "zh"
    EN = "en"


class Intent(StrEnum):
    """What the user wants: a full itinerary, or only the weather."""

    ITINERARY = "itinerary"
    WEATHER = "weather"


class TravelMode(StrEnum):
    """How the party gets around."""

    SELF_DRIVE = "self_drive"
    PUBLIC_TRANSPORT = "public_transport"
    UNSPECIFIED = "unspecified"


class Budget(StrEnum):
    """Rough spending level."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNSPECIFIED = "unspecified"


class Condition(StrEnum):
    """Canonical weather condition of one day (mapped from WMO weather codes)."""

    SUNNY = "sunny"
    PARTLY_CLOUDY = "partly_cloudy"
    CLOUDY = "cloudy"
    FOG = "fog"
    DRIZZLE = "drizzle"
    RAIN = "rain"
    HEAVY_RAIN = "heavy_rain"
    THUNDERSTORM = "thunderstorm"
    SNOW = "snow"


WET_CONDITIONS = frozenset(
    {Condition.DRIZZLE, Condition.RAIN, Condition.HEAVY_RAIN, Condition.THUNDERSTORM, Condition.SNOW}
)
WeatherSource = Literal["forecast", "climate", "offline"]
ActivityKind = Literal["sight", "meal", "snack", "travel", "free"]
DayKind = Literal["city", "trip", "transfer", "free"]


class Frozen(BaseModel):
    """Base for immutable value objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TripLeg(Frozen):
    """One city of a multi-city trip, with its share of the days, in travel order."""

    destination: str
    days: int = Field(ge=1, le=60)
    start_date: date | None = None
    end_date: date | None = None


class TripRequest(Frozen):
    """A user's request after understanding: every date already resolved to a calendar day."""

    intent: Intent = Intent.ITINERARY
    destination: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    travelers: int = Field(default=1, ge=1, le=100)
    mode: TravelMode = TravelMode.UNSPECIFIED
    budget: Budget = Budget.UNSPECIFIED
    interests: tuple[str, ...] = ()
    around: bool = False  # "杭州周边" / "around Hangzhou": day trips out of the city
    also: tuple[str, ...] = ()  # more places in a weather question ("杭州和苏州"): looked up in parallel
    language: Language = Language.EN
    text: str = ""
    origin: str | None = None  # where the party sets out from ("从上海自驾去婺源": Shanghai)
    children: int = Field(default=0, ge=0, le=100)  # of travelers: the pace is slower with children
    seniors: int = Field(default=0, ge=0, le=100)  # of travelers: older people, same
    legs: tuple[TripLeg, ...] = ()  # a multi-city trip ("北京5天然后上海3天"): every city in order
    arrive_from: str | None = None  # a leg after the first: the city the party transfers from on day one
    depart_to: str | None = None  # a leg before the last: the next city (its last day is not a going-home day)
    notes: tuple[str, ...] = ()  # what understanding assumed (a holiday's dates), shown with the answer

    @property
    def days(self) -> int:
        """Number of calendar days of the trip (0 when the dates are unknown)."""
        if self.start_date is None or self.end_date is None:
            return 0
        return (self.end_date - self.start_date).days + 1


class Place(Frozen):
    """A located place."""

    name: str
    country: str = ""
    latitude: float
    longitude: float
    timezone: str = "UTC"


class WeatherDay(Frozen):
    """The weather of one day, and where the figure comes from."""

    date: date
    condition: Condition
    temp_min_c: float
    temp_max_c: float
    precipitation_probability: int = Field(ge=0, le=100)
    source: WeatherSource
    # Climate normals only (source "climate" / "offline"): days of that month with rain / with snow.
    # Such a day is typical weather, never a prediction that this day is wet.
    rain_days: int | None = Field(default=None, ge=0, le=31)
    snow_days: int | None = Field(default=None, ge=0, le=31)

    @property
    def is_wet(self) -> bool:
        """True when outdoor plans should move indoors."""
        return self.condition in WET_CONDITIONS or self.precipitation_probability >= 60

    @property
    def expected_wet(self) -> bool:
        """True when a forecast says this very day is wet; climate normals never do."""
        return self.source == "forecast" and self.is_wet


class WeatherReport(Frozen):
    """Daily weather for a place over a date range."""

    place: Place
    days: tuple[WeatherDay, ...]
    note: str = ""  # e.g. "beyond the 16-day forecast horizon: climate averages"


class Activity(Frozen):
    """One thing to do on a day of the trip."""

    time: str  # "09:00" or "morning" / "上午"
    name: str
    description: str = ""
    indoor: bool = False
    duration_hours: float = Field(default=2.0, ge=0, le=24)
    drive_hours: float | None = None  # driving time from the base city, for day trips
    kind: ActivityKind | None = None  # None: not said (older or LLM plans); the checker then guesses
    cost_cny: int | None = None  # rough cost per person, when known


class ItineraryDay(Frozen):
    """The plan for one calendar day."""

    date: date
    title: str
    activities: tuple[Activity, ...]
    weather: WeatherDay | None = None
    notes: str = ""
    kind: DayKind | None = None
    city: str = ""  # in a multi-city trip, where this day is spent


class Itinerary(Frozen):
    """A day-by-day plan for exactly the requested dates."""

    destination: str
    days: tuple[ItineraryDay, ...]
    summary: str = ""
    tips: tuple[str, ...] = ()
    notice: str = ""  # one short line about how the plan was made (an LLM plan replaced by the offline one)
