"""Where a waiting step stands: "排队中，前面还有 12 个请求，预计 40 秒" / "You're 13th in line, about 40 s".

The Supervisor tells this watch about every step it publishes (with its priority level) and every result.
A step's position is the number of outstanding steps of its kind the broker hands out before it (a higher
level, or the same level sent earlier) beyond those the agents are working on (their capacity); the wait is
that many steps at the rate results came back in the last minute. When the wait exceeds a few seconds, the
user is told once, and again at most every 15 s while the step still waits (a ``Phase.QUEUED`` progress
event, its detail ``position:seconds``). With no result in the last minute there is no rate, and nothing is
said rather than a guess.

The Supervisor only sees the steps it published itself: with several Supervisors on one broker the position
counts this one's share of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from bot import background
from bot.models import Phase, Progress, Session, StepState
from bot.wire import StepKind
from bot.wording.queue import queue_detail

log = logging.getLogger("tourguide.supervisor.queue")
NOTICE_AFTER_S = 5.0  # a wait shorter than this is not worth a message
REFRESH_S = 15.0
RATE_WINDOW_S = 60.0


@dataclass(slots=True)
class _Waiting:
    session: Session
    kind: StepKind
    level: int
    seq: int
    told_at: float | None = None
    told: tuple[int, int] | None = None


@dataclass(slots=True)
class QueueWatch:
    """Outstanding steps by kind and the recent result rate; emits ``Phase.QUEUED`` for steps that will wait."""

    emit: Callable[[Progress], Awaitable[None]]
    capacity: int = 4  # steps the agents of one kind work on at once
    notice_after_s: float = NOTICE_AFTER_S
    refresh_s: float = REFRESH_S
    every_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _out: dict[tuple[str, str], _Waiting] = field(default_factory=dict)
    _results: dict[StepKind, deque[float]] = field(default_factory=dict)
    _since: dict[StepKind, float] = field(default_factory=dict)  # the first step of a kind went out
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _steps_of: dict[str, set[str]] = field(default_factory=dict)  # task ID -> its outstanding step IDs

    def sent(self, session: Session, step_id: str, kind: StepKind, level: int) -> None:
        """A step was published with ``level``."""
        self._out[(session.task_id, step_id)] = _Waiting(session, kind, level, next(self._seq))
        self._steps_of.setdefault(session.task_id, set()).add(step_id)
        self._since.setdefault(kind, self.clock())

    def done(self, task_id: str, step_id: str) -> None:
        """A step's result arrived (or it was given up on)."""
        waiting = self._out.pop((task_id, step_id), None)
        if (steps := self._steps_of.get(task_id)) is not None:
            steps.discard(step_id)
            if not steps:
                del self._steps_of[task_id]
        if waiting is not None:
            self._results.setdefault(waiting.kind, deque()).append(self.clock())

    def forget(self, task_id: str) -> None:
        """The session ended: none of its steps waits any more."""
        for step_id in self._steps_of.pop(task_id, ()):  # not a walk over every outstanding step
            self._out.pop((task_id, step_id), None)

    def position(self, task_id: str, step_id: str) -> tuple[int, float | None]:
        """Steps the broker hands out before this one, beyond the agents' capacity, and the seconds that takes
        at the recent rate (None without a recent result)."""
        me = self._out[(task_id, step_id)]
        ahead = sum(1 for w in self._out.values() if w.kind == me.kind and w is not me
                    and (w.level > me.level or (w.level == me.level and w.seq < me.seq)))
        return self._standing(me.kind, ahead)

    def _standing(self, kind: StepKind, ahead: int) -> tuple[int, float | None]:
        position = max(0, ahead - self.capacity + 1)
        rate = self._rate(kind)
        return position, (position / rate if rate else None)

    def _ahead_of_each(self) -> dict[tuple[str, str], int]:
        """Steps ahead of every outstanding step, in one sort per kind (not one walk per step: a burst of
        5,000 sessions made that quadratic, seconds of the Supervisor's CPU every second)."""
        by_kind: dict[StepKind, list[tuple[tuple[str, str], _Waiting]]] = {}
        for key, w in self._out.items():
            by_kind.setdefault(w.kind, []).append((key, w))
        ahead: dict[tuple[str, str], int] = {}
        for waiting in by_kind.values():
            waiting.sort(key=lambda kw: (-kw[1].level, kw[1].seq))  # the broker's order: level, then sent
            ahead.update((key, rank) for rank, (key, _w) in enumerate(waiting))
        return ahead

    def _rate(self, kind: StepKind) -> float:
        results = self._results.get(kind)
        if not results:
            return 0.0
        horizon = self.clock() - RATE_WINDOW_S
        while results and results[0] < horizon:
            results.popleft()
        if not results:
            return 0.0
        # results per second over the last minute, or since steps of this kind first went out if that is later
        now = self.clock()
        span = max(now - max(horizon, self._since.get(kind, horizon)), 1.0)
        return len(results) / span

    async def tell(self) -> None:
        """Emit a notice for every step that will wait long enough and was not told in the last 15 s."""
        now = self.clock()
        ahead = self._ahead_of_each()
        for (task_id, step_id), w in list(self._out.items()):
            if w.told_at is not None and now - w.told_at < self.refresh_s:
                continue
            position, wait_s = self._standing(w.kind, ahead[(task_id, step_id)])
            if position == 0 or wait_s is None or wait_s < self.notice_after_s:
                continue
            told = (position, round(wait_s))
            if told == w.told:
                continue
            w.told_at, w.told = now, told
            s = w.session
            await self.emit(Progress(
                task_id, Phase.QUEUED, w.kind, queue_detail(*told), ref=s.ref, language=s.request.language,
                request_text=s.request.text, steps=tuple(StepState(x.kind, x.status) for x in s.steps)))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.tell()
            except Exception:  # a listener failing must not end the notices
                log.exception("queue notices failed")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[QueueWatch]:
        """Check every ``every_s`` until the block exits."""
        task = asyncio.create_task(self._loop(), name="queue-watch")
        try:
            yield self
        finally:
            await background.stop(task)
