"""The LLM clients' streaming calls against the stand-ins' server-sent events: OpenAI-compatible over httpx,
DashScope through the real ``dashscope`` SDK."""

from __future__ import annotations

import itertools

import pytest

from agents.llm.base import ChatMessage
from agents.llm.dashscope import DashScopeChat
from agents.llm.openai_compat import OpenAICompatChat
from bot.errors import ExternalServiceError
from bot.retry import RetryPolicy
from tests.standins import fake_dashscope
from tests.standins.fake_dashscope import FakeDashScope
from tests.standins.fake_openai import FakeOpenAI, completion, error

PLAN = '{"summary": "Three days in Kyoto", "days": [{"title": "Temples"}, {"title": "Bamboo"}]}'


async def test_the_text_grows_with_every_delta_and_the_result_is_the_whole_answer() -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    async with FakeOpenAI(stream_chunk_chars=10, stream_delay_s=0.0) as fake:
        fake.script(completion(PLAN))
        async with OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus") as chat:
            result = await chat.complete_streaming([ChatMessage.user("plan it")], on_text=on_text, json_mode=True)
    assert result.content == PLAN and result.finish_reason == "stop"
    assert result.usage.output_tokens == 6  # the usage chunk include_usage asked for
    assert len(seen) == -(-len(PLAN) // 10) and seen[-1] == PLAN
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    asked = fake.requests[0].json
    assert asked["stream"] is True and asked["stream_options"] == {"include_usage": True}


async def test_an_error_before_the_stream_is_retried_then_reported() -> None:
    async with FakeOpenAI() as fake:
        fake.script(error(500, "server_error", "boom"), error(500, "server_error", "boom"))
        async with OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus",
                                    retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.01)) as chat:
            with pytest.raises(ExternalServiceError):
                await chat.complete_streaming([ChatMessage.user("plan it")], on_text=_ignore)
    assert len(fake.requests) == 2


async def _ignore(text: str) -> None:
    return None


async def test_dashscope_streams_incremental_text_through_the_sdk() -> None:
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    async with FakeDashScope(stream_chunk_chars=10, stream_delay_s=0.0) as fake:
        fake.script(fake_dashscope.completion(PLAN))
        async with DashScopeChat(fake.api_key, "qwen-plus", fake.base_url) as chat:
            result = await chat.complete_streaming([ChatMessage.user("plan it")], on_text=on_text, json_mode=True)
    assert result.content == PLAN and result.finish_reason == "stop"
    assert len(seen) == -(-len(PLAN) // 10) and seen[-1] == PLAN
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(seen))
    assert fake.requests[0].json["parameters"]["incremental_output"] is True
