"""Kill the Supervisor after the weather result arrived; on restart the session completes, answered once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agents.knowledge.catalog import Catalog
from agents.supervisor.intake import Intake
from agents.understanding import AliasIndex
from bot.models import ConversationRef, InboundMessage, Session, SessionStatus, StepStatus
from storage.database import Database
from storage.outbox import Outbox
from storage.sessions import SessionStore
from tests.processes import bot_process, clean_env, free_port
from tests.waiting import until

pytestmark = pytest.mark.slow
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_supervisor_killed_after_weather_result_finishes_after_restart(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(TOURGUIDE_DATA_DIR=str(tmp_path), TOURGUIDE_ROCKETMQ_ENDPOINT=f"127.0.0.1:{port}")
    logs = tmp_path / "test.log"

    async with Database(tmp_path / "tourguide.sqlite3") as db:
        store, outbox = SessionStore(db), Outbox(db)

        async def nobody_in_process(_session: Session) -> None:
            """The Supervisor runs in another process; it adopts the new session within a second."""

        intake = Intake(store, nobody_in_process, AliasIndex(Catalog.load().aliases()), lambda: NOW,
                        max_chars=2000)
        with (
            bot_process(["broker", "--port", str(port), "--data", str(tmp_path / "broker")], env, logs),
            bot_process(["agent", "weather"], env, logs),
        ):
            ref = ConversationRef(platform="cli", channel="restart-test", user="u1")
            text = "帮我做一个下周三到下周日杭州周边自驾游方案"
            submitted = await intake.submit(
                InboundMessage(ref=ref, event_id="evt-1", text=text, received_at=datetime.now(UTC)))
            task_id = submitted.task_id

            async def travel_sent() -> bool:
                session = await store.get(task_id)
                assert session is not None
                steps = {s.step_id: s.status for s in session.steps}
                return steps == {"weather": StepStatus.OK, "travel": StepStatus.SENT}

            with bot_process(["supervisor"], env, logs) as supervisor:
                await until(travel_sent, what="travel step sent")
                supervisor.kill()  # SIGKILL right after the weather result was committed
                supervisor.wait(10)

            def travel_result_published() -> bool:  # the agent logs it once the broker stored the result
                return any("step done" in line and f"task_id={task_id}" in line and "agent=travel" in line
                           for line in logs.read_text().splitlines())

            with bot_process(["agent", "travel"], env, logs):  # its result waits in the lite topic meanwhile
                await until(travel_result_published, what="travel result published")
                assert (await store.get(task_id)).status == SessionStatus.RUNNING  # type: ignore[union-attr]
                with bot_process(["supervisor"], env, logs):
                    await until(lambda: _finished(store, task_id), what="session finished")

        reply = await outbox.get(task_id)
        assert reply is not None
        assert reply.payload["status"] == "completed"
        assert [d["date"] for d in reply.payload["itinerary"]] == [f"2026-12-0{d}" for d in range(2, 7)]
        finished = [t for t in await store.traces(task_id) if t[1] == "session" and "finished" in t[2]]
        assert len(finished) == 1, "the answer must be produced exactly once"
        rows = await db.fetch_all("SELECT COUNT(*) FROM outbox WHERE task_id = ?", (task_id,))
        assert rows[0][0] == 1


async def _finished(store: SessionStore, task_id: str) -> bool:
    session = await store.get(task_id)
    return session is not None and session.status != SessionStatus.RUNNING
