"""DingTalk AI cards under DingTalk's QPS limit: one bot-wide budget, back-off on 403, every card ended.

The real dingtalk-stream client and pipeline against FakeDingTalk, which answers card calls beyond the
app's QPS with 403 ``Forbidden.AccessDenied.QpsLimitForApi`` and records when each accepted call came.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.dingtalk import DingTalkSettings
from agents.worker import StepHandler
from benchmarks.latency import simulated_model_time
from bot.settings import load_settings
from bot.wire import TaskMessage, TravelInput
from bot.wiring import chat_services, pipeline
from tests.e2e.test_dingtalk import NOW, REFERENCE, itineraries
from tests.standins.fake_dingtalk import FakeDingTalk

TEMPLATE = "fake-ai-card.schema"
ENDED = ("3", "5")  # FINISHED, FAILED


@asynccontextmanager
async def card_bot(tmp_path: Path, fake: FakeDingTalk, *, card_qps: float,
                   wrap: Any = None) -> AsyncIterator[None]:
    """The DingTalk bot with a card template and a card budget of ``card_qps``; agents take 1 s a step."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", user_rate_per_minute=100)
    platform = DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                openapi_endpoint=fake.openapi_endpoint, card_template_id=TEMPLATE, card_qps=card_qps)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW, wrap=wrap or simulated_model_time(1.0)) as p,
        chat_services(settings, p, {"dingtalk": platform}),
    ):
        await fake.wait_connected(timeout=10)
        yield


async def ask_from_groups(fake: FakeDingTalk, count: int) -> None:
    for i in range(count):
        await fake.push_chatbot_message(REFERENCE, conversation_id=f"cidGroup{i:04d}==", sender_staff_id=f"staff{i}")


def all_ended(fake: FakeDingTalk, count: int) -> bool:
    return len(fake.cards) == count and all(card.get("flowStatus") in ENDED for card in fake.cards.values())


async def test_twenty_conversations_stay_within_the_budget_and_every_card_ends(tmp_path: Path) -> None:
    async with FakeDingTalk(card_qps=20) as fake, card_bot(tmp_path, fake, card_qps=10):
        await ask_from_groups(fake, 20)
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 20, timeout=90)
        await fake.wait_for(lambda: all_ended(fake, 20), timeout=30)

    assert fake.card_refusals == 0  # no 403 at all, let alone a storm
    # The budget spaces calls 0.1 s apart when they are sent; the fake stamps them when its own loop gets to
    # them, and under a loaded parallel run a delayed pair lands in the next second (12 seen once): two more
    # for that jitter. Without the budget nothing spaces the 20 conversations' card calls at all.
    assert fake.max_card_calls_per_second() <= 10 + 2
    assert all(card["flowStatus"] == "3" and "✅" in card["msgContent"] for card in fake.cards.values())
    assert len(itineraries(fake.webhook_posts)) == 20


async def test_a_budget_above_the_apps_limit_backs_off_and_still_ends_every_card(tmp_path: Path) -> None:
    # Ten conversations' card calls at once are well above the app's 4 a second.
    async with FakeDingTalk(card_qps=4) as fake, card_bot(tmp_path, fake, card_qps=10):
        await ask_from_groups(fake, 10)
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 10, timeout=120)
        await fake.wait_for(lambda: all_ended(fake, 10), timeout=60)

    accepted = len(fake.card_call_times)
    assert 0 < fake.card_refusals < accepted / 4  # it hit the limit, backed off, and did not keep hammering
    assert all(card["flowStatus"] == "3" for card in fake.cards.values())


async def test_a_card_left_processing_by_a_stopped_bot_is_ended_by_the_next_one(tmp_path: Path) -> None:
    planning = asyncio.Event()

    def stuck(handler: StepHandler) -> StepHandler:  # the first bot's planner never answers
        async def handle(task: TaskMessage) -> Any:
            if isinstance(task.input, TravelInput):
                planning.set()
                await asyncio.Event().wait()
            return await handler(task)
        return handle

    async with FakeDingTalk() as fake:
        async with card_bot(tmp_path, fake, card_qps=10, wrap=stuck):
            await fake.push_chatbot_message(REFERENCE)
            await asyncio.wait_for(planning.wait(), 30)
            await fake.wait_for(lambda: len(fake.cards) == 1 and "→" in next(iter(fake.cards.values()))["msgContent"])
        (card,) = fake.cards.values()
        assert card["flowStatus"] not in ENDED  # the bot stopped mid-plan: the card is still "processing"
        async with card_bot(tmp_path, fake, card_qps=10):
            await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=60)
            await fake.wait_for(lambda: all_ended(fake, 1), timeout=10)

    assert card["flowStatus"] == "3" and "✅" in card["msgContent"]
