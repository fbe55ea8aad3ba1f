"""The tourguide SQLite database (aiosqlite): one connection, one owner, closed by ``async with``.

Rows come back as :class:`sqlite3.Row` (read by column name). Stores of one process share the
connection, so the in-process change notices live here too: a store announces a change inside its
transaction and the listeners are called only once that transaction committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StorageError

log = logging.getLogger("tourguide.storage")
Listener = Callable[[str], None]
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    task_id TEXT PRIMARY KEY, conversation TEXT NOT NULL, reference TEXT NOT NULL, request TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status);
CREATE INDEX IF NOT EXISTS sessions_by_conversation ON sessions (conversation, created_at);
CREATE TABLE IF NOT EXISTS steps (
    task_id TEXT NOT NULL, step_id TEXT NOT NULL, kind TEXT NOT NULL, depends_on TEXT NOT NULL,
    status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT NOT NULL DEFAULT '',
    user_message TEXT NOT NULL DEFAULT '', deadline REAL NOT NULL, updated_at REAL NOT NULL,
    error_kind TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, step_id));
CREATE TABLE IF NOT EXISTS outbox (
    task_id TEXT PRIMARY KEY, platform TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL,
    text TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL, created_at REAL NOT NULL, sent_at REAL, last_error TEXT NOT NULL DEFAULT '',
    parts_sent INTEGER NOT NULL DEFAULT 0, delivering INTEGER NOT NULL DEFAULT 0,
    traceparent TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, platform, next_attempt_at);
CREATE TABLE IF NOT EXISTS inbound (
    platform TEXT NOT NULL, event_id TEXT NOT NULL, task_id TEXT NOT NULL, received_at REAL NOT NULL,
    message TEXT NOT NULL DEFAULT '', PRIMARY KEY (platform, event_id));
CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, at REAL NOT NULL, hop TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS traces_by_task ON traces (task_id, id);
"""

# Columns added after their table first shipped: ``CREATE TABLE IF NOT EXISTS`` leaves a table of an older
# database file as it was, so each of these is added (table, column, definition) when it is missing.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("outbox", "parts_sent", "INTEGER NOT NULL DEFAULT 0"),
    ("outbox", "delivering", "INTEGER NOT NULL DEFAULT 0"),
    ("inbound", "message", "TEXT NOT NULL DEFAULT ''"),
    ("sessions", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("outbox", "traceparent", "TEXT NOT NULL DEFAULT ''"),
)


class Database:
    """Owns the connection; every statement runs under one lock so transactions never interleave."""

    def __init__(self, path: Path | str, schema: str = SCHEMA,
                 added_columns: Iterable[tuple[str, str, str]] = ADDED_COLUMNS) -> None:
        self._path = str(path)
        self._schema = schema  # another store (e.g. Slack installations) brings its own tables
        self._added_columns = tuple(added_columns)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)
        self._announced: list[tuple[str, str]] = []  # (topic, detail) of the open transaction

    async def __aenter__(self) -> Database:
        try:
            if self._path != ":memory:":
                _private_dir(Path(self._path).parent)
            self._db = await aiosqlite.connect(self._path, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            await self._incremental_vacuum_on(self._db)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._db.executescript(self._schema)
            await self._add_missing_columns(self._db)
            if self._path != ":memory:":
                _private_files(Path(self._path))
        except Exception as exc:
            raise StorageError(f"cannot open database {self._path}: {exc}") from exc
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @staticmethod
    async def _incremental_vacuum_on(db: aiosqlite.Connection) -> None:
        """Let :meth:`reclaim` give deleted pages back to the file system (retention must shrink the file).

        On a new file the pragma takes effect at once; a file created without it is rebuilt once by VACUUM.
        """
        await db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        rows = list(await db.execute_fetchall("PRAGMA auto_vacuum"))
        if rows and int(rows[0][0]) != 2:
            await db.execute("VACUUM")

    async def reclaim(self, pages: int = 0) -> None:
        """Return free pages to the file system (all when ``pages`` is 0) and truncate the WAL."""
        async with self._lock:
            try:
                # executescript steps the statement to the end; execute() would free a single page
                await self._conn.executescript(f"PRAGMA incremental_vacuum({int(pages)});" if pages else
                                               "PRAGMA incremental_vacuum;")
                await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            except aiosqlite.Error as exc:
                raise StorageError(f"database vacuum failed: {exc}") from exc

    async def _add_missing_columns(self, db: aiosqlite.Connection) -> None:
        """The additive migration of :data:`ADDED_COLUMNS`; tables this schema does not have are skipped."""
        for table, column, definition in self._added_columns:
            existing = {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}
            if existing and column not in existing:
                await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StorageError("database is not open")
        return self._db

    def listen(self, topic: str, listener: Listener) -> None:
        """Call ``listener(detail)`` after each committed transaction of this process that announced ``topic``.

        In-process only: a change another process commits to the same file is not seen here.
        """
        self._listeners[topic].append(listener)

    def announce(self, topic: str, detail: str = "") -> None:
        """Inside :meth:`write`: tell ``topic``'s listeners once it commits (nothing if it rolls back)."""
        self._announced.append((topic, detail))

    def _tell(self, announced: list[tuple[str, str]]) -> None:
        for topic, detail in announced:
            for listener in self._listeners.get(topic, ()):
                try:
                    listener(detail)
                except Exception:  # a listener's bug must not turn a committed write into an error
                    log.exception("change listener for %s failed", topic)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``await db.write(work)``: ``work(conn)`` runs as one transaction, committed when it returns and
        rolled back when it raises; its result is returned.

        ``work`` runs on aiosqlite's thread with that thread's ``sqlite3`` connection, so a transaction is one
        hand-off between the event loop and that thread instead of one per statement (each costs about 30 us
        of CPU, more under load: a Supervisor's session is 8 transactions, 39 statements). It must only use
        ``conn`` and :meth:`announce`: no awaiting, no event-loop objects.
        """
        async with self._lock:
            self._announced = []
            try:
                result: T = await self._conn._execute(self._in_transaction, work)  # type: ignore[no-untyped-call]
            except BaseException as exc:
                self._announced = []
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"database write failed: {exc}") from exc
                raise
            announced, self._announced = self._announced, []
        self._tell(announced)
        return result

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """On aiosqlite's thread: BEGIN IMMEDIATE, ``work``, COMMIT (ROLLBACK when it raised)."""
        conn = self._conn._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query."""
        async with self._lock:
            try:
                return list(await self._conn.execute_fetchall(sql, tuple(params)))
            except aiosqlite.Error as exc:
                raise StorageError(f"database read failed: {exc}") from exc

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None


def _private_dir(path: Path) -> None:
    """The data directory holds users' conversations: 0700, also when an older version made it 0755."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _private_files(db_file: Path) -> None:
    """The database and its WAL / shared-memory files: 0600 (new ones already are, under our umask)."""
    for file in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            file.chmod(0o600)
