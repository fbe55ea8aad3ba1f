"""Two Supervisors on one database and one broker both run a session: it is answered once, and promptly.

Each keeps its own copy of the session in memory. The results go to one or the other, so one copy is
always behind; the version each commit returns tells that Supervisor to reload from SQLite instead of
acting on the stale copy (or waiting for a step deadline that would never be right).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.models import ConversationRef, InboundMessage, SessionStatus
from bot.runtime import agent, bus_config
from bot.settings import load_settings
from bot.wiring import Pipeline, pipeline
from tests.waiting import until

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STEP_TIMEOUT_S = 120.0  # far longer than the test may take: a finish never comes from a deadline here


async def test_two_supervisors_finish_a_shared_session_once_and_drop_it(tmp_path: Path) -> None:
    first_settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", step_timeout_s=STEP_TIMEOUT_S)
    async with pipeline(first_settings, agents="none", clock=lambda: NOW) as first:
        second_settings = load_settings(data_dir=tmp_path, rocketmq_endpoint=first.endpoint,
                                        step_timeout_s=STEP_TIMEOUT_S)
        async with pipeline(second_settings, agents="none", clock=lambda: NOW) as second:
            ref = ConversationRef(platform="cli", channel="two-supervisors", user="u1")
            submitted = await first.intake.submit(InboundMessage(
                ref=ref, event_id="evt-1", text="帮我做一个下周三到下周日杭州周边自驾游方案",
                received_at=datetime.now(UTC)))
            task_id = submitted.task_id
            assert submitted.started and first.supervisor.runs(task_id)
            await until(lambda: second.supervisor.runs(task_id), 15, "the second Supervisor adopting the session")

            bus = bus_config(first_settings, first.endpoint)
            async with agent("weather", first_settings, bus), agent("travel", first_settings, bus):
                await until(lambda: _finished(first, task_id), 30, "the session finishing (not by a deadline)")
            await until(lambda: not first.supervisor.runs(task_id) and not second.supervisor.runs(task_id), 15,
                        "both Supervisors dropping the finished session")

            reply = await first.outbox.get(task_id)
            assert reply is not None and reply.payload["status"] == "completed"
            finished = [t for t in await first.sessions.traces(task_id) if t[1] == "session" and "finished" in t[2]]
            assert len(finished) == 1, "the answer must be produced exactly once"


async def _finished(p: Pipeline, task_id: str) -> bool:
    session = await p.sessions.get(task_id)
    return session is not None and session.status == SessionStatus.COMPLETED
