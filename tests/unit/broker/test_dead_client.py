"""A consumer killed with RPCs in flight: its late receive must not bring it back to life (issue 8)."""

from __future__ import annotations

import time

from bot.broker.config import BrokerConfig
from bot.broker.engine import BrokerEngine, ReceiveArgs
from bot.broker.model import StoredMessage
from bot.broker.protocol import pb
from bot.broker.store import BrokerStore

TOPIC, GROUP = ("", "T"), ("", "G")


def _args(client: str, polling_s: float = 0.2) -> ReceiveArgs:
    return ReceiveArgs(client, GROUP, TOPIC, None, 1, True, 0.0, polling_s)


async def test_a_released_clients_late_receive_gets_nothing_and_the_message_goes_to_a_live_one() -> None:
    config = BrokerConfig(data_dir=None, auto_create=True, release_delay_s=0.1)
    async with BrokerStore(None) as store:
        engine = BrokerEngine(config, store)
        await engine.start()
        await engine.register("dead", pb.PUSH_CONSUMER, GROUP, [TOPIC])
        await engine.register("live", pb.PUSH_CONSUMER, GROUP, [TOPIC])
        await engine.send(StoredMessage(pk=0, namespace="", topic="T", queue_id=0, offset=0, message_id="m1",
                                        body=b"task", message_type=pb.NORMAL))
        assert [d.message.message_id for d, _ in await engine.receive(_args("dead"))] == ["m1"]

        engine.release("dead")  # its telemetry stream closed: kill -9
        # A receive the dead process sent just before dying arrives now: before the fix it re-created the
        # session (alive for client_expiry_s = 120 s) and popped the released message again.
        assert await engine.receive(_args("dead", polling_s=0.5)) == []
        assert engine.clients.get("dead") is None

        started = time.monotonic()
        got = await engine.receive(_args("live", polling_s=5.0))
        assert [d.message.message_id for d, _ in got] == ["m1"]
        assert time.monotonic() - started < 3.0  # release_delay_s, not client_expiry_s
        assert got[0][0].attempts == 2


async def test_a_new_telemetry_stream_revives_a_released_client() -> None:
    config = BrokerConfig(data_dir=None, auto_create=True)
    async with BrokerStore(None) as store:
        engine = BrokerEngine(config, store)
        await engine.start()
        await engine.register("c", pb.PUSH_CONSUMER, GROUP, [TOPIC])
        engine.release("c")
        await engine.register("c", pb.PUSH_CONSUMER, GROUP, [TOPIC])  # the settings handshake of a live client
        assert engine.clients.is_alive("c")
