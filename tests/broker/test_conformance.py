"""One conformance suite, two brokers: the official rocketmq-python-client 5.1.2 against the embedded broker
and against Apache RocketMQ 5.5 (``target`` is parametrized over both; see tests/realbroker.py).

The assertions are the same for both. Where the brokers must differ (a timing constant, a feature the real
broker has no switch for in a test), the test says so and pins each side's behaviour.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.broker.config import BrokerConfig
from bot.broker.model import TopicInfo, TopicType
from bot.broker.server import EmbeddedBroker
from bot.realbroker.admin import TopicDef, run_batch
from bot.realbroker.maven import resolve
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
from tests.broker.conftest import GROUPS, TOPICS, Target, holds_nothing, with_overrides
from tests.realbroker import apache_auth_session, wanted_brokers


async def test_produce_then_simple_consumer_receives_and_acks(target: Target) -> None:
    orders, group = target.n("Orders"), target.n("GID_simple")

    def scenario() -> None:
        with producer(target.endpoint, orders) as p:
            receipt = p.send(message(orders, b"hello", tag="weather", keys=["task-1"]))
        with simple_consumer(target.endpoint, group, orders) as c:
            got = drain(c, 1, timeout_s=10)
            assert [m.body for m in got] == [b"hello"]
            m = got[0]
            assert m.message_id == receipt.message_id
            assert (m.tag, m.keys, m.delivery_attempt) == ("weather", {"task-1"}, 1)
            assert c.receive(16, 15) == []  # acked: never again for this group

    await asyncio.to_thread(scenario)


async def test_tag_filter_delivers_only_matching_tags(target: Target) -> None:
    orders = target.n("Orders")

    def scenario() -> None:
        with producer(target.endpoint, orders) as p:
            p.send(message(orders, b"a", tag="weather"))
            p.send(message(orders, b"b", tag="travel"))
            p.send(message(orders, b"c"))
        with simple_consumer(target.endpoint, target.n("GID_simple"), orders, tag="travel") as c:
            assert [m.body for m in drain(c, 1, timeout_s=6)] == [b"b"]
            assert drain(c, 1, timeout_s=3) == []

    await asyncio.to_thread(scenario)


async def test_push_failure_redelivers_with_attempt_2_then_dead_letters(target: Target) -> None:
    orders, group = target.n("Orders"), target.n("GID_push")

    def scenario() -> None:
        failing = Recorder(outcome=lambda _m: False)
        with producer(target.endpoint, orders) as p, push_consumer(target.endpoint, group, orders, failing):
            p.send(message(orders, b"poison", keys=["task-9"]))
            # GID_push allows 3 attempts with a 1 s backoff.
            assert wait_until(lambda: len(failing.seen) >= 3, 20)
            dead = read_dead_letters(target, f"%DLQ%{group}", 1)
            assert len(failing.seen) == 3  # no fourth attempt: the message went to the dead-letter queue
        assert [s[1] for s in failing.seen] == [1, 2, 3]
        assert [m.body for m in dead] == [b"poison"]
        assert dead[0].keys == {"task-9"}

    await asyncio.to_thread(scenario)


def read_dead_letters(target: Target, dlq_topic: str, expected: int) -> list[Any]:
    """Drain a dead-letter topic; Apache RocketMQ creates it only when the first message is dead-lettered.

    Timing differs and is pinned here: the embedded broker dead-letters at once when a push consumer nacks
    its last attempt; Apache RocketMQ does it when its revive service next sees the nacked message
    (measured 20-25 s after the last attempt).
    """
    deadline = time.monotonic() + (5 if target.kind == "embedded" else 60)
    starved = time.monotonic() + 60  # a client whose start a loaded machine delayed past its wait gets another go
    while True:
        try:
            with simple_consumer(target.endpoint, target.n("GID_dlq_reader"), dlq_topic, attempts=1) as dlq:
                return drain(dlq, expected, timeout_s=max(1.0, deadline - time.monotonic()))
        except Exception as exc:
            # No route yet: the client says so, or (with start_client) never gets the broker's settings, which
            # is also what a start starved of CPU looks like (seen once on the embedded broker in a full run).
            limit = starved if "settings" in str(exc) else deadline
            if not re.search("route|settings", str(exc)) or time.monotonic() > limit:
                raise
            time.sleep(0.5)


async def test_push_consumer_success_on_second_attempt(target: Target) -> None:
    orders = target.n("Orders")

    def scenario() -> None:
        flaky = Recorder(outcome=lambda m: m.delivery_attempt >= 2)
        group = target.n("GID_push")
        with producer(target.endpoint, orders) as p, push_consumer(target.endpoint, group, orders, flaky):
            p.send(message(orders, b"flaky"))
            assert wait_until(lambda: len(flaky.seen) >= 2, 15)
            assert not wait_until(lambda: len(flaky.seen) > 2, 2)  # acked on attempt 2: no third delivery
        assert [(s[0], s[1]) for s in flaky.seen] == [(b"flaky", 1), (b"flaky", 2)]

    await asyncio.to_thread(scenario)


async def test_unacked_message_comes_back_after_invisible_duration(target: Target) -> None:
    orders, group = target.n("Orders"), target.n("GID_simple")

    def scenario() -> None:
        with producer(target.endpoint, orders) as p:
            p.send(message(orders, b"lost-worker"))
        with simple_consumer(target.endpoint, group, orders) as dying:
            first = drain_unacked(dying, invisible_s=10)  # received, then the worker "dies": no ack
        taken = time.monotonic()
        with simple_consumer(target.endpoint, group, orders, await_s=5) as rescuer:
            again = drain(rescuer, 1, timeout_s=20)
        assert [m.body for m in first] == [b"lost-worker"]
        assert [(m.body, m.delivery_attempt) for m in again] == [(b"lost-worker", 2)]
        assert time.monotonic() - taken >= 8  # not before the 10 s invisible time ran out

    await asyncio.to_thread(scenario)


def drain_unacked(consumer: object, invisible_s: int) -> list[object]:
    """Receive one message without acking it, waiting up to 10 s for it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got: list[object] = consumer.receive(1, invisible_s)  # type: ignore[attr-defined]
        if got:
            return got
    return []


async def test_fifo_order_per_message_group_with_one_in_flight(target: Target) -> None:
    fifo = target.n("Fifo")

    def scenario() -> None:
        listener = Recorder(hold_s=0.05)
        with producer(target.endpoint, fifo) as p:
            for i in range(6):
                for group in ("g1", "g2"):
                    p.send(message(fifo, f"{group}-{i}".encode(), message_group=group))
        with push_consumer(target.endpoint, target.n("GID_fifo"), fifo, listener) as consumer:
            assert wait_until(lambda: len(listener.seen) >= 12, 20)
            assert consumer.fifo is True  # chosen by the broker's settings, as the real proxy does
        for group in ("g1", "g2"):
            order = [b for b in listener.bodies() if b.startswith(group.encode())]
            assert order == [f"{group}-{i}".encode() for i in range(6)]
            assert listener.max_in_flight[group] == 1

    await asyncio.to_thread(scenario)


async def test_delay_message_is_not_delivered_before_its_time(target: Target) -> None:
    delayed = target.n("Delayed")

    def scenario() -> None:
        with producer(target.endpoint, delayed) as p:
            due = int(time.time()) + 3
            p.send(message(delayed, b"later", deliver_at=datetime.fromtimestamp(due, UTC)))
        with simple_consumer(target.endpoint, target.n("GID_delay"), delayed, await_s=5) as c:
            got = drain(c, 1, timeout_s=15)
            received = time.time()
        assert [m.body for m in got] == [b"later"]
        assert received >= due

    await asyncio.to_thread(scenario)


async def test_lite_consumer_gets_only_subscribed_lite_topics_backlog_and_unsubscribe(target: Target) -> None:
    results = target.n("Results")

    def scenario() -> None:
        listener = Recorder()
        with (
            producer(target.endpoint, results) as p,
            lite_consumer(target.endpoint, target.n("GID_lite"), results, listener) as c,
        ):
            c.subscribe_lite("task-a")
            c.subscribe_lite_all()  # 5.1.2 workaround for the split-name PARTIAL_ADD
            p.send(message(results, b"a1", lite_topic="task-a"))
            p.send(message(results, b"b1", lite_topic="task-b"))
            assert wait_until(lambda: b"a1" in listener.bodies(), 10)
            assert not wait_until(lambda: b"b1" in listener.bodies(), 1)  # task-b is nobody's yet

            c.subscribe_lite("task-b")
            c.subscribe_lite_all()
            assert wait_until(lambda: b"b1" in listener.bodies(), 10)  # the backlog arrives on subscribe

            c.unsubscribe_lite("task-a")
            p.send(message(results, b"a2", lite_topic="task-a"))
            p.send(message(results, b"b2", lite_topic="task-b"))
            assert wait_until(lambda: b"b2" in listener.bodies(), 10)
            assert not wait_until(lambda: b"a2" in listener.bodies(), 1)
        assert listener.bodies() == [b"a1", b"b1", b"b2"]
        assert {s[2] for s in listener.seen} == {"task-a", "task-b"}

    await asyncio.to_thread(scenario)


async def test_priority_backlog_is_delivered_highest_level_first(target: Target) -> None:
    """PRIORITY topics (Apache RocketMQ 5.4+): a backlog comes out highest level first, in send order within a
    level; the level is the queue, so priorities above the topic's queue count share the top level."""
    prio = target.n("Prio")

    def scenario() -> list[tuple[str, int]]:
        with producer(target.endpoint, prio) as p:
            for i in range(5):
                p.send(message(prio, f"low-{i}".encode(), priority=1))
            for i in range(3):
                p.send(message(prio, f"high-{i}".encode(), priority=8))
            p.send(message(prio, b"top", priority=20))
        with simple_consumer(target.endpoint, target.n("GID_prio"), prio) as c:
            return [(bytes(m.body).decode(), m.priority) for m in drain(c, 9, timeout_s=15)]

    assert await asyncio.to_thread(scenario) == [
        ("top", 20), ("high-0", 8), ("high-1", 8), ("high-2", 8),
        ("low-0", 1), ("low-1", 1), ("low-2", 1), ("low-3", 1), ("low-4", 1),
    ]


@pytest.mark.parametrize("kind", wanted_brokers())
async def test_auth_refuses_a_wrong_secret(kind: str, broker_config: BrokerConfig) -> None:
    """Embedded: HMAC-SHA1 access keys. Apache RocketMQ: ACL 2.0 with a user made by ``mqadmin createUser``."""

    def scenario(endpoint: str, orders: str, access_key: str) -> None:
        # Refused at start (no settings for an unknown signer) or, at the latest, on the first send.
        with (
            pytest.raises(Exception, match=r"(?i)unauthorized|route|settings"),
            producer(endpoint, orders, ak=access_key, sk="wrong", attempts=1) as bad,
        ):
            bad.send(message(orders, b"x"))
        with producer(endpoint, orders, ak=access_key, sk="sk-test") as good:
            assert good.send(message(orders, b"y")).message_id

    if kind == "embedded":
        config = with_overrides(broker_config, auth={"ak-test": "sk-test"})
        async with EmbeddedBroker(config) as broker:
            await broker.apply(TOPICS, GROUPS, {})
            await asyncio.to_thread(scenario, broker.endpoint, "Orders", "ak-test")
        return
    session = apache_auth_session()
    suffix = session.next_suffix()
    await asyncio.to_thread(run_batch, resolve(session.state.version), session.state.namesrv,
                            [f"mqadmin createUser -c DefaultCluster -u ak-test{suffix} -p sk-test -t Super"],
                            session.workdir)
    await asyncio.to_thread(session.create, [TopicDef("Orders" + suffix, "NORMAL", 2)], [])

    await asyncio.to_thread(scenario, session.endpoint, "Orders" + suffix, f"ak-test{suffix}")


async def test_namespaces_isolate_topics_and_groups(target: Target) -> None:
    """A pinned difference: the embedded broker scopes names by the client's namespace, as ApsaraMQ does;
    Apache RocketMQ 5.5's proxy ignores ``Resource.resource_namespace`` on gRPC, so there the namespace
    changes nothing (isolate tenants with name prefixes or separate clusters instead)."""
    orders, group = target.n("Orders"), target.n("GID_simple")

    def scenario() -> None:
        with producer(target.endpoint, orders, namespace="ns1") as p:
            p.send(message(orders, b"in-ns1"))
        with simple_consumer(target.endpoint, group, orders) as plain:
            unscoped = [m.body for m in drain(plain, 1, timeout_s=3)]
        if target.kind == "apache":
            assert unscoped == [b"in-ns1"]
            return
        assert unscoped == []  # the namespace-less topic is another topic
        with simple_consumer(target.endpoint, group, orders, namespace="ns1") as scoped:
            assert [m.body for m in drain(scoped, 1, timeout_s=10)] == [b"in-ns1"]

    await asyncio.to_thread(scenario)


async def test_idle_lite_topics_expire_after_their_ttl(broker_config: BrokerConfig) -> None:
    config = with_overrides(broker_config, housekeeping_interval_s=0.2)
    async with EmbeddedBroker(config) as broker:
        await broker.apply([TopicInfo("", "Results", TopicType.LITE, 1, lite_ttl_s=2)], GROUPS, {})

        def scenario() -> list[bytes]:
            listener = Recorder()
            with producer(broker.endpoint, "Results") as p:
                p.send(message("Results", b"stale", lite_topic="task-old"))
                # idle longer than the 2 s TTL: the lite topic and its messages are gone
                assert wait_until(lambda: not broker.engine.catalog.messages.get(("", "Results")), 10)
                with lite_consumer(broker.endpoint, "GID_lite", "Results", listener) as c:
                    for name in ("task-old", "task-new"):
                        c.subscribe_lite(name)
                    c.subscribe_lite_all()
                    p.send(message("Results", b"fresh", lite_topic="task-new"))  # a live lite topic still works
                    assert wait_until(lambda: b"fresh" in listener.bodies(), 5)
                    assert wait_until(lambda: holds_nothing(broker), 5)  # nothing (stale) left to deliver
            return listener.bodies()

        assert await asyncio.to_thread(scenario) == [b"fresh"]


HANGING_CONSUMER = """
import sys, time
from rocketmq import ConsumeResult, MessageListener
from benchmarks.clients import push_consumer

class Hang(MessageListener):
    def consume(self, message):
        print("got", message.body.decode(), flush=True)
        time.sleep(3600)
        return ConsumeResult.SUCCESS

with push_consumer(sys.argv[1], sys.argv[2], sys.argv[3], Hang()):
    time.sleep(3600)
"""


# On Apache the release alone takes about two minutes, and on a loaded CI machine starting the doomed consumer
# and getting it its message has taken two more: the suite's 300 s per test is not enough here.
@pytest.mark.timeout(480)
async def test_push_consumer_killed_mid_message_releases_it_to_another(target: Target) -> None:
    """A pinned difference in timing: the embedded broker releases a dead push consumer's messages within
    seconds; Apache RocketMQ 5.5's proxy keeps renewing them until it expires the client's channel
    (measured 124 s), so a worker killed with -9 there delays its step by about two minutes."""
    orders, group = target.n("Orders"), target.n("GID_push")

    def scenario() -> tuple[list[tuple[bytes, int]], float]:
        with producer(target.endpoint, orders) as p:
            p.send(message(orders, b"orphan"))
        doomed = subprocess.Popen([sys.executable, "-c", HANGING_CONSUMER, target.endpoint, group, orders],
                                  stdout=subprocess.PIPE, text=True)
        assert doomed.stdout is not None and doomed.stdout.readline().strip() == "got orphan"
        doomed.kill()  # kill -9 while it holds the message (auto-renewed, never acked)
        doomed.wait(10)
        killed = time.monotonic()
        survivor = Recorder()
        with push_consumer(target.endpoint, group, orders, survivor):
            assert wait_until(lambda: bool(survivor.seen), 30 if target.kind == "embedded" else 180)
        return [(s[0], s[1]) for s in survivor.seen], time.monotonic() - killed

    seen, took_s = await asyncio.to_thread(scenario)
    assert seen == [(b"orphan", 2)]
    if target.kind == "apache":
        assert 60 <= took_s <= 180, took_s
