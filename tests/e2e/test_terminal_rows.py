"""A terminal takes the answers of its own conversations only, however many other terminals left behind."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.models import ConversationRef, SessionStatus
from bot.schemas import TripRequest
from bot.settings import load_settings
from bot.wiring import pipeline
from bot.wiring import terminal as open_terminal

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LEFT_BEHIND = 60  # more than the sender reads at once


async def test_answers_left_by_other_terminals_neither_reach_this_one_nor_crowd_out_its_own(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="")
    async with pipeline(settings, agents="none", clock=lambda: NOW) as p:
        for n in range(LEFT_BEHIND):  # e.g. `tourguide ask` killed before its answer was queued
            ref = ConversationRef(platform="cli", channel=f"cli-gone-{n}", user="terminal")
            assert await p.sessions.answer_directly(f"task-gone-{n}", ref, TripRequest(), SessionStatus.FAILED,
                                                    f"answer {n}", {"status": "failed"})
        async with open_terminal(p, io.StringIO(), answer_timeout_s=30) as term:
            reply = await term.ask("hello")  # no destination: answered directly, no agent needed
        unsent = [await p.outbox.get(f"task-gone-{n}") for n in range(LEFT_BEHIND)]
    assert reply.payload["status"] == "needs_clarification" and "Where would you like to go" in reply.text
    assert all(r is not None and r.status == "pending" and r.attempts == 0 for r in unsent)
