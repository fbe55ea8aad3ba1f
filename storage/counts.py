"""Counts for operators (``tourguide status``, metrics), read from the database file without opening it for
writing: sessions still running and answers not yet delivered."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class AppCounts:
    """What the application's own database says about work in progress."""

    sessions_running: int
    outbox_unsent: int  # answers pending or being retried (not sent, not given up)


def read_counts(db_file: Path) -> AppCounts:
    """The counts of ``db_file``; zeros when it does not exist yet."""
    if not db_file.exists():
        return AppCounts(0, 0)
    with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)) as db:
        running = db.execute("SELECT COUNT(*) FROM sessions WHERE status = 'running'").fetchone()[0]
        unsent = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    return AppCounts(int(running), int(unsent))
