"""Open-Meteo: geocoding, the 16-day forecast, and climate-model days beyond it.

Days from today up to today + 15 come from the forecast API (``source="forecast"``). Later days
come from the climate API, one CMIP6 model run (``source="climate"``): a plausible day of that
season, not a prediction, so their condition is derived only from the precipitation sum.
Nothing is ever invented: an unknown place raises UnknownPlace and missing days raise
ExternalServiceError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from agents.llm.http_attempt import OwnsHttpClient, request_json
from agents.llm.retry import with_retries
from bot.errors import ExternalServiceError, UnknownPlace
from bot.retry import RetryPolicy
from bot.schemas import Condition, Place, WeatherDay

FORECAST_DAYS = 16  # Open-Meteo forecasts today and the 15 days after it
FORECAST_DAILY = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"
CLIMATE_DAILY = "temperature_2m_max,temperature_2m_min,precipitation_sum"

_WMO: dict[int, Condition] = {
    0: Condition.SUNNY,
    1: Condition.PARTLY_CLOUDY,
    2: Condition.PARTLY_CLOUDY,
    3: Condition.CLOUDY,
    45: Condition.FOG,
    48: Condition.FOG,
    **dict.fromkeys(range(51, 58), Condition.DRIZZLE),
    **dict.fromkeys((61, 63, 66, 67, 80, 81), Condition.RAIN),
    **dict.fromkeys((65, 82), Condition.HEAVY_RAIN),
    **dict.fromkeys((*range(71, 78), 85, 86), Condition.SNOW),
    **dict.fromkeys(range(95, 100), Condition.THUNDERSTORM),
}


def condition_from_wmo(code: int) -> Condition:
    """The canonical condition of a WMO weather code; unknown codes count as cloudy."""
    return _WMO.get(code, Condition.CLOUDY)


def condition_from_precipitation(precipitation_mm: float, mean_temp_c: float) -> tuple[Condition, int]:
    """(condition, precipitation probability %) estimated from a daily precipitation sum."""
    if precipitation_mm > 1 and mean_temp_c <= 0:
        return Condition.SNOW, 70
    if precipitation_mm >= 10:
        return Condition.HEAVY_RAIN, 90
    if precipitation_mm > 1:
        return Condition.RAIN, 70
    if precipitation_mm > 0.1:
        return Condition.CLOUDY, 40  # a trace of rain: not enough to move plans indoors
    return Condition.PARTLY_CLOUDY, 10


class _GeoResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    latitude: float
    longitude: float
    country: str = ""
    timezone: str = "UTC"


class OpenMeteo(OwnsHttpClient):
    """Async client for the three Open-Meteo APIs.

    Use as ``async with``; it creates and closes its own ``httpx.AsyncClient`` unless one is
    passed in (then the caller owns it).
    """

    def __init__(
        self,
        geocoding_url: str,
        forecast_url: str,
        climate_url: str,
        http: httpx.AsyncClient | None = None,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        climate_model: str = "EC_Earth3P_HR",
    ) -> None:
        self._urls = {"geocoding": geocoding_url, "forecast": forecast_url, "climate": climate_url}
        super().__init__(http)
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._climate_model = climate_model

    async def geocode(self, name: str, language: str) -> Place:
        """The best match for ``name``; raises UnknownPlace when there is none."""
        params = {"name": name, "count": "1", "language": language, "format": "json"}
        body = await self._get("geocoding", params)
        results = body.get("results") or []
        if not results:
            raise UnknownPlace(f"Open-Meteo geocoding found no place named {name!r}")
        try:
            found = _GeoResult.model_validate(results[0])
        except ValidationError as exc:
            raise ExternalServiceError("Open-Meteo geocoding returned a malformed result") from exc
        return Place(**found.model_dump())

    async def daily(self, place: Place, start: date, end: date, today: date) -> tuple[WeatherDay, ...]:
        """One WeatherDay per date from ``start`` to ``end``, forecast first, climate beyond.

        Raises ExternalServiceError when a service fails or leaves a day out.
        """
        last_forecast_day = today + timedelta(days=FORECAST_DAYS - 1)
        days: list[WeatherDay] = []
        if start <= last_forecast_day:
            days += await self._forecast(place, start, min(end, last_forecast_day))
        if end > last_forecast_day:
            days += await self._climate(place, max(start, last_forecast_day + timedelta(days=1)), end)
        _check_complete(days, start, end)
        return tuple(days)

    async def _forecast(self, place: Place, start: date, end: date) -> list[WeatherDay]:
        params = _range_params(place, start, end) | {
            "daily": FORECAST_DAILY,
            "timezone": place.timezone or "auto",
        }
        daily = _daily_table(await self._get("forecast", params), FORECAST_DAILY)
        return _convert(daily, _forecast_day, "forecast")

    async def _climate(self, place: Place, start: date, end: date) -> list[WeatherDay]:
        params = _range_params(place, start, end) | {"models": self._climate_model, "daily": CLIMATE_DAILY}
        daily = _daily_table(await self._get("climate", params), CLIMATE_DAILY, self._climate_model)
        return _convert(daily, _climate_day, "climate")

    async def _get(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        http = self._http
        if http is None:
            raise RuntimeError("use OpenMeteo as `async with OpenMeteo(...) as weather`")
        url = self._urls[api]
        body = await with_retries(
            lambda: request_json(http, "GET", url, timeout_s=self._timeout_s, params=params),
            self._retry,
            service=f"Open-Meteo {api}",
        )
        if not isinstance(body, dict):
            raise ExternalServiceError(f"Open-Meteo {api} returned a non-object body")
        return body


def _range_params(place: Place, start: date, end: date) -> dict[str, str]:
    return {
        "latitude": f"{place.latitude:.4f}",
        "longitude": f"{place.longitude:.4f}",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }


def _daily_table(body: Mapping[str, Any], variables: str, model: str = "") -> list[dict[str, Any]]:
    """Rows ``{"time": ..., variable: value}`` from Open-Meteo's column-wise ``daily`` block.

    Some API versions suffix columns with the model name (``temperature_2m_max_EC_Earth3P_HR``).
    """
    daily = body.get("daily")
    if not isinstance(daily, dict) or not isinstance(daily.get("time"), list):
        raise ExternalServiceError("Open-Meteo returned no daily block")
    columns: dict[str, list[Any]] = {"time": daily["time"]}
    for name in variables.split(","):
        column = daily.get(name, daily.get(f"{name}_{model}"))
        if not isinstance(column, list) or len(column) != len(columns["time"]):
            raise ExternalServiceError(f"Open-Meteo returned no usable {name!r} column")
        columns[name] = column
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _convert(
    rows: list[dict[str, Any]], convert: Callable[[Mapping[str, Any]], WeatherDay], api: str
) -> list[WeatherDay]:
    try:
        return [convert(row) for row in rows]
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise ExternalServiceError(f"Open-Meteo {api} returned unusable values") from exc


def _forecast_day(row: Mapping[str, Any]) -> WeatherDay:
    code, high, low = row["weather_code"], row["temperature_2m_max"], row["temperature_2m_min"]
    if code is None or high is None or low is None:
        raise ExternalServiceError(f"Open-Meteo forecast has no data for {row['time']}")
    probability = row["precipitation_probability_max"]
    return WeatherDay(
        date=date.fromisoformat(row["time"]),
        condition=condition_from_wmo(int(code)),
        temp_min_c=low,
        temp_max_c=high,
        precipitation_probability=int(probability) if probability is not None else 0,
        source="forecast",
    )


def _climate_day(row: Mapping[str, Any]) -> WeatherDay:
    high, low, rain = row["temperature_2m_max"], row["temperature_2m_min"], row["precipitation_sum"]
    if high is None or low is None or rain is None:
        raise ExternalServiceError(f"Open-Meteo climate has no data for {row['time']}")
    condition, probability = condition_from_precipitation(rain, (high + low) / 2)
    return WeatherDay(
        date=date.fromisoformat(row["time"]),
        condition=condition,
        temp_min_c=low,
        temp_max_c=high,
        precipitation_probability=probability,
        source="climate",
    )


def _check_complete(days: list[WeatherDay], start: date, end: date) -> None:
    wanted = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    if [day.date for day in days] != wanted:
        raise ExternalServiceError(f"Open-Meteo did not return exactly the days {start}..{end}")
