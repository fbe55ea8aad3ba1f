"""The real web page on the real pipeline (embedded broker, agents inline) for the web tests, and an SSE reader."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from adapters.web.adapter import WebAdapter
from adapters.web.settings import WebSettings
from agents.worker import StepHandler
from benchmarks.latency import simulated_model_time
from bot.settings import load_settings
from bot.web_cli import web_page
from bot.wiring import pipeline

NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday: 下周三 is 2026-12-02
REFERENCE = "帮我做一个下周三到下周日杭州周边自驾游方案"


@asynccontextmanager
async def web_stack(tmp_path: Path, *, agent_latency_s: float = 0.0,
                    wrap: Callable[[StepHandler], StepHandler] | None = None, core: dict[str, Any] | None = None,
                    **web: Any) -> AsyncIterator[WebAdapter]:
    """``tourguide web --with-agents`` in this process, on a free port, with the clock fixed at NOW; ``core``
    overrides the core's settings (an LLM endpoint), ``web`` the page's."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", **(core or {}))
    if agent_latency_s:  # steps that take model-like time
        wrap = simulated_model_time(agent_latency_s)
    async with (
        pipeline(settings, agents="inline", clock=lambda: NOW, wrap=wrap) as p,
        web_page(settings, WebSettings(host="127.0.0.1", port=0, **web), p) as adapter,
    ):
        yield adapter


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event: its ID and its AG-UI payload."""

    id: str
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def label(self) -> str:
        """The type, with the step or custom name: what order tests compare."""
        name = self.data.get("stepName") or self.data.get("name") or ""
        return f"{self.type}:{name}" if name else self.type


def browser() -> aiohttp.ClientSession:
    """A client with its own cookie jar (one browser); cookies for 127.0.0.1 kept."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def csrf(client: aiohttp.ClientSession, url: str) -> str:
    """The browser's CSRF token (and its session cookie, on a first visit)."""
    async with client.get(url + "api/session") as response:
        body = await response.json()
    return str(body["csrf"])


async def post(client: aiohttp.ClientSession, url: str, text: str, token: str) -> aiohttp.ClientResponse:
    """Send a message as the page does."""
    async with client.post(url + "api/messages", json={"text": text}, headers={"X-CSRF-Token": token}) as response:
        await response.read()
        return response


async def events(response: aiohttp.ClientResponse) -> AsyncIterator[Event]:
    """Parse an SSE stream into events (comments and retry lines skipped)."""
    event_id, data = "", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data += line[6:]
        elif not line and data:
            yield Event(event_id, json.loads(data))
            event_id, data = "", ""


async def read_until(response: aiohttp.ClientResponse, done: str, into: list[Event]) -> list[Event]:
    """Collect events into ``into`` until one of type ``done``."""
    async for event in events(response):
        into.append(event)
        if event.type == done:
            break
    return into
