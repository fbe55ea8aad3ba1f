"""DingTalk progress as an AI card: the real dingtalk-stream client and pipeline against FakeDingTalk.

With DINGTALK_CARD_TEMPLATE_ID set, a session gets one card that is streamed (full updates, at most one
every 300 ms) and finished; the itinerary still arrives once through the session webhook. A card API that
refuses must not cost the answer: the plain "planning…" message comes instead.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.dingtalk import DingTalkSettings
from benchmarks.latency import simulated_model_time
from bot.settings import load_settings
from bot.wiring import Pipeline, chat_services, pipeline
from tests.e2e.test_dingtalk import NOW, REFERENCE, itineraries
from tests.standins.fake_dingtalk import FakeDingTalk, OpenApiCall

TEMPLATE = "fake-ai-card.schema"
STREAMING = "/v1.0/card/streaming"


@asynccontextmanager
async def card_bot(tmp_path: Path, fake: FakeDingTalk) -> AsyncIterator[Pipeline]:
    """The DingTalk bot with a card template; each agent takes 1 s, so progress spans a few seconds."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    platform = DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                openapi_endpoint=fake.openapi_endpoint, card_template_id=TEMPLATE)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW, wrap=simulated_model_time(1.0)) as p,
        chat_services(settings, p, {"dingtalk": platform}),
    ):
        await fake.wait_connected(timeout=10)
        yield p


def calls(fake: FakeDingTalk, method: str, path: str) -> list[OpenApiCall]:
    return [c for c in fake.openapi_calls if (c.method, c.path) == (method, path)]


async def test_group_progress_is_one_streamed_card_and_the_plan_arrives_once(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, card_bot(tmp_path, fake):
        frame = await fake.push_chatbot_message(REFERENCE, sender_staff_id="staff001")
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)
        await fake.wait_for(lambda: any(c.body.get("isFinalize") for c in calls(fake, "PUT", STREAMING)), timeout=5)
        await fake.wait_for(lambda: any(card.get("flowStatus") == "3" for card in fake.cards.values()))

    created = calls(fake, "POST", "/v1.0/card/instances")
    assert len(created) == 1 and created[0].body["cardTemplateId"] == TEMPLATE
    card_id = created[0].body["outTrackId"]
    delivered = calls(fake, "POST", "/v1.0/card/instances/deliver")
    assert [d.body["openSpaceId"] for d in delivered] == [f"dtv1.card//IM_GROUP.{frame.data['conversationId']}"]
    assert delivered[0].body["imGroupOpenDeliverModel"]["robotCode"] == fake.robot_code
    updates = calls(fake, "PUT", STREAMING)
    assert len(updates) >= 2 and {u.body["outTrackId"] for u in updates} == {card_id}
    assert all(u.body["isFull"] and u.body["key"] == "msgContent" for u in updates)
    times = [created[0].at, *(u.at for u in updates)]
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(times))  # throttled (300 ms)
    assert [u.body["isFinalize"] for u in updates] == [False] * (len(updates) - 1) + [True]
    assert any("→" in u.body["content"] for u in updates)  # a step was shown on its way
    assert "✓ 天气" in updates[-1].body["content"] and "✓ 行程" in updates[-1].body["content"]
    assert fake.cards[card_id]["flowStatus"] == "3" and "✅" in fake.cards[card_id]["msgContent"]
    assert len(fake.webhook_posts) == 1  # the card replaced "planning…"; the plan came once, with the @
    assert fake.webhook_posts[0].body["at"]["atUserIds"] == ["staff001"]


async def test_a_refused_card_falls_back_to_the_planning_message_and_the_plan_still_arrives(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, card_bot(tmp_path, fake):
        fake.refuse("/v1.0/card/instances")
        await fake.push_chatbot_message(REFERENCE, sender_staff_id="staff001")
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)

    refused = calls(fake, "POST", "/v1.0/card/instances")
    assert len(refused) == 1 and refused[0].status == 403
    assert calls(fake, "PUT", STREAMING) == [] and fake.cards == {}
    assert len(fake.webhook_posts) == 2 and "规划" in fake.webhook_posts[0].body["markdown"]["text"]


async def test_a_one_to_one_card_goes_to_the_users_robot_space(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, card_bot(tmp_path, fake):
        await fake.push_chatbot_message("3 days in Kyoto next weekend", conversation_type="1",
                                        conversation_id="cidFakeDm==", sender_staff_id="staff009")
        await fake.wait_for(lambda: any(c.get("flowStatus") == "3" for c in fake.cards.values()), timeout=15)

    delivered = calls(fake, "POST", "/v1.0/card/instances/deliver")
    assert [d.body["openSpaceId"] for d in delivered] == ["dtv1.card//IM_ROBOT.staff009"]
    assert delivered[0].body["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT"}
    assert "✓ Itinerary" in calls(fake, "PUT", STREAMING)[-1].body["content"]
