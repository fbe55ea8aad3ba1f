"""Lite-topic subscription changes of one LitePushConsumer, sent in batches from the event loop.

5.1.2 workaround (rocketmq/v5/client/lite_topic_subscription_manager.py): ``subscribe_lite`` and
``unsubscribe_lite`` send one SyncLiteSubscription call per lite topic and block the calling thread until it
returns. A Supervisor changes two per session (subscribe its task's lite topic, unsubscribe it at the end):
in a burst, two RPCs per session and a thread started for each, whose start blocked the event loop. The
protocol takes a set of lite topics per call (PARTIAL_ADD / PARTIAL_REMOVE), so:

- subscribes asked for while one is in flight go out together in the next call (no waiting when idle: the
  session's first task is published only once its lite topic is subscribed);
- unsubscribes are not waited for: they are collected for ``DROP_AFTER_S`` and sent as one call. Nothing
  needs a lite topic gone at once (a finished session's topic gets no more messages), and the result
  handler that ends a session no longer holds a consumption thread for a round trip to the broker.

The client keeps the lite topics it holds in a set that it sends whole every 30 s (COMPLETE_ADD); a batch
updates that same set once the broker accepted it, as the client's own methods do. Reaching the set takes
the client's private names, checked when the consumer starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from rocketmq.grpc_protocol import LiteSubscriptionAction
from rocketmq.v5.util import MessagingResultChecker

from bot.errors import BusError

log = logging.getLogger("tourguide.bus")
DROP_AFTER_S = 0.5  # unsubscribes collected into one call (a 64-sessions-a-second burst: ~30 per call)


class LiteBatches:
    """``await batches.subscribe(name, timeout_s)``, ``batches.unsubscribe(name)``, ``await batches.aclose()``."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer
        try:
            self._manager = consumer._LitePushConsumer__subscription_manager
            self._held: set[str] = self._manager._LiteTopicSubscriptionManager__lite_topics
            self._request = self._manager._LiteTopicSubscriptionManager__sync_lite_subscription_req
        except AttributeError as exc:
            raise BusError(f"this rocketmq-python-client keeps no lite subscription set where 5.1.2 did: {exc}") \
                from exc
        self._adding: list[tuple[str, asyncio.Future[None]]] = []
        self._add_sender: asyncio.Task[None] | None = None
        self._add_in_flight: asyncio.Future[None] | None = None
        self._dropping: set[str] = set()
        self._drop_sender: asyncio.Task[None] | None = None

    async def subscribe(self, lite_topic: str, timeout_s: float) -> None:
        """Receive ``lite_topic`` from now on (and what was published to it before); raises BusError."""
        self._dropping.discard(lite_topic)  # asked back before its unsubscribe went out
        self._check(lite_topic)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._adding.append((lite_topic, done))
        if self._add_sender is None or self._add_sender.done():
            self._add_sender = asyncio.create_task(self._send_adds())
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout_s)
        except TimeoutError as exc:
            raise BusError(f"the broker did not answer a lite subscription in {timeout_s:.0f} s") from exc

    def unsubscribe(self, lite_topic: str) -> None:
        """Stop receiving ``lite_topic`` within :data:`DROP_AFTER_S` (a failure is logged, not raised)."""
        self._dropping.add(lite_topic)
        if self._drop_sender is None or self._drop_sender.done():
            self._drop_sender = asyncio.create_task(self._send_drops_later())

    async def aclose(self, timeout_s: float) -> None:
        """Send the unsubscribes still collected, then stop; subscribes still waiting fail."""
        for task in (self._drop_sender, self._add_sender):
            if task is not None:
                task.cancel()
        for _, done in self._adding:
            if not done.done():
                done.set_exception(BusError("the lite consumer shut down"))
        self._adding = []
        if self._dropping:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._send_drops(), timeout_s)

    def _check(self, lite_topic: str) -> None:
        """The client's own checks before a subscribe (name, length, quota), counting subscribes not sent yet."""
        if lite_topic in self._held:
            return
        if not lite_topic:
            raise BusError("lite topic is blank")
        if len(lite_topic) > self._manager.max_lite_topic_size:
            raise BusError(f"lite topic {lite_topic} is longer than {self._manager.max_lite_topic_size} characters")
        if len(self._held) + len(self._adding) + 1 > self._manager.lite_subscription_quota:
            raise BusError(f"lite subscription quota of {self._manager.lite_subscription_quota} reached")

    async def _send_adds(self) -> None:
        while self._adding:
            batch, self._adding = self._adding, []
            self._add_in_flight = asyncio.get_running_loop().create_future()
            try:
                await self._send(LiteSubscriptionAction.PARTIAL_ADD, {topic for topic, _ in batch})
            except Exception as exc:  # every subscriber of the batch hears of it; the next batch still goes
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
            finally:
                self._add_in_flight.set_result(None)
                self._add_in_flight = None

    async def _send_drops_later(self) -> None:
        while self._dropping:
            await asyncio.sleep(DROP_AFTER_S)
            if self._add_in_flight is not None:  # a subscribe of the same topic may be on its way: it lands first
                await self._add_in_flight
            try:
                await self._send_drops()
            except Exception as exc:  # the broker drops an idle lite topic on its own in the end
                log.warning("unsubscribing lite topics failed: %s", exc)

    async def _send_drops(self) -> None:
        topics, self._dropping = self._dropping & self._held, set()
        if topics:
            await self._send(LiteSubscriptionAction.PARTIAL_REMOVE, topics)

    async def _send(self, action: int, topics: set[str]) -> None:
        consumer = self._consumer
        request = self._request(sorted(topics), action, consumer.consumer_group, consumer.client_configuration)
        future = consumer.rpc_client.sync_lite_subscription_async(
            consumer.client_configuration.rpc_endpoints, request, metadata=consumer.sign(),
            timeout=consumer.client_configuration.request_timeout)
        response = await asyncio.wrap_future(future)
        MessagingResultChecker.check(response.status)
        if action == LiteSubscriptionAction.PARTIAL_ADD:
            self._held.update(topics)
        else:
            self._held.difference_update(topics)
