"""Stand-in for Open-Meteo: geocoding ``/v1/search``, ``/v1/forecast`` and climate ``/v1/climate``.

Answers are computed from the query (the dates asked for), with the real column-wise
``daily`` layout. Like the real forecast API it rejects dates beyond the 16-day horizon of
its own ``today``; like the real geocoder it answers an unknown name with no ``results`` key.
Errors use Open-Meteo's body ``{"error": true, "reason": ...}``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web

from tests.standins.scripted_http import Recorded, Reply, ScriptedServer

PLACES: dict[str, dict[str, Any]] = {
    "reykjavik": {
        "name": "Reykjavík",
        "latitude": 64.13548,
        "longitude": -21.89541,
        "country": "Iceland",
        "timezone": "Atlantic/Reykjavik",
    },
    "hangzhou": {
        "name": "Hangzhou",
        "latitude": 30.29365,
        "longitude": 120.16142,
        "country": "China",
        "timezone": "Asia/Shanghai",
    },
    "杭州": {
        "name": "杭州",
        "latitude": 30.29365,
        "longitude": 120.16142,
        "country": "中国",
        "timezone": "Asia/Shanghai",
    },
    "kyoto": {
        "name": "Kyoto",
        "latitude": 35.02107,
        "longitude": 135.75385,
        "country": "Japan",
        "timezone": "Asia/Tokyo",
    },
}
WET_CODES = frozenset({*range(51, 68), *range(71, 78), *range(80, 87), *range(95, 100)})


class FakeOpenMeteo(ScriptedServer):
    """``async with FakeOpenMeteo(today=...) as fake``; use the three ``*_url`` properties."""

    def __init__(
        self,
        today: date,
        *,
        weather_codes: tuple[int, ...] = (61, 0, 3, 95),
        precipitation_mm: tuple[float, ...] = (0.0, 5.0, 12.0),
    ) -> None:
        super().__init__()
        self.today = today
        self.weather_codes = weather_codes  # cycled from each request's start_date
        self.precipitation_mm = precipitation_mm
        self.no_results = False  # switch: the geocoder finds nothing

    @property
    def geocoding_url(self) -> str:
        """The ``/v1/search`` URL."""
        return f"{self.origin}/v1/search"

    @property
    def forecast_url(self) -> str:
        """The ``/v1/forecast`` URL."""
        return f"{self.origin}/v1/forecast"

    @property
    def climate_url(self) -> str:
        """The ``/v1/climate`` URL."""
        return f"{self.origin}/v1/climate"

    def routes(self, app: web.Application) -> None:
        """Geocoding, forecast and climate endpoints."""
        app.router.add_get("/v1/search", self._search)
        app.router.add_get("/v1/forecast", self._forecast)
        app.router.add_get("/v1/climate", self._climate)

    async def _search(self, request: web.Request) -> web.Response:
        return await self.answer(request, self._places)

    async def _forecast(self, request: web.Request) -> web.Response:
        return await self.answer(request, self._forecast_days, self._check_forecast)

    async def _climate(self, request: web.Request) -> web.Response:
        return await self.answer(request, self._climate_days, _check_climate)

    def _places(self, recorded: Recorded) -> Reply:
        found = PLACES.get(recorded.query.get("name", "").strip().lower())
        if self.no_results or found is None:
            return Reply(body={"generationtime_ms": 0.4})
        return Reply(body={"results": [{"id": 1, **found}], "generationtime_ms": 0.4})

    def _check_forecast(self, recorded: Recorded) -> Reply | None:
        missing = _missing(recorded, "latitude", "longitude", "daily", "start_date", "end_date")
        if missing:
            return missing
        last = self.today + timedelta(days=15)
        for name in ("start_date", "end_date"):
            if date.fromisoformat(recorded.query[name]) > last:
                return error(f"Parameter '{name}' is out of allowed range from {self.today} to {last}")
        return None

    def _forecast_days(self, recorded: Recorded) -> Reply:
        days = _dates(recorded)
        codes = [self.weather_codes[i % len(self.weather_codes)] for i in range(len(days))]
        daily = {
            "time": [d.isoformat() for d in days],
            "weather_code": codes,
            "temperature_2m_max": [14.0 + i % 3 for i in range(len(days))],
            "temperature_2m_min": [8.0 + i % 3 for i in range(len(days))],
            "precipitation_probability_max": [80 if code in WET_CODES else 10 for code in codes],
        }
        return Reply(body={**_location(recorded), "timezone": recorded.query.get("timezone", "GMT"), "daily": daily})

    def _climate_days(self, recorded: Recorded) -> Reply:
        days = _dates(recorded)
        daily = {
            "time": [d.isoformat() for d in days],
            "temperature_2m_max": [12.5 for _ in days],
            "temperature_2m_min": [4.5 for _ in days],
            "precipitation_sum": [self.precipitation_mm[i % len(self.precipitation_mm)] for i in range(len(days))],
        }
        return Reply(body={**_location(recorded), "daily": daily})


def error(reason: str, status: int = 400) -> Reply:
    """An Open-Meteo error answer."""
    return Reply(status, {"error": True, "reason": reason})


def _check_climate(recorded: Recorded) -> Reply | None:
    return _missing(recorded, "latitude", "longitude", "daily", "models", "start_date", "end_date")


def _missing(recorded: Recorded, *names: str) -> Reply | None:
    absent = [name for name in names if not recorded.query.get(name)]
    return error(f"Parameter '{absent[0]}' is required") if absent else None


def _dates(recorded: Recorded) -> list[date]:
    start, end = (date.fromisoformat(recorded.query[name]) for name in ("start_date", "end_date"))
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _location(recorded: Recorded) -> dict[str, float]:
    return {"latitude": float(recorded.query["latitude"]), "longitude": float(recorded.query["longitude"])}
