"""The embedded broker counts the calls it receives, by method, and `tourguide broker --metrics-port` exports them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.broker import broker_rpcs
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Envelope, Publisher, TaskConsumer
from tests.broker.conftest import holds_nothing
from tests.processes import bot_process, clean_env, free_port
from tests.waiting import until


async def test_three_messages_sent_and_consumed_make_three_sends_and_at_most_three_acks(broker: EmbeddedBroker) -> None:
    config = BusConfig(broker.endpoint)
    handled: list[bytes] = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope.body)

    async with Publisher(config, ["Orders"]) as publisher:
        before = broker.rpcs.snapshot()
        for body in (b"a", b"b", b"c"):
            await publisher.publish("Orders", body)
        assert broker.rpcs.snapshot()["SendMessage"] - before.get("SendMessage", 0) == 3

    async with TaskConsumer(config, "Orders", "GID_push", handler):
        await until(lambda: len(handled) == 3 and holds_nothing(broker), what="three messages handled and acked")
    assert sorted(handled) == [b"a", b"b", b"c"]
    counts = broker.rpcs.snapshot()
    assert counts["SendMessage"] == 3
    assert 1 <= counts["AckMessage"] <= 3  # acks finishing together share a call (bot.bus.ack_batches)
    assert counts["ReceiveMessage"] >= 1


async def test_the_broker_command_serves_its_call_counts_as_prometheus_metrics(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    args = ["broker", "--port", str(port), "--data", str(tmp_path / "broker"), "--metrics-port", str(metrics_port)]
    with bot_process(args, clean_env(), tmp_path / "broker.log"):
        before = await asyncio.to_thread(broker_rpcs, metrics_port)
        async with Publisher(BusConfig(f"127.0.0.1:{port}"), ["WeatherAgentTask"]) as publisher:
            for _ in range(2):
                await publisher.publish("WeatherAgentTask", b"{}", priority=1)
        after = await asyncio.to_thread(broker_rpcs, metrics_port)
    assert after["SendMessage"] - before.get("SendMessage", 0.0) == 2.0
    assert after.get("QueryRoute", 0.0) >= 1.0  # the producer asked for the topic's route first
