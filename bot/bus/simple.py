"""A SimpleConsumer bridged into asyncio: receive on demand, ack what was dealt with (operator tools)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rocketmq import FilterExpression, SimpleConsumer

from bot.bus.client import BusConfig, Envelope, shutdown_bounded, start_client
from bot.errors import BusError


class TopicMissing(BusError):
    """The topic to read does not exist (yet)."""


@dataclass(frozen=True, slots=True)
class Received:
    """A message received by a :class:`SimpleReader`, with what acking it needs."""

    envelope: Envelope
    handle: Any  # the client's message (its receipt handle)


class SimpleReader:
    """``async with SimpleReader(config, group, topic) as reader``: receive and ack one topic in a group."""

    def __init__(self, config: BusConfig, group: str, topic: str, *, await_s: int = 2) -> None:
        self._config = config
        self._group = group
        self._topic = topic
        self._await_s = await_s
        self._consumer: Any = None

    async def __aenter__(self) -> SimpleReader:
        consumer = SimpleConsumer(self._config.client_configuration(), self._group,
                                  {self._topic: FilterExpression("*")}, await_duration=self._await_s)
        try:
            # 5.1.2 workaround: startup() only logs a failed route query, and the client then waits in vain for
            # the broker's settings; asking for the route first turns a missing topic (a %DLQ% topic before its
            # first dead letter) into a clear answer.
            await asyncio.to_thread(consumer._retrieve_topic_route_data, self._topic)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(consumer.shutdown)
            # 5.1.2 says only "failed to fetch topic route" (an unreachable broker fails every other call too)
            if "failed to fetch topic" in str(exc):
                raise TopicMissing(f"topic {self._topic} has no route (it does not exist)") from exc
            raise BusError(f"cannot read {self._topic} in {self._group}: {exc}") from exc
        try:
            await asyncio.to_thread(start_client, consumer)  # waits for the broker's settings
        except Exception as exc:
            raise BusError(f"cannot read {self._topic} in {self._group}: {exc}") from exc
        self._consumer = consumer
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._consumer is not None:
            await shutdown_bounded(self._consumer.shutdown, "simple consumer")
            self._consumer = None

    async def receive(self, batch: int = 32, invisible_s: int = 30) -> list[Received]:
        """Up to ``batch`` messages, hidden from other receives for ``invisible_s``; [] when none came."""
        try:
            messages = await asyncio.to_thread(self._consumer.receive, batch, invisible_s)
        except Exception as exc:
            raise BusError(f"receive from {self._topic} failed: {exc}") from exc
        return [Received(Envelope.of(m), m) for m in messages or ()]

    async def ack(self, received: Received) -> None:
        """Remove a received message for good."""
        try:
            await asyncio.to_thread(self._consumer.ack, received.handle)
        except Exception as exc:
            raise BusError(f"ack on {self._topic} failed: {exc}") from exc
