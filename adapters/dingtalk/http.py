"""DingTalk HTTP callback mode: robot messages POSTed to ``/dingtalk/callback`` instead of the Stream WebSocket.

Translates only. DingTalk signs every callback with the headers ``timestamp`` (ms) and ``sign`` =
base64(HMAC-SHA256(key=appSecret, msg=f"{timestamp}\\n{appSecret}")). A request whose timestamp is more
than an hour off our clock, or whose sign differs, did not come from DingTalk: 401, body unread, nothing
processed. The sign covers only the timestamp, so anyone who saw one callback could send any body with its
headers for an hour: a (timestamp, sign) pair is accepted once, a replay is refused with 401 (two genuine
callbacks in the same millisecond would collide; DingTalk signs each push afresh). An accepted message gets
200 at once and is handled after (dedupe by ``msgId`` in the intake, replies through the sender), as in
Stream mode: DingTalk does not wait for a plan. Malformed input of any kind is a 4xx, never a 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.http_guard import MALFORMED, ReplayGuard, json_object, malformed_is_client_error
from adapters.serving import serve

log = logging.getLogger("tourguide.dingtalk")

CALLBACK_PATH = "/dingtalk/callback"
MAX_SKEW_MS = 60 * 60 * 1000  # DingTalk's rule: more than one hour off is an illegal request
DRAIN_TIMEOUT_S = 5.0
COMMIT_WAIT_S = 5.0  # the 200 waits this long for the commit; DingTalk retries a callback it got no 200 for

OnMessage = Callable[[dict[str, Any]], Awaitable[None]]


def signature(timestamp: str, app_secret: str) -> str:
    """The ``sign`` DingTalk sends with ``timestamp``."""
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(timestamp: str, sign: str, app_secret: str, now_ms: int) -> bool:
    """True when ``sign`` matches and ``timestamp`` (ms) is within an hour of ``now_ms``."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
        return False
    return hmac.compare_digest(sign.encode(), signature(timestamp, app_secret).encode())


class CallbackReceiver:
    """The aiohttp handler: verify, commit through ``on_message``, then answer 200 (503 if not committed)."""

    def __init__(self, on_message: OnMessage, app_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._on_message = on_message
        self._secret = app_secret
        self._clock = clock
        self._tasks: set[asyncio.Task[bool | None]] = set()
        self._replays = ReplayGuard(MAX_SKEW_MS / 1000, clock)

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /dingtalk/callback``: 401 unless signed by DingTalk, 400 unless a JSON object, else 200."""
        now_ms = int(self._clock() * 1000)
        timestamp, sign = request.headers.get("timestamp", ""), request.headers.get("sign", "")
        if not verify(timestamp, sign, self._secret, now_ms):
            log.warning("DingTalk callback refused: bad signature or timestamp from %s", request.remote)
            return web.json_response({"error": "invalid signature"}, status=401)
        if not self._replays.first_use(timestamp, sign):
            log.warning("DingTalk callback refused: replayed signature from %s", request.remote)
            return web.json_response({"error": "signature already used"}, status=401)
        data = json_object(await request.read())  # None for non-JSON, non-objects and runaway nesting
        if data is None:
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        task = asyncio.create_task(self._run(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # on_message returns once the message is committed: answer 200 only then (a crash before it makes
        # DingTalk retry instead of losing the message); a caller that hangs up does not cancel the commit.
        done, _ = await asyncio.wait({task}, timeout=COMMIT_WAIT_S)
        if done and task.result() is None:  # a message no redelivery can fix: 400, not 503
            return web.json_response({"error": "malformed message"}, status=400)
        if not done or task.result() is False:
            return web.json_response({"error": "not accepted yet"}, status=503)
        return web.json_response({})  # no inline reply: answers go through the session webhook / OpenAPI

    async def _run(self, data: dict[str, Any]) -> bool | None:
        """True once committed, False on a failure worth a redelivery, None for a malformed message."""
        try:
            await self._on_message(data)
        except MALFORMED as exc:  # fields of the wrong type or value, found while reading it (before any commit)
            log.warning("DingTalk callback %s refused as malformed: %s", str(data.get("msgId"))[:64],
                        type(exc).__name__)
            return None
        except Exception:  # 503: DingTalk delivers it again
            log.exception("DingTalk callback %s not handled", data.get("msgId"))
            return False
        return True

    async def drain(self) -> None:
        """Let accepted messages reach the intake (bounded), then cancel what is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def http_callback(on_message: OnMessage, app_secret: str, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``POST /dingtalk/callback`` until the block exits; yields its URL."""
    receiver = CallbackReceiver(on_message, app_secret)
    app = web.Application(middlewares=[malformed_is_client_error])
    app.router.add_post(CALLBACK_PATH, receiver.handle)
    try:
        async with serve(app, host, port) as base:
            yield base + CALLBACK_PATH
    finally:  # no new callbacks first (serve's exit), then finish the accepted ones
        await receiver.drain()
