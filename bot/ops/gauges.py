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
    """Set the shared-state gauges once from a status reading."""
    from bot.ops.status import collect

    status = await collect(settings)
    for g in status.groups:
        metrics.BACKLOG.labels(g.topic, g.group).set(g.backlog)
    for group, depth in status.dead_letters.items():
        metrics.DEAD_LETTERS.labels(group).set(depth)
    metrics.OUTBOX_UNSENT.set(status.app.outbox_unsent)
    metrics.SESSIONS_RUNNING.set(status.app.sessions_running)


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
    async with metrics.serving(settings.metrics_port) as port:
        if not port:
            yield 0
            return
        interval = every_s or (60.0 if settings.rocketmq_namesrv else 5.0)
        task = asyncio.create_task(_refresh_forever(settings, interval), name="metrics-gauges")
        try:
            yield port
        finally:
            await background.stop(task)
