"""The metrics endpoint of a process, with the shared-state gauges refreshed on a timer.

Counters (steps, model calls) are counted where they happen; backlog, dead letters, sessions running and
answers unsent are read the way ``tourguide status`` reads them, every few seconds (every minute on Apache
RocketMQ, where each reading runs ``mqadmin``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from bot import background, metrics
from bot.settings import Settings

log = logging.getLogger("tourguide.metrics")


async def refresh(settings: Settings) -> None:
    """Set the shared-state gauges once, the way ``tourguide status`` reads them (each source on its own: a
    process may see the database but not the broker's store, or the other way round)."""
    from bot.ops.status import broker_status
    from storage.counts import read_counts

    try:
        app = await asyncio.to_thread(read_counts, settings.data_dir / "tourguide.sqlite3")
        metrics.OUTBOX_UNSENT.set(app.outbox_unsent)
        metrics.SESSIONS_RUNNING.set(app.sessions_running)
    finally:
        groups, dead = await broker_status(settings)
        for g in groups:
            if g.backlog >= 0:  # unknown on Apache RocketMQ for proxy (pop) consumers
                metrics.BACKLOG.labels(g.topic, g.group).set(g.backlog)
        for group, depth in dead.items():
            metrics.DEAD_LETTERS.labels(group).set(depth)


async def _refresh_forever(settings: Settings, every_s: float) -> None:
    while True:
        try:
            await refresh(settings)
        except Exception as exc:  # no store yet, a busy database: the next reading will do
            log.debug("gauges not refreshed: %s", exc)
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def metrics_endpoint(settings: Settings, every_s: float | None = None) -> AsyncIterator[int]:
    """``/metrics`` on ``TOURGUIDE_METRICS_PORT`` (nothing when it is 0) until the block exits; yields the port."""
    async with metrics.serving(settings.metrics_port, settings.metrics_host) as port:
        if not port:
            yield 0
            return
        interval = every_s or (60.0 if settings.rocketmq_namesrv else 5.0)
        task = asyncio.create_task(_refresh_forever(settings, interval), name="metrics-gauges")
        try:
            yield port
        finally:
            await background.stop(task)
