"""The web page: chat, live progress over SSE (AG-UI events), itinerary cards and the trace timeline.

``tourguide web`` always serves it; ``tourguide bot`` does too when ``TOURGUIDE_WEB_PORT`` is set. The
wiring registers :func:`platform`, handing it how to open the trace store (the page never imports storage).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.web.settings import WebSettings
from bot.ports import Platform, Requests
from bot.settings import load

if TYPE_CHECKING:
    from adapters.web.adapter import WebAdapter
    from adapters.web.server import TraceRows

HINT = """  Web page (tourguide bot):            TOURGUIDE_WEB_PORT=8080 [TOURGUIDE_WEB_HOST=127.0.0.1]
                                       [TOURGUIDE_WEB_TOKEN=...]  (or run `tourguide web`)"""

TraceStore = Callable[[Path], AbstractAsyncContextManager["TraceRows"]]


def _configured(settings: WebSettings) -> bool:
    return settings.configured


def platform(trace_store: TraceStore) -> Platform[WebSettings]:
    """The web as a registered platform whose trace view reads ``trace_store(data_dir)``."""

    def build(settings: WebSettings, requests: Requests, data_dir: Path) -> WebAdapter:
        # Imported when built, so processes that serve no page (agents, the terminal) never load its server.
        from adapters.web.adapter import WebAdapter

        return WebAdapter(settings, requests, partial(trace_store, data_dir))

    return Platform(partial(load, WebSettings), _configured, build, HINT)


__all__ = ["WebSettings", "platform"]
