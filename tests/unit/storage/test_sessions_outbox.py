"""Sessions, results and the outbox on a real SQLite file: idempotency and exactly-once answers."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from agents.supervisor.planner import plan_steps
from bot.models import ConversationRef, OutboxStatus, Reply, SessionStatus, StepStatus
from bot.schemas import Language, TripRequest
from bot.wire import ErrorKind
from storage.database import Database
from storage.outbox import Outbox
from storage.sessions import SessionStore

REQUEST = TripRequest(destination="Hangzhou", start_date=date(2026, 12, 2), end_date=date(2026, 12, 6),
                      language=Language.ZH, text="杭州")
REF = ConversationRef(platform="slack", workspace="T1", channel="C1", thread="1.1", user="U1")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "t.sqlite3") as database:
        yield database


async def test_session_round_trip_and_event_dedupe(db: Database) -> None:
    store = SessionStore(db)
    assert await store.create("task-1", REF, REQUEST, plan_steps(REQUEST), event_id="Ev1")
    assert not await store.create("task-2", REF, REQUEST, plan_steps(REQUEST), event_id="Ev1")
    assert await store.task_for_event("slack", "Ev1") == "task-1"
    session = await store.get("task-1")
    assert session is not None and session.request == REQUEST and session.ref == REF
    assert [s.step_id for s in session.steps] == ["weather", "travel"]
    assert session.step("travel").depends_on == ("weather",)  # type: ignore[union-attr]
    assert await store.get("task-2") is None
    assert await store.unfinished() == ["task-1"]


async def test_a_redelivered_result_is_a_no_op(db: Database) -> None:
    store = SessionStore(db)
    await store.create("task-1", REF, REQUEST, plan_steps(REQUEST))
    await store.mark_sent("task-1", "weather", deadline=0)
    assert await store.record_result("task-1", "weather", StepStatus.FAILED, error="x", error_kind=ErrorKind.INPUT)
    assert not await store.record_result("task-1", "weather", StepStatus.OK)
    step = (await store.get("task-1")).step("weather")  # type: ignore[union-attr]
    assert step is not None and step.status == StepStatus.FAILED and step.error_kind == ErrorKind.INPUT


async def test_finish_queues_exactly_one_answer(db: Database) -> None:
    store, outbox = SessionStore(db), Outbox(db)
    await store.create("task-1", REF, REQUEST, plan_steps(REQUEST))
    assert await store.finish(Reply("task-1", REF, "plan", {"status": "completed"}), SessionStatus.COMPLETED)
    assert not await store.finish(Reply("task-1", REF, "plan again", {}), SessionStatus.COMPLETED)
    assert [r.text for r in await outbox.due("slack")] == ["plan"]
    await outbox.begin_attempt("task-1")
    await outbox.mark_retry("task-1", "platform down", delay_s=60)
    assert await outbox.due("slack") == []  # not due before its backoff
    await outbox.begin_attempt("task-1")
    await outbox.mark_sent("task-1")
    reply = await outbox.get("task-1")
    assert reply is not None and reply.status == OutboxStatus.SENT and reply.attempts == 2
    assert (await store.get("task-1")).status == SessionStatus.COMPLETED  # type: ignore[union-attr]
    assert [hop for _at, hop, _d in await store.traces("task-1")].count("outbox") == 2


async def test_direct_answer_is_deduped_by_event(db: Database) -> None:
    store, outbox = SessionStore(db), Outbox(db)
    assert await store.answer_directly("task-1", REF, REQUEST, SessionStatus.NEEDS_CLARIFICATION, "when?", {},
                                       event_id="Ev9")
    assert not await store.answer_directly("task-2", REF, REQUEST, SessionStatus.NEEDS_CLARIFICATION, "when?", {},
                                           event_id="Ev9")
    assert [r.task_id for r in await outbox.due("slack")] == ["task-1"]


async def test_an_attempt_cut_off_by_a_crash_is_in_doubt_at_the_next_start(db: Database) -> None:
    store, outbox = SessionStore(db), Outbox(db)
    await store.create("task-1", REF, REQUEST, plan_steps(REQUEST))
    assert await store.finish(Reply("task-1", REF, "plan", {"status": "completed"}), SessionStatus.COMPLETED)
    assert not (await outbox.due("slack"))[0].in_doubt
    await outbox.begin_attempt("task-1")  # ... and the process dies before mark_sent / mark_retry
    (reply,) = await outbox.due("slack")
    assert reply.in_doubt and reply.attempts == 1
    await outbox.begin_attempt("task-1")
    await outbox.mark_retry("task-1", "refused", delay_s=0)  # a clean refusal: nothing went out
    assert not (await outbox.due("slack"))[0].in_doubt


async def test_every_committed_change_counts_a_version_and_a_no_op_does_not(db: Database) -> None:
    store = SessionStore(db)
    await store.create("task-1", REF, REQUEST, plan_steps(REQUEST))
    assert (await store.get("task-1")).version == 0  # type: ignore[union-attr]
    assert await store.mark_sent("task-1", "weather", deadline=1.0) == 1
    assert await store.mark_sent("task-1", "weather", deadline=2.0) is None  # already sent
    assert await store.record_result("task-1", "weather", StepStatus.OK) == 2
    assert await store.record_result("task-1", "weather", StepStatus.FAILED) is None  # a redelivery
    session = await store.get("task-1")
    assert session is not None and session.version == 2 and session.step("weather").deadline == 1.0  # type: ignore[union-attr]


async def test_watchers_hear_of_an_answer_only_once_it_is_committed(db: Database) -> None:
    store, outbox = SessionStore(db), Outbox(db)
    queued: list[str] = []
    outbox.watch(queued.append)
    await store.create("task-1", REF, REQUEST, plan_steps(REQUEST))
    assert queued == []
    assert await store.finish(Reply("task-1", REF, "plan", {}), SessionStatus.COMPLETED)
    assert queued == ["slack"]
    assert not await store.finish(Reply("task-1", REF, "plan again", {}), SessionStatus.COMPLETED)
    assert await store.answer_directly("task-2", REF, REQUEST, SessionStatus.NEEDS_CLARIFICATION, "when?", {})
    assert queued == ["slack", "slack"]
    def queue_then_fail(conn: sqlite3.Connection) -> None:  # queued, then rolled back: nobody is woken for nothing
        outbox.queue(conn, Reply("task-3", REF, "x", {}))
        raise RuntimeError("the session could not be finished")

    with pytest.raises(RuntimeError):
        await db.write(queue_then_fail)
    assert queued == ["slack", "slack"] and await outbox.get("task-3") is None
