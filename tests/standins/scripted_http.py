"""Base of the HTTP stand-ins: a real aiohttp server on 127.0.0.1:0 with a reply script.

Each stand-in (DashScope, OpenAI-compatible, Open-Meteo) subclasses :class:`ScriptedServer`,
adds its routes and computes a default answer from the request. Tests may queue replies
(errors, tool calls, delays) that are served first, in order; every request is recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """A scripted answer; ``body=None`` means "the stand-in's normal answer, after the delay"."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


class ScriptedServer:
    """An aiohttp app on an ephemeral port; use as ``async with Subclass() as fake``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.arrival_times: list[float] = []  # time.monotonic() of each request, as the server saw it
        self.arrived = asyncio.Event()  # set by the first request
        self.gate = asyncio.Event()  # cleared by a test to hold every answer open until it is set again
        self.gate.set()
        self._script: deque[Reply] = deque()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self, app: web.Application) -> None:
        """Add the stand-in's routes (overridden by subclasses)."""
        raise NotImplementedError

    def script(self, *replies: Reply) -> None:
        """Queue replies, served before any default answer."""
        self._script.extend(replies)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.routes(app)
        # Short shutdown: handlers still sleeping on a "timeout" reply must not hold up teardown.
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def answer(
        self,
        request: web.Request,
        default: Callable[[Recorded], Reply],
        check: Callable[[Recorded], Reply | None] = lambda _: None,
    ) -> web.Response:
        """Record ``request``; serve ``check``'s rejection, else the next scripted reply or the default."""
        body = await request.json() if request.can_read_body else None
        recorded = Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        self.requests.append(recorded)
        self.arrival_times.append(time.monotonic())
        self.arrived.set()
        await self.gate.wait()
        reply = check(recorded) or (self._script.popleft() if self._script else Reply())
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.body is None and reply.status == 200:
            reply = default(recorded)
        return web.json_response(reply.body, status=reply.status, headers=dict(reply.headers))


def has_bearer(recorded: Recorded, api_key: str) -> bool:
    """True when the request carries ``Authorization: Bearer <api_key>``."""
    return recorded.headers.get("Authorization") == f"Bearer {api_key}"
