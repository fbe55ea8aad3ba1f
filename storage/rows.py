"""The one mapping between the models of ``bot.models`` and their rows, by column name.

Stores hand these functions a :class:`sqlite3.Row` (or get named parameters back for an INSERT); no other
module knows how a model is laid out in SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pydantic import TypeAdapter

from bot.models import ConversationRef, OutboxStatus, Reply, Session, SessionStatus, Step, StepStatus
from bot.schemas import Itinerary, TripRequest, WeatherReport
from bot.wire import ErrorKind, StepInput, StepKind, StepOutput, TravelInput, WeatherInput

_INPUT: TypeAdapter[WeatherInput | TravelInput] = TypeAdapter(StepInput)
_OUTPUT: TypeAdapter[WeatherReport | Itinerary] = TypeAdapter(StepOutput)

SESSION_COLUMNS = "task_id, conversation, reference, request, status, created_at, updated_at, version"
STEP_COLUMNS = ("task_id, step_id, kind, depends_on, status, input, output, error, user_message, deadline, "
                "updated_at, error_kind")
REPLY_COLUMNS = "task_id, reference, text, payload, status, attempts, parts_sent, delivering, traceparent"


def session_from_row(row: sqlite3.Row, steps: list[sqlite3.Row]) -> Session:
    """A session and its steps (in plan order)."""
    return Session(
        task_id=row["task_id"], ref=ConversationRef.model_validate_json(row["reference"]),
        request=TripRequest.model_validate_json(row["request"]), status=SessionStatus(row["status"]),
        created_at=float(row["created_at"]), steps=tuple(step_from_row(r) for r in steps),
        version=int(row["version"]),
    )


def session_params(session: Session, now: float) -> dict[str, Any]:
    """Named parameters of a new ``sessions`` row."""
    return {"task_id": session.task_id, "conversation": session.ref.key, "reference": session.ref.model_dump_json(),
            "request": session.request.model_dump_json(), "status": session.status.value,
            "created_at": session.created_at, "updated_at": now, "version": session.version}


def step_from_row(row: sqlite3.Row) -> Step:
    """A step with its typed input and, once it has one, its typed output."""
    return Step(
        step_id=row["step_id"], kind=StepKind(row["kind"]), depends_on=tuple(json.loads(row["depends_on"])),
        status=StepStatus(row["status"]), input=_INPUT.validate_json(row["input"]),
        output=_OUTPUT.validate_json(row["output"]) if row["output"] else None, error=row["error"],
        user_message=row["user_message"], deadline=float(row["deadline"]),
        error_kind=ErrorKind(row["error_kind"]) if row["error_kind"] else None,
    )


def step_params(task_id: str, step: Step, now: float) -> dict[str, Any]:
    """Named parameters of a new ``steps`` row."""
    return {"task_id": task_id, "step_id": step.step_id, "kind": step.kind.value,
            "depends_on": json.dumps(step.depends_on), "status": step.status.value,
            "input": step.input.model_dump_json(), "output": output_json(step.output), "error": step.error,
            "user_message": step.user_message, "deadline": step.deadline, "updated_at": now,
            "error_kind": step.error_kind.value if step.error_kind else ""}


def output_json(output: WeatherReport | Itinerary | None) -> str | None:
    """A step's output column."""
    return output.model_dump_json() if output is not None else None


def reply_from_row(row: sqlite3.Row) -> Reply:
    """An answer with its delivery state (``REPLY_COLUMNS``)."""
    return Reply(
        task_id=row["task_id"], ref=ConversationRef.model_validate_json(row["reference"]), text=row["text"],
        payload=json.loads(row["payload"]), status=OutboxStatus(row["status"]), attempts=int(row["attempts"]),
        parts_sent=int(row["parts_sent"]), in_doubt=bool(row["delivering"]), traceparent=row["traceparent"],
    )


def reply_params(reply: Reply, now: float) -> dict[str, Any]:
    """Named parameters of a new ``outbox`` row, due at once."""
    return {"task_id": reply.task_id, "platform": reply.ref.platform, "reference": reply.ref.model_dump_json(),
            "status": reply.status.value, "text": reply.text, "payload": json.dumps(reply.payload, ensure_ascii=False),
            "attempts": reply.attempts, "next_attempt_at": now, "created_at": now, "traceparent": reply.traceparent}


def insert(table: str, params: dict[str, Any]) -> str:
    """``INSERT INTO table (a, b) VALUES (:a, :b)`` for these named parameters."""
    return f"INSERT INTO {table} ({', '.join(params)}) VALUES ({', '.join(':' + k for k in params)})"
