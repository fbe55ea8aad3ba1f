"""An event committed (and acked) but not yet processed when the process died is processed at start-up."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agents.knowledge.catalog import Catalog
from agents.supervisor.intake import Intake
from agents.understanding import AliasIndex
from bot.models import ConversationRef, InboundMessage, Session
from storage.database import Database
from storage.sessions import SessionStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _intake(db: Database, started: list[str]) -> Intake:
    async def start(session: Session) -> None:
        started.append(session.task_id)

    return Intake(SessionStore(db), start, AliasIndex(Catalog.load().aliases()), lambda: NOW,
                  max_chars=2000)


async def test_received_but_unprocessed_events_are_processed_once_at_the_next_start(tmp_path: Path) -> None:
    ref = ConversationRef(platform="slack", channel="C1", thread="1.1", user="U1")
    message = InboundMessage(ref=ref, event_id="Ev1", text="帮我做一个下周三到下周日杭州周边自驾游方案",
                             received_at=datetime.now(UTC))
    async with Database(tmp_path / "t.sqlite3") as db:
        received = await _intake(db, []).receive(message)  # acked; then the process dies
        assert not received.duplicate
        assert (await _intake(db, []).receive(message)).duplicate  # the platform's redelivery is a duplicate

    async with Database(tmp_path / "t.sqlite3") as db:
        started: list[str] = []
        intake = _intake(db, started)
        assert [s.task_id for s in await intake.recover()] == [received.task_id]
        assert started == [received.task_id]
        assert await intake.recover() == []  # processed once
        session = await SessionStore(db).get(received.task_id)
        assert session is not None and session.request.destination
        assert [r["message"] for r in await db.fetch_all("SELECT message FROM inbound")] == [""]  # the copy is not kept
