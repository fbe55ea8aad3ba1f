"""Serving an aiohttp application on a local address: the one way every HTTP-mode platform listens."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str, port: int, *, shutdown_timeout_s: float = 60.0) -> AsyncIterator[str]:
    """Listen on ``host:port`` (0: any free port) until the block exits; yields ``http://host:port``.

    Leaving stops taking connections first, then waits up to ``shutdown_timeout_s`` for requests in progress.
    """
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield f"http://{bound_host}:{bound_port}"
    finally:
        await runner.cleanup()
