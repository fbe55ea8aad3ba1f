"""Blocking helpers around the official rocketmq-python-client, run from tests via asyncio.to_thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rocketmq import ConsumeResult, FilterExpression, MessageListener, SimpleConsumer

from benchmarks.clients import client_configuration, message, producer, push_consumer, started
from benchmarks.clients import lite_push_consumer as lite_consumer

__all__ = [
    "Recorder",
    "drain",
    "lite_consumer",
    "message",
    "producer",
    "push_consumer",
    "simple_consumer",
    "wait_until",
]


@contextmanager
def simple_consumer(
    endpoint: str, group: str, topic: str, await_s: int = 3, tag: str = "*", namespace: str = "", attempts: int = 3
) -> Iterator[Any]:
    """A started SimpleConsumer, shut down on exit."""
    # 5.1.2: SimpleConsumer.startup() does not wait for the server's settings (Apache RocketMQ's proxy
    # answers a receive from a client without them with an internal error), and in a worker thread it
    # may not even open the telemetry stream; start_client (through started) covers both.
    c = started(lambda: SimpleConsumer(client_configuration(endpoint, namespace=namespace), group,
                                       {topic: FilterExpression(tag)}, await_duration=await_s), attempts)
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
