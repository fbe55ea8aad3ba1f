"""Partial results: the text so far of a step still running (an LLM streaming the plan).

The worker runtime opens a sink for the step it runs (:func:`reporting`); code deep inside the step (the
planner, as the model streams) calls :func:`report` with the whole text so far, without knowing the bus.
Partials are progress only: the worker publishes them on the task's lite topic as ``PARTIAL`` results,
at most one per ``MIN_INTERVAL_S`` (a newer text replaces one not sent yet), and the Supervisor shows them
without committing anything; the step's checked result replaces them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

Sink = Callable[[str], Awaitable[None]]
MIN_INTERVAL_S = 0.5

_sink: ContextVar[Sink | None] = ContextVar("partial_sink", default=None)


@contextlib.contextmanager
def reporting(sink: Sink) -> Iterator[None]:
    """Partial texts reported inside the block go to ``sink``."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


async def report(text: str) -> None:
    """The step's text so far; nothing happens outside a worker (the offline tools, tests of a planner)."""
    sink = _sink.get()
    if sink is not None and text:
        await sink(text)


class Throttled:
    """A sink that passes at most one text per ``interval_s`` on to ``send`` (with its sequence number)."""

    def __init__(self, send: Callable[[str, int], Awaitable[None]], interval_s: float = MIN_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._interval_s = interval_s
        self._clock = clock
        self._last = float("-inf")
        self._seq = 0

    async def __call__(self, text: str) -> None:
        now = self._clock()
        if now - self._last < self._interval_s:
            return  # the next text carries this one too: each is the whole text so far
        self._last = now
        self._seq += 1
        await self._send(text, self._seq)
