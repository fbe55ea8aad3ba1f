"""``python -m benchmarks.web_server``: ``tourguide web --with-agents`` whose agent steps take simulated model time.

Started by ``tourguide bench web`` as its own process, so the RSS measured is the server's alone (the
page, the Supervisor, the inline agents and the embedded broker). Prints ``ready URL`` once serving.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.web.settings import WebSettings
from benchmarks.latency import LATENCY_ENV, simulated_model_time
from bot import loop
from bot.logs import configure
from bot.settings import load_settings
from bot.signals import wait_for_stop_signal
from bot.web_cli import web_page
from bot.wiring import pipeline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # fixed: every run plans the same dates


async def serve(latency_s: float) -> None:
    """Serve on a free port until SIGTERM / SIGINT."""
    # As the CLI does: blocking client calls (one lite subscription per task) must not queue up.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="io"))
    settings = load_settings()
    wrap = simulated_model_time(latency_s) if latency_s > 0 else None
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW, wrap=wrap) as p,
        web_page(settings, WebSettings(host="127.0.0.1", port=0, rate_per_minute=10), p) as adapter,
    ):
        print(f"ready {adapter.url}", flush=True)
        await wait_for_stop_signal()


if __name__ == "__main__":
    configure("WARNING")
    loop.run(serve(float(os.environ.get(LATENCY_ENV, "0"))))
