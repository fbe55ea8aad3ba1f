"""Open-Meteo client against its stand-in: geocoding, forecast within 16 days, climate beyond."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from agents.llm import RetryPolicy
from agents.tools.open_meteo import OpenMeteo, condition_from_precipitation, condition_from_wmo
from bot.errors import ExternalServiceError, UnknownPlace
from bot.schemas import Condition, Place
from tests.standins.fake_open_meteo import FakeOpenMeteo, error

TODAY = date(2026, 11, 23)
HANGZHOU = Place(name="Hangzhou", country="China", latitude=30.29365, longitude=120.16142, timezone="Asia/Shanghai")
FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenMeteo]:
    """A running Open-Meteo stand-in whose "today" is 2026-11-23."""
    async with FakeOpenMeteo(today=TODAY) as server:
        yield server


def client(fake: FakeOpenMeteo) -> OpenMeteo:
    """An OpenMeteo client pointed at ``fake``."""
    return OpenMeteo(fake.geocoding_url, fake.forecast_url, fake.climate_url, retry=FAST)


async def test_geocode_finds_place(fake: FakeOpenMeteo) -> None:
    async with client(fake) as weather:
        place = await weather.geocode("杭州", "zh")
    assert (place.name, place.country, place.timezone) == ("杭州", "中国", "Asia/Shanghai")
    assert place.latitude == pytest.approx(30.29365)
    assert fake.requests[0].query == {"name": "杭州", "count": "1", "language": "zh", "format": "json"}


async def test_geocode_not_found_raises_unknown_place(fake: FakeOpenMeteo) -> None:
    async with client(fake) as weather:
        with pytest.raises(UnknownPlace):
            await weather.geocode("Atlantis", "en")
        fake.no_results = True
        with pytest.raises(UnknownPlace):
            await weather.geocode("Hangzhou", "en")


async def test_days_within_horizon_come_from_the_forecast(fake: FakeOpenMeteo) -> None:
    fake.weather_codes = (61, 0, 3, 95)
    async with client(fake) as weather:
        days = await weather.daily(HANGZHOU, date(2026, 12, 2), date(2026, 12, 5), today=TODAY)
    assert [d.date.day for d in days] == [2, 3, 4, 5]
    assert {d.source for d in days} == {"forecast"}
    assert [d.condition for d in days] == [Condition.RAIN, Condition.SUNNY, Condition.CLOUDY, Condition.THUNDERSTORM]
    assert days[0].precipitation_probability == 80
    assert days[0].is_wet and not days[1].is_wet
    [sent] = fake.requests
    assert sent.path == "/v1/forecast"
    assert sent.query["timezone"] == "Asia/Shanghai"
    assert sent.query["daily"].split(",") == [
        "weather_code",
        "temperature_2m_max",
        "temperature_2m_min",
        "precipitation_probability_max",
    ]


async def test_days_beyond_horizon_come_from_the_climate_api(fake: FakeOpenMeteo) -> None:
    fake.precipitation_mm = (0.0, 5.0, 12.0)
    async with client(fake) as weather:
        days = await weather.daily(HANGZHOU, date(2026, 12, 6), date(2026, 12, 10), today=TODAY)
    # 2026-11-23 + 15 days = 2026-12-08: the last forecast day.
    assert [(d.date.day, d.source) for d in days] == [
        (6, "forecast"),
        (7, "forecast"),
        (8, "forecast"),
        (9, "climate"),
        (10, "climate"),
    ]
    assert [d.condition for d in days[3:]] == [Condition.PARTLY_CLOUDY, Condition.RAIN]
    assert days[4].precipitation_probability == 70
    forecast, climate = fake.requests
    assert (forecast.query["start_date"], forecast.query["end_date"]) == ("2026-12-06", "2026-12-08")
    assert (climate.path, climate.query["start_date"], climate.query["end_date"]) == (
        "/v1/climate",
        "2026-12-09",
        "2026-12-10",
    )
    assert climate.query["models"] == "EC_Earth3P_HR"
    assert climate.query["daily"] == "temperature_2m_max,temperature_2m_min,precipitation_sum"


async def test_trip_entirely_beyond_horizon_uses_only_climate(fake: FakeOpenMeteo) -> None:
    async with client(fake) as weather:
        days = await weather.daily(HANGZHOU, date(2026, 12, 20), date(2026, 12, 24), today=TODAY)
    assert len(days) == 5
    assert {d.source for d in days} == {"climate"}
    assert [r.path for r in fake.requests] == ["/v1/climate"]
    assert days[2].condition is Condition.HEAVY_RAIN  # 12 mm


async def test_http_errors_are_retried_then_raised(fake: FakeOpenMeteo) -> None:
    fake.script(error("busy", status=503))
    async with client(fake) as weather:
        days = await weather.daily(HANGZHOU, date(2026, 11, 24), date(2026, 11, 24), today=TODAY)
        assert days[0].source == "forecast"
        fake.script(*[error("busy", status=502)] * FAST.max_attempts)
        with pytest.raises(ExternalServiceError, match="502"):
            await weather.daily(HANGZHOU, date(2026, 11, 24), date(2026, 11, 24), today=TODAY)
    assert len(fake.requests) == 2 + FAST.max_attempts


async def test_forecast_request_beyond_the_fakes_horizon_is_rejected(fake: FakeOpenMeteo) -> None:
    # The client believes "today" is later than the service does: the service's 400 surfaces.
    async with client(fake) as weather:
        with pytest.raises(ExternalServiceError, match="out of allowed range"):
            await weather.daily(HANGZHOU, date(2026, 12, 20), date(2026, 12, 20), today=date(2026, 12, 19))
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("code", "condition"),
    [
        (0, Condition.SUNNY),
        (1, Condition.PARTLY_CLOUDY),
        (2, Condition.PARTLY_CLOUDY),
        (3, Condition.CLOUDY),
        (45, Condition.FOG),
        (48, Condition.FOG),
        (51, Condition.DRIZZLE),
        (57, Condition.DRIZZLE),
        (61, Condition.RAIN),
        (63, Condition.RAIN),
        (65, Condition.HEAVY_RAIN),
        (67, Condition.RAIN),
        (71, Condition.SNOW),
        (77, Condition.SNOW),
        (80, Condition.RAIN),
        (82, Condition.HEAVY_RAIN),
        (85, Condition.SNOW),
        (86, Condition.SNOW),
        (95, Condition.THUNDERSTORM),
        (99, Condition.THUNDERSTORM),
    ],
)
def test_wmo_code_mapping(code: int, condition: Condition) -> None:
    assert condition_from_wmo(code) is condition


def test_condition_from_precipitation() -> None:
    assert condition_from_precipitation(0.0, 10) == (Condition.PARTLY_CLOUDY, 10)
    assert condition_from_precipitation(0.5, 10) == (Condition.CLOUDY, 40)
    assert condition_from_precipitation(3.0, 10) == (Condition.RAIN, 70)
    assert condition_from_precipitation(15.0, 10) == (Condition.HEAVY_RAIN, 90)
    assert condition_from_precipitation(3.0, -2) == (Condition.SNOW, 70)
