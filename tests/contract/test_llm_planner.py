"""LLMPlanner through the real DashScope SDK against the stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from agents.llm import DashScopeChat, RetryPolicy
from agents.travel.llm_planner import LLMPlanner, build_prompt
from bot.errors import BadDates, ExternalServiceError
from bot.schemas import Condition, Language, Place, TravelMode, TripRequest, WeatherDay, WeatherReport
from tests.standins.fake_dashscope import FakeDashScope, completion

START = date(2026, 12, 2)
REQUEST = TripRequest(
    destination="杭州",
    start_date=START,
    end_date=START + timedelta(days=2),
    mode=TravelMode.SELF_DRIVE,
    language=Language.ZH,
    text="下周三到周五杭州自驾游",
)
PLACE = Place(name="杭州", latitude=30.29, longitude=120.16, timezone="Asia/Shanghai")
CONDITIONS = (Condition.RAIN, Condition.SUNNY, Condition.CLOUDY)
WEATHER = WeatherReport(
    place=PLACE,
    days=tuple(
        WeatherDay(
            date=START + timedelta(days=i),
            condition=condition,
            temp_min_c=8,
            temp_max_c=14,
            precipitation_probability=80 if condition is Condition.RAIN else 10,
            source="forecast",
        )
        for i, condition in enumerate(CONDITIONS)
    ),
)
FAST = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, jitter=0)


def itinerary_json(days: list[date]) -> str:
    """A valid itinerary answer for ``days``, wrapped in a fence as models often do."""
    body: dict[str, Any] = {
        "destination": "杭州",
        "summary": "雨天看博物馆，晴天游西湖。",
        "tips": ["带伞"],
        "days": [
            {
                "date": day.isoformat(),
                "title": f"第{i + 1}天",
                "notes": "",
                "activities": [
                    {"time": "09:00", "name": "浙江省博物馆", "description": "", "indoor": True, "duration_hours": 3},
                    {"time": "14:00", "name": "西湖", "indoor": False, "duration_hours": 30, "drive_hours": 0.5},
                ],
            }
            for i, day in enumerate(days)
        ],
    }
    return "```json\n" + json.dumps(body, ensure_ascii=False) + "\n```"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDashScope]:
    """A running DashScope stand-in."""
    async with FakeDashScope() as server:
        yield server


async def plan(fake: FakeDashScope, answer: str) -> Any:
    """Plan REQUEST with the model answering ``answer``."""
    fake.script(completion(answer))
    async with DashScopeChat("sk-fake", "qwen-plus", fake.base_url, retry=FAST) as chat:
        return await LLMPlanner(chat).plan(REQUEST, WEATHER)


async def test_valid_answer_becomes_itinerary_with_weather(fake: FakeDashScope) -> None:
    dates = [START + timedelta(days=i) for i in range(3)]
    itinerary = await plan(fake, itinerary_json(list(reversed(dates))))  # out of order: repaired
    assert [day.date for day in itinerary.days] == dates
    assert [day.weather.condition for day in itinerary.days if day.weather] == list(CONDITIONS)
    assert itinerary.days[0].activities[0].indoor is True
    assert itinerary.days[0].activities[1].duration_hours == 24  # clamped, not rejected
    assert itinerary.tips == ("带伞",)
    sent = fake.requests[0].json
    response_format = sent["parameters"]["response_format"]  # structured output: the itinerary's JSON schema
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "itinerary"
    prompt = sent["input"]["messages"][-1]["content"]
    assert prompt.startswith("杭州2026-12-02至2026-12-04天气已知：12月2日 小雨 8-14°C")
    assert "自驾游" in prompt and "雨天安排室内活动" in prompt and "2026-12-04" in prompt


@pytest.mark.parametrize(
    "days",
    [
        [START, START + timedelta(days=1)],  # one day missing
        [START + timedelta(days=i) for i in range(1, 4)],  # shifted by a day
        [START, START, START + timedelta(days=1)],  # duplicate
    ],
)
async def test_wrong_dates_are_rejected(fake: FakeDashScope, days: list[date]) -> None:
    with pytest.raises(ExternalServiceError, match="wrong dates"):
        await plan(fake, itinerary_json(days))


@pytest.mark.parametrize("answer", ["Sorry, I cannot help.", '{"days": [{"date": "12月2日"}]}'])
async def test_unusable_answers_are_rejected(fake: FakeDashScope, answer: str) -> None:
    with pytest.raises(ExternalServiceError):
        await plan(fake, answer)


def test_english_prompt_states_weather_first() -> None:
    request = REQUEST.model_copy(update={"language": Language.EN, "destination": "Hangzhou", "around": True})
    prompt = build_prompt(request, WEATHER)
    assert prompt.startswith("Hangzhou, 2026-12-02 to 2026-12-04. Known weather: Dec 2: rain, 8-14°C, 80% chance")
    assert "day trips" in prompt


def test_unresolved_dates_are_refused() -> None:
    with pytest.raises(BadDates):
        build_prompt(REQUEST.model_copy(update={"end_date": None}), None)
