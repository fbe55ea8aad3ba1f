"""The broker's store gives the space of expired messages back to the disk (issue 8: long uptime)."""

from __future__ import annotations

from pathlib import Path

from bot.broker.model import StoredMessage
from bot.broker.protocol import pb
from bot.broker.store import BrokerStore


def _size(data: Path) -> int:
    return sum(p.stat().st_size for p in data.glob("broker.sqlite3*"))


async def test_deleting_expired_messages_shrinks_the_file(tmp_path: Path) -> None:
    async with BrokerStore(tmp_path) as store:
        for pk in range(1, 401):
            await store.save_message(StoredMessage(pk=pk, namespace="", topic="T", queue_id=0, offset=pk,
                                                   message_id=f"m{pk}", body=b"x" * 16_384, message_type=pb.NORMAL))
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        full = _size(tmp_path)
        await store.delete_messages(list(range(1, 401)))
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert _size(tmp_path) < full / 4, (full, _size(tmp_path))
