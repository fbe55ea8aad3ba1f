"""One contract suite for :class:`ChatModel`, run against every provider and its stand-in.

DashScope runs through the real ``dashscope`` SDK, the OpenAI-compatible client through real
httpx; both talk HTTP to a local stand-in. Backoff is kept tiny by the RetryPolicy.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest

from agents.llm import ChatMessage, ChatModel, DashScopeChat, OpenAICompatChat, RetryPolicy, ToolSpec
from bot.errors import ConfigError, ExternalServiceError, RateLimited, ServiceTimeout
from tests.standins import fake_dashscope, fake_openai
from tests.standins.fake_dashscope import FakeDashScope
from tests.standins.fake_openai import FakeOpenAI
from tests.standins.scripted_http import Recorded, Reply, ScriptedServer
from tests.waiting import until

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0)
WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Weather of one day at the destination",
    parameters={"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]},
)
QUESTION = [ChatMessage.system("You plan trips."), ChatMessage.user("杭州12月2日天气如何？")]


@dataclass
class Provider:
    """A provider under test, its stand-in, and how to read the stand-in's wire format."""

    fake: ScriptedServer
    wire: ModuleType  # the stand-in module: completion(), tool_call(), error()
    connect: Callable[..., AbstractAsyncContextManager[ChatModel]]
    messages: Callable[[Recorded], list[dict[str, Any]]]
    tools: Callable[[Recorded], list[dict[str, Any]]]


@pytest.fixture(params=["dashscope", "openai"])
async def provider(request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    """Each provider in turn, with its stand-in running."""
    if request.param == "dashscope":
        async with FakeDashScope() as ds:
            yield Provider(
                ds,
                fake_dashscope,
                lambda key="sk-fake", timeout_s=2.0, retry=FAST: DashScopeChat(
                    key, "qwen-plus", ds.base_url, timeout_s=timeout_s, retry=retry
                ),
                lambda r: r.json["input"]["messages"],
                lambda r: r.json["parameters"].get("tools", []),
            )
    else:
        async with FakeOpenAI() as oa:
            yield Provider(
                oa,
                fake_openai,
                lambda key="sk-fake", timeout_s=2.0, retry=FAST: OpenAICompatChat(
                    oa.base_url, key, "qwen-plus", timeout_s=timeout_s, retry=retry
                ),
                lambda r: r.json["messages"],
                lambda r: r.json.get("tools", []),
            )


async def test_round_trip_sends_model_messages_tools_and_parses_answer(provider: Provider) -> None:
    provider.fake.script(provider.wire.completion("12月2日杭州小雨。"))
    async with provider.connect() as chat:
        result = await chat.complete(QUESTION, tools=[WEATHER_TOOL])
    assert result.content == "12月2日杭州小雨。"
    assert result.finish_reason == "stop"
    assert result.usage.input_tokens > 0
    [sent] = provider.fake.requests
    assert sent.headers["Authorization"] == "Bearer sk-fake"
    assert sent.json["model"] == "qwen-plus"
    assert provider.messages(sent) == [m.to_wire() for m in QUESTION]
    assert provider.tools(sent) == [WEATHER_TOOL.to_wire()]


async def test_tool_call_round_trip(provider: Provider) -> None:
    provider.fake.script(
        provider.wire.tool_call("get_weather", {"date": "2026-12-02"}, call_id="call_7"),
        provider.wire.completion("Light rain: visit the museum."),
    )
    async with provider.connect() as chat:
        first = await chat.complete(QUESTION, tools=[WEATHER_TOOL])
        [call] = first.tool_calls
        follow_up = [*QUESTION, first.as_message(), ChatMessage.tool_result(call, '{"condition": "rain"}')]
        second = await chat.complete(follow_up, tools=[WEATHER_TOOL])
    assert (call.id, call.name, call.arguments) == ("call_7", "get_weather", {"date": "2026-12-02"})
    assert first.finish_reason == "tool_calls"
    assert second.content == "Light rain: visit the museum."
    assistant, tool = provider.messages(provider.fake.requests[1])[-2:]
    assert assistant["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"date": "2026-12-02"}'}
    assert tool == {"role": "tool", "content": '{"condition": "rain"}', "tool_call_id": "call_7", "name": "get_weather"}


async def test_429_twice_then_success_is_retried(provider: Provider) -> None:
    throttled = provider.wire.error(429, "Throttling.RateQuota", "Requests rate limit exceeded")
    provider.fake.script(throttled, throttled, provider.wire.completion("ok"))
    async with provider.connect() as chat:
        result = await chat.complete(QUESTION)
    assert result.content == "ok"
    assert len(provider.fake.requests) == 3


async def test_persistent_429_raises_rate_limited(provider: Provider) -> None:
    provider.fake.script(*[provider.wire.error(429, "Throttling.RateQuota", "slow down")] * FAST.max_attempts)
    async with provider.connect() as chat:
        with pytest.raises(RateLimited, match="429"):
            await chat.complete(QUESTION)
    assert len(provider.fake.requests) == FAST.max_attempts


async def test_5xx_is_retried_but_400_is_not(provider: Provider) -> None:
    provider.fake.script(
        provider.wire.error(503, "ServiceUnavailable", "busy"),
        provider.wire.completion("ok"),
        provider.wire.error(400, "DataInspectionFailed", "Input data may contain inappropriate content."),
    )
    async with provider.connect() as chat:
        assert (await chat.complete(QUESTION)).content == "ok"
        with pytest.raises(ExternalServiceError, match="DataInspectionFailed") as caught:
            await chat.complete(QUESTION)
    assert type(caught.value) is ExternalServiceError
    assert len(provider.fake.requests) == 3


async def test_timeout_raises_service_timeout(provider: Provider) -> None:
    # Two 0.4 s timeouts must end the call before even one reply would come (3 s). Only the call is timed: a
    # loaded CI machine once took 1.05 s for the timeouts plus the client's connect and close. The fake records a
    # request once it has read it, which on a loaded machine can come after the client gave up on it.
    provider.fake.script(Reply(delay_s=3.0), Reply(delay_s=3.0))
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, jitter=0)
    async with provider.connect(timeout_s=0.4, retry=policy) as chat:
        started = time.monotonic()
        with pytest.raises(ServiceTimeout):
            await chat.complete(QUESTION)
        took = time.monotonic() - started
    assert took < 2.5
    await until(lambda: len(provider.fake.requests) == 2, timeout_s=10)


async def test_bad_key_is_not_retried_and_never_echoed(provider: Provider) -> None:
    async with provider.connect(key="sk-wrong-secret") as chat:
        with pytest.raises(ConfigError, match="401") as caught:
            await chat.complete(QUESTION)
    assert len(provider.fake.requests) == 1
    assert "sk-wrong-secret" not in str(caught.value)
    assert "sk-wrong-secret" not in repr(chat)


async def test_retry_after_is_honoured(provider: Provider) -> None:
    provider.fake.script(
        provider.wire.error(429, "Throttling", "wait", retry_after=0.3), provider.wire.completion("ok")
    )
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=1.0, jitter=0)
    started = time.monotonic()
    async with provider.connect(retry=policy) as chat:
        assert (await chat.complete(QUESTION)).content == "ok"
    assert time.monotonic() - started >= 0.3


async def test_json_mode_asks_for_a_json_object(provider: Provider) -> None:
    provider.fake.script(provider.wire.completion('{"ok": true}'))
    async with provider.connect() as chat:
        await chat.complete(QUESTION, json_mode=True)
    body = provider.fake.requests[0].json
    response_format = body.get("response_format") or body["parameters"]["response_format"]
    assert response_format == {"type": "json_object"}


async def test_openai_compat_borrowed_client_and_keyless_server() -> None:
    async with FakeOpenAI(api_key="") as fake, httpx.AsyncClient() as http:
        async with OpenAICompatChat(fake.base_url, "", "llama3", retry=FAST, http=http) as chat:
            result = await chat.complete(QUESTION)
        assert not http.is_closed  # the caller owns a client it passed in
    assert "Authorization" not in fake.requests[0].headers
    assert result.model == "llama3"
