"""Retention: finished requests older than a configurable age are deleted, and the file shrinks.

Every request leaves a session, its steps, its traces, an inbound-event row and an outbox row (about
19 KB). A long-running bot deletes those of finished requests once they are older than ``max_age_s``
(default 30 days), in small batches so no transaction holds the write lock for long, and then gives the
freed pages back with SQLite's incremental vacuum. Running sessions and unsent answers are never touched.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from bot import background
from storage.database import Database

log = logging.getLogger("tourguide.retention")

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Swept:
    """What one pass deleted."""

    sessions: int = 0
    inbound: int = 0
    traces: int = 0

    @property
    def total(self) -> int:
        """Rows deleted (sessions count with their steps and outbox rows)."""
        return self.sessions + self.inbound + self.traces


class Retention:
    """Deletes old finished requests; ``async with`` runs :meth:`sweep` every ``interval_s`` in the background."""

    def __init__(self, db: Database, max_age_s: float = 30 * DAY_S, *, interval_s: float = 3600.0,
                 batch: int = 500, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._max_age_s = max_age_s
        self._interval_s = interval_s
        self._batch = batch
        self._clock = clock
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Retention:
        self._loop = asyncio.create_task(self._run(), name="retention")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await background.stop(self._loop)

    async def _run(self) -> None:
        while True:
            try:
                swept = await self.sweep()
                if swept.total:
                    log.info("retention: deleted %d sessions, %d inbound events, %d traces older than %.0f days",
                             swept.sessions, swept.inbound, swept.traces, self._max_age_s / DAY_S)
            except Exception:  # a locked or full disk must not end the loop: try again next time
                log.exception("retention pass failed")
            await asyncio.sleep(self._interval_s)

    async def sweep(self) -> Swept:
        """One pass: delete everything old enough, batch by batch, then reclaim the space."""
        cutoff = self._clock() - self._max_age_s
        sessions = inbound = traces = 0
        while n := await self._sessions(cutoff):
            sessions += n
        while n := await self._delete("inbound", "received_at", cutoff):
            inbound += n
        while n := await self._delete("traces", "at", cutoff):
            traces += n
        swept = Swept(sessions, inbound, traces)
        if swept.total:
            await self._db.reclaim()
        return swept

    async def _sessions(self, cutoff: float) -> int:
        """A batch of finished sessions (with no unsent answer) last changed before ``cutoff``."""
        def work(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT task_id FROM sessions s WHERE status != 'running' AND updated_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM outbox o WHERE o.task_id = s.task_id AND o.status = 'pending') LIMIT ?",
                (cutoff, self._batch)).fetchall()
            ids = [(r["task_id"],) for r in rows]
            for table in ("steps", "outbox", "traces", "sessions"):
                conn.executemany(f"DELETE FROM {table} WHERE task_id = ?", ids)
            return len(ids)

        return await self._db.write(work)

    async def _delete(self, table: str, column: str, cutoff: float) -> int:
        sql = f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {column} < ? LIMIT ?)"
        return await self._db.write(lambda conn: int(conn.execute(sql, (cutoff, self._batch)).rowcount))
