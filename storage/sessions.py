"""Supervisor sessions and their steps: the durable state machine behind every request.

This module owns the ``sessions``, ``steps`` and ``inbound`` tables. Ending a session is one transaction
here: the session row changes and its answer is queued in the outbox (:meth:`Outbox.queue`) together, so
there is never a finished session without its answer, nor an answer for a session still running.

Every committed change to a session or its steps adds one to ``sessions.version`` and returns the new
value: a caller that keeps the session in memory knows its copy is current when the version it gets back
is its own plus one, and re-reads the session otherwise (another process changed it meanwhile).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from bot.models import ConversationRef, Reply, Session, SessionStatus, Step, StepStatus
from bot.schemas import Itinerary, TripRequest, WeatherReport
from bot.wire import ErrorKind
from storage.database import Database
from storage.outbox import Outbox
from storage.rows import (
    SESSION_COLUMNS,
    STEP_COLUMNS,
    insert,
    output_json,
    session_from_row,
    session_params,
    step_params,
)
from storage.traces import append_trace as _trace
from storage.traces import read_traces


class SessionStore:
    """Reads and writes sessions; every change is one committed transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._outbox = Outbox(db)  # queues the answer inside the transaction that ends a session

    async def create(
        self, task_id: str, ref: ConversationRef, request: TripRequest, steps: list[Step],
        event_id: str = "",
    ) -> Session | None:
        """Persist a new running session with its planned steps and return it as committed (its owner runs it
        without reading it back); None if ``event_id`` was seen before."""
        session = Session(task_id, ref, request, SessionStatus.RUNNING, time.time(), tuple(steps))
        rows = [step_params(task_id, s, session.created_at) for s in steps]

        def work(conn: sqlite3.Connection) -> bool:
            if not _insert(conn, session, event_id):
                return False
            if rows:
                conn.executemany(insert("steps", rows[0]), rows)
            _trace(conn, task_id, "session", f"created with {len(steps)} steps")
            return True

        return session if await self._db.write(work) else None

    async def answer_directly(self, task_id: str, ref: ConversationRef, request: TripRequest, status: SessionStatus,
                              text: str, payload: dict[str, Any], event_id: str = "") -> bool:
        """Record a request answered without agents (help, clarification, refusal) and queue the answer.

        Returns False when ``event_id`` was already handled (a platform redelivery).
        """
        session = Session(task_id, ref, request, status, time.time())

        def work(conn: sqlite3.Connection) -> bool:
            if not _insert(conn, session, event_id):
                return False
            self._outbox.queue(conn, Reply(task_id, ref, text, payload))
            _trace(conn, task_id, "session", f"answered directly: {status.value}")
            return True

        return await self._db.write(work)

    async def finish(self, reply: Reply, status: SessionStatus) -> bool:
        """End a running session with ``status`` and queue its answer atomically; False if it was not running
        any more."""
        task_id = reply.task_id

        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ?, version = version + 1 "
                "WHERE task_id = ? AND status = ?",
                (status.value, time.time(), task_id, SessionStatus.RUNNING.value),
            )
            if cursor.rowcount != 1:
                return False
            self._outbox.queue(conn, reply)
            _trace(conn, task_id, "session", f"finished {status.value}; answer queued")
            return True

        return await self._db.write(work)

    async def receive(self, platform: str, event_id: str, task_id: str, message: str) -> bool:
        """Commit an inbound event before it is understood (so the platform can be acked at once).

        ``message`` is the event as received (JSON); it is cleared when its session is created, and
        :meth:`unprocessed` finds the ones a crash left without a session. False if seen before.
        """
        params = (platform, event_id, task_id, time.time(), message)
        return await self._db.write(lambda conn: conn.execute(
            "INSERT OR IGNORE INTO inbound (platform, event_id, task_id, received_at, message) "
            "VALUES (?,?,?,?,?)", params).rowcount == 1)

    async def unprocessed(self) -> list[tuple[str, str]]:
        """(task ID, message JSON) of received events that have no session yet, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT task_id, message FROM inbound i WHERE message != '' AND NOT EXISTS "
            "(SELECT 1 FROM sessions s WHERE s.task_id = i.task_id) ORDER BY received_at")
        return [(str(r["task_id"]), str(r["message"])) for r in rows]

    async def task_for_event(self, platform: str, event_id: str) -> str | None:
        """The task an inbound platform event already started, if any (dedupe of redeliveries)."""
        row = await self._db.fetch_one(
            "SELECT task_id FROM inbound WHERE platform = ? AND event_id = ?", (platform, event_id)
        )
        return str(row["task_id"]) if row else None

    async def get(self, task_id: str) -> Session | None:
        """A session with its steps, or None when there is no such task."""
        row = await self._db.fetch_one(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE task_id = ?", (task_id,))
        if row is None:
            return None
        steps = await self._db.fetch_all(f"SELECT {STEP_COLUMNS} FROM steps WHERE task_id = ? ORDER BY rowid",
                                         (task_id,))
        return session_from_row(row, steps)

    async def unfinished(self) -> list[str]:
        """Task IDs of sessions still running (to resume after a restart), oldest first; reads nothing else."""
        rows = await self._db.fetch_all("SELECT task_id FROM sessions WHERE status = ? ORDER BY created_at",
                                        (SessionStatus.RUNNING.value,))
        return [str(r["task_id"]) for r in rows]

    async def cancel(self, task_id: str) -> bool:
        """The user gave up on a request: a running session becomes cancelled and an event received but not
        processed yet is dropped, so no restart resumes either. False when there was nothing left to cancel."""
        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ?, version = version + 1 "
                "WHERE task_id = ? AND status = ?",
                (SessionStatus.CANCELLED.value, time.time(), task_id, SessionStatus.RUNNING.value),
            )
            dropped = conn.execute("UPDATE inbound SET message = '' WHERE task_id = ? AND message != ''", (task_id,))
            changed = cursor.rowcount == 1 or dropped.rowcount == 1
            if changed:
                _trace(conn, task_id, "session", "cancelled by the user")
            return changed

        return await self._db.write(work)

    async def latest_in_conversation(self, conversation: str) -> Session | None:
        """The most recent session of a conversation thread (for follow-ups)."""
        row = await self._db.fetch_one(
            "SELECT task_id FROM sessions WHERE conversation = ? ORDER BY created_at DESC LIMIT 1", (conversation,)
        )
        return await self.get(row["task_id"]) if row else None

    async def mark_sent(self, task_id: str, step_id: str, deadline: float) -> int | None:
        """A step's task message was published; its result is due by ``deadline`` (epoch seconds).

        Returns the session's new version, or None when the step was not pending any more.
        """
        def work(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute(
                "UPDATE steps SET status = ?, deadline = ?, updated_at = ? "
                "WHERE task_id = ? AND step_id = ? AND status = ?",
                (StepStatus.SENT.value, deadline, time.time(), task_id, step_id, StepStatus.PENDING.value),
            )
            if cursor.rowcount != 1:
                return None
            _trace(conn, task_id, f"step:{step_id}", "task published")
            return _next_version(conn, task_id)

        return await self._db.write(work)

    async def record_result(
        self, task_id: str, step_id: str, status: StepStatus, output: WeatherReport | Itinerary | None = None,
        error: str = "", user_message: str = "", error_kind: ErrorKind | None = None,
    ) -> int | None:
        """Store a step's outcome; the session's new version, or None when the step was already final (a
        redelivery: no-op)."""
        params = (status.value, output_json(output), error, user_message, error_kind.value if error_kind else "",
                  time.time(), task_id, step_id, StepStatus.PENDING.value, StepStatus.SENT.value)

        def work(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute(
                "UPDATE steps SET status = ?, output = ?, error = ?, user_message = ?, error_kind = ?, updated_at = ? "
                "WHERE task_id = ? AND step_id = ? AND status IN (?, ?)", params)
            if cursor.rowcount != 1:
                return None
            _trace(conn, task_id, f"step:{step_id}", f"result {status.value} {error}".strip())
            return _next_version(conn, task_id)

        return await self._db.write(work)

    async def traces(self, task_id: str) -> list[tuple[float, str, str]]:
        """Every trace record of a task, oldest first."""
        return await read_traces(self._db, task_id)



def _insert(conn: sqlite3.Connection, session: Session, event_id: str) -> bool:
    """The session row (and its inbound event row); False, inserting nothing, when the event was seen."""
    if event_id:
        ref = session.ref
        cursor = conn.execute(
            "INSERT OR IGNORE INTO inbound (platform, event_id, task_id, received_at) VALUES (?,?,?,?)",
            (ref.platform, event_id, session.task_id, session.created_at)
        )
        if cursor.rowcount != 1:
            # Already there: a redelivery (another task), or this very task's own receive() row.
            cursor = conn.execute(
                "UPDATE inbound SET message = '' WHERE platform = ? AND event_id = ? AND task_id = ?",
                (ref.platform, event_id, session.task_id))
            if cursor.rowcount != 1:
                return False
    params = session_params(session, session.created_at)
    conn.execute(insert("sessions", params), params)
    return True


def _next_version(conn: sqlite3.Connection, task_id: str) -> int:
    rows = conn.execute(
        "UPDATE sessions SET version = version + 1, updated_at = ? WHERE task_id = ? RETURNING version",
        (time.time(), task_id)).fetchall()
    return int(rows[0]["version"]) if rows else 0
