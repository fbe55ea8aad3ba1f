"""Blocking helpers around the official rocketmq-python-client, run from tests via asyncio.to_thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
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


def config(endpoint: str, ak: str = "", sk: str = "") -> Any:
    """A client configuration for the broker under test."""
    return ClientConfiguration(endpoint, Credentials(ak, sk))


def message(topic: str, body: bytes, **props: Any) -> Any:
    """A client Message with the given system properties set."""
    m = Message()
    m.topic = topic
    m.body = body
    for name, value in props.items():
        setattr(m, name, value)
    return m


@contextmanager
def producer(endpoint: str, *topics: str, ak: str = "", sk: str = "") -> Iterator[Any]:
    """A started Producer, shut down on exit."""
    p = Producer(config(endpoint, ak, sk), topics)
    p.startup()
    try:
        yield p
    finally:
        p.shutdown()


@contextmanager
def simple_consumer(endpoint: str, group: str, topic: str, await_s: int = 3, tag: str = "*") -> Iterator[Any]:
    """A started SimpleConsumer, shut down on exit."""
    c = SimpleConsumer(config(endpoint), group, {topic: FilterExpression(tag)}, await_duration=await_s)
    c.startup()
    try:
        yield c
    finally:
        c.shutdown()


class Recorder(MessageListener):  # type: ignore[misc]
    """Records every delivery; ``outcome(message)`` decides SUCCESS or FAILURE."""

    def __init__(self, outcome: Callable[[Any], bool] = lambda _m: True, hold_s: float = 0.0) -> None:
        self.seen: list[tuple[bytes, int, str | None, float]] = []
        self.lock = threading.Lock()
        self._outcome = outcome
        self._hold_s = hold_s
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}

    def consume(self, message: Any) -> Any:
        key = message.message_group or message.lite_topic or ""
        with self.lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])
            self.seen.append((bytes(message.body), message.delivery_attempt, message.lite_topic, time.time()))
        time.sleep(self._hold_s)
        with self.lock:
            self.in_flight[key] -= 1
        return ConsumeResult.SUCCESS if self._outcome(message) else ConsumeResult.FAILURE

    def bodies(self) -> list[bytes]:
        """Bodies seen so far, in delivery order."""
        with self.lock:
            return [s[0] for s in self.seen]


@contextmanager
def push_consumer(endpoint: str, group: str, topic: str, listener: Recorder) -> Iterator[Any]:
    """A started PushConsumer, shut down on exit."""
    c = PushConsumer(config(endpoint), group, listener, {topic: FilterExpression()})
    c.startup()
    try:
        yield c
    finally:
        c.shutdown()


@contextmanager
def lite_consumer(endpoint: str, group: str, bind_topic: str, listener: Recorder) -> Iterator[Any]:
    """A started LitePushConsumer, shut down on exit."""
    c = LitePushConsumer(config(endpoint), group, bind_topic, listener)
    c.startup()
    try:
        yield c
    finally:
        c.shutdown()


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll a condition; True as soon as it holds, False after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def drain(consumer: Any, expected: int, timeout_s: float = 15.0, invisible_s: int = 15) -> list[Any]:
    """Receive and ack until ``expected`` messages arrived or the timeout passed."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < expected and time.monotonic() < deadline:
        for m in consumer.receive(32, invisible_s):
            consumer.ack(m)
            got.append(m)
    return got
