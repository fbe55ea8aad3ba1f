"""The reply outbox: one final answer per task, written before sending, marked sent after delivery.

This module owns the ``outbox`` table. A row is queued (:meth:`Outbox.queue`) inside the transaction
that finishes its session (:meth:`storage.sessions.SessionStore.finish`), so an answer is never lost
between "done" and "sent"; the primary key on the task ID makes a second answer impossible.
An answer a platform needs several messages for records each accepted part (``parts_sent``), so a
retry, even after a restart, resumes with the next part instead of posting the first ones again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection

from bot.models import OutboxStatus, Reply
from storage.database import Database
from storage.rows import REPLY_COLUMNS, insert, reply_from_row, reply_params
from storage.traces import append_trace as _trace

QUEUED = "outbox.queued"  # the change notice of a new pending answer; its detail is the platform


class Outbox:
    """Queues answers and tracks their delivery."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def watch(self, queued: Callable[[str], None]) -> None:
        """Call ``queued(platform)`` right after this process committed a new answer (the sender's wake).

        Called once the transaction that queued the answer committed, from whichever store ran it, on the
        event loop; it must not block. In-process only: a row another process writes is found by the
        sender's slow safety poll.
        """
        self._db.listen(QUEUED, queued)

    def queue(self, conn: sqlite3.Connection, reply: Reply) -> bool:
        """Add a pending answer inside the caller's transaction (:meth:`Database.write`); False (nothing
        written) if the task has one.

        The watchers are told once that transaction commits.
        """
        params = reply_params(reply, time.time())
        cursor = conn.execute(f"{insert('outbox', params)} ON CONFLICT (task_id) DO NOTHING", params)
        if cursor.rowcount != 1:
            return False
        self._db.announce(QUEUED, reply.ref.platform)
        return True

    async def get(self, task_id: str) -> Reply | None:
        """The answer of a task, if one was queued."""
        row = await self._db.fetch_one(f"SELECT {REPLY_COLUMNS} FROM outbox WHERE task_id = ?", (task_id,))
        return reply_from_row(row) if row else None

    async def due(self, platform: str, limit: int = 50, channels: Collection[str] | None = None) -> list[Reply]:
        """Pending answers of a platform whose next attempt is due, oldest first; only those of ``channels``
        (conversations) when given, e.g. one terminal's, so other terminals' rows never crowd them out."""
        where, params = "status = ? AND platform = ? AND next_attempt_at <= ?", [
            OutboxStatus.PENDING.value, platform, time.time()]
        if channels is not None:
            where += f" AND json_extract(reference, '$.channel') IN ({', '.join('?' * len(channels))})"
            params += list(channels)
        rows = await self._db.fetch_all(
            f"SELECT {REPLY_COLUMNS} FROM outbox WHERE {where} ORDER BY created_at LIMIT ?", (*params, limit))
        return [reply_from_row(r) for r in rows]

    async def next_attempt_at(self, platform: str, after: float) -> float | None:
        """When the earliest pending answer of a platform not yet due at ``after`` (unix time) becomes due;
        None when there is none."""
        row = await self._db.fetch_one(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE status = ? AND platform = ? AND next_attempt_at > ?",
            (OutboxStatus.PENDING.value, platform, after),
        )
        return float(row[0]) if row and row[0] is not None else None

    async def begin_attempt(self, task_id: str) -> None:
        """A delivery attempt starts: counted and marked in flight *before* anything goes to the platform.

        If the process dies before :meth:`mark_sent` / :meth:`mark_retry`, the row still says
        ``delivering`` at the next start, and the next attempt is told (``Reply.in_doubt``) that the
        platform may already have the message, so it checks before posting again.
        """
        await self._db.write(lambda conn: conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, delivering = 1 WHERE task_id = ?", (task_id,)))

    async def mark_sent(self, task_id: str) -> None:
        """The platform accepted the answer."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE outbox SET status = ?, sent_at = ?, delivering = 0 WHERE task_id = ?",
                         (OutboxStatus.SENT.value, time.time(), task_id))
            _trace(conn, task_id, "outbox", "answer delivered")

        await self._db.write(work)

    async def mark_part_sent(self, task_id: str, parts: int) -> None:
        """The platform accepted the first ``parts`` messages of a split answer: never post them again."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE outbox SET parts_sent = MAX(parts_sent, ?) WHERE task_id = ?", (parts, task_id))
            _trace(conn, task_id, "outbox", f"part {parts} delivered")

        await self._db.write(work)

    async def mark_retry(self, task_id: str, error: str, delay_s: float, *, give_up: bool = False) -> None:
        """A delivery attempt failed: try again after ``delay_s`` (or stop when ``give_up``)."""
        status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE outbox SET status = ?, delivering = 0, next_attempt_at = ?, last_error = ? "
                         "WHERE task_id = ?", (status.value, time.time() + delay_s, error[:500], task_id))
            _trace(conn, task_id, "outbox", f"delivery failed: {error[:200]}")

        await self._db.write(work)
