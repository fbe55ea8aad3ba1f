"""Delivers the reply outbox to one chat platform: each due answer is sent once and then marked.

One ``OutboxSender`` per platform per process. A row is "claimed" by putting its task ID in the
in-flight set before anything is sent, so the polling loop can never hand the same row to two
deliveries at once; ``mark_sent`` runs only after the platform accepted the answer, and a failure
becomes ``mark_retry`` with exponential backoff until the retry policy gives up. Unsent rows of a
previous run are due at start-up, so answers survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from bot import background
from bot.errors import RateLimited
from bot.logs import log_context
from bot.models import Progress, Reply
from storage.outbox import Outbox

log = logging.getLogger("tourguide.outbox")

Deliver = Callable[[Reply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed delivery is retried."""

    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0

    def delay(self, attempts: int, *, rate_limited: bool = False) -> float:
        """Seconds to wait after ``attempts`` failed attempts (rate limits wait at least a minute)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(attempts - 1, 0))
        return max(delay, 60.0) if rate_limited else delay


class OutboxSender:
    """Polls ``outbox.due(platform)`` and delivers each row exactly once; ``async with`` runs it."""

    def __init__(self, platform: str, outbox: Outbox, deliver: Deliver, policy: RetryPolicy | None = None, *,
                 poll_s: float = 1.0, shutdown_grace_s: float = 5.0) -> None:
        self._platform = platform
        self._outbox = outbox
        self._deliver = deliver
        self._policy = policy or RetryPolicy()
        self._poll_s = poll_s
        self._grace_s = shutdown_grace_s
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OutboxSender:
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

    async def on_progress(self, event: Progress) -> None:
        """Supervisor listener: a finished session has an answer waiting."""
        if event.phase == "finished":
            self.wake()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                due = await self._outbox.due(self._platform)
            except Exception:
                log.exception("reading the outbox failed")
                due = []
            for reply in due:
                if reply.task_id not in self._in_flight:  # the claim: one delivery per row at a time
                    task = asyncio.create_task(self._send(reply), name=f"deliver-{reply.task_id}")
                    self._in_flight[reply.task_id] = task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def _send(self, reply: Reply) -> None:
        with log_context(task_id=reply.task_id, platform=self._platform):
            try:
                await self._outbox.begin_attempt(reply.task_id)  # committed before the platform sees anything
                await self._deliver(reply)
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
        give_up = attempts >= self._policy.max_attempts
        delay = self._policy.delay(attempts, rate_limited=isinstance(exc, RateLimited))
        if give_up:
            log.error("giving up on the answer after %d attempts: %s", attempts, exc)
        else:
            log.warning("delivery attempt %d failed (%s); retrying in %.0f s", attempts, exc, delay)
        await self._outbox.mark_retry(reply.task_id, str(exc), delay, give_up=give_up)
