"""Model budgets against the OpenAI-compatible stand-in: counted where the calls arrive."""

from __future__ import annotations

import asyncio
import time

from agents.llm import ChatMessage, OpenAICompatChat, RetryPolicy
from agents.llm.budget import BudgetedChat, ModelBudget, share
from tests.standins.fake_openai import FakeOpenAI, error

# 429s come to the budget, not to the provider's own retry loop (see agents.llm.providers.chat_model).
NO_429_RETRY = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, retry_statuses=frozenset({500, 502, 503, 504}))


def _most_in_any_window(times: list[float], window_s: float) -> int:
    """The largest number of arrivals in any half-open window [t, t + window_s) starting at an arrival."""
    times = sorted(times)
    return max(sum(1 for u in times[i:] if u < t + window_s) for i, t in enumerate(times))


async def _ask(model: BudgetedChat, i: int) -> str:
    return (await model.complete([ChatMessage.user(f"plan {i}")])).content


async def test_a_burst_never_exceeds_the_budget_in_any_window() -> None:
    async with FakeOpenAI() as fake, OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus",
                                                      retry=NO_429_RETRY) as chat:
        model = BudgetedChat(chat, ModelBudget(5, window_s=2.0), agent="travel")
        answers = await asyncio.gather(*(_ask(model, i) for i in range(16)))
    assert len(answers) == 16 and all(a.startswith("fake answer") for a in answers)
    assert len(fake.arrival_times) == 16
    assert _most_in_any_window(fake.arrival_times, 2.0) <= 5
    # and the budget was used, not wasted: 16 calls at 5 per 2 s take three windows, not much more
    assert fake.arrival_times[-1] - fake.arrival_times[0] < 2.0 * 3 + 3.0


async def test_a_429_storm_shrinks_the_rate_and_it_recovers() -> None:
    window = 1.0
    budget = ModelBudget(8, window_s=window)
    async with FakeOpenAI() as fake, OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus",
                                                      retry=NO_429_RETRY) as chat:
        fake.script(*[error(429, "Throttling", "Requests rate limit exceeded") for _ in range(4)])
        model = BudgetedChat(chat, budget, agent="travel")
        answers = await asyncio.gather(*(_ask(model, i) for i in range(40)))
        # the first 8 went out at once (the whole budget); 4 of them came back 429 and halved it 4 times
        storm_over = fake.arrival_times[7]
        await asyncio.sleep(window * 8)  # eight quiet windows: +1 each, back to the full budget
        assert budget.limit == 8
        recovered_from = time.monotonic()
        await asyncio.gather(*(_ask(model, i) for i in range(8)))
    assert len(answers) == 40
    after_storm = [t for t in fake.arrival_times if storm_over < t < storm_over + window]
    assert len(after_storm) <= 1, "right after the storm the rate is one call per window, not a full-speed retry"
    late = [t for t in fake.arrival_times if t >= recovered_from]
    assert len(late) == 8 and late[-1] - late[0] < window  # the whole budget again, in one window


def test_a_budget_is_split_between_the_processes_of_an_agent_type() -> None:
    assert share(120, 4) == 30
    assert share(3, 4) == 1  # never below one call per window
    assert share(0, 4) == 0  # no budget


async def test_a_token_budget_holds_calls_back_once_the_window_has_spent_it() -> None:
    """The stand-in reports 17 tokens a call: on 30 tokens per second, two calls start, the third waits."""
    async with FakeOpenAI() as fake, OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus",
                                                      retry=NO_429_RETRY) as chat:
        model = BudgetedChat(chat, ModelBudget(0, tokens=30, window_s=1.0), agent="travel")
        for i in range(6):  # one at a time: usage is known only after a call
            await _ask(model, i)
    assert _most_in_any_window(fake.arrival_times, 1.0) <= 2
    assert fake.arrival_times[-1] - fake.arrival_times[0] >= 2.0
