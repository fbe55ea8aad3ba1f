"""The RocketMQ bus: the only code that imports the official ``rocketmq`` client.

The client (rocketmq-python-client 5.1.2) is thread based; this module bridges it into asyncio.
Publishing uses ``send_async`` futures; consumers run our coroutine handlers on the event loop
from the client's consumption threads and ack only after the handler returned. Workarounds for
known 5.1.2 bugs are kept here, each marked ``5.1.2 workaround``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from rocketmq import ClientConfiguration, Credentials, Message, Producer
from rocketmq.v5.client.connection.rpc_client import RpcClient

from bot import tracing
from bot.bus import hops
from bot.errors import BusError

log = logging.getLogger("tourguide.bus")
SHUTDOWN_TIMEOUT_S = 15.0
SETTINGS_TIMEOUT_S = 10.0  # a starting client's wait for the broker's settings, per attempt
START_TIMEOUT_S = 30.0  # startup() plus that wait
CALL_TIMEOUT_S = 15.0  # one blocking RPC of the client (its own request timeout is a few seconds)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BusConfig:
    """Where RocketMQ is and how to sign in (empty keys = no authentication)."""

    endpoint: str
    access_key: str = ""
    secret_key: str = field(default="", repr=False)  # never in logs or tracebacks
    namespace: str = ""
    request_timeout_s: float = 5.0
    settings_timeout_s: float = SETTINGS_TIMEOUT_S

    def client_configuration(self) -> Any:
        """The official client's configuration object."""
        credentials = Credentials(self.access_key, self.secret_key)
        return ClientConfiguration(self.endpoint, credentials, self.namespace, int(self.request_timeout_s))


@dataclass(frozen=True, slots=True)
class Envelope:
    """A received message, as handlers see it."""

    topic: str
    body: bytes
    keys: tuple[str, ...]
    tag: str
    message_id: str
    delivery_attempt: int
    lite_topic: str = ""
    priority: int = 0  # on PRIORITY topics: the level it was published with
    traceparent: str = ""  # the publisher's trace context (bot.tracing), when tracing is on

    @classmethod
    def of(cls, message: Any) -> Envelope:
        """Copy what we need out of a client Message."""
        return cls(
            topic=message.topic,
            body=bytes(message.body or b""),
            keys=tuple(sorted(message.keys or ())),
            tag=message.tag or "",
            message_id=message.message_id or "",
            delivery_attempt=int(message.delivery_attempt or 1),
            lite_topic=message.lite_topic or "",
            priority=int(message.priority or 0),
            traceparent=tracing.parent_of(message.properties),
        )


Handler = Callable[[Envelope], Coroutine[Any, Any, None]]


class Publisher:
    """Owns one Producer; ``async with Publisher(config, topics)``."""

    def __init__(self, config: BusConfig, topics: Iterable[str]) -> None:
        self._config = config
        self._topics = tuple(topics)
        self._producer: Any = None

    async def __aenter__(self) -> Publisher:
        self._producer = await start_with_retries(
            lambda: Producer(self._config.client_configuration(), self._topics),
            f"producer on {self._config.endpoint}", settings_timeout_s=self._config.settings_timeout_s)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._producer is not None:
            await shutdown_bounded(self._producer.shutdown, "producer")
            self._producer = None

    async def publish(
        self,
        topic: str,
        body: bytes,
        *,
        keys: Iterable[str] = (),
        tag: str | None = None,
        lite_topic: str | None = None,
        deliver_at: datetime | None = None,
        priority: int | None = None,
    ) -> str:
        """Send one message and wait until the broker stored it; returns its message ID.

        ``priority`` (0-9, higher first) is for PRIORITY topics; the 5.1.2 client sends it as the protocol's
        ``SystemProperties.priority`` and marks the message PRIORITY.
        """
        if self._producer is None:
            raise BusError("publisher is not started")
        message = new_message(topic, body, keys=keys, tag=tag, lite_topic=lite_topic, deliver_at=deliver_at,
                              priority=priority)
        with tracing.span(f"publish {topic}", kind="producer", topic=topic, lite_topic=lite_topic or ""):
            if carried := tracing.traceparent():  # the consumer's span continues this one
                message.add_property(tracing.TRACEPARENT, carried)
            try:
                receipt = await asyncio.wrap_future(self._producer.send_async(message))
            except Exception as exc:
                raise BusError(f"send to {topic} failed: {exc}") from exc
        hops.report("published", topic, str(receipt.message_id), keys=keys, tag=tag or "", lite_topic=lite_topic or "",
                    priority=priority)
        return str(receipt.message_id)


def new_message(
    topic: str,
    body: bytes,
    *,
    keys: Iterable[str] = (),
    tag: str | None = None,
    lite_topic: str | None = None,
    deliver_at: datetime | None = None,
    priority: int | None = None,
    message_group: str | None = None,
) -> Any:
    """The official client's Message with these system properties (``message_group`` for FIFO topics)."""
    message = Message()
    message.topic = topic
    message.body = body
    for key in keys:
        message.keys = key
    if tag:
        message.tag = tag
    if lite_topic:
        message.lite_topic = lite_topic
    if priority is not None:
        message.priority = priority
    if message_group:
        message.message_group = message_group
    if deliver_at is not None:
        # 5.1.2 workaround: delivery_timestamp is put verbatim into Timestamp.seconds, so it must be
        # epoch SECONDS although the docstring says milliseconds.
        message.delivery_timestamp = int(deliver_at.timestamp())
    return message


def start_client(client: Any, settings_timeout_s: float = SETTINGS_TIMEOUT_S) -> None:
    """``client.startup()`` that fails loudly instead of leaving a client without its telemetry stream.

    5.1.2 workaround: startup() creates the telemetry stream (a grpc.aio call) in the calling thread; in
    a worker thread with no event loop that fails with "There is no current event loop in thread", which
    the client only logs, and a producer then runs without settings. The thread gets the client's own
    I/O loop as its current loop, and startup waits until the broker's settings arrived.
    """
    loop = RpcClient.get_channel_io_loop()
    if loop is not None:
        asyncio.set_event_loop(loop)
    try:
        client.startup()
    finally:
        asyncio.set_event_loop(None)  # this worker thread goes back to the pool as it came
    if not client._init_settings_event.wait(settings_timeout_s):
        with contextlib.suppress(Exception):
            client.shutdown()
        raise BusError("the RocketMQ client started without the broker's settings (no telemetry stream)")


async def start_with_retries(
        make: Callable[[], Any], what: str, attempts: int = 3, settings_timeout_s: float = SETTINGS_TIMEOUT_S) -> Any:
    """Build and start a client (producer or push consumer), retrying a start-up that failed.

    startup() waits for the broker's settings (at most ``settings_timeout_s``); on a starved machine, or
    while the broker stalls (Apache RocketMQ's proxy past the connect deadline while its JVM is busy), that
    can fail once, and a 5.1.2 client would then wait for its 30 s route refresh: a fresh client gets another go.
    """
    # 5.1.2 note: with metrics off, the push consumer's telemetry reader stops after the first
    # settings reply (reset_metric on a None meter); consumption is unaffected, so nothing to do.
    for attempt in range(1, attempts + 1):
        client = make()
        try:
            await off_loop(functools.partial(start_client, client, settings_timeout_s), f"{what} start",
                           START_TIMEOUT_S)
            return client
        except Exception as exc:
            # 5.1.2: a failed startup() can leave half-started threads; shutdown() may itself fail.
            with contextlib.suppress(Exception):
                await shutdown_bounded(client.shutdown, f"half-started {what}")
            if attempt == attempts:
                raise BusError(f"cannot start {what}: {exc}") from exc
            log.warning("starting %s failed (attempt %d of %d): %s", what, attempt, attempts, exc)
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


def now_ms() -> int:
    """Epoch milliseconds (for latency figures)."""
    return time.time_ns() // 1_000_000


async def off_loop(call: Callable[[], T], what: str, timeout_s: float) -> T:
    """Run one of the client's blocking calls in a daemon thread and wait at most ``timeout_s`` for it.

    5.1.2 workaround: the client's blocking calls (startup, shutdown) wait on futures of its
    shared I/O loop without a timeout. In ``asyncio.to_thread`` such a call, if it never returns, also
    blocks the event loop's shutdown (Python 3.11 waits for the default executor without a limit); a daemon
    thread can be left behind. Raises BusError when the call fails or takes too long.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result: T | None = call()
            error: BaseException | None = None
        except BaseException as exc:  # handed to the awaiting coroutine, whatever it is
            result, error = None, exc
        # A call given up on may end after its event loop closed: nobody is waiting for it any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=f"rocketmq-{what}", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), timeout_s)
    except TimeoutError as exc:
        raise BusError(f"{what} did not finish in {timeout_s:.0f} s") from exc


async def shutdown_bounded(shutdown: Callable[[], Any], what: str, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
    """Run a client's blocking shutdown, but never wait for it longer than ``timeout_s``.

    5.1.2 workaround: a push consumer retries a failed ack every second, forever, in a consumption
    thread, and shutdown() waits for those threads; with the broker unreachable it never returns.
    """
    try:
        await off_loop(shutdown, f"{what} shutdown", timeout_s)
    except BusError as exc:
        log.warning("%s (broker unreachable?); leaving it", exc)


def abandoned_client_threads() -> list[str]:
    """Non-daemon threads still running after shutdown: the client's, when a shutdown was given up.

    5.1.2 workaround: they retry acks forever against an unreachable broker, and the interpreter
    waits for non-daemon threads at exit, so the CLI exits without them (see bot.cli).
    """
    return [t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
