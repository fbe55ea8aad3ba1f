"""Waiting for the pipeline to have nothing left to do, instead of sleeping "long enough".

A test that asserts "exactly one answer" or "nothing else happened" first waits until the bot is settled:
every received event has become a session (or a direct answer), no session is running and no answer
is waiting in the outbox. Front ends commit an event before they acknowledge it, so once the platform
got its acknowledgement, any work the event could (wrongly) cause shows up here first; when none is
left, every answer it could produce has been handed to the platform, and the count is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

DATABASE = "tourguide.sqlite3"

_BUSY = {
    "events received but not processed": (
        "SELECT COUNT(*) FROM inbound i WHERE message != '' "
        "AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.task_id = i.task_id)"
    ),
    "sessions running": "SELECT COUNT(*) FROM sessions WHERE status = 'running'",
    "answers not sent yet": "SELECT COUNT(*) FROM outbox WHERE status = 'pending'",
}


def busy(data_dir: Path, *, delivering: bool = True) -> dict[str, int]:
    """What the bot using ``data_dir`` still has to do (empty when settled); read from its database.

    ``delivering=False`` for a pipeline run without chat platforms, whose answers stay queued.
    """
    path = data_dir / DATABASE
    if not path.exists():
        return {"database not created yet": 1}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        counts = {what: int(db.execute(sql).fetchone()[0]) for what, sql in _BUSY.items()
                  if delivering or what != "answers not sent yet"}
    return {what: n for what, n in counts.items() if n}


async def settled(data_dir: Path, timeout_s: float = 30.0, *, delivering: bool = True) -> None:
    """Return once the bot has nothing left to do; fails the test, saying what is still busy, on timeout."""
    deadline = time.monotonic() + timeout_s
    while left := await asyncio.to_thread(lambda: busy(data_dir, delivering=delivering)):
        assert time.monotonic() < deadline, f"still busy after {timeout_s:g} s: {left}"
        await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout_s: float = 60.0,
                what: str = "condition") -> None:
    """Poll ``condition`` (plain or async) until it holds; fails the test naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if await result if inspect.isawaitable(result) else result:
            return
        assert time.monotonic() < deadline, f"{what} not met in {timeout_s:g} s"
        await asyncio.sleep(0.05)
