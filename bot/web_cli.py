"""``tourguide web``: the core plus the web page (part of the composition root, beside :mod:`bot.wiring`).

The page gets its own read connection to the database for the trace view (as ``tourguide trace`` has),
an outbox sender for its answers, and the Supervisor's progress stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from adapters.web.adapter import WebAdapter
from adapters.web.settings import WebSettings
from bot.delivery import RetryPolicy
from bot.settings import Settings
from bot.wiring import Pipeline, pipeline, serve, settings_clock, wait_for_stop_signal
from storage.database import Database
from storage.traces import TraceIndex


@contextlib.asynccontextmanager
async def web_page(settings: Settings, web: WebSettings, p: Pipeline) -> AsyncIterator[WebAdapter]:
    """Serve the page on ``p`` until the block exits."""
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(Database(settings.data_dir / "tourguide.sqlite3"))
        adapter = WebAdapter(p.intake, TraceIndex(db), web)
        await serve(stack, p, adapter, RetryPolicy(max_attempts=settings.outbox_max_attempts))
        yield adapter


async def run_web(settings: Settings, host: str, port: int, with_agents: bool) -> int:
    """``tourguide web``: serve until SIGTERM / SIGINT."""
    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=settings_clock(settings, None)) as p,
        web_page(settings, WebSettings(host=host, port=port), p) as adapter,
    ):
        print(f"tourguide web ready: {adapter.url}", flush=True)
        await wait_for_stop_signal()
    return 0
