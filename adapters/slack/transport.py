"""Serving the Bolt app: Socket Mode (no public URL) or HTTP (``POST /slack/events``), and the app itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from adapters import http_guard
from adapters.serving import serve

log = logging.getLogger("tourguide.slack")

SOCKET_CLOSE_TIMEOUT_S = 5.0
_BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def bolt_app(client: AsyncWebClient, signing_secret: str, oauth: AsyncOAuthSettings | None) -> AsyncApp:
    """The Bolt app: OAuth installs only when ``oauth`` is given, whatever the environment says.

    Bolt 1.30 reads ``SLACK_CLIENT_ID`` / ``SLACK_CLIENT_SECRET`` itself when ``oauth_settings`` is None and
    would then run its own OAuth flow with a file installation store in the home directory, ignoring our
    bot token (e.g. with TOURGUIDE_SLACK_OAUTH=off). Our settings decide, so Bolt must not see them.
    """
    with _hidden_env(*_BOLT_OAUTH_ENV) if oauth is None else contextlib.nullcontext():
        # process_before_response: the HTTP 200 / Socket Mode ack is sent only after our listener committed
        # the inbound event and its session (issue 8: a kill between ack and commit lost the request).
        return AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True,
                        oauth_settings=oauth)


@contextlib.contextmanager
def _hidden_env(*names: str) -> Iterator[None]:
    # Only for the synchronous AsyncApp constructor: nothing else reads these after settings were loaded.
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.asynccontextmanager
async def socket_mode(app: AsyncApp, app_token: str) -> AsyncIterator[None]:
    """Serve the app over Socket Mode (no public URL) until the block exits."""
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        # Bounded: closing the client's aiohttp session has been seen to hang now and then on shutdown.
        close = asyncio.ensure_future(handler.close_async())  # type: ignore[no-untyped-call]
        done, _ = await asyncio.wait({close}, timeout=SOCKET_CLOSE_TIMEOUT_S)
        if not done:
            log.warning("Socket Mode client did not close within %.0f s; abandoning it", SOCKET_CLOSE_TIMEOUT_S)
            close.cancel()


@contextlib.asynccontextmanager
async def http_mode(app: AsyncApp, signing_secret: str, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``POST /slack/events`` (Bolt verifies signatures and timestamps); yields its URL."""
    guarded = http_guard.protect_slack(app.web_app(path="/slack/events"), signing_secret, "/slack/events")
    async with serve(guarded, host, port) as base:
        yield base + "/slack/events"
