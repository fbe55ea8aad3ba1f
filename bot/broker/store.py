"""SQLite persistence of the embedded broker, with group commit.

Memory is the working copy; SQLite is the durable record. Every mutation is queued to one
writer task that commits whole batches in a single transaction, so a burst of sends costs one
commit. A send or an ack is answered only after its batch committed (WAL mode): an answered
SendMessage survives ``kill -9`` of the broker, and an acked message is never delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import aiosqlite

from bot.broker.errors import BrokerError
from bot.broker.model import GroupInfo, StoredMessage, TopicInfo, TopicType

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    ns TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, queues INTEGER NOT NULL,
    lite_ttl_s INTEGER NOT NULL, PRIMARY KEY (ns, name));
CREATE TABLE IF NOT EXISTS groups (
    ns TEXT NOT NULL, name TEXT NOT NULL, fifo INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
    backoff TEXT NOT NULL, lite_bind_topic TEXT NOT NULL, lite_quota INTEGER NOT NULL,
    PRIMARY KEY (ns, name));
CREATE TABLE IF NOT EXISTS subscriptions (
    ns TEXT NOT NULL, grp TEXT NOT NULL, topic TEXT NOT NULL, start_pk INTEGER NOT NULL,
    PRIMARY KEY (ns, grp, topic));
CREATE TABLE IF NOT EXISTS messages (
    pk INTEGER PRIMARY KEY, ns TEXT NOT NULL, topic TEXT NOT NULL, queue_id INTEGER NOT NULL,
    queue_offset INTEGER NOT NULL, message_id TEXT NOT NULL, type INTEGER NOT NULL, tag TEXT NOT NULL,
    keys TEXT NOT NULL, props TEXT NOT NULL, message_group TEXT NOT NULL, lite_topic TEXT NOT NULL,
    encoding INTEGER NOT NULL, born_ms INTEGER NOT NULL, born_host TEXT NOT NULL,
    store_ms INTEGER NOT NULL, deliver_at_ms INTEGER NOT NULL, dlq_topic TEXT NOT NULL,
    dlq_message_id TEXT NOT NULL, body BLOB NOT NULL, priority INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_by_topic ON messages (ns, topic, pk);
CREATE TABLE IF NOT EXISTS deliveries (
    ns TEXT NOT NULL, grp TEXT NOT NULL, topic TEXT NOT NULL, pk INTEGER NOT NULL,
    attempts INTEGER NOT NULL, acked INTEGER NOT NULL, PRIMARY KEY (ns, grp, topic, pk)) WITHOUT ROWID;
"""

_INSERT_MESSAGE = "INSERT OR IGNORE INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_UPSERT_DELIVERY = (
    "INSERT INTO deliveries VALUES (?,?,?,?,?,?) ON CONFLICT (ns, grp, topic, pk) "
    "DO UPDATE SET attempts = excluded.attempts, acked = MAX(acked, excluded.acked)"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A group tracking a topic from ``start_pk`` on."""

    namespace: str
    group: str
    topic: str
    start_pk: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything reloaded at start-up."""

    topics: list[TopicInfo]
    groups: list[GroupInfo]
    subscriptions: list[Subscription]
    messages: list[StoredMessage]
    deliveries: dict[tuple[str, str, str, int], tuple[int, bool]]  # (ns, grp, topic, pk) -> (attempts, acked)


_Op = tuple[str, Sequence[Any], asyncio.Future[None] | None]


class BrokerStore:
    """Owns the SQLite connection and the group-commit writer; use with ``async with``."""

    def __init__(self, data_dir: Path | None) -> None:
        self._path = str(data_dir / "broker.sqlite3") if data_dir else ":memory:"
        self._data_dir = data_dir
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Op] = asyncio.Queue()
        self._batch_lock = asyncio.Lock()  # a vacuum (which commits) never lands inside a writer's batch
        self._writer: asyncio.Task[None] | None = None
        self._lock: IO[bytes] | None = None

    def _take_lock(self, data_dir: Path) -> None:
        # Two brokers on one store would each trust their own memory: refuse the second one.
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (data_dir / "broker.lock").open("a+b")  # no truncation before we own it
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.seek(0)
            where = self._lock.read().decode(errors="replace").strip() or "its address"
            self._lock.close()
            self._lock = None
            raise BrokerError(
                f"another broker is using {data_dir} (listening on {where}); stop it, "
                f"set TOURGUIDE_ROCKETMQ_ENDPOINT={where} to share it, or use another TOURGUIDE_DATA_DIR"
            ) from exc

    def announce(self, endpoint: str) -> None:
        """Record where the owning broker listens, for the error a second broker gets."""
        if self._lock is not None:
            self._lock.truncate(0)
            self._lock.write(endpoint.encode())
            self._lock.flush()

    async def __aenter__(self) -> BrokerStore:
        if self._data_dir:
            self._take_lock(self._data_dir)
        try:
            self._db = await aiosqlite.connect(self._path)
            # Retention deletes expired messages; incremental vacuum gives their pages back to the disk
            # (a file created before this is rebuilt once).
            await self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            if (await (await self._db.execute("PRAGMA auto_vacuum")).fetchone() or (2,))[0] != 2:
                await self._db.execute("VACUUM")
            await self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9).
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.executescript(_SCHEMA)
            columns = {row[1] for row in await self._db.execute_fetchall("PRAGMA table_info(messages)")}
            if "priority" not in columns:  # a store written before PRIORITY topics existed
                await self._db.execute("ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
            await self._db.commit()
        except Exception as exc:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            raise BrokerError(f"cannot open broker store {self._path}: {exc}") from exc
        self._writer = asyncio.create_task(self._write_loop(), name="broker-store-writer")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._writer:
            await self._queue.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self._db:
            await self._db.close()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    @property
    def db(self) -> aiosqlite.Connection:
        """The open connection."""
        if self._db is None:
            raise BrokerError("broker store is not open")
        return self._db

    async def write(self, sql: str, params: Sequence[Any]) -> None:
        """Queue a statement and wait until its batch is committed."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((sql, params, fut))
        await fut

    def write_later(self, sql: str, params: Sequence[Any]) -> None:
        """Queue a statement whose loss in a crash is harmless (e.g. a delivery counter)."""
        self._queue.put_nowait((sql, params, None))

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 2000:
                batch.append(self._queue.get_nowait())
            error: BaseException | None = None
            try:
                await self._commit(batch)
            except Exception as exc:
                error = BrokerError(f"broker store write failed: {exc}")
            for _sql, _params, fut in batch:
                if fut is not None and not fut.done():
                    fut.set_exception(error) if error else fut.set_result(None)
                self._queue.task_done()

    async def _commit(self, batch: list[_Op]) -> None:
        async with self._batch_lock:
            await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Op]) -> None:
        run: list[Sequence[Any]] = []
        run_sql = batch[0][0]
        for sql, params, _fut in batch:
            if sql != run_sql:
                await self.db.executemany(run_sql, run)
                run, run_sql = [], sql
            run.append(params)
        await self.db.executemany(run_sql, run)
        await self.db.commit()

    # --- statements -------------------------------------------------------------------------

    async def save_topic(self, t: TopicInfo) -> None:
        """Create or update a topic."""
        await self.write(
            "INSERT OR REPLACE INTO topics VALUES (?,?,?,?,?)",
            (t.namespace, t.name, t.type.value, t.queues, t.lite_ttl_s),
        )

    async def save_group(self, g: GroupInfo) -> None:
        """Create or update a consumer group."""
        await self.write(
            "INSERT OR REPLACE INTO groups VALUES (?,?,?,?,?,?,?)",
            (
                g.namespace,
                g.name,
                int(g.fifo),
                g.max_attempts,
                json.dumps(list(g.backoff_s)),
                g.lite_bind_topic,
                g.lite_quota,
            ),
        )

    async def save_subscription(self, s: Subscription) -> None:
        """Record that a group tracks a topic."""
        await self.write(
            "INSERT OR IGNORE INTO subscriptions VALUES (?,?,?,?)", (s.namespace, s.group, s.topic, s.start_pk)
        )

    async def save_message(self, m: StoredMessage) -> None:
        """Persist a message; returns once it is durable."""
        await self.write(_INSERT_MESSAGE, _message_row(m))

    def save_message_later(self, m: StoredMessage) -> None:
        """Persist a message in the next batch without waiting (used with a following awaited write)."""
        self.write_later(_INSERT_MESSAGE, _message_row(m))

    def save_attempts(self, ns: str, group: str, topic: str, pk: int, attempts: int) -> None:
        """Remember a delivery count (best effort)."""
        self.write_later(_UPSERT_DELIVERY, (ns, group, topic, pk, attempts, 0))

    async def save_ack(self, ns: str, group: str, topic: str, pk: int, attempts: int) -> None:
        """Persist an acknowledgement; returns once it is durable."""
        await self.write(_UPSERT_DELIVERY, (ns, group, topic, pk, attempts, 1))

    def save_ack_later(self, ns: str, group: str, topic: str, pk: int, attempts: int) -> None:
        """Persist an acknowledgement whose loss only causes a harmless redelivery."""
        self.write_later(_UPSERT_DELIVERY, (ns, group, topic, pk, attempts, 1))

    async def delete_messages(self, pks: Sequence[int]) -> None:
        """Delete expired messages and their delivery rows."""
        for pk in pks:
            self.write_later("DELETE FROM deliveries WHERE pk = ?", (pk,))
            self.write_later("DELETE FROM messages WHERE pk = ?", (pk,))
        await self.write("DELETE FROM messages WHERE pk = ?", (-1,))  # waits for the batch
        if pks:
            await self.reclaim()

    async def reclaim(self) -> None:
        """Give free pages back to the file system, a bounded number per call (retention runs often)."""
        async with self._batch_lock:
            await self.db.executescript("PRAGMA incremental_vacuum(2000);")  # steps to the end, unlike execute()

    async def load(self) -> Snapshot:
        """Read back everything persisted."""
        db = self.db
        topics = [
            TopicInfo(r[0], r[1], TopicType(r[2]), int(r[3]), int(r[4]))
            for r in await db.execute_fetchall("SELECT * FROM topics")
        ]
        groups = [
            GroupInfo(r[0], r[1], bool(r[2]), int(r[3]), tuple(json.loads(r[4])), r[5], int(r[6]))
            for r in await db.execute_fetchall("SELECT * FROM groups")
        ]
        subs = [
            Subscription(r[0], r[1], r[2], int(r[3])) for r in await db.execute_fetchall("SELECT * FROM subscriptions")
        ]
        messages = [_message_from_row(r) for r in await db.execute_fetchall("SELECT * FROM messages ORDER BY pk")]
        deliveries = {
            (r[0], r[1], r[2], int(r[3])): (int(r[4]), bool(r[5]))
            for r in await db.execute_fetchall("SELECT * FROM deliveries")
        }
        return Snapshot(topics, groups, subs, messages, deliveries)


def _message_row(m: StoredMessage) -> tuple[Any, ...]:
    return (
        m.pk,
        m.namespace,
        m.topic,
        m.queue_id,
        m.offset,
        m.message_id,
        m.message_type,
        m.tag,
        json.dumps(list(m.keys)),
        json.dumps(m.properties),
        m.message_group,
        m.lite_topic,
        m.encoding,
        m.born_ms,
        m.born_host,
        m.store_ms,
        m.deliver_at_ms,
        m.dlq_origin_topic,
        m.dlq_origin_message_id,
        m.body,
        m.priority,
    )


def _message_from_row(r: Any) -> StoredMessage:
    return StoredMessage(
        pk=int(r[0]),
        namespace=r[1],
        topic=r[2],
        queue_id=int(r[3]),
        offset=int(r[4]),
        message_id=r[5],
        message_type=int(r[6]),
        tag=r[7],
        keys=tuple(json.loads(r[8])),
        properties=json.loads(r[9]),
        message_group=r[10],
        lite_topic=r[11],
        encoding=int(r[12]),
        born_ms=int(r[13]),
        born_host=r[14],
        store_ms=int(r[15]),
        deliver_at_ms=int(r[16]),
        dlq_origin_topic=r[17],
        dlq_origin_message_id=r[18],
        body=bytes(r[19]),
        priority=int(r[20]),
    )
