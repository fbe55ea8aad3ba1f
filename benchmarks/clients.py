"""Blocking context managers around the official client, for benchmarks (and the broker tests).

Application code uses the asyncio API in :mod:`bot.bus`; these run in a benchmark's own threads.
Configuration and messages are built by :mod:`bot.bus.client`, as for the application.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rocketmq import ConsumeResult, FilterExpression, LitePushConsumer, MessageListener, Producer, PushConsumer

from bot.bus.client import BusConfig, start_with_retries
from bot.bus.client import new_message as message
from bot.bus.consumers import whole_name

__all__ = ["LatencyListener", "lite_push_consumer", "message", "producer", "push_consumer", "started",
           "subscribe_lite"]
START_ATTEMPTS = 3


def started(make: Callable[[], Any], attempts: int = START_ATTEMPTS) -> Any:
    """A new client from ``make``, started by the bus's own retrying start (from a blocking thread).

    A broker that stalls for seconds (Apache RocketMQ's proxy on 2 cores while other JVMs start: "connection
    attempt timed out before receiving SETTINGS frame") leaves a 5.1.2 client without routes or settings
    until its 30 s route refresh; :func:`bot.bus.client.start_with_retries` replaces it with a fresh one.
    """
    return asyncio.run(start_with_retries(make, "client", attempts))


def client_configuration(endpoint: str, ak: str = "", sk: str = "", namespace: str = "") -> Any:
    """The official client's configuration for ``endpoint``."""
    return BusConfig(endpoint, ak, sk, namespace).client_configuration()


@contextmanager
def producer(endpoint: str, *topics: str, ak: str = "", sk: str = "", namespace: str = "",
             attempts: int = START_ATTEMPTS) -> Iterator[Any]:
    """A started Producer, shut down on exit."""
    p = started(lambda: Producer(client_configuration(endpoint, ak, sk, namespace), topics), attempts)
    try:
        yield p
    finally:
        p.shutdown()


@contextmanager
def push_consumer(endpoint: str, group: str, topic: str, listener: Any) -> Iterator[Any]:
    """A started PushConsumer, shut down on exit."""
    c = started(lambda: PushConsumer(client_configuration(endpoint), group, listener, {topic: FilterExpression()}))
    try:
        yield c
    finally:
        c.shutdown()


@contextmanager
def lite_push_consumer(endpoint: str, group: str, bind_topic: str, listener: Any) -> Iterator[Any]:
    """A started LitePushConsumer, shut down on exit."""
    c = started(lambda: LitePushConsumer(client_configuration(endpoint), group, bind_topic, listener))
    try:
        yield c
    finally:
        c.shutdown()


def subscribe_lite(consumer: Any, name: str) -> None:
    """Subscribe one lite topic with the 5.1.2 split-name workaround."""
    consumer.subscribe_lite(whole_name(name))


class LatencyListener(MessageListener):  # type: ignore[misc]
    """Acks everything; records latency from a ``perf_counter`` stamp in the first 8 body bytes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.latencies_ms: list[float] = []
        self.last_at = 0.0

    @property
    def count(self) -> int:
        """Messages consumed since the last reset."""
        return len(self.latencies_ms)

    def reset(self) -> None:
        """Forget what was recorded."""
        with self._cond:
            self.latencies_ms = []

    def consume(self, message: Any) -> Any:
        now = time.perf_counter()
        (sent,) = struct.unpack("!d", bytes(message.body)[:8])
        with self._cond:
            self.latencies_ms.append((now - sent) * 1000)
            self.last_at = now
            self._cond.notify_all()
        return ConsumeResult.SUCCESS

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until ``count`` messages were consumed; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.latencies_ms) >= count, timeout_s)
