"""``tourguide web``: the core plus the web page (part of the composition root, beside :mod:`bot.wiring`).

The page gets its own read connection to the database for the trace view (as ``tourguide trace``
has), an outbox sender for its answers, and the Supervisor's progress stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from adapters.web.adapter import WebAdapter
    from adapters.web.settings import WebSettings
    from bot.settings import Settings
    from bot.wiring import Pipeline


@contextlib.asynccontextmanager
async def web_page(settings: Settings, web: WebSettings, p: Pipeline) -> AsyncIterator[WebAdapter]:
    """Serve the page on ``p`` until the block exits."""
    from adapters.web.adapter import WebAdapter
    from bot.delivery import RetryPolicy
    from bot.wiring import serve
    from storage.database import Database
    from storage.traces import TraceIndex

    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(Database(settings.data_dir / "tourguide.sqlite3"))
        adapter = WebAdapter(p.intake, TraceIndex(db), web)
        await serve(stack, p, adapter, RetryPolicy(max_attempts=settings.outbox_max_attempts))
        yield adapter


async def run_web(settings: Settings, host: str, port: int, with_agents: bool) -> int:
    """Serve until SIGTERM / SIGINT."""
    from adapters.web.settings import WebSettings
    from bot.wiring import pipeline, settings_clock, wait_for_stop_signal

    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=settings_clock(settings, None)) as p,
        web_page(settings, WebSettings(host=host, port=port), p) as adapter,
    ):
        print(f"tourguide web ready: {adapter.url}", flush=True)
        await wait_for_stop_signal()
    return 0


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="HTTP port (0 = any free port).")
@click.option("--with-agents", is_flag=True, help="Also run the Weather and Travel agents in this process.")
def web_cmd(host: str, port: int, with_agents: bool) -> None:
    """Serve the web page: chat with live progress, day cards with weather, each task's message trace.

    TOURGUIDE_WEB_TOKEN makes every browser present an access token once (open /?token=...);
    TOURGUIDE_WEB_ADMIN_TOKEN lets its holder see every task's trace (a browser sees only its own).
    """
    from bot.cli import _with_settings

    _with_settings(lambda settings: run_web(settings, host, port, with_agents))
