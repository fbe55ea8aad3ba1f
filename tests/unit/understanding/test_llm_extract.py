"""LLM extraction with structured output against the OpenAI-compatible stand-in on 127.0.0.1: the model
fills gaps, dates are still resolved by our resolver, a disagreement is asked back, a failure falls back."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from agents.llm.openai_compat import OpenAICompatChat
from agents.understanding import AliasIndex
from agents.understanding.llm_extract import LLMUnderstanding
from bot.errors import BadDates
from bot.retry import RetryPolicy
from bot.schemas import Budget, TripRequest
from tests.standins.fake_openai import FakeOpenAI, completion

WORLD = {"北京": "Beijing", "Beijing": "Beijing", "上海": "Shanghai", "Shanghai": "Shanghai", "杭州": "Hangzhou",
         "Hangzhou": "Hangzhou", "京都": "Kyoto", "Kyoto": "Kyoto"}


def _reading(**fields: Any) -> str:
    base: dict[str, Any] = {"intent": "itinerary", "destinations": [], "origin": None, "date_words": None,
                            "travelers": None, "children": None, "seniors": None, "budget": "unspecified",
                            "mode": "unspecified", "interests": []}
    return json.dumps(base | fields, ensure_ascii=False)


async def _understand(text: str, now: datetime, *replies: str) -> tuple[TripRequest, list[Any]]:
    async with FakeOpenAI(api_key="sk-x") as fake:
        fake.script(*(completion(reply) for reply in replies))
        async with OpenAICompatChat(fake.base_url, "sk-x", "qwen-plus", retry=RetryPolicy(max_attempts=1)) as chat:
            request = await LLMUnderstanding(chat, AliasIndex(WORLD)).understand(text, now)
        return request, list(fake.requests)


async def test_the_model_fills_what_the_parser_missed_and_dates_stay_ours(now: datetime) -> None:
    text = "我们全家五口人下下周末去京都，预算不高"  # party size and budget in words the parser does not know
    request, sent = await _understand(text, now, _reading(
        destinations=[{"name": "Kyoto", "days": None}], date_words="下下周末", travelers=5, budget="low"))
    body = sent[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "trip_request"
    assert request.destination == "Kyoto"
    assert (request.start_date, request.end_date) == (date(2026, 12, 12), date(2026, 12, 13))  # resolved by us
    assert request.travelers == 5 and request.budget is Budget.LOW


async def test_multi_city_shares_from_the_model(now: datetime) -> None:
    request, _ = await _understand("先北京后上海，一共八天，北京多待一些", now, _reading(
        destinations=[{"name": "北京", "days": 5}, {"name": "上海", "days": 3}], date_words=None))
    assert [(leg.destination, leg.days) for leg in request.legs] == [("Beijing", 5), ("Shanghai", 3)]
    assert request.days == 8


async def test_a_date_disagreement_is_asked_back(now: datetime) -> None:
    with pytest.raises(BadDates) as caught:
        await _understand("下周末去杭州", now, _reading(destinations=[{"name": "杭州", "days": None}],
                                                      date_words="下下周末"))
    assert "两种理解" in (caught.value.user_message or "")


async def test_a_model_answering_nonsense_falls_back_to_the_parser(now: datetime) -> None:
    request, sent = await _understand("下周末去杭州玩两天", now, "I think you want Hangzhou!")
    assert len(sent) == 1
    assert request.destination == "Hangzhou" and request.days == 2


async def test_a_model_that_does_not_answer_in_time_falls_back(now: datetime) -> None:
    async with FakeOpenAI(api_key="sk-x") as fake:
        fake.gate.clear()  # the stand-in holds its answer
        async with OpenAICompatChat(fake.base_url, "sk-x", "qwen-plus", retry=RetryPolicy(max_attempts=1)) as chat:
            reader = LLMUnderstanding(chat, AliasIndex(WORLD), timeout_s=0.5)
            request = await reader.understand("下周末去杭州玩两天", now)
        fake.gate.set()
    assert request.destination == "Hangzhou" and request.days == 2
