"""Push consumers bridged into asyncio: task consumers and lite (per-task) result subscribers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from rocketmq import ConsumeResult, FilterExpression, LitePushConsumer, MessageListener, PushConsumer
from rocketmq.v5.consumer.consumer import Consumer

from bot import tracing
from bot.bus import hops
from bot.bus.ack_batches import AckBatches
from bot.bus.client import (
    CALL_TIMEOUT_S,
    BusConfig,
    Envelope,
    Handler,
    shutdown_bounded,
    start_with_retries,
)
from bot.bus.lite_batches import LiteBatches
from bot.errors import BusError

log = logging.getLogger("tourguide.bus")

# 5.1.2 workaround (rocketmq-python-client 5.1.2, rocketmq/v5/consumer/push/push_consumer.py): when a
# push consumer's cache of ``max_cache_message_count`` messages is full, it checks again only after
# ``PushConsumer.RECEIVE_RETRY_DELAY = 1`` s, so an agent whose steps finish in less than that sits
# idle with work waiting in the broker (a 1,000-session burst ran at 57 % of the ideal makespan).
# We keep the cache small (un-started work stays in the broker, where priority orders it and another
# worker can take it) and look again after RECEIVE_RECHECK_S instead. The same constant also paces
# the client's retry after a failed receive, so a broker outage is retried 10 times a second per
# consumer rather than once (each attempt is one cheap failing call).
RECEIVE_RECHECK_S = 0.1
RESULT_THREADS = 16  # results a LiteSubscriber hands to its handler at once
CLOSE_DROPS_TIMEOUT_S = 3.0  # unsubscribes still collected at shutdown: sent if the broker answers soon
_CACHE_FULL = "cached messages exceeds the threshold"
_CLIENT_LOGGER = "rocketmq-python-client"


class _QuietCacheFull(logging.Filter):
    """With the short re-check a full cache is our flow control at work, not a warning worth a log line
    ten times a second: the client's own "cached messages exceeds the threshold" records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _CACHE_FULL not in record.getMessage()


def _shorten_receive_backoff() -> None:
    """Apply the 5.1.2 workaround above once per process (a class attribute of the client)."""
    if getattr(PushConsumer, "RECEIVE_RETRY_DELAY", None) == 1:
        PushConsumer.RECEIVE_RETRY_DELAY = RECEIVE_RECHECK_S
        logging.getLogger(_CLIENT_LOGGER).addFilter(_QuietCacheFull())


_client_log = logging.getLogger(_CLIENT_LOGGER)


async def _responses(consumer: Any, unary_stream_call: Any) -> list[Any]:
    """The client's own reading of a ReceiveMessage stream, its debug line formatted only when it is logged."""
    responses = []
    try:
        async for res in unary_stream_call:
            if res.HasField("message") or res.HasField("status") or res.HasField("delivery_timestamp"):
                _client_log.debug("consumer:%s receive response: %s", consumer.consumer_group, res)
                responses.append(res)
    except Exception as exc:
        _client_log.error("consumer:%s receive message exception: %s", consumer.consumer_group, exc)
        raise
    return responses


def _receive_without_debug_text() -> None:
    """5.1.2 workaround (rocketmq/v5/consumer/consumer.py, ``Consumer.__receive_message_response``): every
    received message is formatted as protobuf text for a ``logger.debug(f"... {res}")`` line, built whether or
    not debug logging is on: 0.6 ms of CPU for a 6 KB itinerary, then discarded. Applied once per process; the
    replacement reads the stream the same way and logs the same line, formatted only when the client's logger
    is at DEBUG.
    """
    Consumer._Consumer__receive_message_response = _responses


def _acks_in_batches(consumer: Any) -> Any:
    """A push consumer whose acks go several to a call (bot.bus.ack_batches), before it starts."""
    AckBatches(consumer).install()
    return consumer


class _Bridge(MessageListener):  # type: ignore[misc]
    """Runs an async handler on the loop from a client consumption thread; SUCCESS acks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handler: Handler, timeout_s: float, group: str = "") -> None:
        self._loop = loop
        self._handler = handler
        self._timeout_s = timeout_s
        self._group = group

    def consume(self, message: Any) -> Any:
        envelope = Envelope.of(message)
        self._hop("delivered", envelope)
        try:
            future = asyncio.run_coroutine_threadsafe(self._traced(envelope), self._loop)
            future.result(self._timeout_s)
        except concurrent.futures.TimeoutError:
            log.warning("handler timed out after %.0fs: %s", self._timeout_s, envelope.message_id)
            self._hop("nacked", envelope, f"handler timed out after {self._timeout_s:.0f} s")
            return ConsumeResult.FAILURE
        except Exception as exc:
            # FAILURE makes the client nack with the group's backoff; the broker dead-letters
            # the message after the group's max attempts.
            log.warning("handler failed (attempt %d): %s: %s", envelope.delivery_attempt, envelope.message_id, exc)
            self._hop("nacked", envelope, f"{type(exc).__name__}: {exc}")
            return ConsumeResult.FAILURE
        self._hop("acked", envelope)
        return ConsumeResult.SUCCESS

    async def _traced(self, envelope: Envelope) -> None:
        """The handler inside a span that continues the publisher's trace (bot.tracing; nothing when off)."""
        with tracing.span(f"consume {envelope.topic}", parent=envelope.traceparent, kind="consumer",
                          topic=envelope.topic, lite_topic=envelope.lite_topic, attempt=envelope.delivery_attempt):
            await self._handler(envelope)

    def _hop(self, event: str, envelope: Envelope, error: str = "") -> None:
        hops.report(event, envelope.topic, envelope.message_id, keys=envelope.keys, tag=envelope.tag,
                    lite_topic=envelope.lite_topic, group=self._group, attempt=envelope.delivery_attempt, error=error)


class _OwnsConsumer:
    """Shuts the client consumer down (in a thread: it blocks) when the ``async with`` block exits."""

    _consumer: Any = None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._consumer is not None:
            await shutdown_bounded(self._consumer.shutdown, "consumer")
            self._consumer = None



class TaskConsumer(_OwnsConsumer):
    """Consumes one topic in a consumer group with at most ``max_in_flight`` handlers running.

    ``async with TaskConsumer(config, topic, group, handler):`` consumes until the block exits.
    A handler that raises is retried by the broker with backoff, then dead-lettered. ``cache`` (messages
    received ahead of the handlers) defaults to twice ``max_in_flight``.
    """

    def __init__(
        self,
        config: BusConfig,
        topic: str,
        group: str,
        handler: Handler,
        *,
        max_in_flight: int = 4,
        handler_timeout_s: float = 300.0,
        tag: str = "*",
        cache: int | None = None,
    ) -> None:
        self._config = config
        self._cache = cache or max_in_flight * 2
        self._topic = topic
        self._group = group
        self._handler = handler
        self._max_in_flight = max_in_flight
        self._timeout_s = handler_timeout_s
        self._tag = tag
        self._consumer: Any = None

    async def __aenter__(self) -> TaskConsumer:
        _shorten_receive_backoff()
        _receive_without_debug_text()
        slots = asyncio.Semaphore(self._max_in_flight)
        handler = self._handler

        async def gated(envelope: Envelope) -> None:
            async with slots:
                await handler(envelope)

        bridge = _Bridge(asyncio.get_running_loop(), gated, self._timeout_s, self._group)
        self._consumer = await start_with_retries(lambda: _acks_in_batches(PushConsumer(
            self._config.client_configuration(),
            self._group,
            bridge,
            {self._topic: FilterExpression(self._tag)},
            # A small cache keeps un-started work in the broker, where another worker can take it.
            max_cache_message_count=self._cache,
            # The client acks in the consumption thread after the handler returned, one blocking call to the
            # broker: with exactly max_in_flight threads each step's ack held a handler's slot for that round
            # trip. A few threads more, while ``slots`` still caps the handlers at max_in_flight.
            consumption_thread_count=self._max_in_flight + max(2, self._max_in_flight // 4),
        )), f"consumer {self._group} on {self._topic}", settings_timeout_s=self._config.settings_timeout_s)
        return self


class LiteSubscriber(_OwnsConsumer):
    """A LitePushConsumer on a LITE parent topic: receives only the lite topics it subscribed.

    The Supervisor subscribes each task's lite topic (the task ID) and unsubscribes when done.
    """

    def __init__(
        self, config: BusConfig, bind_topic: str, group: str, handler: Handler, *, handler_timeout_s: float = 60.0
    ) -> None:
        self._config = config
        self._bind_topic = bind_topic
        self._group = group
        self._handler = handler
        self._timeout_s = handler_timeout_s
        self._consumer: Any = None
        self._batches: LiteBatches | None = None

    async def __aenter__(self) -> LiteSubscriber:
        _receive_without_debug_text()
        bridge = _Bridge(asyncio.get_running_loop(), self._handler, self._timeout_s, self._group)
        # A result is handled in milliseconds when the Supervisor is idle, but in a burst each waits its turn
        # for the database and the broker: 16 threads, not 4, keep two results per session flowing (a
        # 1,000-session burst: 94 % of the ideal makespan instead of 91 %; the client's default is 20).
        self._consumer = await start_with_retries(lambda: _acks_in_batches(LitePushConsumer(
            self._config.client_configuration(), self._group, self._bind_topic, bridge,
            consumption_thread_count=RESULT_THREADS,
        )), f"lite consumer {self._group} on {self._bind_topic}", settings_timeout_s=self._config.settings_timeout_s)
        try:
            self._batches = LiteBatches(self._consumer)
        except BusError:
            await super().__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._batches is not None:
            await self._batches.aclose(CLOSE_DROPS_TIMEOUT_S)
            self._batches = None
        await super().__aexit__(exc_type, exc, tb)

    async def subscribe(self, lite_topic: str) -> None:
        """Start receiving a lite topic, including anything already published to it."""
        try:
            await self._started().subscribe(lite_topic, CALL_TIMEOUT_S)
        except Exception as exc:
            raise BusError(f"cannot subscribe lite topic {lite_topic}: {exc}") from exc

    def unsubscribe(self, lite_topic: str) -> None:
        """Stop receiving a lite topic soon (batched with others, see bot.bus.lite_batches); returns at once."""
        self._started().unsubscribe(lite_topic)

    def _started(self) -> LiteBatches:
        if self._batches is None:
            raise BusError("the lite consumer is not running")
        return self._batches


class _WholeName(str):
    """5.1.2 workaround: ``subscribe_lite(name)`` does ``lite_topic_set.extend(name)``, which sends the
    name split into single characters (a regression from 5.1.1). Iterating this str yields the whole
    name once, so the PARTIAL_ADD is right; everything else (length checks, the client's local set)
    treats it as the plain string. Cheaper than a COMPLETE_ADD of the whole set after every subscribe.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        yield str(self)


def whole_name(lite_topic: str) -> str:
    """A lite topic name that survives the 5.1.2 ``subscribe_lite`` split (see _WholeName)."""
    return _WholeName(lite_topic)
