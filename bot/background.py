"""Background loops owned by ``async with``: started on enter, cancelled and awaited on exit."""

from __future__ import annotations

import asyncio
import contextlib


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has ended (its own cancellation is not an error)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
