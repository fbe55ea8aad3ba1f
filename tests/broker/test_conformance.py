"""The official rocketmq-python-client 5.1.2 against the embedded broker, over real gRPC on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from bot.broker.config import BrokerConfig
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.broker.server import EmbeddedBroker
from tests.broker.clients import (
    Recorder,
    drain,
    lite_consumer,
    message,
    producer,
    push_consumer,
    simple_consumer,
    wait_until,
)
from tests.broker.conftest import GROUPS, TOPICS, with_overrides


async def test_produce_then_simple_consumer_receives_and_acks(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        with producer(broker.endpoint, "Orders") as p:
            receipt = p.send(message("Orders", b"hello", tag="weather", keys="task-1"))
        with simple_consumer(broker.endpoint, "GID_simple", "Orders") as c:
            got = c.receive(16, 15)
            assert [m.body for m in got] == [b"hello"]
            m = got[0]
            assert m.message_id == receipt.message_id
            assert (m.tag, m.keys, m.delivery_attempt) == ("weather", {"task-1"}, 1)
            c.ack(m)
            assert c.receive(16, 15) == []  # acked: never again for this group

    await asyncio.to_thread(scenario)


async def test_tag_filter_delivers_only_matching_tags(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        with producer(broker.endpoint, "Orders") as p:
            p.send(message("Orders", b"a", tag="weather"))
            p.send(message("Orders", b"b", tag="travel"))
            p.send(message("Orders", b"c"))
        with simple_consumer(broker.endpoint, "GID_simple", "Orders", tag="travel") as c:
            assert [m.body for m in drain(c, 1, timeout_s=4)] == [b"b"]

    await asyncio.to_thread(scenario)


async def test_push_failure_redelivers_with_attempt_2_then_dead_letters(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        failing = Recorder(outcome=lambda _m: False)
        with producer(broker.endpoint, "Orders") as p, push_consumer(broker.endpoint, "GID_push", "Orders", failing):
            p.send(message("Orders", b"poison", keys="task-9"))
            # GID_push allows 3 attempts with a 1 s backoff.
            assert wait_until(lambda: len(failing.seen) >= 3, 15)
            time.sleep(2.5)
        assert [s[1] for s in failing.seen] == [1, 2, 3]
        with simple_consumer(broker.endpoint, "GID_dlq_reader", "%DLQ%GID_push") as dlq:
            dead = drain(dlq, 1, timeout_s=6)
        assert [m.body for m in dead] == [b"poison"]
        assert dead[0].keys == {"task-9"}

    await asyncio.to_thread(scenario)


async def test_push_consumer_success_on_second_attempt(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        flaky = Recorder(outcome=lambda m: m.delivery_attempt >= 2)
        with producer(broker.endpoint, "Orders") as p, push_consumer(broker.endpoint, "GID_push", "Orders", flaky):
            p.send(message("Orders", b"flaky"))
            assert wait_until(lambda: len(flaky.seen) >= 2, 10)
            time.sleep(1.5)
        assert [(s[0], s[1]) for s in flaky.seen] == [(b"flaky", 1), (b"flaky", 2)]

    await asyncio.to_thread(scenario)


@pytest.mark.parametrize("broker_config", [BrokerConfig(port=0, min_invisible_s=2)], indirect=False)
async def test_unacked_message_comes_back_after_invisible_duration(broker_config: BrokerConfig) -> None:
    async with EmbeddedBroker(broker_config) as broker:
        await broker.apply(TOPICS, GROUPS, {})

        def scenario() -> None:
            with producer(broker.endpoint, "Orders") as p:
                p.send(message("Orders", b"lost-worker"))
            with simple_consumer(broker.endpoint, "GID_simple", "Orders") as dying:
                first = dying.receive(1, 2)  # received, then the worker "dies": no ack
            taken = time.monotonic()
            with simple_consumer(broker.endpoint, "GID_simple", "Orders", await_s=5) as rescuer:
                again = drain(rescuer, 1, timeout_s=8)
            assert [m.body for m in first] == [b"lost-worker"]
            assert [(m.body, m.delivery_attempt) for m in again] == [(b"lost-worker", 2)]
            assert time.monotonic() - taken >= 1.5  # not before the invisible time ran out

        await asyncio.to_thread(scenario)


async def test_fifo_order_per_message_group_with_one_in_flight(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        listener = Recorder(hold_s=0.05)
        with producer(broker.endpoint, "Fifo") as p:
            for i in range(6):
                for group in ("g1", "g2"):
                    p.send(message("Fifo", f"{group}-{i}".encode(), message_group=group))
        with push_consumer(broker.endpoint, "GID_fifo", "Fifo", listener) as consumer:
            assert consumer.fifo is True  # chosen by the broker's settings, as the real proxy does
            assert wait_until(lambda: len(listener.seen) >= 12, 15)
        for group in ("g1", "g2"):
            order = [b for b in listener.bodies() if b.startswith(group.encode())]
            assert order == [f"{group}-{i}".encode() for i in range(6)]
            assert listener.max_in_flight[group] == 1

    await asyncio.to_thread(scenario)


async def test_delay_message_is_not_delivered_before_its_time(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        with producer(broker.endpoint, "Delayed") as p:
            due = int(time.time()) + 3
            p.send(message("Delayed", b"later", delivery_timestamp=due))  # epoch seconds (client quirk)
        with simple_consumer(broker.endpoint, "GID_delay", "Delayed", await_s=5) as c:
            got = drain(c, 1, timeout_s=10)
            received = time.time()
        assert [m.body for m in got] == [b"later"]
        assert received >= due

    await asyncio.to_thread(scenario)


async def test_lite_consumer_gets_only_subscribed_lite_topics_backlog_and_unsubscribe(broker: EmbeddedBroker) -> None:
    def scenario() -> None:
        listener = Recorder()
        with (
            producer(broker.endpoint, "Results") as p,
            lite_consumer(broker.endpoint, "GID_lite", "Results", listener) as c,
        ):
            c.subscribe_lite("task-a")
            c.subscribe_lite_all()  # 5.1.2 workaround for the split-name PARTIAL_ADD
            p.send(message("Results", b"a1", lite_topic="task-a"))
            p.send(message("Results", b"b1", lite_topic="task-b"))
            assert wait_until(lambda: b"a1" in listener.bodies(), 5)
            time.sleep(1)
            assert listener.bodies() == [b"a1"]  # task-b is nobody's yet

            c.subscribe_lite("task-b")
            c.subscribe_lite_all()
            assert wait_until(lambda: b"b1" in listener.bodies(), 5)  # the backlog arrives on subscribe

            c.unsubscribe_lite("task-a")
            p.send(message("Results", b"a2", lite_topic="task-a"))
            p.send(message("Results", b"b2", lite_topic="task-b"))
            assert wait_until(lambda: b"b2" in listener.bodies(), 5)
            time.sleep(1)
        assert listener.bodies() == [b"a1", b"b1", b"b2"]
        assert {s[2] for s in listener.seen} == {"task-a", "task-b"}

    await asyncio.to_thread(scenario)


async def test_auth_refuses_a_wrong_secret(broker_config: BrokerConfig) -> None:
    config = with_overrides(broker_config, auth={"ak-test": "sk-test"})
    async with EmbeddedBroker(config) as broker:
        await broker.apply(TOPICS, GROUPS, {})

        def scenario() -> None:
            with (
                producer(broker.endpoint, "Orders", ak="ak-test", sk="wrong") as bad,
                pytest.raises(Exception, match=r"(?i)unauthorized|route"),
            ):
                bad.send(message("Orders", b"x"))
            with producer(broker.endpoint, "Orders", ak="ak-test", sk="sk-test") as good:
                assert good.send(message("Orders", b"y")).message_id

        await asyncio.to_thread(scenario)


async def test_namespaces_isolate_topics_and_groups(broker: EmbeddedBroker) -> None:
    await broker.apply([TopicInfo("ns1", "Orders", TopicType.NORMAL)], [GroupInfo("ns1", "GID_simple")], {})

    def scenario() -> None:
        with producer(broker.endpoint, "Orders", namespace="ns1") as p:
            p.send(message("Orders", b"in-ns1"))
        with simple_consumer(broker.endpoint, "GID_simple", "Orders") as plain:
            assert plain.receive(16, 15) == []  # the namespace-less topic is another topic
        with simple_consumer(broker.endpoint, "GID_simple", "Orders", namespace="ns1") as scoped:
            assert [m.body for m in drain(scoped, 1, timeout_s=5)] == [b"in-ns1"]

    await asyncio.to_thread(scenario)


async def test_idle_lite_topics_expire_after_their_ttl(broker_config: BrokerConfig) -> None:
    config = with_overrides(broker_config, housekeeping_interval_s=0.2)
    async with EmbeddedBroker(config) as broker:
        await broker.apply([TopicInfo("", "Results", TopicType.LITE, 1, lite_ttl_s=2)], GROUPS, {})

        def scenario() -> list[bytes]:
            listener = Recorder()
            with producer(broker.endpoint, "Results") as p:
                p.send(message("Results", b"stale", lite_topic="task-old"))
                time.sleep(3.0)  # idle longer than the 2 s TTL: the lite topic and its messages are gone
                with lite_consumer(broker.endpoint, "GID_lite", "Results", listener) as c:
                    for name in ("task-old", "task-new"):
                        c.subscribe_lite(name)
                    c.subscribe_lite_all()
                    p.send(message("Results", b"fresh", lite_topic="task-new"))  # a live lite topic still works
                    wait_until(lambda: b"fresh" in listener.bodies(), 5)
                    time.sleep(0.5)
            return listener.bodies()

        assert await asyncio.to_thread(scenario) == [b"fresh"]


HANGING_CONSUMER = """
import sys, time
from rocketmq import ConsumeResult, MessageListener
from bot.bus.blocking import push_consumer

class Hang(MessageListener):
    def consume(self, message):
        print("got", message.body.decode(), flush=True)
        time.sleep(3600)
        return ConsumeResult.SUCCESS

with push_consumer(sys.argv[1], "GID_push", "Orders", Hang()):
    time.sleep(3600)
"""


async def test_push_consumer_killed_mid_message_releases_it_to_another(broker: EmbeddedBroker) -> None:
    def scenario() -> list[tuple[bytes, int]]:
        with producer(broker.endpoint, "Orders") as p:
            p.send(message("Orders", b"orphan"))
        doomed = subprocess.Popen([sys.executable, "-c", HANGING_CONSUMER, broker.endpoint],
                                  stdout=subprocess.PIPE, text=True)
        assert doomed.stdout is not None and doomed.stdout.readline().strip() == "got orphan"
        doomed.kill()  # kill -9 while it holds the message (auto-renewed, never acked)
        doomed.wait(10)
        survivor = Recorder()
        with push_consumer(broker.endpoint, "GID_push", "Orders", survivor):
            assert wait_until(lambda: bool(survivor.seen), 10)
        return [(s[0], s[1]) for s in survivor.seen]

    assert await asyncio.to_thread(scenario) == [(b"orphan", 2)]
