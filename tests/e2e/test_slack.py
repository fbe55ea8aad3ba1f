"""Slack end to end: real slack-bolt / slack-sdk against FakeSlack, the real pipeline on the embedded broker.

Assertions are on the Web API requests the stand-in received.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.slack import SlackSettings
from bot.retry import DELIVERY_RETRY, RetryPolicy
from bot.settings import load_settings
from bot.wiring import ChatServices, Pipeline, chat_services, pipeline
from tests.standins.fake_slack import FakeSlack, PostedMessage
from tests.waiting import until

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday


@asynccontextmanager
async def slack_bot(tmp_path: Path, slack: FakeSlack, *, http: bool = False,
                    retry: RetryPolicy | None = None) -> AsyncIterator[tuple[Pipeline, ChatServices]]:
    """The bot runtime (pipeline + Slack adapter + outbox sender) pointed at the stand-in."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    platform = SlackSettings(
        bot_token=slack.bot_token, app_token="" if http else slack.app_token, signing_secret=slack.signing_secret,
        api_url=slack.api_url, http_host="127.0.0.1", http_port=0,
    )
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW) as p,
        chat_services(settings, p, {"slack": platform}, retry=retry) as services,
    ):
        if not http:
            await slack.wait_connected()
        yield p, services


def answers(slack: FakeSlack) -> list[PostedMessage]:
    """Answer messages (tagged with our metadata), not status messages."""
    return [m for m in slack.posted_messages if _meta(m).get("event_type") == "tourguide_answer"]


def _meta(message: PostedMessage) -> dict[str, Any]:
    meta = message.params.get("metadata")
    return meta if isinstance(meta, dict) else {}


def session_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "tourguide.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


async def test_slash_command_mention_and_dm_each_get_one_itinerary_in_their_thread(tmp_path: Path) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        command = await slack.push_slash_command("/trip", "3 days in Kyoto next weekend", user_id="U1")
        ack = await slack.wait_for_ack(command, timeout=3.0)
        mention = slack.app_mention("帮我做一个下周三到下周日杭州周边自驾游方案", user="U2")
        await slack.push_event(mention)
        dm = slack.im_message("3 days in Kyoto next weekend", user="U3")
        await slack.push_event(dm)
        await slack.wait_for(lambda: len(answers(slack)) == 3, timeout=15)
        await slack.wait_for(lambda: len(slack.updated_messages) >= 3 and all(
            "✅" in m.text for m in _final_updates(slack)), timeout=5)

    assert ack.at - command.at < 3.0
    parent = next(m for m in slack.posted_messages if m.thread_ts is None)  # the slash command's "planning…"
    assert parent.channel == "C0CHANNEL" and "Kyoto" in parent.text and "<@U1>" in parent.text
    by_thread = {(m.channel, m.thread_ts): m for m in answers(slack)}
    assert set(by_thread) == {("C0CHANNEL", parent.ts), ("C0CHANNEL", mention["ts"]), ("D0DM", dm["ts"])}
    assert "3-day plan for Kyoto" in by_thread[("C0CHANNEL", parent.ts)].text
    assert "杭州" in by_thread[("C0CHANNEL", mention["ts"])].text
    assert all(m.blocks and all(len(b["text"]["text"]) <= 3000 for b in m.blocks if b["type"] == "section")
               for m in answers(slack))
    assert all(m.blocks and m.blocks[-1]["type"] == "context_actions" for m in answers(slack))  # feedback buttons
    status_ts = {m.ts for m in slack.posted_messages if m not in answers(slack)}
    assert {m.ts for m in slack.updated_messages} == status_ts  # progress went into the status messages
    assert session_count(tmp_path) == 3


def _final_updates(slack: FakeSlack) -> list[PostedMessage]:
    last: dict[str, PostedMessage] = {}
    for update in slack.updated_messages:
        last[update.ts] = update
    return list(last.values())


async def test_event_delivered_three_times_gives_one_answer(tmp_path: Path) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        mention = slack.app_mention("3 days in Kyoto next weekend")
        first = await slack.push_event(mention, event_id="Ev0RETRY1")
        second = await slack.redeliver(first, reason="timeout")
        await slack.redeliver(second, reason="timeout")
        await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
        await slack.redeliver(second, reason="http_error")  # a late retry after the answer went out
        await slack.wait_for(lambda: len(slack.acks) == 4)
        await slack.wait_for(lambda: len(slack.updated_messages) >= 1 and "✅" in slack.updated_messages[-1].text)

    assert len(answers(slack)) == 1
    assert answers(slack)[0].thread_ts == mention["ts"]
    assert len(slack.posted_messages) == 2  # one status message + one answer
    assert session_count(tmp_path) == 1


async def test_follow_up_in_the_thread_amends_the_plan(tmp_path: Path) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        mention = slack.app_mention("3 days in Kyoto next weekend")
        await slack.push_event(mention)
        await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
        await slack.push_event(slack.app_mention("make it 2 days", thread_ts=mention["ts"]))
        await slack.wait_for(lambda: len(answers(slack)) == 2, timeout=15)

    first, second = answers(slack)
    assert first.thread_ts == second.thread_ts == mention["ts"]
    assert "3-day plan for Kyoto" in first.text
    assert "2-day plan for Kyoto" in second.text


async def test_http_mode_refuses_forged_and_stale_requests(tmp_path: Path) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack, http=True) as (p, services):
        url = services.url("slack")
        event = slack.app_mention("3 days in Kyoto next weekend")
        forged = await slack.http.post(url, slack.event_request(event, event_id="EvForged", bad_signature=True))
        stale = await slack.http.post(url, slack.event_request(event, event_id="EvStale", age=301))
        slash = await slack.http.post(url, slack.slash_command_request("/trip", "Kyoto", bad_signature=True))
        forged_seen = await p.sessions.task_for_event("slack", "EvForged")
        stale_seen = await p.sessions.task_for_event("slack", "EvStale")
        posts_before = len(slack.posted_messages)
        ok = await slack.http.post(url, slack.event_request(event, event_id="EvGood"))
        retry = await slack.http.post(url, slack.event_request(event, event_id="EvGood", retry_num=1))
        await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)

    assert [r.status for r in (forged, stale, slash)] == [401, 401, 401]
    assert (forged_seen, stale_seen, posts_before) == (None, None, 0)
    assert (ok.status, retry.status) == (200, 200) and ok.elapsed < 3.0
    assert answers(slack)[0].thread_ts == event["ts"]
    assert session_count(tmp_path) == 1


@pytest.mark.slow
async def test_answer_accepted_before_a_restart_is_delivered_once_after_it(tmp_path: Path) -> None:
    retry = dataclasses.replace(DELIVERY_RETRY, initial_backoff_s=1.0)
    async with FakeSlack() as slack:
        mention = slack.app_mention("3 days in Kyoto next weekend")
        async with slack_bot(tmp_path, slack, retry=retry) as (p, _):
            await slack.push_event(mention)
            await slack.wait_for(lambda: len(slack.posted_messages) == 1)  # the status message
            slack.inject_error("chat.postMessage", "internal_error")  # Slack refuses the answer...
            task_id = await p.sessions.task_for_event("slack", slack.envelopes[0].payload["event_id"])
            assert task_id is not None

            async def failed_once() -> bool:
                reply = await p.outbox.get(task_id)
                return reply is not None and reply.attempts == 1

            await until(failed_once)
        assert answers(slack) == []  # ...and the bot stops before it could retry
        async with slack_bot(tmp_path, slack, retry=retry) as (p, _):
            await slack.wait_for(lambda: len(answers(slack)) == 1, timeout=15)
            await until(lambda: _sent(p, task_id))
            await slack.wait_for(lambda: any("✅" in m.text for m in slack.updated_messages))

    assert len(answers(slack)) == 1
    assert answers(slack)[0].thread_ts == mention["ts"]
    assert session_count(tmp_path) == 1


async def _sent(p: Pipeline, task_id: str) -> bool:
    reply = await p.outbox.get(task_id)
    return reply is not None and reply.status.value == "sent"
