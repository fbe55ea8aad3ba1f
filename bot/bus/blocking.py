"""Blocking context managers around the official client, for benchmarks and conformance tests.

Application code uses the asyncio API in :mod:`bot.bus.client` and :mod:`bot.bus.consumers`.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rocketmq import (
    ClientConfiguration,
    ConsumeResult,
    Credentials,
    FilterExpression,
    LitePushConsumer,
    Message,
    MessageListener,
    Producer,
    PushConsumer,
    SimpleConsumer,
)

from bot.bus.consumers import whole_name


def config(endpoint: str, ak: str = "", sk: str = "", namespace: str = "") -> Any:
    """A client configuration for ``endpoint``."""
    return ClientConfiguration(endpoint, Credentials(ak, sk), namespace)


def message(topic: str, body: bytes, lite_topic: str | None = None, **props: Any) -> Any:
    """A client Message; ``props`` sets system properties (tag, keys, message_group, ...)."""
    m = Message()
    m.topic = topic
    m.body = body
    if lite_topic:
        m.lite_topic = lite_topic
    for name, value in props.items():
        setattr(m, name, value)
    return m


@contextmanager
def producer(endpoint: str, *topics: str, ak: str = "", sk: str = "", namespace: str = "") -> Iterator[Any]:
    """A started Producer, shut down on exit."""
    p = Producer(config(endpoint, ak, sk, namespace), topics)
    p.startup()
    try:
        yield p
    finally:
        p.shutdown()


@contextmanager
def simple_consumer(
    endpoint: str, group: str, topic: str, await_s: int = 3, tag: str = "*", namespace: str = ""
) -> Iterator[Any]:
    """A started SimpleConsumer, shut down on exit."""
    c = SimpleConsumer(config(endpoint, namespace=namespace), group, {topic: FilterExpression(tag)},
                       await_duration=await_s)
    c.startup()
    # 5.1.2: SimpleConsumer.startup() does not wait for the server's settings, and Apache RocketMQ's proxy
    # answers a receive from a client whose settings have not arrived with an internal error.
    c._init_settings_event.wait(10)
    try:
        yield c
    finally:
        c.shutdown()


@contextmanager
def push_consumer(endpoint: str, group: str, topic: str, listener: Any) -> Iterator[Any]:
    """A started PushConsumer, shut down on exit."""
    c = PushConsumer(config(endpoint), group, listener, {topic: FilterExpression()})
    c.startup()
    try:
        yield c
    finally:
        c.shutdown()


@contextmanager
def lite_push_consumer(endpoint: str, group: str, bind_topic: str, listener: Any) -> Iterator[Any]:
    """A started LitePushConsumer, shut down on exit."""
    c = LitePushConsumer(config(endpoint), group, bind_topic, listener)
    c.startup()
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
