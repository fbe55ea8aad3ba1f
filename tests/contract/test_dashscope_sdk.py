"""DashScope specifics through the real SDK: native request shape, per-instance config, Bailian apps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import dashscope
import pytest

from agents.llm import BailianApp, ChatMessage, DashScopeChat, RetryPolicy
from bot.errors import ConfigError, ExternalServiceError, RateLimited, ServiceTimeout
from tests.standins.fake_dashscope import GENERATION_PATH, FakeDashScope, app_answer, completion, error
from tests.standins.scripted_http import Reply

FAST = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter=0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDashScope]:
    """A running DashScope stand-in."""
    async with FakeDashScope() as server:
        yield server


async def test_generation_uses_native_message_format(fake: FakeDashScope) -> None:
    fake.script(completion("hi"))
    async with DashScopeChat("sk-fake", "qwen-max", fake.base_url, retry=FAST) as chat:
        result = await chat.complete([ChatMessage.user("hello")])
    [sent] = fake.requests
    assert sent.path == GENERATION_PATH
    assert sent.json["parameters"]["result_format"] == "message"
    assert sent.json["input"] == {"messages": [{"role": "user", "content": "hello"}]}
    assert (result.content, result.model) == ("hi", "qwen-max")


async def test_instances_do_not_share_base_url_or_key() -> None:
    global_url = dashscope.base_http_api_url
    async with (
        FakeDashScope(api_key="sk-a") as first,
        FakeDashScope(api_key="sk-b") as second,
        DashScopeChat("sk-a", "qwen-plus", first.base_url, retry=FAST) as chat_a,
        DashScopeChat("sk-b", "qwen-plus", second.base_url, retry=FAST) as chat_b,
    ):
        await chat_a.complete([ChatMessage.user("a")])
        await chat_b.complete([ChatMessage.user("b")])
    assert [len(first.requests), len(second.requests)] == [1, 1]
    assert dashscope.base_http_api_url == global_url


async def test_use_without_async_with_is_refused(fake: FakeDashScope) -> None:
    chat = DashScopeChat("sk-fake", "qwen-plus", fake.base_url, retry=FAST)
    with pytest.raises(RuntimeError, match="async with"):
        await chat.complete([ChatMessage.user("hello")])


async def test_bailian_app_is_called_by_app_id(fake: FakeDashScope) -> None:
    fake.script(app_answer("杭州12月2日小雨。", session_id="sess-42"))
    async with BailianApp("sk-fake", "app-travel", fake.base_url, retry=FAST) as app:
        first = await app.ask("杭州天气")
        second = await app.ask("那第二天呢？", session_id=first.session_id)
    assert (first.text, first.session_id) == ("杭州12月2日小雨。", "sess-42")
    assert second.session_id == "sess-42"
    assert [r.path for r in fake.requests] == ["/api/v1/apps/app-travel/completion"] * 2
    assert fake.requests[0].json["input"]["prompt"] == "杭州天气"
    assert fake.requests[1].json["input"]["session_id"] == "sess-42"
    assert fake.requests[0].headers["Authorization"] == "Bearer sk-fake"


async def test_bailian_429_then_persistent(fake: FakeDashScope) -> None:
    throttled = error(429, "Throttling.RateQuota", "Requests rate limit exceeded")
    fake.script(throttled, app_answer("ok"), *[throttled] * FAST.max_attempts)
    async with BailianApp("sk-fake", "app-travel", fake.base_url, retry=FAST) as app:
        assert (await app.ask("hi")).text == "ok"
        with pytest.raises(RateLimited):
            await app.ask("hi again")
    assert len(fake.requests) == 2 + FAST.max_attempts


async def test_bailian_timeout_bad_key_and_unknown_app(fake: FakeDashScope) -> None:
    fake.script(Reply(delay_s=1.0), Reply(delay_s=1.0))
    policy = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, jitter=0)
    async with BailianApp("sk-fake", "app-travel", fake.base_url, timeout_s=0.2, retry=policy) as app:
        with pytest.raises(ServiceTimeout):
            await app.ask("slow")
    async with BailianApp("sk-nope", "app-travel", fake.base_url, retry=FAST) as app:
        with pytest.raises(ConfigError, match="InvalidApiKey"):
            await app.ask("hi")
    async with BailianApp("sk-fake", "app-missing", fake.base_url, retry=FAST) as app:
        with pytest.raises(ExternalServiceError, match="400"):
            await app.ask("hi")
    assert len(fake.requests) == 2 + 1 + 1
