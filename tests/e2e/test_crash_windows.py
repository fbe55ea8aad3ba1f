"""Exactly once under a kill -9 inside each window (issue 8): one answer per request, none lost.

`tourguide bot --with-agents` runs as a child process group (bot, embedded broker, both agents) and is
killed with SIGKILL while a stand-in holds a response open, i.e. at the exact point a crash is worst:
* ack -> commit: Slack HTTP mode, the bot holds the event and Slack waits for its 200;
* post -> mark_sent: Slack accepted the answer, the bot has not recorded it yet.
Then the bot is restarted on the same data directory and the test waits until the outbox says sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.processes import clean_env, free_port
from tests.standins.fake_slack import FakeSlack, PostedMessage
from tests.waiting import until

pytestmark = pytest.mark.slow
REQUEST = "3 days in Kyoto next weekend"


def _answers(slack: FakeSlack) -> list[PostedMessage]:
    tagged = ((m, m.params.get("metadata") or {}) for m in slack.posted_messages)
    return [m for m, meta in tagged if isinstance(meta, dict) and meta.get("event_type") == "tourguide_answer"]


def _is_answer(params: dict[str, Any]) -> bool:
    meta = params.get("metadata")
    return isinstance(meta, dict) and meta.get("event_type") == "tourguide_answer"


def _rows(data: Path, sql: str) -> list[Any]:
    path = data / "tourguide.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=5) as conn:
        try:
            return list(conn.execute(sql))
        except sqlite3.OperationalError:  # not created yet
            return []


@asynccontextmanager
async def bot(tmp_path: Path, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot in its own process group (agents included), ready; SIGKILLed as a group on exit if alive."""
    log = (tmp_path / "bot.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--log-level", "INFO", "bot", "--with-agents",
        env=clean_env(TOURGUIDE_DATA_DIR=str(tmp_path / "data"), **env), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 90)
        assert b"tourguide bot ready" in line, (tmp_path / "bot.log").read_text()[-3000:]
        yield proc
    finally:
        await kill_group(proc)
        log.close()


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """kill -9 the bot and its agent processes at once, as a crashed host or an OOM kill would."""
    if proc.returncode is None:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def test_kill_between_the_slack_ack_and_the_commit_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    async with FakeSlack() as slack:
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": slack.signing_secret,
               "SLACK_API_URL": slack.api_url, "TOURGUIDE_SLACK_MODE": "http",
               "TOURGUIDE_SLACK_HTTP_HOST": "127.0.0.1", "TOURGUIDE_SLACK_HTTP_PORT": str(port)}
        url = f"http://127.0.0.1:{port}/slack/events"
        mention = slack.app_mention(REQUEST)
        status_post = slack.hold("chat.postMessage")  # the first thing the bot posts after taking the event
        async with bot(tmp_path, **env) as first:
            answer = await slack.http.post(url, slack.event_request(mention, event_id="Ev-crash-1"), timeout=10)
            # Slack got its 200 only once the event and the session were committed...
            assert answer.status == 200
            assert _rows(tmp_path / "data", "SELECT event_id FROM inbound") == [("Ev-crash-1",)]
            await asyncio.wait_for(status_post.reached.wait(), 30)
            await kill_group(first)  # ... and the bot dies before it posted anything
        status_post.release()
        assert _answers(slack) == []

        async with bot(tmp_path, **env):
            # Slack retries an event whose answer it did not get: this one is a duplicate now.
            retry = await slack.http.post(url, slack.event_request(mention, event_id="Ev-crash-1", retry_num=1,
                                                                   retry_reason="http_error"), timeout=10)
            assert retry.status == 200
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])

    assert len(_answers(slack)) == 1
    assert _answers(slack)[0].thread_ts == mention["ts"] and "Kyoto" in _answers(slack)[0].text


async def test_kill_between_the_answer_post_and_mark_sent_posts_it_once(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token,
               "SLACK_API_URL": slack.api_url}
        mention = slack.app_mention(REQUEST)
        answer_post = slack.hold("chat.postMessage", when=_is_answer)  # Slack has it; the bot does not know
        async with bot(tmp_path, **env) as first:
            await slack.wait_connected(timeout=30)
            await slack.push_event(mention)
            await asyncio.wait_for(answer_post.reached.wait(), 60)
            await kill_group(first)
        answer_post.release()
        assert len(_answers(slack)) == 1
        assert _rows(tmp_path / "data", "SELECT status, delivering FROM outbox") == [("pending", 1)]

        async with bot(tmp_path, **env):
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
        assert slack.calls_to("conversations.replies")  # the restarted bot looked before posting

    assert len(_answers(slack)) == 1
    assert _answers(slack)[0].thread_ts == mention["ts"]


async def test_kill_right_after_the_socket_mode_ack_still_answers(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token,
               "SLACK_API_URL": slack.api_url}
        async with bot(tmp_path, **env) as first:
            await slack.wait_connected(timeout=30)
            envelope = await slack.push_event(slack.app_mention(REQUEST))
            await slack.wait_for_ack(envelope, timeout=10)
            await kill_group(first)  # Slack has its ack and will not redeliver
        assert _rows(tmp_path / "data", "SELECT COUNT(*) FROM inbound") == [(1,)]
        async with bot(tmp_path, **env):
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
    assert len(_answers(slack)) == 1
