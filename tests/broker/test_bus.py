"""The bus: task -> worker -> result on the task's lite topic; supervisors only see their own tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest

from bot.bus import BusConfig, Envelope, LiteSubscriber, Publisher, TaskConsumer
from bot.errors import BusError
from tests.broker.conftest import Target, settled
from tests.waiting import until


async def test_round_trip_with_two_supervisors_on_different_lite_topics(target: Target) -> None:
    config = BusConfig(endpoint=target.endpoint)
    orders, results = target.n("Orders"), target.n("Results")
    inbox: dict[str, list[tuple[str, str]]] = {"A": [], "B": []}
    done = asyncio.Event()

    async with Publisher(config, [orders, results]) as bus:

        async def worker(task: Envelope) -> None:
            doc = json.loads(task.body)
            reply = json.dumps({"task": doc["task"], "answer": doc["n"] * 2}).encode()
            await bus.publish(results, reply, keys=task.keys, lite_topic=doc["task"])

        def supervisor(name: str) -> LiteSubscriber:
            async def on_result(result: Envelope) -> None:
                inbox[name].append((result.lite_topic, result.body.decode()))
                if sum(len(v) for v in inbox.values()) == 4:
                    done.set()

            return LiteSubscriber(config, results, target.n("GID_lite"), on_result)

        async with (
            TaskConsumer(config, orders, target.n("GID_simple"), worker, max_in_flight=2),
            supervisor("A") as sup_a,
            supervisor("B") as sup_b,
        ):
            await sup_a.subscribe("task-a")
            await sup_b.subscribe("task-b")
            for task, n in (("task-a", 1), ("task-b", 2), ("task-a", 3), ("task-b", 4)):
                body = json.dumps({"task": task, "n": n}).encode()
                await bus.publish(orders, body, keys=[task], tag="demo")
            # Apache RocketMQ's proxy on a loaded 2-core machine once took more than 30 s to hand a fresh push
            # consumer its first message.
            await asyncio.wait_for(done.wait(), 30 if target.kind == "embedded" else 90)
            await settled(target)  # whatever else arrived (wrongly) is in the inboxes now

    assert {t for t, _ in inbox["A"]} == {"task-a"}
    assert {t for t, _ in inbox["B"]} == {"task-b"}
    assert sorted(json.loads(b)["answer"] for _, b in inbox["A"]) == [2, 6]
    assert sorted(json.loads(b)["answer"] for _, b in inbox["B"]) == [4, 8]


async def test_failing_handler_is_retried_and_acked_only_after_success(target: Target) -> None:
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    attempts: list[int] = []
    succeeded = asyncio.Event()

    async def handler(task: Envelope) -> None:
        attempts.append(task.delivery_attempt)
        if task.delivery_attempt == 1:
            raise RuntimeError("transient failure")
        succeeded.set()

    async with Publisher(config, [orders]) as bus, TaskConsumer(config, orders, target.n("GID_push"), handler):
        await bus.publish(orders, b"work", keys=["task-x"])
        await asyncio.wait_for(succeeded.wait(), 20)
        await settled(target)  # acked: no (wrong) third attempt can follow
    assert attempts == [1, 2]


async def test_a_publisher_that_cannot_reach_the_broker_raises_instead_of_starting_half_way(
        caplog: pytest.LogCaptureFixture) -> None:
    # 5.1.2 only logs a failed route or telemetry stream in startup(); the bus waits for the broker's
    # settings, tries a fresh producer twice more (a broker may stall for a moment) and raises, so nothing
    # runs with a producer that cannot publish.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        silent = f"127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: connections are refused
        with caplog.at_level(logging.WARNING, "tourguide.bus"), pytest.raises(BusError, match="cannot start producer"):
            async with Publisher(BusConfig(endpoint=silent, request_timeout_s=1.0, settings_timeout_s=1.0), ["Orders"]):
                pass
    assert [r.getMessage().split(" failed")[0] for r in caplog.records if "attempt" in r.getMessage()] == [
        f"starting producer on {silent}"] * 2


async def test_a_full_consumer_cache_is_looked_at_again_well_within_the_clients_one_second(target: Target) -> None:
    # 5.1.2 workaround (bot.bus.consumers.RECEIVE_RECHECK_S): with one step at once and a cache of one,
    # every message after the first finds the cache full; the client alone would wait 1 s each time.
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    count = 20
    handled: list[float] = []
    all_done = asyncio.Event()

    async def quick(_task: Envelope) -> None:
        handled.append(asyncio.get_running_loop().time())
        if len(handled) == count:
            all_done.set()

    async with Publisher(config, [orders]) as bus, \
            TaskConsumer(config, orders, target.n("GID_simple"), quick, max_in_flight=1, cache=1):
        for n in range(count):
            await bus.publish(orders, str(n).encode(), keys=[f"k{n}"])
        # 20 messages one at a time: about 20 s with the client's 1 s back-off, about 2 s with ours.
        await asyncio.wait_for(all_done.wait(), count * 0.5)
    assert len(handled) == count


async def test_the_receive_workaround_keeps_messages_whole_and_the_clients_debug_line_when_that_log_is_on(
        target: Target) -> None:
    # 5.1.2 workaround (bot.bus.consumers._receive_without_debug_text): our reading of the receive stream
    # replaces the client's, which formats every message as text for a debug line even with that log off. What
    # it must keep: the messages, whole, and the client's line for whoever turns its debug log on.
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    client_log = logging.getLogger("rocketmq-python-client")
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    bodies: list[bytes] = []
    arrived = asyncio.Event()

    async def keep(task: Envelope) -> None:
        bodies.append(task.body)
        arrived.set()

    body = ("第一天：西湖，灵隐寺。" * 300).encode()
    keep_lines, level = Keep(logging.DEBUG), client_log.level
    client_log.addHandler(keep_lines)
    try:
        async with Publisher(config, [orders]) as bus, \
                TaskConsumer(config, orders, target.n("GID_simple"), keep, max_in_flight=1):
            await bus.publish(orders, body, keys=["quiet"])
            await asyncio.wait_for(arrived.wait(), 30 if target.kind == "embedded" else 90)
            assert bodies == [body]
            assert not [line for line in lines if "receive response" in line]

            client_log.setLevel(logging.DEBUG)
            arrived.clear()
            await bus.publish(orders, body, keys=["debug"])
            await asyncio.wait_for(arrived.wait(), 30 if target.kind == "embedded" else 90)
    finally:
        client_log.setLevel(level)
        client_log.removeHandler(keep_lines)
    assert bodies == [body, body]
    assert [line for line in lines if "receive response" in line and "quiet" not in line]


async def test_lite_subscription_changes_asked_at_once_go_out_together_and_each_takes_effect(target: Target) -> None:
    config = BusConfig(endpoint=target.endpoint)
    results = target.n("Results")
    topics = [f"task-{i:02d}" for i in range(30)]
    kept, dropped = topics[:10], topics[10:]
    got: dict[str, list[bytes]] = {t: [] for t in topics}

    async def on_result(result: Envelope) -> None:
        got[result.lite_topic].append(result.body)

    async with Publisher(config, [results]) as bus, \
            LiteSubscriber(config, results, target.n("GID_lite"), on_result) as supervisor:
        calls_before = target.embedded.rpcs.snapshot().get("SyncLiteSubscription", 0) if target.embedded else 0
        await asyncio.gather(*(supervisor.subscribe(t) for t in topics))
        if target.embedded is not None:  # thirty asked in one go: one call (the broker counts them)
            assert target.embedded.rpcs.snapshot()["SyncLiteSubscription"] - calls_before == 1
        for t in topics:
            await bus.publish(results, b"first", keys=[t], lite_topic=t)
        await until(lambda: all(got[t] for t in topics), timeout_s=30 if target.kind == "embedded" else 90,
                    what="a first result on each of the 30 lite topics")

        for t in dropped:
            supervisor.unsubscribe(t)
        supervisor.unsubscribe("never-subscribed")  # nothing to do, as with the client's own method
        # Unsubscribes are not waited for; they are gone once the client's own set (which it sends whole
        # every 30 s) holds exactly the topics still subscribed.
        held = supervisor._consumer._LitePushConsumer__subscription_manager
        await until(lambda: held.lite_topics == set(kept), what="the unsubscribes accepted")
        if target.embedded is not None:  # twenty in one call
            assert target.embedded.rpcs.snapshot()["SyncLiteSubscription"] - calls_before == 2
        for t in topics:
            await bus.publish(results, b"second", keys=[t], lite_topic=t)
        await until(lambda: all(len(got[t]) == 2 for t in kept), timeout_s=30 if target.kind == "embedded" else 90,
                    what="a second result on each lite topic still subscribed")
        if target.embedded is not None:
            # What the broker still holds is the dropped topics' second messages, which nobody subscribes.
            broker = target.embedded
            await until(lambda: all(q.lite_topics() <= set(dropped) for q in broker.engine.catalog.queues.values()),
                        what="every result on a subscribed lite topic acked")
        else:
            await settled(target)

    assert all(got[t] == [b"first", b"second"] for t in kept)
    assert all(got[t] == [b"first"] for t in dropped)


async def test_handlers_finishing_together_share_ack_calls_and_no_message_comes_back(target: Target) -> None:
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    handled: list[bytes] = []

    async def worker(task: Envelope) -> None:
        await asyncio.sleep(0.05)  # twenty handlers at once, finishing within a few milliseconds of each other
        handled.append(task.body)

    async with Publisher(config, [orders]) as bus:
        for i in range(20):
            await bus.publish(orders, f"order-{i}".encode())
        acks_before = target.embedded.rpcs.snapshot().get("AckMessage", 0) if target.embedded else 0
        async with TaskConsumer(config, orders, target.n("GID_simple"), worker, max_in_flight=20):
            await until(lambda: len(handled) == 20, timeout_s=30 if target.kind == "embedded" else 90,
                        what="twenty orders handled")
            await settled(target)  # all acked: nothing left to deliver again
    assert sorted(handled) == sorted(f"order-{i}".encode() for i in range(20))  # each once
    if target.embedded is not None:
        assert target.embedded.rpcs.snapshot()["AckMessage"] - acks_before < 20
