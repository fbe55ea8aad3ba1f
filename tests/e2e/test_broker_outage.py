"""RocketMQ goes away while a request comes in: the request waits, and is answered once the broker is back."""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import load_settings
from bot.wiring import pipeline
from bot.wiring import terminal as open_terminal
from tests.processes import bot_process, clean_env, free_port

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_a_request_during_a_broker_outage_is_answered_after_it(tmp_path: Path) -> None:
    port = free_port()
    broker_args = ["broker", "--port", str(port), "--data", str(tmp_path / "broker")]
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint=f"127.0.0.1:{port}")
    log = tmp_path / "broker.log"
    with contextlib.ExitStack() as brokers:
        broker = brokers.enter_context(bot_process(broker_args, clean_env(), log))
        async with (
            pipeline(settings, agents="inline", clock=lambda: NOW) as p,
            open_terminal(p, io.StringIO(), answer_timeout_s=90) as terminal,
        ):
            assert (await terminal.ask("3 days in Kyoto next weekend")).payload["status"] == "completed"
            broker.kill()  # RocketMQ is gone...
            broker.wait(10)
            pending = asyncio.create_task(terminal.ask("2 days in Osaka next weekend"))
            await asyncio.sleep(4)
            assert not pending.done()  # ...so the request waits (stored, not lost, not failed)...
            brokers.enter_context(bot_process(broker_args, clean_env(), log))  # ...until RocketMQ is back
            reply = await asyncio.wait_for(pending, 90)
    assert reply.payload["status"] == "completed"
    assert reply.payload["request"]["destination"] == "Osaka"
    assert len(reply.payload["itinerary"]) == 2
