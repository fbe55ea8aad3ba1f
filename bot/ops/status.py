"""``tourguide status``: backlog per topic and group, dead letters, sessions running, answers unsent.

On the embedded broker the figures come from its store, read-only (:mod:`bot.broker.stats`), so the command
works beside a running broker. On Apache RocketMQ (``TOURGUIDE_ROCKETMQ_NAMESRV`` set) they come from
``mqadmin consumerProgress`` and ``topicStatus`` (:mod:`bot.ops.apache`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bot.broker.stats import GroupBacklog, read_stats
from bot.resources import DLQ_READERS, GROUPS
from bot.settings import Settings
from storage.counts import AppCounts, read_counts


@dataclass(frozen=True, slots=True)
class Status:
    """Everything ``tourguide status`` prints."""

    broker: str  # "embedded" or "apache"
    groups: tuple[GroupBacklog, ...]
    dead_letters: dict[str, int]
    app: AppCounts


def _task_groups() -> set[str]:
    return {g.name for g in GROUPS if not g.lite and g.name not in DLQ_READERS.values()}


def broker_dir(settings: Settings, override: Path | None = None) -> Path:
    """Where the embedded broker keeps its store (``tourguide broker --data``, else under the data dir)."""
    return override if override is not None else settings.data_dir / "broker"


async def broker_status(settings: Settings, broker_data: Path | None = None
                        ) -> tuple[tuple[GroupBacklog, ...], dict[str, int]]:
    """Backlog of the task groups and their dead-letter depths, from whichever broker is configured."""
    wanted = _task_groups()
    if settings.rocketmq_namesrv:
        from bot.ops.apache import apache_backlog

        return await asyncio.to_thread(apache_backlog, settings.rocketmq_namesrv, sorted(wanted))
    try:
        stats = await asyncio.to_thread(read_stats, broker_dir(settings, broker_data),
                                        namespace=settings.rocketmq_namespace, dlq_readers=DLQ_READERS)
    except FileNotFoundError:  # no broker has run on this data directory yet: nothing is queued
        return (), {g: 0 for g in sorted(wanted)}
    groups = tuple(g for g in stats.groups if g.group in wanted)
    return groups, {g: stats.dead_letters.get(g, 0) for g in sorted(wanted)}


async def collect(settings: Settings, *, broker_data: Path | None = None) -> Status:
    """Read the figures once (blocking reads run in a thread)."""
    app = await asyncio.to_thread(read_counts, settings.data_dir / "tourguide.sqlite3")
    groups, dead = await broker_status(settings, broker_data)
    return Status("apache" if settings.rocketmq_namesrv else "embedded", groups, dead, app)


def render(status: Status) -> str:
    """The status as a table."""
    lines = [f"{'topic':<20} {'group':<32} {'backlog':>7} {'waiting':>7} {'in flight':>9} {'retrying':>8} "
             f"{'DLQ':>4} {'oldest':>8}"]
    for g in status.groups:
        oldest = f"{g.oldest_age_s:.1f} s" if g.oldest_age_s is not None else "-"
        backlog, waiting, in_flight, retrying = (_n(x) for x in (g.backlog, g.waiting, g.in_flight, g.retrying))
        lines.append(f"{g.topic:<20} {g.group:<32} {backlog:>7} {waiting:>7} {in_flight:>9} {retrying:>8} "
                     f"{status.dead_letters.get(g.group, 0):>4} {oldest:>8}")
    lines.append(f"sessions running: {status.app.sessions_running}")
    lines.append(f"outbox unsent: {status.app.outbox_unsent}")
    lines.append(f"broker: {status.broker}")
    return "\n".join(lines)


def _n(value: int) -> str:
    return "n/a" if value < 0 else str(value)
