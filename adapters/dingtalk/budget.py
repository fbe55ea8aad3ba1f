"""One bot-wide budget for DingTalk's AI card API, shared by every card.

DingTalk limits an app's calls per API per second and answers 403 ``QpsLimit...`` beyond it; a few people
chatting at once, each with a card updating several times a second, used to reach it. The budget is a
token bucket refilled at ``rate`` calls a second (set below the app's limit), taken in arrival order. A 403
means the real limit is lower than we were told (or another process of the app spends it too): every taker
pauses for one of DingTalk's windows and the rate halves; each accepted call wins a little of it back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

PAUSE_S = 1.0  # after a 403: DingTalk counts per second, so the next second starts afresh
MIN_RATE = 0.5  # calls a second a throttled budget never goes below
RECOVERY = 0.02  # of the configured rate, won back per accepted call (50 calls from nothing to full)


class CallBudget:
    """A token bucket of ``rate`` calls a second holding ``burst`` tokens.

    With the default burst of one, calls are spaced ``1 / rate`` apart, so no one-second window (which is
    how DingTalk counts) holds more than ``rate`` of them; a larger burst would allow ``burst + rate``.
    """

    def __init__(self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._target = rate
        self._rate = rate
        self._burst = max(1.0, burst)
        self._tokens = self._burst
        self._clock = clock
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()  # takers wait in arrival order

    @property
    def rate(self) -> float:
        """Calls a second allowed now (the configured rate, or less after 403s)."""
        return self._rate

    async def take(self) -> None:
        """Wait for one call's worth of budget."""
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                wait = max(self._paused_until - now, (1.0 - self._tokens) / self._rate)
                if wait <= 0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep(wait)

    def refused(self) -> None:
        """DingTalk answered 403 (QPS): everybody pauses, and the rate halves."""
        now = self._clock()
        self._paused_until = max(self._paused_until, now + PAUSE_S)
        self._tokens, self._updated = 0.0, now
        self._rate = max(MIN_RATE, self._rate / 2)

    def accepted(self) -> None:
        """A call went through: win back a little of the configured rate."""
        self._rate = min(self._target, self._rate + self._target * RECOVERY)
