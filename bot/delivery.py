"""Delivers the reply outbox to one chat adapter: each due answer is sent once and then marked.

The only writer of an outbox row's delivery state. One ``OutboxSender`` per adapter per process. A
row is "claimed" by putting its task ID in the in-flight set before anything is sent, so the loop can
never hand the same row to two deliveries at once; ``mark_sent`` runs only after the platform
accepted the answer, each accepted part of a split answer is recorded as the adapter reports it, and
a failure becomes ``mark_retry`` with exponential backoff until the retry policy gives up.

Wake-ups: the outbox calls back right after this process queued an answer; otherwise the sender
sleeps until the earliest pending row is due (a retry's backoff, also one left by a previous run),
at most :data:`SAFETY_POLL_S`: that slow poll finds rows another process queued (``tourguide
supervisor`` finishing a session of a bot process).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Collection
from types import TracebackType

from bot import background, tracing
from bot.errors import RateLimited
from bot.logs import log_context
from bot.models import Reply
from bot.ports import ChatAdapter
from bot.retry import DELIVERY_RETRY, RetryPolicy
from storage.outbox import Outbox

log = logging.getLogger("tourguide.outbox")

SAFETY_POLL_S = 30.0  # only for rows queued by another process; this process's rows wake the sender


class OutboxSender:
    """Delivers ``outbox.due(adapter.platform)`` through ``adapter.deliver``; ``async with`` runs it.

    ``channels`` narrows the rows to the conversations this process can deliver to (a terminal: its own).
    """

    def __init__(self, outbox: Outbox, adapter: ChatAdapter, policy: RetryPolicy | None = None, *,
                 channels: Callable[[], Collection[str]] | None = None, safety_poll_s: float = SAFETY_POLL_S,
                 shutdown_grace_s: float = 5.0) -> None:
        self._platform = adapter.platform
        self._outbox = outbox
        self._adapter = adapter
        self._policy = policy or DELIVERY_RETRY
        self._channels = channels
        self._poll_s = safety_poll_s
        self._grace_s = shutdown_grace_s
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OutboxSender:
        self._outbox.watch(self._queued)
        self._wake.set()  # start-up pass: rows left by a previous run are sent now
        self._loop = asyncio.create_task(self._run(), name=f"outbox-{self._platform}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await background.stop(self._loop)
        # Let sends already on the wire finish, so they get marked; the rest stay pending for the next run.
        pending = set(self._in_flight.values())
        if pending:
            await asyncio.wait(pending, timeout=self._grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def wake(self) -> None:
        """Look for due answers now instead of at the next poll."""
        self._wake.set()

    def _queued(self, platform: str) -> None:
        if platform == self._platform:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            checked = time.time()
            try:
                due = await self._outbox.due(self._platform, channels=self._channels() if self._channels else None)
            except Exception:
                log.exception("reading the outbox failed")
                due = []
            for reply in due:
                if reply.task_id not in self._in_flight:  # the claim: one delivery per row at a time
                    task = asyncio.create_task(self._send(reply), name=f"deliver-{reply.task_id}")
                    self._in_flight[reply.task_id] = task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._sleep_s(checked))

    async def _sleep_s(self, checked: float) -> float:
        """Until the next row not yet due at ``checked`` is due, at most the safety poll (rows due by then
        were handed out above; each delivery wakes the loop when it ends)."""
        try:
            due_at = await self._outbox.next_attempt_at(self._platform, checked)
        except Exception:
            log.exception("reading the outbox failed")
            return self._poll_s
        if due_at is None:
            return self._poll_s
        return min(self._poll_s, max(due_at - time.time(), 0.05))

    async def _send(self, reply: Reply) -> None:
        with log_context(task_id=reply.task_id, platform=self._platform), \
                tracing.span("deliver answer", parent=reply.traceparent, kind="producer", platform=self._platform,
                             task_id=reply.task_id, attempt=reply.attempts + 1):
            try:
                await self._outbox.begin_attempt(reply.task_id)  # committed before the platform sees anything
                await self._adapter.deliver(reply, functools.partial(self._outbox.mark_part_sent, reply.task_id))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(reply, exc)
            else:
                await self._outbox.mark_sent(reply.task_id)
                log.info("answer delivered")
            finally:
                self._in_flight.pop(reply.task_id, None)
                self._wake.set()

    async def _failed(self, reply: Reply, exc: Exception) -> None:
        attempts = reply.attempts + 1
        give_up = self._policy.gives_up(attempts)
        delay = self._policy.delay_s(attempts, rate_limited=isinstance(exc, RateLimited))
        if give_up:
            log.error("giving up on the answer after %d attempts: %s", attempts, exc)
        else:
            log.warning("delivery attempt %d failed (%s); retrying in %.0f s", attempts, exc, delay)
        await self._outbox.mark_retry(reply.task_id, str(exc), delay, give_up=give_up)
