"""The event loops of every tourguide process: uvloop where it is installed, asyncio's own otherwise.

uvloop (libuv) runs the same asyncio programs with less interpreter work per callback, wake-up and
thread hand-off, which is most of what a Supervisor, a broker or an agent does between two messages.
It is installed as the event loop policy, not only for our main loop: the RocketMQ client runs its gRPC
calls on an I/O loop of its own (``asyncio.new_event_loop()`` in its thread), and that loop does more of
a process's work than ours does (in a burst, a third of the Supervisor's CPU and more of an agent's).
Tests that do not go through :func:`run` keep asyncio's loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with uvloop for this loop and every loop made after it (not on Windows)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    # On Python 3.11 (our target) policies are the way to reach loops other libraries create.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return asyncio.run(main)
