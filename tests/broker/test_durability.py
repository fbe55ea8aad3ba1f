"""`tourguide broker` as a separate process: kill -9, restart on the same data, nothing lost or repeated."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.broker.clients import message, producer, simple_consumer

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def broker_process(port: int, data: Path) -> Iterator[subprocess.Popen[str]]:
    """`tourguide broker` in its own process; yields once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "broker", "--port", str(port), "--data", str(data), "--auto-create"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "listening on" in line:
                break
        else:
            raise AssertionError(f"broker did not start (exit {proc.wait()})")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


async def test_acknowledged_sends_survive_sigkill_and_acked_messages_never_return(tmp_path: Path) -> None:
    port, data = _free_port(), tmp_path / "data"
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

    with broker_process(port, data) as proc:
        sent, acked = await asyncio.to_thread(before_crash)
        proc.kill()  # SIGKILL: no shutdown code runs
        proc.wait(10)
    with broker_process(port, data):
        redelivered = await asyncio.to_thread(after_restart)

    assert len(sent) == 300
    assert len(redelivered) == len(set(redelivered)), "a message was delivered twice"
    assert set(redelivered) == sent - acked
