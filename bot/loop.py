"""The event loop every tourguide process runs on: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv) runs the same asyncio programs with less interpreter work per callback, wake-up and
thread hand-off, which is most of what a Supervisor, a broker or an agent does between two messages.
Only the loop of our own main thread changes: the RocketMQ client's I/O loop (its own thread, its own
``asyncio.new_event_loop()``) and pytest's loops stay asyncio's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop when it is available (not on Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
