"""`tourguide broker` as a separate process: kill -9, restart on the same data, nothing lost or repeated."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.broker.clients import message, producer, simple_consumer
from tests.processes import bot_process, clean_env, free_port

pytestmark = pytest.mark.slow


async def test_acknowledged_sends_survive_sigkill_and_acked_messages_never_return(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    log = tmp_path / "broker.log"

    def broker_process() -> Any:
        args = ["broker", "--port", str(port), "--data", str(data), "--auto-create"]
        return bot_process(args, clean_env(), log)
    endpoint = f"127.0.0.1:{port}"

    def before_crash() -> tuple[set[str], set[str]]:
        sent: set[str] = set()
        with producer(endpoint, "Durable") as p:
            for i in range(300):
                sent.add(p.send(message("Durable", f"m{i}".encode())).message_id)
        acked: set[str] = set()
        with simple_consumer(endpoint, "GID_durable", "Durable") as c:
            while len(acked) < 100:
                for m in c.receive(32, 30):
                    c.ack(m)
                    acked.add(m.message_id)
        return sent, acked

    def after_restart() -> list[str]:
        got: list[str] = []
        with simple_consumer(endpoint, "GID_durable", "Durable", await_s=2) as c:
            while batch := c.receive(32, 30):  # until a 2 s long poll comes back empty
                for m in batch:
                    c.ack(m)
                    got.append(m.message_id)
        return got

    with broker_process() as proc:
        sent, acked = await asyncio.to_thread(before_crash)
        proc.kill()  # SIGKILL: no shutdown code runs
        proc.wait(10)
    with broker_process():
        redelivered = await asyncio.to_thread(after_restart)

    assert len(sent) == 300
    assert len(redelivered) == len(set(redelivered)), "a message was delivered twice"
    assert set(redelivered) == sent - acked
