"""``tourguide web``: the core plus the web page (part of the composition root, beside :mod:`bot.wiring`).

The same platform ``tourguide bot`` runs when ``TOURGUIDE_WEB_PORT`` is set, always on here: its own read
connection to the database for the trace view (as ``tourguide trace`` has), an outbox sender for its
answers, and the Supervisor's progress stream.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator

from adapters.web.adapter import WebAdapter
from adapters.web.settings import WebSettings
from bot.retry import DELIVERY_RETRY
from bot.settings import Settings, load
from bot.signals import wait_for_stop_signal
from bot.wiring import Pipeline, pipeline, serve, settings_clock, trace_store


@contextlib.asynccontextmanager
async def web_page(settings: Settings, web: WebSettings, p: Pipeline) -> AsyncIterator[WebAdapter]:
    """Serve the page on ``p`` until the block exits."""
    async with contextlib.AsyncExitStack() as stack:
        adapter = WebAdapter(web, p.intake, functools.partial(trace_store, settings.data_dir))
        await serve(stack, p, adapter, dataclasses.replace(DELIVERY_RETRY, max_attempts=settings.outbox_max_attempts))
        yield adapter


async def run_web(settings: Settings, host: str, port: int, with_agents: bool) -> int:
    """``tourguide web``: serve until SIGTERM / SIGINT."""
    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=settings_clock(settings, None)) as p,
        web_page(settings, load(WebSettings, host=host, port=port), p) as adapter,
    ):
        agents = "" if with_agents else " (agents: start `tourguide agent weather` and `tourguide agent travel`, " \
                                        "or run with --with-agents)"
        print(f"tourguide web ready: {adapter.url}{agents}", flush=True)
        await wait_for_stop_signal()
    return 0
