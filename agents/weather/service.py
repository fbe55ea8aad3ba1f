"""Weather for a trip: Open-Meteo (forecast, then climate beyond 16 days) or offline climate normals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date

from agents.tools.climate import OfflineClimate
from agents.tools.open_meteo import OpenMeteo
from bot.errors import BadDates, ExternalServiceError, UnknownPlace, WireError
from bot.schemas import TripRequest, WeatherReport
from bot.wire import TaskMessage, WeatherInput

log = logging.getLogger("tourguide.agent.weather")

CLIMATE_NOTE = {
    "zh": "16 天预报范围之外的日子采用气候平均值，仅供参考。",
    "en": "Days beyond the 16-day forecast horizon use climate averages, not a forecast.",
}


class WeatherService:
    """Never invents weather: a place it cannot locate raises UnknownPlace."""

    def __init__(self, offline: OfflineClimate, online: OpenMeteo | None, today: Callable[[], date],
                 simulated_latency_s: float = 0.0) -> None:
        self._offline = offline
        self._online = online
        self._today = today
        self._latency_s = simulated_latency_s

    async def handle(self, task: TaskMessage) -> WeatherReport:
        """Step handler for ``WeatherAgentTask`` messages."""
        if not isinstance(task.input, WeatherInput):
            raise WireError(f"weather agent got a {task.input.kind} step")
        if self._latency_s:
            await asyncio.sleep(self._latency_s)  # benchmark knob: stands in for LLM / API time
        return await self.report(task.input.request)

    async def report(self, request: TripRequest) -> WeatherReport:
        """Daily weather for the request's destination and dates."""
        if not request.destination:
            raise UnknownPlace("no destination")
        if request.start_date is None or request.end_date is None:
            raise BadDates("no dates")
        if self._online is not None:
            try:
                return await self._live(request, request.destination, request.start_date, request.end_date)
            except ExternalServiceError as exc:
                log.warning("live weather unavailable, using offline climate normals: %s", exc)
        return self._offline.report(request.destination, request.start_date, request.end_date)

    async def _live(self, request: TripRequest, name: str, start: date, end: date) -> WeatherReport:
        assert self._online is not None
        place = await self._online.geocode(name, request.language.value)
        days = await self._online.daily(place, start, end, self._today())
        note = CLIMATE_NOTE[request.language.value] if any(d.source == "climate" for d in days) else ""
        return WeatherReport(place=place, days=days, note=note)
