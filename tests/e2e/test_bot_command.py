"""`tourguide bot` as a process: the hint without credentials, and SIGTERM + restart against FakeSlack."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.standins.fake_slack import FakeSlack, PostedMessage
from tests.waiting import settled

_OURS = ("TOURGUIDE_", "SLACK_", "DINGTALK_", "DASHSCOPE", "OPENAI")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    return env | {"PYTHONUNBUFFERED": "1"} | extra


def test_without_credentials_the_bot_names_the_variables_and_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "bot"], capture_output=True, text=True, timeout=60,
                          env=_clean_env(TOURGUIDE_DATA_DIR=str(tmp_path)), cwd=tmp_path, check=False)
    assert proc.returncode == 2
    for variable in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DINGTALK_CLIENT_ID"):
        assert variable in proc.stderr


@asynccontextmanager
async def running_bot(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot bot --with-agents`` on Socket Mode; stopped with SIGTERM (must exit 0)."""
    env = _clean_env(TOURGUIDE_DATA_DIR=str(tmp_path / "data"), SLACK_BOT_TOKEN=slack.bot_token,
                     SLACK_APP_TOKEN=slack.app_token, SLACK_API_URL=slack.api_url)
    log = (tmp_path / "bot.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--log-level", "INFO", "bot", "--with-agents", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=log)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert b"tourguide bot ready: slack" in line, (tmp_path / "bot.log").read_text()
        await slack.wait_connected(timeout=30)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()


def _answers(slack: FakeSlack) -> list[PostedMessage]:
    tagged = ((m, m.params.get("metadata") or {}) for m in slack.posted_messages)
    return [m for m, meta in tagged if meta.get("event_type") == "tourguide_answer"]


@pytest.mark.slow
async def test_sigterm_before_the_answer_went_out_then_restart_delivers_it_once(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        mention = slack.app_mention("3 days in Kyoto next weekend")
        slack.inject_error("chat.postMessage", "internal_error")  # the status message
        for _attempt in range(3):  # the answer is refused for a while: the bot is stopped meanwhile, even
            slack.inject_error("chat.postMessage", "internal_error")  # on a slow machine (retries 2 s, 4 s...)
        async with running_bot(tmp_path, slack) as first:
            await slack.push_event(mention)
            await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) >= 2, timeout=45)
            first.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.wait(), 30) == 0
        assert _answers(slack) == []
        async with running_bot(tmp_path, slack):
            await slack.wait_for(lambda: len(_answers(slack)) == 1, timeout=60)
            await settled(tmp_path / "data")  # a (wrong) second delivery would have happened by now

    assert len(_answers(slack)) == 1
    assert _answers(slack)[0].thread_ts == mention["ts"]
    assert "Kyoto" in _answers(slack)[0].text
