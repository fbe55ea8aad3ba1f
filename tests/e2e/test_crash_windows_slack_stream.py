"""Exactly once when the answer is a Slack chat stream (assistant threads), under kill -9.

`tourguide bot --with-agents` runs as a child process group and is killed while FakeSlack holds a response
open: while the stream shows progress (the restarted bot picks the open stream up and stops it with the
answer), and between ``chat.stopStream`` and ``mark_sent`` (the restarted bot finds the answer's metadata
on the stopped stream and sends nothing).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_crash_windows import _rows, bot, kill_group
from tests.standins.fake_slack import FakeSlack
from tests.waiting import until

pytestmark = pytest.mark.slow
REQUEST = "3 days in Kyoto next weekend"


def _answers(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages if (m.get("metadata") or {}).get("event_type") == "tourguide_answer"]


def _ok(slack: FakeSlack, method: str) -> int:
    return sum(1 for c in slack.calls_to(method) if c.response["ok"])


async def _thread(slack: FakeSlack) -> str:
    await slack.push_event(slack.assistant_thread_started())
    await slack.wait_for(lambda: bool(slack.calls_to("assistant.threads.setSuggestedPrompts")), timeout=30)
    return str(slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["thread_ts"])


def _env(slack: FakeSlack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token, "SLACK_API_URL": slack.api_url}


async def test_kill_while_the_stream_shows_progress_then_the_next_bot_stops_it_with_the_answer(
        tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        progress = slack.hold("chat.appendStream")  # the first step on its way; the bot dies right there
        async with bot(tmp_path, **_env(slack)) as first:
            await slack.wait_connected(timeout=30)
            thread = await _thread(slack)
            await slack.push_event(slack.assistant_message(REQUEST, thread))
            await asyncio.wait_for(progress.reached.wait(), 60)
            await kill_group(first)
        progress.release()
        (stream,) = [c.response["ts"] for c in slack.calls_to("chat.startStream")]
        assert slack.is_streaming("D0DM", stream) and _answers(slack) == []

        async with bot(tmp_path, **_env(slack)):
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])

    (answer,) = _answers(slack)
    assert answer["ts"] == stream and "Kyoto" in str(answer["blocks"])  # the same stream carried the answer
    assert _ok(slack, "chat.stopStream") == 1


async def test_kill_between_stop_stream_and_mark_sent_sends_nothing_more(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        stop = slack.hold("chat.stopStream")  # Slack ended the stream with the answer; the bot does not know
        async with bot(tmp_path, **_env(slack)) as first:
            await slack.wait_connected(timeout=30)
            thread = await _thread(slack)
            await slack.push_event(slack.assistant_message(REQUEST, thread))
            await asyncio.wait_for(stop.reached.wait(), 60)
            await kill_group(first)
        stop.release()
        assert len(_answers(slack)) == 1
        assert _rows(tmp_path / "data", "SELECT status, delivering FROM outbox") == [("pending", 1)]

        async with bot(tmp_path, **_env(slack)):
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
        assert slack.calls_to("conversations.replies")  # the restarted bot looked before sending

    assert len(_answers(slack)) == 1
    assert len(slack.calls_to("chat.stopStream")) == 1
    assert not [m for m in slack.posted_messages if m.params.get("metadata")]
