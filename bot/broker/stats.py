"""Read-only figures of an embedded broker's store: backlog per topic and group, dead letters.

Reads the SQLite file the running broker writes (WAL mode lets a reader in beside the writer) without
taking the broker's lock, so ``tourguide status`` works while the broker runs in another process. The
store holds what is durable: a message, and per group how often it was delivered and whether it was
acked. Whether a delivered message is held by a consumer right now or waits for its retry lives only in
the broker's memory, so *in flight* here means "delivered once, not acked yet" and *retrying* "delivered
more than once, not acked yet". The store trails the broker by one group commit (milliseconds).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

DLQ_PREFIX = "%DLQ%"


@dataclass(frozen=True, slots=True)
class GroupBacklog:
    """One consumer group on one topic."""

    topic: str
    group: str
    waiting: int  # never delivered yet
    in_flight: int  # delivered once, not acked
    retrying: int  # delivered more than once, not acked
    oldest_age_s: float | None  # of the oldest message not acked; None when there is none

    @property
    def backlog(self) -> int:
        """Messages the group has not acked (RocketMQ's consumer lag); -1 when unknown."""
        parts = (self.waiting, self.in_flight, self.retrying)
        return -1 if min(parts) < 0 else sum(parts)


@dataclass(frozen=True, slots=True)
class BrokerStats:
    """Backlog of every subscribed group, and the depth of each dead-letter queue."""

    groups: tuple[GroupBacklog, ...]
    dead_letters: dict[str, int]  # group -> messages in %DLQ%<group> that were not replayed


def read_stats(data_dir: Path, *, namespace: str = "", dlq_readers: Mapping[str, str] | None = None,
               now_ms: int | None = None) -> BrokerStats:
    """The figures of the store in ``data_dir``. ``dlq_readers`` maps a group to the group whose acks mark one
    of its dead letters as dealt with (replayed). Raises FileNotFoundError when there is no store."""
    path = data_dir / "broker.sqlite3"
    if not path.exists():
        raise FileNotFoundError(f"no broker store at {path}")
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        subscriptions = db.execute("SELECT grp, topic, start_pk FROM subscriptions WHERE ns = ? ORDER BY topic, grp",
                                   (namespace,)).fetchall()
        groups = tuple(_backlog(db, namespace, str(g), str(t), int(start), now) for g, t, start in subscriptions
                       if not str(t).startswith(DLQ_PREFIX))
        dead: dict[str, int] = {}
        for (topic,) in db.execute("SELECT name FROM topics WHERE ns = ? AND substr(name, 1, ?) = ? ORDER BY name",
                                   (namespace, len(DLQ_PREFIX), DLQ_PREFIX)).fetchall():
            group = str(topic)[len(DLQ_PREFIX):]
            row = db.execute(
                "SELECT COUNT(*) FROM messages m WHERE m.ns = ? AND m.topic = ? AND NOT EXISTS (SELECT 1 FROM "
                "deliveries d WHERE d.ns = m.ns AND d.grp = ? AND d.topic = m.topic AND d.pk = m.pk AND d.acked)",
                (namespace, topic, (dlq_readers or {}).get(group, ""))).fetchone()
            dead[group] = int(row[0])
    return BrokerStats(groups, dead)


def _backlog(db: sqlite3.Connection, ns: str, group: str, topic: str, start_pk: int, now_ms: int) -> GroupBacklog:
    row = db.execute(
        "SELECT SUM(COALESCE(d.attempts, 0) = 0), SUM(d.attempts = 1), SUM(d.attempts >= 2), MIN(m.store_ms) "
        "FROM messages m LEFT JOIN deliveries d ON d.ns = m.ns AND d.grp = ? AND d.topic = m.topic AND d.pk = m.pk "
        "WHERE m.ns = ? AND m.topic = ? AND m.pk >= ? AND NOT COALESCE(d.acked, 0)",
        (group, ns, topic, start_pk)).fetchone()
    waiting, in_flight, retrying, oldest = (row or (0, 0, 0, None))
    return GroupBacklog(topic, group, int(waiting or 0), int(in_flight or 0), int(retrying or 0),
                        (now_ms - int(oldest)) / 1000 if oldest is not None else None)
