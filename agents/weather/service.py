"""Weather for a trip: Open-Meteo (forecast, then climate beyond 16 days) or offline climate normals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from agents.tools.climate import OfflineClimate
from agents.tools.open_meteo import OpenMeteo
from bot.errors import BadDates, ExternalServiceError, UnknownPlace, WireError
from bot.schemas import Language, TripRequest, WeatherReport
from bot.wire import TaskMessage, WeatherInput

log = logging.getLogger("tourguide.agent.weather")

OFFLINE_NOTE = {
    "zh": "离线估算：根据当地气候常年值推算，并非实时天气预报，出发前请再查看预报。",
    "en": "Offline estimate from climate normals, not a live forecast. Check the forecast before you go.",
}
CLIMATE_NOTE = {
    "zh": "16 天预报范围之外的日子采用气候平均值，仅供参考。",
    "en": "Days beyond the 16-day forecast horizon use climate averages, not a forecast.",
}


class WeatherService:
    """Never invents weather: a place it cannot locate raises UnknownPlace."""

    def __init__(self, offline: OfflineClimate, online: OpenMeteo | None, today: Callable[[], date],
                 local_name: Callable[[str, Language], str] = lambda name, _lang: name) -> None:
        self._local_name = local_name
        self._offline = offline
        self._online = online
        self._today = today

    async def handle(self, task: TaskMessage) -> WeatherReport:
        """Step handler for ``WeatherAgentTask`` messages."""
        if not isinstance(task.input, WeatherInput):
            raise WireError(f"weather agent got a {task.input.kind} step")
        return await self.report(task.input.request)

    async def report(self, request: TripRequest) -> WeatherReport:
        """Daily weather for the request's destination and dates; UnknownPlace names the place."""
        try:
            report = await self._report(request)
        except UnknownPlace as exc:
            place = request.destination or ""
            raise UnknownPlace(str(exc), user_message=(
                f"抱歉，我没有找到“{place}”这个地方。能告诉我具体的城市名（以及所在省份或国家）吗？"
                if request.language == Language.ZH else
                f"Sorry, I could not find “{place}”. Could you give me the city name (and country)?")) from exc
        shown = self._local_name(report.place.name, request.language)
        return report.model_copy(update={"place": report.place.model_copy(update={"name": shown})})

    async def _report(self, request: TripRequest) -> WeatherReport:
        if not request.destination:
            raise UnknownPlace("no destination")
        if request.start_date is None or request.end_date is None:
            raise BadDates("no dates")
        if self._online is not None:
            try:
                return await self._live(request, request.destination, request.start_date, request.end_date)
            except ExternalServiceError as exc:
                log.warning("live weather unavailable, using offline climate normals: %s", exc)
        report = self._offline.report(request.destination, request.start_date, request.end_date)
        return report.model_copy(update={"note": self._offline_note(report, request.language)})

    def _offline_note(self, report: WeatherReport, language: Language) -> str:
        """The offline label in the user's language, saying whose normals a small place borrows."""
        zh = language is Language.ZH
        if not report.days:
            return (f"离线资料里没有{self._local_name(report.place.name, language)}的气候数据；"
                    "开启实时天气（TOURGUIDE_WEATHER_ONLINE=1）可查询预报。" if zh else
                    f"I have no offline climate figures for {report.place.name}; live weather "
                    "(TOURGUIDE_WEATHER_ONLINE=1) gives its forecast.")
        note = OFFLINE_NOTE[language.value]
        _head, nearby, source = report.note.partition("normals of nearby ")
        if nearby:
            note += (f"（采用附近{self._local_name(source, language)}的气候常年值）" if zh else
                     f" (normals of nearby {source})")
        return note

    async def _live(self, request: TripRequest, name: str, start: date, end: date) -> WeatherReport:
        assert self._online is not None
        place = await self._online.geocode(name, request.language.value)
        days = await self._online.daily(place, start, end, self._today())
        note = CLIMATE_NOTE[request.language.value] if any(d.source == "climate" for d in days) else ""
        return WeatherReport(place=place, days=days, note=note)
