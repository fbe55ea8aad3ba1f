"""Supervisor sessions and their steps: the durable state machine behind every request."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import TypeAdapter

from bot.models import ConversationRef, Session, SessionStatus, Step, StepStatus
from bot.schemas import TripRequest
from bot.wire import ErrorKind, StepInput, StepKind, StepOutput
from storage.database import Database
from storage.traces import append_trace as _trace

_INPUT: TypeAdapter[Any] = TypeAdapter(StepInput)
_OUTPUT: TypeAdapter[Any] = TypeAdapter(StepOutput)


class SessionStore:
    """Reads and writes sessions; every change is one committed transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, task_id: str, ref: ConversationRef, request: TripRequest, steps: list[Step],
        event_id: str = "",
    ) -> bool:
        """Persist a new running session with its planned steps; False if ``event_id`` was seen before."""
        async with self._db.transaction() as conn:
            if not await insert_session(conn, task_id, ref, request, SessionStatus.RUNNING, event_id):
                return False
            now = time.time()
            await conn.executemany(
                "INSERT INTO steps VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(task_id, s.step_id, s.kind.value, json.dumps(s.depends_on), s.status.value,
                  s.input.model_dump_json(), None, "", "", s.deadline, now, "") for s in steps],
            )
            await _trace(conn, task_id, "session", f"created with {len(steps)} steps")
        return True

    async def receive(self, platform: str, event_id: str, task_id: str, message: str) -> bool:
        """Commit an inbound event before it is understood (so the platform can be acked at once).

        ``message`` is the event as received (JSON); it is cleared when its session is created, and
        :meth:`unprocessed` finds the ones a crash left without a session. False if seen before.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute("INSERT OR IGNORE INTO inbound VALUES (?,?,?,?,?)",
                                        (platform, event_id, task_id, time.time(), message))
            return bool(cursor.rowcount == 1)

    async def unprocessed(self) -> list[tuple[str, str]]:
        """(task ID, message JSON) of received events that have no session yet, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT task_id, message FROM inbound i WHERE message != '' AND NOT EXISTS "
            "(SELECT 1 FROM sessions s WHERE s.task_id = i.task_id) ORDER BY received_at")
        return [(str(r[0]), str(r[1])) for r in rows]

    async def task_for_event(self, platform: str, event_id: str) -> str | None:
        """The task an inbound platform event already started, if any (dedupe of redeliveries)."""
        row = await self._db.fetch_one(
            "SELECT task_id FROM inbound WHERE platform = ? AND event_id = ?", (platform, event_id)
        )
        return str(row[0]) if row else None

    async def get(self, task_id: str) -> Session | None:
        """A session with its steps, or None when there is no such task."""
        row = await self._db.fetch_one("SELECT * FROM sessions WHERE task_id = ?", (task_id,))
        if row is None:
            return None
        steps = await self._db.fetch_all("SELECT * FROM steps WHERE task_id = ? ORDER BY rowid", (task_id,))
        return _session(row, [_step(r) for r in steps])

    async def unfinished(self) -> list[str]:
        """Task IDs of sessions still running (to resume after a restart)."""
        rows = await self._db.fetch_all("SELECT task_id FROM sessions WHERE status = ? ORDER BY created_at",
                                        (SessionStatus.RUNNING.value,))
        return [r[0] for r in rows]

    async def cancel(self, task_id: str) -> bool:
        """The user gave up on a request: a running session becomes cancelled and an event received but not
        processed yet is dropped, so no restart resumes either. False when there was nothing left to cancel."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE task_id = ? AND status = ?",
                (SessionStatus.CANCELLED.value, time.time(), task_id, SessionStatus.RUNNING.value),
            )
            dropped = await conn.execute("UPDATE inbound SET message = '' WHERE task_id = ? AND message != ''",
                                         (task_id,))
            changed = cursor.rowcount == 1 or dropped.rowcount == 1
            if changed:
                await _trace(conn, task_id, "session", "cancelled by the user")
        return changed

    async def latest_in_conversation(self, conversation: str) -> Session | None:
        """The most recent session of a conversation thread (for follow-ups)."""
        row = await self._db.fetch_one(
            "SELECT task_id FROM sessions WHERE conversation = ? ORDER BY created_at DESC LIMIT 1", (conversation,)
        )
        return await self.get(row[0]) if row else None

    async def mark_sent(self, task_id: str, step_id: str, deadline: float) -> None:
        """A step's task message was published; its result is due by ``deadline`` (epoch seconds)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE steps SET status = ?, deadline = ?, updated_at = ? "
                "WHERE task_id = ? AND step_id = ? AND status = ?",
                (StepStatus.SENT.value, deadline, time.time(), task_id, step_id, StepStatus.PENDING.value),
            )
            await _trace(conn, task_id, f"step:{step_id}", "task published")

    async def record_result(
        self, task_id: str, step_id: str, status: StepStatus, output: Any = None, error: str = "",
        user_message: str = "", error_kind: ErrorKind | None = None,
    ) -> bool:
        """Store a step's outcome; False when the step was already final (a redelivery: no-op)."""
        body = output.model_dump_json() if output is not None else None
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE steps SET status = ?, output = ?, error = ?, user_message = ?, error_kind = ?, updated_at = ? "
                "WHERE task_id = ? AND step_id = ? AND status IN (?, ?)",
                (status.value, body, error, user_message, error_kind.value if error_kind else "", time.time(),
                 task_id, step_id,
                 StepStatus.PENDING.value, StepStatus.SENT.value),
            )
            changed = cursor.rowcount == 1
            if changed:
                await _trace(conn, task_id, f"step:{step_id}", f"result {status.value} {error}".strip())
        return changed

    async def traces(self, task_id: str) -> list[tuple[float, str, str]]:
        """Every trace record of a task, oldest first."""
        rows = await self._db.fetch_all("SELECT at, hop, detail FROM traces WHERE task_id = ? ORDER BY id", (task_id,))
        return [(float(r[0]), r[1], r[2]) for r in rows]


async def insert_session(conn: Any, task_id: str, ref: ConversationRef, request: TripRequest,
                         status: SessionStatus, event_id: str) -> bool:
    """Insert a session row (and its inbound event row) inside the caller's transaction.

    Returns False, inserting nothing, when the platform event was already recorded.
    """
    now = time.time()
    if event_id:
        cursor = await conn.execute(
            "INSERT OR IGNORE INTO inbound (platform, event_id, task_id, received_at) VALUES (?,?,?,?)",
            (ref.platform, event_id, task_id, now)
        )
        if cursor.rowcount != 1:
            # Already there: a redelivery (another task), or this very task's own receive() row.
            cursor = await conn.execute(
                "UPDATE inbound SET message = '' WHERE platform = ? AND event_id = ? AND task_id = ?",
                (ref.platform, event_id, task_id))
            if cursor.rowcount != 1:
                return False
    await conn.execute(
        "INSERT INTO sessions VALUES (?,?,?,?,?,?,?)",
        (task_id, ref.key, ref.model_dump_json(), request.model_dump_json(), status.value, now, now),
    )
    return True


def _session(row: Any, steps: list[Step]) -> Session:
    return Session(
        task_id=row[0], ref=ConversationRef.model_validate_json(row[2]),
        request=TripRequest.model_validate_json(row[3]), status=SessionStatus(row[4]), created_at=float(row[5]),
        steps=tuple(steps),
    )


def _step(r: Any) -> Step:
    return Step(
        step_id=r[1], kind=StepKind(r[2]), depends_on=tuple(json.loads(r[3])), status=StepStatus(r[4]),
        input=_INPUT.validate_json(r[5]), output=_OUTPUT.validate_json(r[6]) if r[6] else None,
        error=r[7], user_message=r[8], deadline=float(r[9]), error_kind=ErrorKind(r[11]) if r[11] else None,
    )
