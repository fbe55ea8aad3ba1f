"""DingTalk end to end: the real dingtalk-stream client against FakeDingTalk, the real pipeline on the
embedded broker. Assertions are on the frames, webhook posts and OpenAPI calls the stand-in received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.dingtalk import DingTalkSettings
from bot.settings import load_settings
from bot.wiring import Pipeline, chat_services, pipeline
from tests.standins.fake_dingtalk import FakeDingTalk, OpenApiCall, WebhookPost
from tests.waiting import settled

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
REFERENCE = "帮我做一个下周三到下周日杭州周边自驾游方案"
GROUP_SEND = "/v1.0/robot/groupMessages/send"


@asynccontextmanager
async def dingtalk_bot(tmp_path: Path, fake: FakeDingTalk, *, window_s: float = 60.0,
                       user_rate: int = 6) -> AsyncIterator[Pipeline]:
    """The bot runtime (pipeline + DingTalk adapter + outbox sender) pointed at the stand-in."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", user_rate_per_minute=user_rate)
    platform = DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                openapi_endpoint=fake.openapi_endpoint, rate_window_s=window_s)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW) as p,
        chat_services(settings, p, {"dingtalk": platform}),
    ):
        await fake.wait_connected(timeout=10)
        yield p


def itineraries(posts: list[WebhookPost]) -> list[WebhookPost]:
    """Delivered webhook posts carrying a plan (not the "planning…" note)."""
    return [p for p in posts if p.errcode == 0 and "行程" in p.body["markdown"]["text"] and "第1天" in
            p.body["markdown"]["text"]]


def group_sends(fake: FakeDingTalk) -> list[OpenApiCall]:
    return [c for c in fake.openapi_calls if c.path == GROUP_SEND and c.status == 200]


async def test_group_message_is_acked_first_answered_once_via_webhook_with_an_at(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_bot(tmp_path, fake) as p:
        frame = await fake.push_chatbot_message(REFERENCE, sender_staff_id="staff001")
        ack = await fake.wait_for_ack(frame)
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)
        again = await fake.repush(frame)  # DingTalk re-pushes the same msgId with a new frame id
        await fake.wait_for_ack(again)
        await settled(tmp_path)  # a (wrong) second answer would have been sent by now
        task_id = await p.sessions.task_for_event("dingtalk", frame.data["msgId"])

    assert ack.code == 200
    answer = itineraries(fake.webhook_posts)[0]
    assert ack.at < answer.at  # the ACK went out before the work finished
    assert answer.conversation_id == frame.data["conversationId"]
    assert answer.body["msgtype"] == "markdown" and answer.body["at"]["atUserIds"] == ["staff001"]
    assert "@staff001" in answer.body["markdown"]["text"] and "杭州" in answer.body["markdown"]["text"]
    assert len(fake.webhook_posts) == 2  # "planning…" + the plan; nothing for the re-push
    assert "规划" in fake.webhook_posts[0].body["markdown"]["text"]
    assert task_id is not None and group_sends(fake) == []


async def test_expired_webhook_falls_back_to_the_robot_openapi(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_bot(tmp_path, fake):
        frame = await fake.push_chatbot_message(REFERENCE)
        await fake.wait_for_ack(frame)
        fake.expire_sessions()  # the webhook answers "session 不存在" from now on
        await fake.wait_for(lambda: any("第1天" in _text(c) for c in group_sends(fake)), timeout=15)

    answer = next(c for c in group_sends(fake) if "第1天" in _text(c))
    assert answer.body["openConversationId"] == frame.data["conversationId"]
    assert answer.body["robotCode"] == fake.robot_code and answer.body["msgKey"] == "sampleMarkdown"
    assert answer.token and any(c.path == "/v1.0/oauth2/accessToken" for c in fake.openapi_calls)
    assert itineraries(fake.webhook_posts) == []
    assert len([c for c in group_sends(fake) if "第1天" in _text(c)]) == 1


async def test_one_to_one_message_with_an_expired_webhook_goes_through_batch_send(tmp_path: Path) -> None:
    async with FakeDingTalk(session_ttl_seconds=1.0) as fake, dingtalk_bot(tmp_path, fake):
        frame = await fake.push_chatbot_message("3 days in Kyoto next weekend", conversation_type="1",
                                                conversation_id="cidFakeDm==", sender_staff_id="staff009")
        await fake.wait_for(lambda: any("Day 1" in _text(c) for c in fake.sends_to("staff009")), timeout=15)

    sends = [c for c in fake.sends_to("staff009") if "Day 1" in _text(c)]
    assert [c.path for c in sends] == ["/v1.0/robot/oToMessages/batchSend"]
    assert sends[0].body["userIds"] == ["staff009"] and frame.data["msgId"]
    assert fake.webhook_posts == []  # expiry known from sessionWebhookExpiredTime: not even tried


def _text(call: OpenApiCall) -> str:
    return str(json.loads(call.body.get("msgParam", "{}")).get("text", ""))


@pytest.mark.slow
async def test_25_answers_in_one_group_are_all_delivered_within_the_rate_limit(tmp_path: Path) -> None:
    window = 2.0  # DingTalk's 20 per minute, scaled down: 20 per 2 s on both sides
    async with (
        FakeDingTalk(rate_window_seconds=window) as fake,
        dingtalk_bot(tmp_path, fake, window_s=window) as p,
    ):
        for n in range(25):  # empty @-mentions: each gets the usage help, 25 answers due at once
            await fake.push_chatbot_message("", sender_staff_id=f"staff{n:03d}")
        await fake.wait_for(lambda: len(fake.webhook_posts) == 25, timeout=15)
        await settled(tmp_path)
        statuses = [(await p.outbox.get(t)) for t in await _tasks(p, fake)]

    posts = fake.webhook_posts
    assert [post.errcode for post in posts] == [0] * 25  # nothing throttled, nothing dropped
    times = sorted(post.at for post in posts)
    assert all(later - earlier >= window for earlier, later in zip(times, times[20:], strict=False))
    assert {post.body["at"]["atUserIds"][0] for post in posts} == {f"staff{n:03d}" for n in range(25)}
    assert all(reply is not None and reply.status.value == "sent" for reply in statuses)


async def _tasks(p: Pipeline, fake: FakeDingTalk) -> list[str]:
    msg_ids = [f.data["msgId"] for f in fake.frames if f.type == "CALLBACK"]
    return [t for m in msg_ids if (t := await p.sessions.task_for_event("dingtalk", m))]
