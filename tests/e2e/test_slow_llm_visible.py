"""A slow or retrying LLM is visible: the Slack status message says so while the user waits (issue 8)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.test_crash_windows import _answers, _rows, bot
from tests.standins.fake_openai import FakeOpenAI
from tests.standins.fake_slack import FakeSlack
from tests.waiting import until

pytestmark = pytest.mark.slow


async def test_status_says_the_planner_is_slow_then_the_answer_arrives(tmp_path: Path) -> None:
    async with FakeSlack() as slack, FakeOpenAI() as llm:
        llm.gate.clear()  # the LLM does not answer: as if it were being retried
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_APP_TOKEN": slack.app_token,
               "SLACK_API_URL": slack.api_url, "TOURGUIDE_LLM_PROVIDER": "openai",
               "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": llm.api_key, "TOURGUIDE_LLM_MAX_ATTEMPTS": "1",
               "TOURGUIDE_SLOW_STEP_NOTICE": "2"}
        async with bot(tmp_path, **env):
            await slack.wait_connected(timeout=30)
            await slack.push_event(slack.app_mention("3 days in Kyoto next weekend"))
            await asyncio.wait_for(llm.arrived.wait(), 60)
            await slack.wait_for(lambda: any("slower than usual" in m.text for m in slack.updated_messages), 30)
            assert _answers(slack) == []
            llm.gate.set()
            await until(lambda: _rows(tmp_path / "data", "SELECT status FROM outbox") == [("sent",)])
    assert len(_answers(slack)) == 1
