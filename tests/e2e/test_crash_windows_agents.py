"""Exactly once when the Supervisor or an agent is killed inside its window (issue 8).

Broker, Supervisor and agents run as separate processes on one data directory; the travel agent plans
with an LLM stand-in whose answer is held until the test has set the trap:
* result -> commit: the Supervisor has received the travel result, but its SQLite commit is held (the
  test owns the database's write lock), and the Supervisor is killed;
* publish -> ack: the travel agent is publishing its result (the broker's store is held, so the send is
  in flight) and the agent is killed before it could ack its task.
Each ends with exactly one answer, containing the travel result, in seconds rather than client expiry.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agents.knowledge.catalog import Catalog
from agents.supervisor.intake import Intake
from agents.understanding import AliasIndex
from bot.models import ConversationRef, InboundMessage, Session, SessionStatus, StepStatus
from bot.resources import RESPONSE_GROUP
from storage.database import Database
from storage.outbox import Outbox
from storage.sessions import SessionStore
from tests.processes import bot_process, clean_env, free_port
from tests.standins.fake_openai import FakeOpenAI
from tests.waiting import until

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TEXT = "帮我做一个下周三到下周日杭州周边自驾游方案"


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Hold SQLite's write lock on ``path``: every other writer waits (up to its busy timeout)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _result_delivered_unacked(broker_db: Path) -> bool:
    """The broker handed a worker result to the Supervisor, which has not acked it."""
    with sqlite3.connect(broker_db, timeout=5) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM deliveries WHERE grp = ? AND attempts >= 1 AND acked = 0",
                            (RESPONSE_GROUP,)).fetchone()
    return bool(rows[0])


class Setup:
    """Environment and process factory for one test's data directory."""

    def __init__(self, tmp_path: Path, llm: FakeOpenAI) -> None:
        port = free_port()
        self.tmp = tmp_path
        self.env = clean_env(TOURGUIDE_DATA_DIR=str(tmp_path), TOURGUIDE_ROCKETMQ_ENDPOINT=f"127.0.0.1:{port}",
                             TOURGUIDE_LLM_PROVIDER="openai", OPENAI_BASE_URL=llm.base_url,
                             OPENAI_API_KEY=llm.api_key, TOURGUIDE_LLM_MAX_ATTEMPTS="1")
        self.broker_args = ["broker", "--port", str(port), "--data", str(tmp_path / "broker")]
        self.log = tmp_path / "test.log"

    def process(self, *args: str, log: str = "test.log") -> AbstractContextManager[subprocess.Popen[str]]:
        return bot_process(list(args), self.env, self.tmp / log)


async def _submit(intake: Intake) -> str:
    ref = ConversationRef(platform="cli", channel="crash-test", user="u1")
    submitted = await intake.submit(InboundMessage(ref=ref, event_id="evt-1", text=TEXT, received_at=datetime.now(UTC)))
    assert submitted.started
    return submitted.task_id


async def _check_one_complete_answer(db: Database, store: SessionStore, outbox: Outbox, task_id: str) -> None:
    session = await store.get(task_id)
    assert session is not None and session.status == SessionStatus.COMPLETED
    assert {s.step_id: s.status for s in session.steps} == {"weather": StepStatus.OK, "travel": StepStatus.OK}
    reply = await outbox.get(task_id)
    assert reply is not None and reply.payload["status"] == "completed" and reply.payload["itinerary"]
    finished = [t for t in await store.traces(task_id) if t[1] == "session" and "finished" in t[2]]
    assert len(finished) == 1
    assert (await db.fetch_all("SELECT COUNT(*) FROM outbox"))[0][0] == 1


def _intake(store: SessionStore, outbox: Outbox) -> Intake:
    async def elsewhere(_session: Session) -> None:
        """The Supervisor runs in its own process and adopts the session within a second."""

    return Intake(store, elsewhere, AliasIndex(Catalog.load().aliases()), lambda: NOW, max_chars=2000)


async def test_supervisor_killed_between_a_result_and_its_commit(tmp_path: Path) -> None:
    async with FakeOpenAI() as llm, Database(tmp_path / "tourguide.sqlite3") as db:
        setup = Setup(tmp_path, llm)
        store, outbox = SessionStore(db), Outbox(db)
        llm.gate.clear()
        with setup.process(*setup.broker_args), setup.process("agent", "weather"), \
                setup.process("agent", "travel"):
            with setup.process("supervisor") as supervisor:
                task_id = await _submit(_intake(store, outbox))
                await asyncio.wait_for(llm.arrived.wait(), 60)  # travel is planning: weather is committed
                with write_locked(tmp_path / "tourguide.sqlite3"):
                    llm.gate.set()
                    await until(lambda: _result_delivered_unacked(tmp_path / "broker" / "broker.sqlite3"), 30)
                    supervisor.kill()  # it holds the result and cannot have committed it
                    supervisor.wait(10)
            session = await store.get(task_id)
            assert session is not None and session.step("travel").status == StepStatus.SENT  # type: ignore[union-attr]
            with setup.process("supervisor"):
                await until(lambda: _finished(store, task_id), 60)
        await _check_one_complete_answer(db, store, outbox, task_id)


async def test_agent_killed_while_publishing_its_result_is_redelivered_in_seconds(tmp_path: Path) -> None:
    async with FakeOpenAI() as llm, Database(tmp_path / "tourguide.sqlite3") as db:
        setup = Setup(tmp_path, llm)
        store, outbox = SessionStore(db), Outbox(db)
        llm.gate.clear()
        with setup.process(*setup.broker_args), setup.process("agent", "weather"), setup.process("supervisor"):
            with setup.process("agent", "travel", log="travel-1.log") as first:
                task_id = await _submit(_intake(store, outbox))
                await asyncio.wait_for(llm.arrived.wait(), 60)
                with write_locked(tmp_path / "broker" / "broker.sqlite3"):  # sends wait for their commit
                    llm.gate.set()
                    # The planner's last word before the worker publishes (the stand-in's plan is refused).
                    await until(lambda: "using the offline planner" in (tmp_path / "travel-1.log").read_text(), 30)
                    first.kill()  # publishing, not acked
                    first.wait(10)
            killed_at = time.monotonic()
            with setup.process("agent", "travel", log="travel-2.log"):
                await until(lambda: _finished(store, task_id), 60)
            assert time.monotonic() - killed_at < 30  # redelivered after release, not after client expiry (120 s)
        await _check_one_complete_answer(db, store, outbox, task_id)


async def _finished(store: SessionStore, task_id: str) -> bool:
    session = await store.get(task_id)
    return session is not None and session.status != SessionStatus.RUNNING
