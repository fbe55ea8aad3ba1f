"""Itinerary planning by an LLM, given the weather as facts.

The prompt states the known weather first and asks for one strict JSON object. The answer is
validated into an :class:`~bot.schemas.Itinerary`; an answer that is not JSON, does not fit
the schema or does not cover exactly the requested dates raises ExternalServiceError, so the
caller can fall back to the offline planner.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agents import partial
from agents.llm.base import ChatMessage, ChatModel
from agents.travel.draft import draft_of
from bot.errors import BadDates, ExternalServiceError, UnknownPlace
from bot.schemas import (
    Activity,
    ActivityKind,
    Condition,
    Itinerary,
    ItineraryDay,
    Language,
    TripRequest,
    WeatherDay,
    WeatherReport,
)

SCHEMA = (
    '{"destination": str, "summary": str, "tips": [str], "days": [{"date": "YYYY-MM-DD", "title": str, '
    '"notes": str, "activities": [{"time": "09:00", "name": str, "description": str, "indoor": bool, '
    '"duration_hours": number, "drive_hours": number | null, '
    '"kind": "sight" | "meal" | "snack" | "travel" | "free"}]}]}'
)
RULES_ZH = ("同一景点整个行程只出现一次；每个整天至少两个景点（或一个长时间景点）；午餐晚餐是正餐而不是小吃；"
            "每天 notes 里写一个室内备选（如遇雨雪）；景点闭馆日和季节要避开；带孩子或老人时每天最多两个景点。")
RULES_EN = ("Never repeat a sight in the trip; a full day has at least two sights (or one long one); lunch and "
            "dinner are meals, not snacks; each day's notes name an indoor plan B for rain or snow; respect "
            "closing days and seasons; with children or older people, at most two sights a day.")

_CONDITION_ZH = {
    Condition.SUNNY: "晴",
    Condition.PARTLY_CLOUDY: "多云",
    Condition.CLOUDY: "阴",
    Condition.FOG: "雾",
    Condition.DRIZZLE: "毛毛雨",
    Condition.RAIN: "小雨",
    Condition.HEAVY_RAIN: "大雨",
    Condition.THUNDERSTORM: "雷阵雨",
    Condition.SNOW: "雪",
}
_BUDGET_ZH = {"low": "经济", "medium": "中等", "high": "高端"}
_MODE = {
    Language.ZH: {"self_drive": "自驾游", "public_transport": "公共交通出行", "unspecified": "旅游"},
    Language.EN: {"self_drive": "self-drive", "public_transport": "public-transport", "unspecified": "travel"},
}


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _DraftActivity(_Loose):
    time: str
    name: str
    description: str = ""
    indoor: bool = False
    duration_hours: float = 2.0
    drive_hours: float | None = None
    kind: ActivityKind | None = None


class _DraftDay(_Loose):
    date: date
    title: str
    notes: str = ""
    activities: list[_DraftActivity]


class _DraftItinerary(_Loose):
    destination: str = ""
    summary: str = ""
    tips: list[str] = []
    days: list[_DraftDay]


# Structured output: the providers constrain the answer to this schema (not strict: defaults are allowed).
ITINERARY_SCHEMA: dict[str, Any] = {
    "name": "itinerary", "strict": False, "schema": _DraftItinerary.model_json_schema(),
}


class LLMPlanner:
    """Plans a trip with a :class:`~agents.llm.base.ChatModel`, weather given as facts."""

    def __init__(self, model: ChatModel) -> None:
        self._model = model

    async def plan(self, request: TripRequest, weather: WeatherReport | None) -> Itinerary:
        """A day-by-day itinerary for exactly the requested dates, each day with its weather.

        Raises BadDates / UnknownPlace when the request is not resolved yet, and
        ExternalServiceError (incl. RateLimited, ServiceTimeout) when the model fails or
        answers with unusable JSON or the wrong dates.
        """
        messages = [
            ChatMessage.system(_system_prompt(request.language)),
            ChatMessage.user(build_prompt(request, weather)),
        ]
        return await self._ask(request, weather, messages)

    async def repair(
        self, request: TripRequest, weather: WeatherReport | None, plan: Itinerary, problems: Sequence[str]
    ) -> Itinerary:
        """The plan sent back once with the rules it broke; the model answers with a whole corrected plan."""
        listed = "\n".join(f"- {problem}" for problem in problems)
        ask = (f"这个行程没有通过检查：\n{listed}\n请修正这些问题，输出完整的修正后 JSON。"
               if request.language is Language.ZH else
               f"This plan fails these checks:\n{listed}\nFix them and answer with the whole corrected JSON.")
        messages = [
            ChatMessage.system(_system_prompt(request.language)),
            ChatMessage.user(build_prompt(request, weather)),
            ChatMessage(role="assistant", content=plan.model_dump_json(exclude={"notice"})),
            ChatMessage.user(ask),
        ]
        return await self._ask(request, weather, messages)

    async def _ask(self, request: TripRequest, weather: WeatherReport | None,
                   messages: Sequence[ChatMessage]) -> Itinerary:
        dates = _requested_dates(request)
        streaming = getattr(self._model, "complete_streaming", None)
        if streaming is not None:  # the plan's draft is shown while the model writes it
            result = await streaming(messages, on_text=_report_draft, json_mode=True, json_schema=ITINERARY_SCHEMA)
        else:
            result = await self._model.complete(messages, json_mode=True, json_schema=ITINERARY_SCHEMA)
        draft = _parse(result.content)
        days = sorted(draft.days, key=lambda day: day.date)
        if [day.date for day in days] != dates:
            raise ExternalServiceError("LLM returned wrong dates")
        by_date = {day.date: day for day in weather.days} if weather else {}
        return Itinerary(
            destination=draft.destination or str(request.destination),
            days=tuple(_day(day, by_date.get(day.date)) for day in days),
            summary=draft.summary,
            tips=tuple(draft.tips),
        )


async def _report_draft(prefix: str) -> None:
    await partial.report(draft_of(prefix))


def build_prompt(request: TripRequest, weather: WeatherReport | None) -> str:
    """The user prompt, in the request's language: weather facts, then the task, then the format."""
    dates = _requested_dates(request)
    if request.language is Language.ZH:
        parts = [_weather_zh(request, weather), _task_zh(request), _format_zh(dates)]
    else:
        parts = [_weather_en(request, weather), _task_en(request), _format_en(dates)]
    return "\n".join(part for part in parts if part)


def _system_prompt(language: Language) -> str:
    if language is Language.ZH:
        return "你是严谨的旅行规划师。只根据给出的天气事实安排行程，只输出一个 JSON 对象。"
    return "You are a careful travel planner. Use only the weather facts given. Answer with one JSON object only."


def _requested_dates(request: TripRequest) -> list[date]:
    if not request.destination:
        raise UnknownPlace("trip request has no destination")
    if request.start_date is None or request.end_date is None or request.end_date < request.start_date:
        raise BadDates("trip request has no resolved date range")
    return [request.start_date + timedelta(days=offset) for offset in range(request.days)]


def _weather_zh(request: TripRequest, weather: WeatherReport | None) -> str:
    span = f"{request.destination}{request.start_date}至{request.end_date}"
    if weather is None or not weather.days:
        return f"{span}的天气未知，请安排室内外皆可的活动。"
    facts = "；".join(
        f"{day.date.month}月{day.date.day}日 {_CONDITION_ZH[day.condition]} "
        f"{day.temp_min_c:.0f}-{day.temp_max_c:.0f}°C，降水概率{day.precipitation_probability}%"
        + ("（气候模型估计）" if day.source == "climate" else "")
        for day in weather.days
    )
    return f"{span}天气已知：{facts}。"


def _weather_en(request: TripRequest, weather: WeatherReport | None) -> str:
    span = f"{request.destination}, {request.start_date} to {request.end_date}"
    if weather is None or not weather.days:
        return f"{span}: the weather is unknown, so plan activities that work indoors and outdoors."
    facts = "; ".join(
        f"{day.date:%b} {day.date.day}: {day.condition.value.replace('_', ' ')}, "
        f"{day.temp_min_c:.0f}-{day.temp_max_c:.0f}°C, {day.precipitation_probability}% chance of rain"
        + (" (climate-model estimate)" if day.source == "climate" else "")
        for day in weather.days
    )
    return f"{span}. Known weather: {facts}."


def _task_zh(request: TripRequest) -> str:
    extras = [f"共{request.days}天", f"{request.travelers}人"]
    if request.budget.value != "unspecified":
        extras.append(f"预算{_BUDGET_ZH[request.budget.value]}")
    if request.interests:
        extras.append("兴趣：" + "、".join(request.interests))
    task = f"请基于此天气制定{_MODE[Language.ZH][request.mode.value]}行程规划（{'，'.join(extras)}），"
    task += "雨天安排室内活动，晴天安排户外活动。" + RULES_ZH
    if request.around:
        task += f"以{request.destination}为基地安排周边一日游，每个活动注明单程车程 drive_hours（小时）。"
    return task + (f"\n用户原话：「{request.text}」" if request.text else "")


def _task_en(request: TripRequest) -> str:
    extras = [f"{request.days} days", f"{request.travelers} traveller(s)"]
    if request.budget.value != "unspecified":
        extras.append(f"{request.budget.value} budget")
    if request.interests:
        extras.append("interests: " + ", ".join(request.interests))
    task = f"Plan a {_MODE[Language.EN][request.mode.value]} itinerary based on this weather ({'; '.join(extras)}). "
    task += "Put indoor activities on wet days and outdoor ones on dry days. " + RULES_EN
    if request.around:
        task += f" Use {request.destination} as the base for day trips; give the one-way drive_hours of each."
    return task + (f'\nThe user wrote: "{request.text}"' if request.text else "")


def _format_zh(dates: list[date]) -> str:
    listed = "、".join(day.isoformat() for day in dates)
    return f"只输出一个 JSON 对象，不要其他文字。格式：{SCHEMA}。days 必须按顺序恰好包含这些日期：{listed}。"


def _format_en(dates: list[date]) -> str:
    listed = ", ".join(day.isoformat() for day in dates)
    return f"Reply with one JSON object and nothing else, in this format: {SCHEMA}. days must list exactly: {listed}."


def _parse(content: str) -> _DraftItinerary:
    # Models sometimes wrap JSON in ``` fences or a sentence even in JSON mode: keep the object.
    start, end = content.find("{"), content.rfind("}")
    try:
        data: Any = json.loads(content[start : end + 1] if start >= 0 else content)
        return _DraftItinerary.model_validate(data)
    except json.JSONDecodeError as exc:
        raise ExternalServiceError("LLM returned invalid JSON for the itinerary") from exc
    except ValidationError as exc:
        raise ExternalServiceError(f"LLM itinerary does not fit the schema ({exc.error_count()} errors)") from exc


def _day(draft: _DraftDay, weather: WeatherDay | None) -> ItineraryDay:
    activities = tuple(
        Activity(
            time=item.time,
            name=item.name,
            description=item.description,
            indoor=item.indoor,
            duration_hours=min(max(item.duration_hours, 0.0), 24.0),  # repair, do not reject, odd durations
            drive_hours=None if item.drive_hours is None else max(item.drive_hours, 0.0),
            kind=item.kind,
        )
        for item in draft.activities
    )
    return ItineraryDay(date=draft.date, title=draft.title, activities=activities, weather=weather, notes=draft.notes)
