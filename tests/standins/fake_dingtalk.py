"""A local DingTalk stand-in speaking the real Stream and OpenAPI wire protocols on 127.0.0.1 (port 0).

``FakeDingTalk`` runs its aiohttp server **in its own thread and event loop**: dingtalk-stream 0.24.3
makes blocking ``requests`` calls (``open_connection``, ``reply_text``...) on the loop that runs
``client.start()``, so a fake in that same loop would deadlock. It serves:

* ``POST /v1.0/gateway/connections/open``: checks clientId/clientSecret, records subscriptions and
  answers ``{"endpoint": "ws://.../connect", "ticket"}`` (single use, 90 s);
* the Stream WebSocket ``/connect?ticket=``: CALLBACK / SYSTEM frames pushed by the test, ACKs recorded;
* session webhooks ``/robot/sendBySession?session=`` (≈90 min; expired sessions answer errcode 300001);
* the OpenAPI: ``/v1.0/oauth2/accessToken``, ``/v1.0/robot/groupMessages/send``,
  ``/v1.0/robot/oToMessages/batchSend`` and the AI card routes, checking ``x-acs-dingtalk-access-token``.

For HTTP callback mode it plays DingTalk's side too: ``post_callback(url, data)`` POSTs a ChatbotMessage to
the app signed as DingTalk signs it (headers ``timestamp`` in ms and ``sign`` = base64(HMAC-SHA256(appSecret,
"timestamp\nappSecret"))), optionally backdated or with a wrong sign, and records the app's answer.

Robot sends (webhook and OpenAPI) share a limit of 20 per minute per conversation; past it the
conversation is blocked for 10 minutes (webhook: errcode 130101; OpenAPI: HTTP 403, see ``THROTTLED_CODE``).
Every record carries ``at = time.monotonic()`` so tests can compare an ACK with later work.

AI card calls (every ``/v1.0/card/...`` route) share the app's QPS limit ``card_qps`` (none unless given):
a call beyond it within one second is answered HTTP 403 ``Forbidden.AccessDenied.QpsLimitForApi`` like
DingTalk's gateway, and does nothing. ``card_call_times`` records when each accepted card call arrived,
``card_refusals`` counts the 403s; ``max_card_calls_per_second()`` is the busiest one-second window.

Pointing the real SDK at it: ``DINGTALK_OPENAPI_ENDPOINT`` is read once, at import, and copied by value
into ``stream``, ``chatbot`` and ``card_replier`` (and into ``DingTalkStreamClient.OPEN_CONNECTION_API``).
The fake's port is only known once it runs, and another test may already have imported the SDK, so
patch those attributes: ``for target, name, value in fake.sdk_patches(): monkeypatch.setattr(...)``.

Stopping the SDK client: 0.24.3 has no ``stop()`` and ``start()`` catches ``CancelledError`` and sleeps
10 s before reconnecting, so one ``task.cancel()`` is swallowed. Cancel until the task is done, then
cancel its leaked ``keepalive`` task: ``await stop_stream_client(task)`` does both.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

JsonDict = dict[str, Any]
CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"
THROTTLED_ERRCODE = 130101
THROTTLED_MESSAGE = "send too fast, exceed 20 times per minute"
THROTTLED_CODE = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
CARD_QPS_CODE = "Forbidden.AccessDenied.QpsLimitForApi"
CARD_QPS_MESSAGE = "The request has exceeded the QPS limit of the API."
SESSION_EXPIRED_ERRCODE = 300001
MSG_KEYS = frozenset({
    "sampleText", "sampleMarkdown", "sampleImageMsg", "sampleLink", "sampleFile", "sampleActionCard",
    *(f"sampleActionCard{n}" for n in range(2, 7)),
})  # fmt: skip


@dataclass(frozen=True)
class ConnectionOpen:
    """One ``/v1.0/gateway/connections/open`` request."""

    client_id: str
    subscriptions: list[JsonDict]
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class StreamFrame:
    """A frame the fake pushed over the Stream WebSocket; ``data`` is the decoded JSON string."""

    type: str
    message_id: str
    topic: str
    data: JsonDict
    at: float = field(default_factory=time.monotonic)

    def to_wire(self) -> JsonDict:
        """The frame as DingTalk sends it: ``data`` is a JSON *string*."""
        headers = {
            "appId": "fake-app", "connectionId": "fake-connection", "contentType": "application/json",
            "messageId": self.message_id, "time": str(int(time.time() * 1000)), "topic": self.topic,
        }  # fmt: skip
        return {"specVersion": "1.0", "type": self.type, "headers": headers, "data": json.dumps(self.data)}


@dataclass(frozen=True)
class StreamAck:
    """An ACK frame the client sent back (``data`` decoded when it is JSON)."""

    message_id: str
    code: int
    message: str
    data: Any
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class WebhookPost:
    """One POST to a session webhook, with the errcode the fake answered."""

    session: str
    conversation_id: str
    body: JsonDict
    errcode: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class OpenApiCall:
    """One OpenAPI request (token from ``x-acs-dingtalk-access-token``) and the fake's answer."""

    method: str
    path: str
    token: str | None
    body: JsonDict
    status: int
    response: JsonDict
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class CallbackDelivery:
    """One HTTP callback POSTed to the app, with the app's status, body and response time."""

    msg_id: str
    status: int
    body: str
    elapsed: float
    at: float = field(default_factory=time.monotonic)


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class _RateLimiter:
    """Sliding window (60 s unless told) per key; once exceeded the key is blocked for ``block_seconds``."""

    def __init__(self, per_minute: int, block_seconds: float, window_seconds: float = 60.0) -> None:
        self.per_minute, self.block_seconds, self.window_seconds = per_minute, block_seconds, window_seconds
        self._sent: dict[str, list[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if self._blocked_until.get(key, 0.0) > now:
            return False
        recent = [t for t in self._sent.get(key, []) if now - t < self.window_seconds]
        if len(recent) >= self.per_minute:
            self._blocked_until[key] = now + self.block_seconds
            return False
        self._sent[key] = [*recent, now]
        return True


class FakeDingTalk:
    """DingTalk gateway + Stream WebSocket + webhooks + OpenAPI; ``async with FakeDingTalk() as dt``.

    Records (thread-safe snapshots, in arrival order): ``connection_opens``, ``frames`` (pushed),
    ``acks`` (received), ``webhook_posts``, ``openapi_calls``; ``cards`` holds each AI card's params.
    ``redeliver_after`` re-pushes a CALLBACK (same msgId, new messageId) that got no ACK in time.
    """

    def __init__(
        self,
        *,
        client_id: str = "dingfakeclientid",
        client_secret: str = "fake-client-secret",
        corp_id: str = "dingfakecorp",
        chatbot_user_id: str = "$:LWCP_v1:$fakebot",
        rate_limit_per_minute: int = 20,
        throttle_seconds: float = 600.0,
        session_ttl_seconds: float = 5400.0,
        redeliver_after: float | None = None,
        rate_window_seconds: float = 60.0,
        card_qps: int | None = None,
    ) -> None:
        self.client_id, self.client_secret, self.robot_code = client_id, client_secret, client_id
        self.corp_id, self.chatbot_user_id = corp_id, chatbot_user_id
        self.session_ttl_seconds, self.redeliver_after = session_ttl_seconds, redeliver_after
        # rate_window_seconds shortens DingTalk's one-minute window so rate-limit tests run in seconds
        self._limiter = _RateLimiter(rate_limit_per_minute, throttle_seconds, rate_window_seconds)
        self._lock = threading.Lock()
        self._records: dict[str, list[Any]] = {
            k: [] for k in ("opens", "frames", "acks", "webhook", "openapi", "callbacks")
        }
        self._tickets: dict[str, float] = {}
        self._sessions: dict[str, tuple[str, float]] = {}
        self._tokens: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_callback_ms = 0  # the newest callback timestamp signed (kept unique)
        self.cards: dict[str, JsonDict] = {}
        self.card_qps = card_qps
        self.card_call_times: list[float] = []  # accepted card calls (the QPS limit counts these)
        self.card_refusals = 0
        self._webhook_holds: list[tuple[Callable[[JsonDict], bool], threading.Event, threading.Event]] = []
        self._releases: list[threading.Event] = []
        self._refused: dict[str, _ApiError] = {}
        self.connection_count = 0
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._runner: web.AppRunner | None = None

    # -- lifecycle (server thread) -----------------------------------------------------------------

    async def __aenter__(self) -> FakeDingTalk:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(self._loop,), name="fake-dingtalk", daemon=True)
        self._thread.start()
        port = await asyncio.wrap_future(self._ready)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for release in self._releases:
            release.set()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            self._ready.set_result(loop.run_until_complete(self._start()))
            loop.run_forever()
            loop.run_until_complete(self._stop())
        except BaseException as exc:  # report start-up failures to __aenter__ instead of hanging
            if not self._ready.done():
                self._ready.set_exception(exc)
        finally:
            loop.close()

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/robot/sendBySession", self._webhook)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_route("*", "/v1.0/{api:(?:robot|card)/.*}", self._openapi)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the fake's loop and await its result from the caller's loop."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeDingTalk is not running: use it with `async with`")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def _record(self, kind: str, item: Any) -> None:
        with self._lock:
            self._records[kind].append(item)

    def _snapshot(self, kind: str) -> list[Any]:
        with self._lock:
            return list(self._records[kind])

    # -- records -----------------------------------------------------------------------------------

    @property
    def openapi_endpoint(self) -> str:
        """The value the SDK's ``DINGTALK_OPENAPI_ENDPOINT`` must have (no trailing slash)."""
        return self.base_url

    @property
    def connected(self) -> bool:
        """Whether a Stream client is connected."""
        return bool(self._sockets)

    @property
    def connection_opens(self) -> list[ConnectionOpen]:
        """Every ``connections/open`` request, accepted or not."""
        return self._snapshot("opens")

    @property
    def frames(self) -> list[StreamFrame]:
        """Every frame pushed to clients, in order."""
        return self._snapshot("frames")

    @property
    def acks(self) -> list[StreamAck]:
        """Every ACK frame received, in order."""
        return self._snapshot("acks")

    @property
    def webhook_posts(self) -> list[WebhookPost]:
        """Every session webhook POST, in order."""
        return self._snapshot("webhook")

    @property
    def openapi_calls(self) -> list[OpenApiCall]:
        """Every OpenAPI request (token, robot sends and cards), in order."""
        return self._snapshot("openapi")

    @property
    def callbacks(self) -> list[CallbackDelivery]:
        """Every HTTP callback POSTed to the app, in order."""
        return self._snapshot("callbacks")

    def sends_to(self, conversation: str) -> list[OpenApiCall]:
        """Robot OpenAPI sends addressed to ``conversation`` (openConversationId or a userId)."""
        return [
            c
            for c in self.openapi_calls
            if c.body.get("openConversationId") == conversation or conversation in c.body.get("userIds", [])
        ]

    def ack_for(self, frame: StreamFrame) -> StreamAck | None:
        """The first ACK whose ``headers.messageId`` matches ``frame``."""
        return next((a for a in self.acks if a.message_id == frame.message_id), None)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a per-call deadline is the API
        """Poll ``predicate`` until true; raises ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_connected(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - see wait_for
        """Wait until ``count`` WebSocket connections have been accepted in total."""
        await self.wait_for(lambda: self.connection_count >= count and self.connected, timeout)

    async def wait_for_ack(self, frame: StreamFrame, timeout: float = 5.0) -> StreamAck:  # noqa: ASYNC109 - see wait_for
        """Wait for the ACK of ``frame``; raises ``TimeoutError``."""
        await self.wait_for(lambda: self.ack_for(frame) is not None, timeout)
        ack = self.ack_for(frame)
        assert ack is not None
        return ack

    # -- SDK wiring --------------------------------------------------------------------------------

    def sdk_patches(self) -> list[tuple[object, str, object]]:
        """``(target, attribute, value)`` triples pointing an imported dingtalk-stream 0.24.3 here.

        Also replaces ``get_host_ip`` (a UDP connect to 8.8.8.8) with a constant.
        """
        from dingtalk_stream import card_replier, chatbot, stream, utils

        client = stream.DingTalkStreamClient
        endpoint = self.openapi_endpoint
        return [
            *((module, "DINGTALK_OPENAPI_ENDPOINT", endpoint) for module in (utils, stream, chatbot, card_replier)),
            (client, "OPEN_CONNECTION_API", f"{endpoint}/v1.0/gateway/connections/open"),
            (client, "get_host_ip", lambda self: "127.0.0.1"),
        ]

    # -- payload builders --------------------------------------------------------------------------

    def chatbot_message(
        self,
        text: str,
        *,
        conversation_type: str = "2",
        conversation_id: str = "cidFakeGroup0001==",
        sender_staff_id: str = "staff001",
        sender_nick: str = "Traveller",
        at_staff_ids: tuple[str, ...] = (),
        msg_id: str | None = None,
    ) -> JsonDict:
        """A text ChatbotMessage (``"1"`` = 1:1, ``"2"`` = group, which @-mentions the robot)."""
        now_ms = int(time.time() * 1000)
        data: JsonDict = {
            "conversationId": conversation_id, "conversationType": conversation_type,
            "msgId": msg_id or f"msg{uuid.uuid4().hex[:20]}", "msgtype": "text", "text": {"content": text},
            "senderId": f"$:LWCP_v1:${sender_staff_id}", "senderStaffId": sender_staff_id,
            "senderNick": sender_nick, "senderCorpId": self.corp_id, "isAdmin": False,
            "chatbotCorpId": self.corp_id, "chatbotUserId": self.chatbot_user_id, "robotCode": self.robot_code,
            "createAt": now_ms, "sessionWebhook": self._new_session(conversation_id),
            "sessionWebhookExpiredTime": now_ms + int(self.session_ttl_seconds * 1000),
        }  # fmt: skip
        if conversation_type == "2":
            at_users = [{"dingtalkId": self.chatbot_user_id}]
            at_users += [{"dingtalkId": f"$:LWCP_v1:${s}", "staffId": s} for s in at_staff_ids]
            data |= {"conversationTitle": "Fake tour group", "isInAtList": True, "atUsers": at_users}
        return data

    def _new_session(self, conversation_id: str) -> str:
        session = uuid.uuid4().hex
        self._sessions[session] = (conversation_id, time.monotonic() + self.session_ttl_seconds)
        return f"{self.base_url}/robot/sendBySession?session={session}"

    def expire_sessions(self) -> None:
        """Make every session webhook issued so far answer as expired (errcode 300001)."""
        self._sessions = {s: (conv, 0.0) for s, (conv, _) in self._sessions.items()}

    def refuse(self, path: str, *, status: int = 403,
               code: str = "Forbidden.AccessDenied.AccessTokenPermissionDenied",
               message: str = "没有调用该接口的权限") -> None:
        """Answer every later OpenAPI call to ``path`` with this error (e.g. a missing card permission)."""
        self._refused[path] = _ApiError(status, code, message)

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token issued so far (next OpenAPI call gets HTTP 401)."""
        self._tokens.clear()

    # -- HTTP callback mode ------------------------------------------------------------------------

    def callback_headers(self, *, age_s: float = 0.0, bad_sign: bool = False) -> dict[str, str]:
        """The headers DingTalk signs a callback with; ``age_s`` backdates ``timestamp`` (negative: ahead)."""
        stamp = int((time.time() - age_s) * 1000)
        if age_s == 0:  # DingTalk signs each push afresh: never one timestamp twice (the bot refuses a replay)
            stamp = self._last_callback_ms = max(stamp, self._last_callback_ms + 1)
        timestamp = str(stamp)
        key = (self.client_secret + "x" if bad_sign else self.client_secret).encode()
        digest = hmac.new(key, f"{timestamp}\n{self.client_secret}".encode(), hashlib.sha256).digest()
        return {"Content-Type": "application/json; charset=utf-8", "timestamp": timestamp,
                "sign": base64.b64encode(digest).decode()}

    async def post_callback(self, url: str, data: JsonDict, *, age_s: float = 0.0, bad_sign: bool = False,
                            timeout: float = 5.0) -> CallbackDelivery:  # noqa: ASYNC109 - see wait_for
        """POST ``data`` (a ChatbotMessage) to the app's callback ``url``, signed; records the answer."""
        started = time.monotonic()
        headers = self.callback_headers(age_s=age_s, bad_sign=bad_sign)
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.post(url, data=json.dumps(data).encode(), headers=headers) as response,
        ):
            body = await response.text()
        delivery = CallbackDelivery(str(data.get("msgId", "")), response.status, body, time.monotonic() - started)
        self._record("callbacks", delivery)
        return delivery

    # -- Stream ------------------------------------------------------------------------------------

    async def push_chatbot_message(self, text: str, **kwargs: Any) -> StreamFrame:
        """Push a CALLBACK chatbot frame (keyword arguments as for ``chatbot_message``)."""
        return await self.push_callback(self.chatbot_message(text, **kwargs))

    async def push_callback(self, data: JsonDict, topic: str = CHATBOT_TOPIC) -> StreamFrame:
        """Push a CALLBACK frame carrying ``data`` on ``topic`` with a fresh frame messageId."""
        return await self._push(StreamFrame("CALLBACK", _message_id(), topic, data))

    async def repush(self, frame: StreamFrame, *, same_message_id: bool = False) -> StreamFrame:
        """Push ``frame``'s data (same ``msgId``) again, as DingTalk does after a late ACK."""
        message_id = frame.message_id if same_message_id else _message_id()
        return await self._push(StreamFrame(frame.type, message_id, frame.topic, frame.data))

    async def send_ping(self, opaque: str | None = None) -> StreamFrame:
        """Push a SYSTEM ``ping``; the SDK's ACK echoes ``{"opaque": ...}``."""
        return await self._push(StreamFrame("SYSTEM", _message_id(), "ping", {"opaque": opaque or _message_id()}))

    async def send_disconnect(self, close_after: float = 10.0) -> StreamFrame:
        """Push a SYSTEM ``disconnect``; the server side closes ``close_after`` seconds later."""
        frame = StreamFrame("SYSTEM", _message_id(), "disconnect", {"reason": "connection is expired"})
        return await self._push(frame, close_after=close_after)

    async def close_connections(self, code: int = 1011) -> None:
        """Close every Stream connection abruptly (the SDK then reconnects after 10 s)."""
        await self._call(self._close_all(code))

    async def _close_all(self, code: int) -> None:
        for ws in list(self._sockets):
            await ws.close(code=code)

    async def _push(self, frame: StreamFrame, close_after: float | None = None) -> StreamFrame:
        await self.wait_connected()
        self._record("frames", frame)
        await self._call(self._send(frame, close_after))
        return frame

    async def _send(self, frame: StreamFrame, close_after: float | None = None) -> None:
        ws = self._sockets[-1]
        await ws.send_json(frame.to_wire())
        if close_after is not None:
            self._spawn(_close_later(ws, close_after))
        if self.redeliver_after is not None and frame.type == "CALLBACK":
            self._spawn(self._redeliver_unacked(frame, self.redeliver_after))

    async def _redeliver_unacked(self, frame: StreamFrame, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.ack_for(frame) is None and self._sockets:
            repushed = StreamFrame(frame.type, _message_id(), frame.topic, frame.data)
            self._record("frames", repushed)
            await self._send(repushed)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open_connection(self, request: web.Request) -> web.Response:
        body = await request.json()
        ok = (body.get("clientId"), body.get("clientSecret")) == (self.client_id, self.client_secret)
        self._record(
            "opens", ConnectionOpen(body.get("clientId", ""), body.get("subscriptions", []), 200 if ok else 401)
        )
        if not ok:
            return _error(401, "InvalidAuthentication", "clientId or clientSecret is invalid")
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = time.monotonic() + 90.0
        endpoint = self.base_url.replace("http://", "ws://", 1) + "/connect"
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        expires = self._tickets.pop(request.query.get("ticket", ""), 0.0)
        if expires < time.monotonic():
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connection_count += 1
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._record("acks", _parse_ack(msg.data))
        finally:
            self._sockets.remove(ws)
        return ws

    # -- session webhook ---------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        session = request.query.get("session", "")
        body = await request.json()
        conversation, expires = self._sessions.get(session, ("", 0.0))
        errcode, errmsg = 0, "ok"
        if expires < time.monotonic():
            errcode, errmsg = SESSION_EXPIRED_ERRCODE, "session 不存在"
        elif not isinstance(body.get(body.get("msgtype", "")), dict):
            errcode, errmsg = 40035, "缺少参数 json"
        elif not self._limiter.allow(conversation):
            errcode, errmsg = THROTTLED_ERRCODE, THROTTLED_MESSAGE
        self._record("webhook", WebhookPost(session, conversation, body, errcode))
        held = next((h for h in self._webhook_holds if h[0](body)), None)
        if held is not None:  # DingTalk shows the message; the answer to the app is held open
            self._webhook_holds.remove(held)
            held[1].set()
            await asyncio.to_thread(held[2].wait)  # a threading.Event: the test sets it from its own loop
        return web.json_response({"errcode": errcode, "errmsg": errmsg})

    def hold_webhook(self, when: Callable[[JsonDict], bool]) -> tuple[threading.Event, threading.Event]:
        """Hold the answer to the next session-webhook post matching ``when`` (after recording it).

        Returns (reached, release): set ``release`` to let the response go (to a caller perhaps long dead).
        """
        reached, release = threading.Event(), threading.Event()
        with self._lock:
            self._webhook_holds.append((when, reached, release))
            self._releases.append(release)
        return reached, release

    # -- OpenAPI -----------------------------------------------------------------------------------

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (self.client_id, self.client_secret):
            response = _error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        else:
            token = uuid.uuid4().hex
            self._tokens.add(token)
            response = web.json_response({"accessToken": token, "expireIn": 7200})
        self._record_call(request, None, body, response)
        return response

    async def _openapi(self, request: web.Request) -> web.Response:
        token = request.headers.get("x-acs-dingtalk-access-token")
        body = await request.json() if request.can_read_body else {}
        route = (request.method, request.path)
        handler = self._routes().get(route)
        try:
            if handler is None:
                raise _ApiError(404, "NotFound", f"no such API: {request.method} {request.path}")
            if token not in self._tokens:
                raise _ApiError(401, "InvalidAuthentication", "不合法的access_token")
            if request.path in self._refused:
                raise self._refused[request.path]
            if request.path.startswith("/v1.0/card/"):
                self._count_card_call()
            response = web.json_response(handler(body))
        except _ApiError as exc:
            response = _error(exc.status, exc.code, exc.message)
        self._record_call(request, token, body, response)
        return response

    def _record_call(self, request: web.Request, token: str | None, body: JsonDict, response: web.Response) -> None:
        answer = json.loads(response.text or "{}")
        self._record("openapi", OpenApiCall(request.method, request.path, token, body, response.status, answer))

    def _routes(self) -> dict[tuple[str, str], Callable[[JsonDict], JsonDict]]:
        return {
            ("POST", "/v1.0/robot/groupMessages/send"): self._group_send,
            ("POST", "/v1.0/robot/oToMessages/batchSend"): self._batch_send,
            ("POST", "/v1.0/card/instances"): self._card_create,
            ("PUT", "/v1.0/card/instances"): self._card_update,
            ("POST", "/v1.0/card/instances/deliver"): self._card_deliver,
            ("POST", "/v1.0/card/instances/createAndDeliver"): self._card_create_and_deliver,
            ("PUT", "/v1.0/card/streaming"): self._card_streaming,
        }

    def _check_robot_message(self, body: JsonDict) -> None:
        if body.get("robotCode") != self.robot_code:
            raise _ApiError(400, "invalidParameter.robotCode.notExsit", "机器人不存在")
        if body.get("msgKey") not in MSG_KEYS:
            raise _ApiError(400, "invalidParameter.msgKey.invalid", "The msgKey is invalid.")
        param = body.get("msgParam")
        if not isinstance(param, str) or len(param.encode()) > 15_000 or not _is_json_object(param):
            raise _ApiError(400, "invalidParameter.msgParam.invalid", "The msgParam must be in JSON format.")

    def _group_send(self, body: JsonDict) -> JsonDict:
        self._check_robot_message(body)
        conversation = body.get("openConversationId")
        if not conversation:
            raise _ApiError(400, "invalid.openConversationId", "无效的openConversationId")
        if not self._limiter.allow(conversation):
            raise _ApiError(403, THROTTLED_CODE, THROTTLED_MESSAGE)
        return {"processQueryKey": uuid.uuid4().hex}

    def _batch_send(self, body: JsonDict) -> JsonDict:
        self._check_robot_message(body)
        user_ids = body.get("userIds") or []
        if not user_ids:
            raise _ApiError(400, "invalidParameter.userIds.empty", "The user userId list is empty.")
        if len(user_ids) > 20:
            raise _ApiError(400, "invalidParameter.userIds.overMax", "The user userId list exceeds the maximum.")
        throttled = [u for u in user_ids if not self._limiter.allow(f"user:{u}")]
        return {"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": [], "flowControlledStaffIdList": throttled}

    def _card_create(self, body: JsonDict) -> JsonDict:
        out_track_id = body.get("outTrackId") or uuid.uuid4().hex
        self.cards[out_track_id] = dict(body.get("cardData", {}).get("cardParamMap", {}))
        return {"success": True, "result": out_track_id}

    def _card_update(self, body: JsonDict) -> JsonDict:
        card = self._card(body.get("outTrackId", ""))
        card.update(body.get("cardData", {}).get("cardParamMap", {}))
        return {"success": True, "result": True}

    def _card_deliver(self, body: JsonDict) -> JsonDict:
        self._card(body.get("outTrackId", ""))
        spaces = str(body.get("openSpaceId", "")).split(";")
        return {"success": True, "result": [{"spaceId": s, "success": True} for s in spaces]}

    def _card_create_and_deliver(self, body: JsonDict) -> JsonDict:
        out_track_id = self._card_create(body)["result"]
        return {
            "success": True,
            "result": {"outTrackId": out_track_id, **self._card_deliver(body | {"outTrackId": out_track_id})},
        }

    def _card_streaming(self, body: JsonDict) -> JsonDict:
        card, key = self._card(body.get("outTrackId", "")), body.get("key", "")
        content = str(body.get("content", ""))
        card[key] = content if body.get("isFull", True) else str(card.get(key, "")) + content
        return {"success": True, "result": True}

    def _count_card_call(self) -> None:
        """The app's card QPS: at most ``card_qps`` calls in any one second, else 403 (nothing done)."""
        now = time.monotonic()
        if self.card_qps is not None and sum(1 for t in self.card_call_times if now - t < 1.0) >= self.card_qps:
            self.card_refusals += 1
            raise _ApiError(403, CARD_QPS_CODE, CARD_QPS_MESSAGE)
        self.card_call_times.append(now)

    def max_card_calls_per_second(self) -> int:
        """The most card calls accepted within any one second."""
        times = sorted(self.card_call_times)
        return max((sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)), default=0)

    def _card(self, out_track_id: str) -> JsonDict:
        if out_track_id not in self.cards:
            raise _ApiError(400, "param.outTrackIdNotExist", "outTrackId not exist")
        return self.cards[out_track_id]


async def stop_stream_client(task: asyncio.Task[Any], timeout: float = 5.0) -> None:  # noqa: ASYNC109 - see FakeDingTalk.wait_for
    """Stop a task running ``DingTalkStreamClient.start()`` (0.24.3), plus its ``keepalive`` task.

    ``start()`` swallows the first ``CancelledError`` and sleeps 10 s, so cancel until the task is done.
    """
    deadline = time.monotonic() + timeout
    while not task.done():
        if time.monotonic() >= deadline:
            raise TimeoutError("the DingTalk stream client did not stop")
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    for other in asyncio.all_tasks():
        if other.get_coro().__qualname__ == "DingTalkStreamClient.keepalive":  # type: ignore[union-attr]
            other.cancel()


async def _close_later(ws: web.WebSocketResponse, delay: float) -> None:
    await asyncio.sleep(delay)
    await ws.close()


def _message_id() -> str:
    return f"{uuid.uuid4().hex[:8]}_{int(time.time() * 1000):x}_{uuid.uuid4().hex[:6]}"


def _parse_ack(raw: str) -> StreamAck:
    frame = json.loads(raw)
    data: Any = frame.get("data")
    with contextlib.suppress(TypeError, ValueError):
        data = json.loads(data)
    message_id = frame.get("headers", {}).get("messageId", "")
    return StreamAck(message_id, int(frame.get("code", 0)), str(frame.get("message", "")), data)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"requestid": uuid.uuid4().hex, "code": code, "message": message}, status=status)
