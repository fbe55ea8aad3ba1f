"""The acks of one push consumer, sent several to a call.

5.1.2 workaround (rocketmq/v5/consumer/consumer.py, ``Consumer._ack``): a push consumer acks every message
with an AckMessage call of its own, from the consumption thread that ran the handler, and waits for it. In
a burst that is four calls per session (two tasks, two results), a third of all the calls the broker gets.
The protocol takes many entries per call, each answered with its own status. So the first ack of a quiet
moment waits :data:`ACK_GATHER_S` for the acks of the handlers finishing just after it, sends them all in
one call, and hands every waiting thread its own entry's status. What the client does with that status is
unchanged: it raises from ``_ack`` as before, so the client's own handling (retry a failed ack a second
later, give up on an invalid receipt handle) applies to each message as it did.

The cost is that much more time between a handler's end and its ack: nothing waits on an ack but the
consumption thread and the consumer's cache slot (both sized with room for it), and a process that dies in
between gets the message again, which every handler here already takes as a duplicate.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any

from rocketmq.v5.exception import IllegalStateException
from rocketmq.v5.util import MessagingResultChecker

from bot.errors import BusError

ACK_GATHER_S = 0.05  # a 1,000-session burst: ~3 acks per call at an agent, ~6 at the Supervisor


class AckBatches:
    """Installed on one consumer by :meth:`install`; its ``_ack(message)`` then goes through :meth:`ack`."""

    def __init__(self, consumer: Any, gather_s: float = ACK_GATHER_S) -> None:
        self._consumer = consumer
        self._gather_s = gather_s
        try:
            self._one_entry_request = consumer._Consumer__ack_req  # the client's own request for one message
        except AttributeError as exc:
            raise BusError(f"this rocketmq-python-client builds acks differently from 5.1.2: {exc}") from exc
        self._lock = threading.Lock()
        self._waiting: list[tuple[Any, concurrent.futures.Future[Any]]] = []

    def install(self) -> None:
        """Replace this consumer's ``_ack`` (an instance attribute: other consumers keep the client's)."""
        self._consumer._ack = self.ack

    def ack(self, message: Any) -> None:
        """Ack ``message`` in the next call; raises as the client's ``_ack`` does when its entry failed."""
        if not self._consumer.is_running:
            raise IllegalStateException("unable to ack message because consumer is not running")
        mine: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            self._waiting.append((message, mine))
            first = len(self._waiting) == 1
        if first:  # this thread gathers and sends; the others wait for their status
            time.sleep(self._gather_s)
            with self._lock:
                batch, self._waiting = self._waiting, []
            self._send(batch)
        MessagingResultChecker.check(mine.result())

    def _send(self, batch: list[tuple[Any, concurrent.futures.Future[Any]]]) -> None:
        calls: dict[tuple[Any, str], list[tuple[Any, concurrent.futures.Future[Any]]]] = {}
        for message, done in batch:  # one call per broker and topic, as the request names one topic
            calls.setdefault((message.endpoints, message.topic), []).append((message, done))
        for (endpoints, _), part in calls.items():
            try:
                request = self._one_entry_request(part[0][0])
                for message, _ in part[1:]:
                    request.entries.extend(self._one_entry_request(message).entries)
                consumer = self._consumer
                response = consumer.rpc_client.ack_message_async(
                    endpoints, request, metadata=consumer.sign(), timeout=consumer.client_configuration.request_timeout,
                ).result()
            except Exception as exc:  # the call failed as a whole: every message of it retries as before
                for _, done in part:
                    done.set_exception(exc)
                continue
            by_handle = {entry.receipt_handle: entry.status for entry in response.entries}
            for message, done in part:
                done.set_result(by_handle.get(message.receipt_handle, response.status))
