"""The data directory and the SQLite files are private to the owner, also ones an older version made."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agents.knowledge.catalog import Catalog
from agents.supervisor.intake import Intake, RateLimiter
from agents.understanding import AliasIndex
from bot.models import ConversationRef, InboundMessage, Session
from storage.database import Database
from storage.sessions import SessionStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_dir_is_0700_and_database_files_0600(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "tourguide.sqlite3").touch(mode=0o644)
    async with Database(data / "tourguide.sqlite3") as db:
        await db.fetch_all("SELECT 1")
        assert _mode(data) == 0o700
        for file in data.glob("tourguide.sqlite3*"):
            assert _mode(file) == 0o600, file


async def test_the_terminal_is_not_rate_limited_but_chat_users_are(tmp_path: Path) -> None:
    async with Database(tmp_path / "t.sqlite3") as db:
        async def start(_session: Session) -> None:
            """No Supervisor here: only what the intake decides matters."""

        intake = Intake(SessionStore(db), start, AliasIndex(Catalog.load().aliases()), lambda: NOW,
                        max_chars=2000, limiter=RateLimiter(1))
        text = "帮我做一个下周三到下周日杭州周边自驾游方案"

        async def submit(platform: str, n: int) -> bool:
            ref = ConversationRef(platform=platform, channel=f"c{n}", user="u1")
            message = InboundMessage(ref=ref, event_id=f"{platform}-{n}", text=text, received_at=datetime.now(UTC))
            return (await intake.submit(message)).started

        assert [await submit("cli", n) for n in range(5)] == [True] * 5
        assert [await submit("slack", n) for n in range(3)] == [True, False, False]
