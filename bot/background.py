"""Background loops owned by ``async with``: started on enter, cancelled and awaited on exit."""

from __future__ import annotations

import asyncio
import contextlib

RECANCEL_S = 0.5  # how long a loop may take to honour its cancellation before it is cancelled again


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has ended (its own cancellation is not an error).

    Cancelled again until it ends: on Python 3.11 ``asyncio.wait_for`` drops a cancellation that arrives
    just as the awaited future completes (CPython gh-86296), and the loop would carry on forever.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=RECANCEL_S)
    with contextlib.suppress(asyncio.CancelledError):
        await task
