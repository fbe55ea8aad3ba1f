"""Retention on a real SQLite file: after the retention age the rows are gone and the file shrinks."""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

from agents.supervisor.planner import plan_steps
from bot.models import ConversationRef, Reply, SessionStatus
from bot.schemas import Language, TripRequest
from storage.database import Database
from storage.outbox import Outbox
from storage.retention import DAY_S, Retention
from storage.sessions import SessionStore

REQUEST = TripRequest(destination="Hangzhou", start_date=date(2026, 12, 2), end_date=date(2026, 12, 6),
                      language=Language.ZH, text="杭州")
ANSWER = "第1天：西湖、灵隐寺……\n" * 600  # about the size of a real answer with its payload


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))  # the file, its WAL and SHM


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def _finished_request(store: SessionStore, outbox: Outbox, n: int) -> None:
    ref = ConversationRef(platform="slack", workspace="T1", channel="C1", thread=f"{n}.1", user="U1")
    task_id = f"task-{n}"
    await store.create(task_id, ref, REQUEST, plan_steps(REQUEST), event_id=f"Ev{n}")
    await store.finish(Reply(task_id, ref, ANSWER, {"text": ANSWER}), SessionStatus.COMPLETED)
    await outbox.begin_attempt(task_id)
    await outbox.mark_sent(task_id)


async def test_old_finished_requests_are_deleted_and_the_file_shrinks(tmp_path: Path) -> None:
    path = tmp_path / "tourguide.sqlite3"
    now = [time.time()]
    async with Database(path) as db:
        store, outbox = SessionStore(db), Outbox(db)
        for n in range(300):
            await _finished_request(store, outbox, n)
        running_ref = ConversationRef(platform="slack", channel="C1", thread="run.1", user="U1")
        await store.create("task-running", running_ref, REQUEST, plan_steps(REQUEST), event_id="Ev-running")
        await db.reclaim()
        full = _size(path)

        retention = Retention(db, 30 * DAY_S, clock=lambda: now[0], batch=64)
        assert (await retention.sweep()).total == 0  # nothing is old yet
        now[0] += 31 * DAY_S
        swept = await retention.sweep()

        assert swept.sessions == 300 and swept.inbound == 301
        assert await store.get("task-0") is None and await outbox.get("task-0") is None
        assert await store.task_for_event("slack", "Ev0") is None
        running = await store.get("task-running")  # a running session is never deleted
        assert running is not None and len(running.steps) == 2
    for table in ("outbox", "traces"):
        assert _count(path, table) == 0
    assert _count(path, "sessions") == 1 and _count(path, "steps") == 2
    assert _size(path) < full / 4, (full, _size(path))


async def test_unsent_answers_are_kept_past_the_retention_age(tmp_path: Path) -> None:
    now = [time.time()]
    async with Database(tmp_path / "t.sqlite3") as db:
        store, outbox = SessionStore(db), Outbox(db)
        ref = ConversationRef(platform="slack", channel="C1", thread="1.1", user="U1")
        await store.create("task-1", ref, REQUEST, plan_steps(REQUEST))
        await store.finish(Reply("task-1", ref, "plan", {}), SessionStatus.COMPLETED)
        now[0] += 40 * DAY_S
        await Retention(db, 30 * DAY_S, clock=lambda: now[0]).sweep()
        assert await outbox.get("task-1") is not None


async def test_a_file_made_without_incremental_vacuum_is_converted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    async with Database(path):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
