"""DingTalk HTTP callback mode end to end: FakeDingTalk POSTs signed robot messages to the bot's
``/dingtalk/callback``; the real pipeline on the embedded broker answers through the session webhook.

Assertions are on the callback answers, the webhook posts the stand-in received and the session database.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from adapters.dingtalk import DingTalkSettings
from bot.settings import load_settings
from bot.wiring import Pipeline, chat_services, pipeline
from tests.standins.fake_dingtalk import FakeDingTalk, WebhookPost
from tests.waiting import settled

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
REFERENCE = "帮我做一个下周三到下周日杭州周边自驾游方案"


@asynccontextmanager
async def dingtalk_http_bot(tmp_path: Path, fake: FakeDingTalk) -> AsyncIterator[tuple[Pipeline, str]]:
    """The bot runtime in HTTP callback mode; yields the pipeline and the callback URL."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    platform = DingTalkSettings(client_id=fake.client_id, client_secret=fake.client_secret,
                                openapi_endpoint=fake.openapi_endpoint, mode="http", http_host="127.0.0.1",
                                http_port=0)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW) as p,
        chat_services(settings, p, {"dingtalk": platform}) as services,
    ):
        yield p, services.url("dingtalk")


def itineraries(posts: list[WebhookPost]) -> list[WebhookPost]:
    """Delivered webhook posts carrying a plan (not the "planning…" note)."""
    return [p for p in posts if p.errcode == 0 and "第1天" in p.body["markdown"]["text"]]


def session_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "tourguide.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


async def test_signed_callback_is_answered_at_once_and_planned_through_the_session_webhook(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_http_bot(tmp_path, fake) as (p, url):
        data = fake.chatbot_message(REFERENCE, sender_staff_id="staff042")
        delivery = await fake.post_callback(url, data)
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)
        task_id = await p.sessions.task_for_event("dingtalk", data["msgId"])

    assert delivery.status == 200 and delivery.elapsed < 3.0
    answer = itineraries(fake.webhook_posts)[0]
    assert delivery.at < answer.at  # answered before the work finished
    assert answer.conversation_id == data["conversationId"] and answer.body["at"]["atUserIds"] == ["staff042"]
    assert "杭州" in answer.body["markdown"]["text"]
    assert task_id is not None and session_count(tmp_path) == 1
    assert fake.connection_opens == []  # HTTP mode: no Stream connection at all


async def test_bad_signature_and_stale_or_future_timestamps_are_refused_and_nothing_runs(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_http_bot(tmp_path, fake) as (p, url):
        forged = fake.chatbot_message(REFERENCE)
        stale = fake.chatbot_message(REFERENCE)
        ahead = fake.chatbot_message(REFERENCE)
        results = [
            await fake.post_callback(url, forged, bad_sign=True),
            await fake.post_callback(url, stale, age_s=3601),  # DingTalk's window is one hour
            await fake.post_callback(url, ahead, age_s=-3601),
        ]
        await settled(tmp_path)  # (wrong) work would have been done by now
        seen = [await p.sessions.task_for_event("dingtalk", d["msgId"]) for d in (forged, stale, ahead)]

    assert [r.status for r in results] == [401, 401, 401]
    assert seen == [None, None, None]
    assert fake.webhook_posts == [] and fake.openapi_calls == []
    assert session_count(tmp_path) == 0


async def test_a_repeated_msg_id_is_answered_once(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_http_bot(tmp_path, fake) as (_, url):
        data = fake.chatbot_message(REFERENCE)
        first, again = await asyncio.gather(fake.post_callback(url, data), fake.post_callback(url, data))
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)
        late = await fake.post_callback(url, data)  # a re-push after the answer went out
        await settled(tmp_path)  # a (wrong) second answer would have been sent by now

    assert [first.status, again.status, late.status] == [200, 200, 200]
    assert len(itineraries(fake.webhook_posts)) == 1
    assert len(fake.webhook_posts) == 2  # "planning…" + the plan, nothing for the repeats
    assert session_count(tmp_path) == 1


async def test_a_replayed_signature_is_refused_even_with_another_body(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake, dingtalk_http_bot(tmp_path, fake) as (p, url):
        genuine = fake.chatbot_message(REFERENCE)
        headers = fake.callback_headers()
        forged = fake.chatbot_message("3 days in Kyoto next weekend")  # what an eavesdropper would send
        async with aiohttp.ClientSession() as session:
            statuses = []
            for data in (genuine, forged, genuine):
                async with session.post(url, data=json.dumps(data).encode(), headers=headers) as response:
                    statuses.append(response.status)
        await fake.wait_for(lambda: len(itineraries(fake.webhook_posts)) == 1, timeout=15)
        forged_task = await p.sessions.task_for_event("dingtalk", forged["msgId"])

    assert statuses == [200, 401, 401]
    assert forged_task is None and session_count(tmp_path) == 1
