"""Trace records: every hop of a task (session created, step published, result, answer sent)."""

from __future__ import annotations

import time
from typing import Any

from storage.database import Database


async def append_trace(conn: Any, task_id: str, hop: str, detail: str) -> None:
    """Add a trace record inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO traces (task_id, at, hop, detail) VALUES (?,?,?,?)", (task_id, time.time(), hop, detail)
    )


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


async def read_traces(db: Database, task_id: str) -> list[tuple[float, str, str]]:
    """Every trace record of a task, oldest first: (unix time, hop, detail)."""
    rows = await db.fetch_all("SELECT at, hop, detail FROM traces WHERE task_id = ? ORDER BY id", (task_id,))
    return [(float(r["at"]), str(r["hop"]), str(r["detail"])) for r in rows]
