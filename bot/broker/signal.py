"""A broadcast wake-up for long-polling receivers."""

from __future__ import annotations

import asyncio
import contextlib


class Signal:
    """Wakes every coroutine currently waiting; waiters re-check their condition themselves."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    async def wait(self, timeout_s: float) -> None:
        """Wait until notified or until ``timeout_s`` passes, whichever comes first."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, timeout_s)
        finally:
            self._waiters.discard(fut)

    def notify(self) -> None:
        """Wake all current waiters."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()
