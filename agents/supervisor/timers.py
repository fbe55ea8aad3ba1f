"""The Supervisor's timers: step deadlines, slow-step notices and publish retries, in one heap.

Nothing is polled: each timer is set when its step is published (or a publish fails) and one background
loop sleeps until the earliest is due. A timer is a reminder, not a decision: when it fires the Supervisor
looks at the session as it is then, so a timer made stale by a result is simply ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

from bot import background

log = logging.getLogger("tourguide.supervisor")


class Reminder(StrEnum):
    """What a timer is for."""

    SLOW = "slow"  # a step has been out for the slow-notice time: tell the user once
    DEADLINE = "deadline"  # a step's result is due: fail it if it is still out
    RETRY = "retry"  # publishing failed (broker unreachable): try again, give up after a step timeout


@dataclass(frozen=True, slots=True, order=True)
class Timer:
    """One reminder for one step (``step_id`` is empty for a whole session)."""

    when: float  # unix time
    seq: int  # FIFO among timers due at the same time
    task_id: str = field(compare=False)
    step_id: str = field(compare=False)
    reminder: Reminder = field(compare=False)


class Timers:
    """``async with`` runs the loop that calls ``fire(timer)`` for every timer once it is due, in time order."""

    def __init__(self, fire: Callable[[Timer], Awaitable[None]], clock: Callable[[], float] = time.time) -> None:
        self._fire = fire
        self._clock = clock
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Timers:
        self._loop = asyncio.create_task(self._run(), name="supervisor-timers")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await background.stop(self._loop)

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, task_id: str, step_id: str, reminder: Reminder) -> None:
        """Be reminded at ``when`` (unix time; a time already past fires at once)."""
        timer = Timer(when, next(self._seq), task_id, step_id, reminder)
        heapq.heappush(self._heap, timer)
        if self._heap[0] is timer:  # the loop sleeps until the old earliest: wake it for this one
            self._changed.set()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            while self._heap and self._heap[0].when <= self._clock():
                timer = heapq.heappop(self._heap)
                try:
                    await self._fire(timer)
                except Exception:  # one broken session (or a broker hiccup) must not stop the others' timers
                    log.exception("%s timer of %s failed", timer.reminder.value, timer.task_id)
            wait = self._heap[0].when - self._clock() if self._heap else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)
