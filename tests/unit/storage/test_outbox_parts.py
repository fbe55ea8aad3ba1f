"""Part progress of split answers: recorded durably, and added to database files made before it existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.models import ConversationRef, SessionStatus
from bot.schemas import Language, TripRequest
from storage.database import Database
from storage.outbox import Outbox
from storage.sessions import SessionStore

REF = ConversationRef(platform="slack", workspace="T1", channel="C1", thread="1.1", user="U1")
REQUEST = TripRequest(language=Language.EN, text="help")
OLD_OUTBOX = """CREATE TABLE outbox (
    task_id TEXT PRIMARY KEY, platform TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL,
    text TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, created_at REAL NOT NULL, sent_at REAL, last_error TEXT NOT NULL DEFAULT '');
INSERT INTO outbox VALUES ('task-0', 'slack', '{"platform": "slack"}', 'pending', 'old', '{}', 0, 0, 0, NULL, '');"""


async def test_parts_sent_survives_reopening_and_never_goes_back(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    async with Database(path) as db:
        outbox = Outbox(db)
        await SessionStore(db).answer_directly("task-1", REF, REQUEST, SessionStatus.COMPLETED, "a\n\nb", {})
        assert (await outbox.get("task-1")).parts_sent == 0  # type: ignore[union-attr]
        await outbox.mark_part_sent("task-1", 2)
        await outbox.mark_part_sent("task-1", 1)  # a late, smaller count must not undo progress
    async with Database(path) as db:
        reply = await Outbox(db).get("task-1")
        due = await Outbox(db).due("slack")
    assert reply is not None and reply.parts_sent == 2
    assert [r.parts_sent for r in due] == [2]


async def test_an_older_outbox_table_gets_the_column_added(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(OLD_OUTBOX)
    async with Database(path) as db:
        outbox = Outbox(db)
        assert (await outbox.get("task-0")).parts_sent == 0  # type: ignore[union-attr]
        await outbox.mark_part_sent("task-0", 1)
        assert (await outbox.get("task-0")).parts_sent == 1  # type: ignore[union-attr]
    async with Database(path):  # opening again finds the column and leaves it alone
        pass
