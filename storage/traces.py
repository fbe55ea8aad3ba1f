"""Trace records: every hop of a task (session created, step published, result, answer sent)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from bot import background
from storage.database import Database

log = logging.getLogger("tourguide.storage")
INSERT_TRACE = "INSERT INTO traces (task_id, at, hop, detail) VALUES (?,?,?,?)"


def append_trace(conn: sqlite3.Connection, task_id: str, hop: str, detail: str) -> None:
    """Add a trace record inside the caller's transaction (:meth:`Database.write`)."""
    conn.execute(INSERT_TRACE, (task_id, time.time(), hop, detail))


class TraceIndex:
    """Read-only: a task's hops, and the tasks whose hops mention a topic, lite topic or message ID."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def traces(self, task_id: str) -> list[tuple[float, str, str]]:
        """``(unix time, hop, detail)`` of every hop of a task, oldest first."""
        return await read_traces(self._db, task_id)

    async def find_tasks(self, text: str, limit: int) -> list[str]:
        """Task IDs, newest first, that are ``text`` or whose hops mention it."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._db.fetch_all(
            "SELECT task_id, MAX(id) AS last FROM traces WHERE task_id = ? OR detail LIKE ? ESCAPE '\\' "
            "OR hop LIKE ? ESCAPE '\\' GROUP BY task_id ORDER BY last DESC LIMIT ?", (text, pattern, pattern, limit))
        return [str(r[0]) for r in rows]


FEEDBACK_HOP = "feedback"


class FeedbackLog:
    """A user's thumbs up or down on an answer, as a trace row of its task (``tourguide trace`` shows it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, task_id: str, platform: str, user: str, helpful: bool) -> None:
        """One trace row per click: ``feedback`` with ``helpful by <user> (<platform>)`` or ``not helpful``."""
        detail = f"{'helpful' if helpful else 'not helpful'} by {user} ({platform})"
        await self._db.write(lambda conn: append_trace(conn, task_id, FEEDBACK_HOP, detail))


async def read_traces(db: Database, task_id: str) -> list[tuple[float, str, str]]:
    """Every trace record of a task, oldest first: (unix time, hop, detail)."""
    # By time: the bus clients' hops are written in batches, after the session's own hops that followed them.
    rows = await db.fetch_all("SELECT at, hop, detail FROM traces WHERE task_id = ? ORDER BY at, id", (task_id,))
    return [(float(r["at"]), str(r["hop"]), str(r["detail"])) for r in rows]


class TraceWriter:
    """Appends trace rows handed over from any thread (the RocketMQ client's), in batches; ``async with`` runs it.

    For hops seen outside a storage transaction (what the bus clients did with a message): their rows
    carry the time the hop happened, so the timeline orders them by ``at``.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[tuple[str, float, str, str]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TraceWriter:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="trace-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        loop, self._loop = self._loop, None  # rows added from now on are dropped
        await background.stop(self._task)
        if loop is not None:
            await self._write(self._drain())

    def add(self, task_id: str, at: float, hop: str, detail: str) -> None:
        """Queue one row; safe from any thread, never blocks."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue.put_nowait, (task_id, at, hop, detail))

    async def _run(self) -> None:
        while True:
            rows = [await self._queue.get(), *self._drain()]
            try:
                await self._write(rows)
            except Exception:
                log.exception("writing %d trace rows failed", len(rows))

    def _drain(self) -> list[tuple[str, float, str, str]]:
        rows = []
        while not self._queue.empty():
            rows.append(self._queue.get_nowait())
        return rows

    async def _write(self, rows: list[tuple[str, float, str, str]]) -> None:
        if rows:
            await self._db.write(lambda conn: conn.executemany(INSERT_TRACE, rows))
