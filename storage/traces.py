"""Trace records: every hop of a task (session created, step published, result, answer sent)."""

from __future__ import annotations

import time
from typing import Any


async def append_trace(conn: Any, task_id: str, hop: str, detail: str) -> None:
    """Add a trace record inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO traces (task_id, at, hop, detail) VALUES (?,?,?,?)", (task_id, time.time(), hop, detail)
    )
