"""The reply outbox: one final answer per task, written before sending, marked sent after delivery.

A row is created in the same transaction that finishes the session, so an answer is never lost
between "done" and "sent"; the primary key on the task ID makes a second answer impossible.
An answer a platform needs several messages for records each accepted part (``parts_sent``), so a
retry, even after a restart, resumes with the next part instead of posting the first ones again.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.models import ConversationRef, OutboxStatus, Reply, SessionStatus
from bot.schemas import TripRequest
from storage.database import Database
from storage.sessions import insert_session
from storage.traces import append_trace as _trace


class Outbox:
    """Finishes sessions into outbox rows and tracks their delivery."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def finish(self, task_id: str, status: SessionStatus, ref: ConversationRef, text: str,
                     payload: dict[str, Any]) -> bool:
        """Close a session and queue its answer atomically; False if it was already finished."""
        now = time.time()
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE task_id = ? AND status = ?",
                (status.value, now, task_id, SessionStatus.RUNNING.value),
            )
            if cursor.rowcount != 1:
                return False
            await self._insert(conn, task_id, ref, text, payload, now)
            await _trace(conn, task_id, "session", f"finished {status.value}; answer queued")
        return True

    async def answer_directly(self, task_id: str, ref: ConversationRef, request: TripRequest, status: SessionStatus,
                              text: str, payload: dict[str, Any], event_id: str = "") -> bool:
        """Record a request answered without agents (help, clarification, refusal) and queue the answer.

        Returns False when ``event_id`` was already handled (a platform redelivery).
        """
        async with self._db.transaction() as conn:
            if not await insert_session(conn, task_id, ref, request, status, event_id):
                return False
            await self._insert(conn, task_id, ref, text, payload, time.time())
            await _trace(conn, task_id, "session", f"answered directly: {status.value}")
        return True

    @staticmethod
    async def _insert(conn: Any, task_id: str, ref: ConversationRef, text: str, payload: dict[str, Any],
                      now: float) -> bool:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO outbox (task_id, platform, reference, status, text, payload, attempts, "
            "next_attempt_at, created_at) VALUES (?,?,?,?,?,?,0,?,?)",
            (task_id, ref.platform, ref.model_dump_json(), OutboxStatus.PENDING.value, text,
             json.dumps(payload, ensure_ascii=False), now, now),
        )
        return bool(cursor.rowcount == 1)

    async def get(self, task_id: str) -> Reply | None:
        """The answer of a task, if one was queued."""
        row = await self._db.fetch_one(
            _SELECT + "WHERE task_id = ?", (task_id,)
        )
        return _reply(row) if row else None

    async def due(self, platform: str, limit: int = 50) -> list[Reply]:
        """Pending answers of a platform whose next attempt is due, oldest first."""
        rows = await self._db.fetch_all(
            _SELECT + "WHERE status = ? AND platform = ? AND next_attempt_at <= ? ORDER BY created_at LIMIT ?",
            (OutboxStatus.PENDING.value, platform, time.time(), limit),
        )
        return [_reply(r) for r in rows]

    async def begin_attempt(self, task_id: str) -> None:
        """A delivery attempt starts: counted and marked in flight *before* anything goes to the platform.

        If the process dies before :meth:`mark_sent` / :meth:`mark_retry`, the row still says
        ``delivering`` at the next start, and the next attempt is told (``Reply.in_doubt``) that the
        platform may already have the message, so it checks before posting again.
        """
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE outbox SET attempts = attempts + 1, delivering = 1 WHERE task_id = ?",
                               (task_id,))

    async def mark_sent(self, task_id: str) -> None:
        """The platform accepted the answer."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, sent_at = ?, delivering = 0 WHERE task_id = ?",
                (OutboxStatus.SENT.value, time.time(), task_id),
            )
            await _trace(conn, task_id, "outbox", "answer delivered")

    async def mark_part_sent(self, task_id: str, parts: int) -> None:
        """The platform accepted the first ``parts`` messages of a split answer: never post them again."""
        async with self._db.transaction() as conn:
            await conn.execute("UPDATE outbox SET parts_sent = MAX(parts_sent, ?) WHERE task_id = ?", (parts, task_id))
            await _trace(conn, task_id, "outbox", f"part {parts} delivered")

    async def mark_retry(self, task_id: str, error: str, delay_s: float, *, give_up: bool = False) -> None:
        """A delivery attempt failed: try again after ``delay_s`` (or stop when ``give_up``)."""
        status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, delivering = 0, next_attempt_at = ?, last_error = ? "
                "WHERE task_id = ?",
                (status.value, time.time() + delay_s, error[:500], task_id),
            )
            await _trace(conn, task_id, "outbox", f"delivery failed: {error[:200]}")


_SELECT = "SELECT task_id, reference, text, payload, status, attempts, parts_sent, delivering FROM outbox "


def _reply(row: Any) -> Reply:
    return Reply(
        task_id=row[0], ref=ConversationRef.model_validate_json(row[1]), text=row[2], payload=json.loads(row[3]),
        status=OutboxStatus(row[4]), attempts=int(row[5]), parts_sent=int(row[6]), in_doubt=bool(row[7]),
    )
