"""Slack as an AI app: assistant threads and chat streaming, with the real slack-bolt / slack-sdk against
FakeSlack and the real pipeline on the embedded broker.

Every test ends with exactly one answer message in the thread (our message metadata), whether the stream
carried it, Slack ended the stream, or the workspace cannot stream at all.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import SlackSettings
from agents.worker import StepHandler
from bot.settings import load_settings
from bot.wire import TaskMessage, TravelInput
from bot.wiring import chat_services, pipeline, run_trace
from tests.e2e.test_slack import NOW, slack_bot
from tests.standins.fake_slack import ApiCall, FakeSlack
from tests.waiting import settled, until

KYOTO = "3 days in Kyoto next weekend"


def answer_messages(slack: FakeSlack) -> list[dict[str, Any]]:
    """Answer messages in the history, however they got there (posted, or a stopped stream)."""
    return [m for m in slack.messages if (m.get("metadata") or {}).get("event_type") == "tourguide_answer"]


def task_updates(slack: FakeSlack) -> list[tuple[str, str]]:
    """(step, status) of every task_update chunk the bot streamed, in order."""
    return [(c["id"], c["status"]) for call in slack.calls_to("chat.appendStream") if call.response["ok"]
            for c in call.params.get("chunks") or [] if c["type"] == "task_update"]


def ok(calls: list[ApiCall]) -> list[ApiCall]:
    return [c for c in calls if c.response["ok"]]


async def open_thread(slack: FakeSlack) -> str:
    """The user opens the split view: a new assistant thread, which gets the suggested prompts."""
    await slack.push_event(slack.assistant_thread_started())
    await slack.wait_for(lambda: len(ok(slack.calls_to("assistant.threads.setSuggestedPrompts"))) == 1)
    return str(slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["thread_ts"])


async def test_a_dm_in_an_assistant_thread_streams_task_updates_then_one_answer(tmp_path: Path) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        thread = await open_thread(slack)
        await slack.push_event(slack.assistant_message(KYOTO, thread))
        await slack.wait_for(lambda: len(answer_messages(slack)) == 1, timeout=15)

    prompts = slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["prompts"]
    assert [p["message"] for p in prompts] == ["帮我做一个下周三到下周日杭州周边自驾游方案", KYOTO, "杭州明天天气"]
    assert [c.params["title"] for c in slack.calls_to("assistant.threads.setTitle")] == [KYOTO]
    loading = [m for c in ok(slack.calls_to("assistant.threads.setStatus")) for m in c.params.get("loading_messages")
               or []]
    assert "Asking the Weather agent…" in loading and "Asking the Travel agent…" in loading
    (start,) = ok(slack.calls_to("chat.startStream"))
    assert start.params["thread_ts"] == thread and start.params["task_display_mode"] == "timeline"
    updates = task_updates(slack)
    for step in ("weather", "travel"):  # each step's status goes forward: out, then done
        seen = [status for kind, status in updates if kind == step]
        assert "in_progress" in seen and seen[-1] == "complete"
        assert seen.index("in_progress") < seen.index("complete")
    (stop,) = ok(slack.calls_to("chat.stopStream"))
    (answer,) = answer_messages(slack)
    assert answer["ts"] == start.response["ts"] == stop.params["ts"]  # the stream itself became the answer
    assert "3-day plan for Kyoto" in str(answer["blocks"]) and answer["blocks"][-1]["type"] == "context_actions"
    assert not [m for m in slack.posted_messages if m.params.get("metadata")]  # nothing posted besides it
    assert slack.updated_messages == []  # no status message to close


async def test_a_stream_slack_ended_falls_back_and_still_yields_one_answer(tmp_path: Path) -> None:
    # every gap is too long: the first append already finds the stream ended
    async with FakeSlack(stream_idle_timeout_s=0.0) as slack, slack_bot(tmp_path, slack):
        thread = await open_thread(slack)
        await slack.push_event(slack.assistant_message(KYOTO, thread))
        await slack.wait_for(lambda: len(answer_messages(slack)) == 1, timeout=15)
        await slack.wait_for(lambda: any("✅" in m.text for m in slack.updated_messages))

    (start,) = ok(slack.calls_to("chat.startStream"))
    stream_ts = start.response["ts"]
    assert slack.calls_to("chat.appendStream") and not ok(slack.calls_to("chat.appendStream"))
    assert not ok(slack.calls_to("chat.stopStream"))
    (answer,) = answer_messages(slack)
    assert answer["thread_ts"] == thread and answer["ts"] != stream_ts  # posted instead
    assert "3-day plan for Kyoto" in str(answer["blocks"])
    assert {m.ts for m in slack.updated_messages} == {stream_ts}  # the old stream message shows the status
    assert "✅" in slack.updated_messages[-1].text


async def test_a_workspace_without_streaming_gets_a_status_message_and_a_posted_answer(tmp_path: Path) -> None:
    async with FakeSlack(streaming="unknown_method") as slack, slack_bot(tmp_path, slack):
        thread = await open_thread(slack)
        await slack.push_event(slack.assistant_message(KYOTO, thread))
        await slack.wait_for(lambda: len(answer_messages(slack)) == 1, timeout=15)
        await slack.push_event(slack.assistant_message("杭州明天天气", thread))
        await slack.wait_for(lambda: len(answer_messages(slack)) == 2, timeout=15)
        await slack.wait_for(lambda: sum("✅" in m.text for m in slack.updated_messages) >= 2)

    assert len(slack.calls_to("chat.startStream")) == 1  # asked once; the workspace is remembered
    assert slack.calls_to("chat.appendStream") == [] and slack.calls_to("chat.stopStream") == []
    assert [m["thread_ts"] for m in answer_messages(slack)] == [thread, thread]
    assert len(ok(slack.calls_to("assistant.threads.setTitle"))) == 2


async def test_an_answer_stopped_in_doubt_is_not_posted_again_after_a_restart(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        async with slack_bot(tmp_path, slack):
            thread = await open_thread(slack)
            stop = slack.hold("chat.stopStream")  # Slack ends the stream with the answer; the bot never hears
            await slack.push_event(slack.assistant_message(KYOTO, thread))
            await stop.reached.wait()
        assert len(answer_messages(slack)) == 1
        async with slack_bot(tmp_path, slack):
            await settled(tmp_path, 15)

    assert len(answer_messages(slack)) == 1
    assert len(slack.calls_to("chat.stopStream")) == 1
    assert slack.calls_to("conversations.replies")  # the restarted bot read the thread before anything else
    assert not [m for m in slack.posted_messages if m.params.get("metadata")]
    assert slack.updated_messages == []  # the answer is not overwritten by a status line


async def test_feedback_buttons_are_recorded_in_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeSlack() as slack, slack_bot(tmp_path, slack):
        thread = await open_thread(slack)
        await slack.push_event(slack.assistant_message(KYOTO, thread))
        await slack.wait_for(lambda: len(answer_messages(slack)) == 1, timeout=15)
        (answer,) = answer_messages(slack)
        buttons = answer["blocks"][-1]["elements"][0]
        down = slack.block_action(answer, buttons["action_id"], buttons["negative_button"]["value"], user="U7")
        await slack.wait_for_ack(await slack.push_block_action(down))
        task_id = answer["metadata"]["event_payload"]["task_id"]

        def recorded() -> list[str]:
            with sqlite3.connect(tmp_path / "tourguide.sqlite3") as db:
                return [str(r[0]) for r in db.execute(
                    "SELECT detail FROM traces WHERE task_id = ? AND hop = 'feedback'", (task_id,))]

        await until(lambda: bool(recorded()))

    assert recorded() == ["not helpful by U7 (slack)"]
    capsys.readouterr()
    assert await run_trace(load_settings(data_dir=tmp_path, rocketmq_endpoint=""), task_id) == 0
    assert "feedback" in capsys.readouterr().out.split("not helpful by U7 (slack)")[0].splitlines()[-1]


@asynccontextmanager
async def gated_bot(tmp_path: Path, slack: FakeSlack, gate: asyncio.Event, waiting: asyncio.Event, *,
                    keepalive_s: float) -> AsyncIterator[None]:
    """The bot whose Travel agent waits for ``gate`` (setting ``waiting`` when it starts to)."""

    def gated(handler: StepHandler) -> StepHandler:
        async def handle(task: TaskMessage) -> Any:
            if isinstance(task.input, TravelInput):
                waiting.set()
                await gate.wait()
            return await handler(task)
        return handle

    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    platform = SlackSettings(bot_token=slack.bot_token, app_token=slack.app_token, api_url=slack.api_url,
                             stream_keepalive_s=keepalive_s)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW, wrap=gated) as p,
        chat_services(settings, p, {"slack": platform}),
    ):
        await slack.wait_connected()
        yield


async def test_a_long_silent_step_keeps_the_stream_alive(tmp_path: Path) -> None:
    """The planner works for more than twice Slack's inactivity window: keep-alive appends hold the stream."""
    gate, waiting = asyncio.Event(), asyncio.Event()
    async with FakeSlack(stream_idle_timeout_s=1.0) as slack, \
            gated_bot(tmp_path, slack, gate, waiting, keepalive_s=0.3):
        thread = await open_thread(slack)
        await slack.push_event(slack.assistant_message(KYOTO, thread))
        await asyncio.wait_for(waiting.wait(), 15)
        silent_from = time.monotonic()
        await slack.wait_for(lambda: any(c.at - silent_from > 2.5 for c in ok(slack.calls_to("chat.appendStream"))),
                             timeout=10)
        gate.set()
        await slack.wait_for(lambda: len(answer_messages(slack)) == 1, timeout=15)

    assert slack.expired_streams == []
    assert len(ok(slack.calls_to("chat.stopStream"))) == 1
    assert not [m for m in slack.posted_messages if m.params.get("metadata")]
