"""A local Slack stand-in speaking the real wire protocols on 127.0.0.1 (port 0).

``FakeSlack`` serves, in the caller's event loop (slack-sdk's async clients never block it):

* the Web API at ``api_url`` (``http://127.0.0.1:PORT/api/``): form or JSON bodies, ``Bearer`` tokens
  (``xoxb-`` for the Web API, ``xapp-`` for ``apps.connections.open``), ``{"ok": false, "error"}`` on
  errors and 429 + ``Retry-After`` when ``post_interval`` is exceeded per channel;
* Socket Mode at ``/link/?ticket=``: ``hello`` on connect, envelopes pushed by the test, acks recorded
  (with ``redeliver_after=s``, an events_api envelope not acked within ``s`` is re-sent, up to 3 retries);
* ``response_url`` sinks at ``/commands/{team}/{id}/{token}`` (5 uses, 30 minutes);
* ``http``, a driver that signs Events API and slash-command requests for an app's ``/slack/events``;
* OAuth v2 for several workspaces (``add_workspace``): the browser page ``/oauth/v2/authorize`` (approves at
  once and redirects to the app with ``code`` and ``state``) and ``oauth.v2.access`` (client ID and secret by
  HTTP Basic auth or form, single-use codes for 10 minutes) answering that workspace's bot token;
  ``auth.test`` and posted messages follow the token's workspace, and ``PostedMessage.token`` records it;
* AI apps: ``assistant_thread_started`` events (:meth:`FakeSlack.assistant_thread_started`), the
  ``assistant.threads.setStatus`` / ``setTitle`` / ``setSuggestedPrompts`` methods (checked and recorded in
  ``calls``), and chat streaming (``chat.startStream`` / ``appendStream`` / ``stopStream``): a stream idle for
  longer than ``stream_idle_timeout_s`` leaves the streaming state and answers ``message_not_in_streaming_state``
  from then on, like Slack; ``streaming="unknown_method"`` (or ``"not_allowed_token_type"``) is a workspace
  or token without streaming. ``messages`` is every message as the channel history shows it (a stopped
  stream carries the blocks and metadata ``chat.stopStream`` gave it).

Pointing the real SDKs at it::

    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)  # trailing "/" matters
    app = AsyncApp(client=client, signing_secret=slack.signing_secret)
    handler = AsyncSocketModeHandler(app, slack.app_token)  # reuses app.client for apps.connections.open
    await handler.connect_async()   # not start_async(): that one sleeps forever
    ...
    await handler.close_async()     # closes the socket, its aiohttp session and its tasks

Quirk: events_api envelopes carry ``retry_attempt: 0`` on the first delivery, like real Slack, so Bolt
sets ``x-slack-retry-num: "0"``: a "drop retries" middleware must test ``> 0``, not presence.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

JsonDict = dict[str, Any]
_JSON_PARAMS = ("blocks", "attachments", "metadata", "loading_messages", "chunks", "prompts")
CHUNK_TYPES = ("markdown_text", "task_update", "plan_update")
TASK_STATUSES = ("pending", "in_progress", "complete", "error")
MAX_SUGGESTED_PROMPTS = 4
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
OAUTH_CODE_TTL_SECONDS = 10 * 60


class SlackApiError(Exception):
    """Raised inside a Web API method to answer ``{"ok": false, "error": <code>}``."""


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as received, with the answer the fake gave."""

    method: str
    token: str | None
    params: JsonDict
    response: JsonDict
    at: float = field(default_factory=time.monotonic)


@dataclass
class Hold:
    """A Web API call held open after the fake acted on it (see :meth:`FakeSlack.hold`)."""

    method: str
    when: Callable[[JsonDict], bool]
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let the held response go (to a caller that may be long dead)."""
        self.released.set()


@dataclass(frozen=True)
class PostedMessage:
    """A message the app posted or updated through the Web API."""

    channel: str
    ts: str
    text: str
    thread_ts: str | None
    blocks: list[JsonDict] | None
    params: JsonDict
    at: float = field(default_factory=time.monotonic)
    token: str | None = None  # the bot token the app used: which workspace's installation spoke


@dataclass(frozen=True)
class Workspace:
    """A Slack workspace the app can be installed into, with the bot identity an install gives it."""

    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    installer: str = "U0INSTALLER"


@dataclass(frozen=True)
class OAuthCode:
    """A code the authorize page handed to the app's redirect URL."""

    code: str
    team_id: str
    scope: str
    redirect_uri: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Envelope:
    """A Socket Mode envelope the fake pushed to the app."""

    envelope_id: str
    type: str
    payload: JsonDict
    retry_attempt: int = 0
    retry_reason: str = ""
    accepts_response_payload: bool = False
    at: float = field(default_factory=time.monotonic)

    def to_wire(self) -> JsonDict:
        """The JSON frame as Slack sends it (retry fields on events_api only)."""
        frame: JsonDict = {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
        }
        if self.type == "events_api":
            frame |= {"retry_attempt": self.retry_attempt, "retry_reason": self.retry_reason}
        return frame


@dataclass(frozen=True)
class SocketAck:
    """An ack the app sent back over Socket Mode; ``payload`` only if ``ack(...)`` carried one."""

    envelope_id: str
    payload: JsonDict | None
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class ResponseUrlPost:
    """One POST to a ``response_url``, with the HTTP status the fake answered."""

    url: str
    body: JsonDict
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP-mode request body with the headers Slack would send."""

    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class HttpDelivery:
    """The app's answer to a delivered HTTP-mode request."""

    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        """The answer body parsed as JSON."""
        return json.loads(self.body)


class SlackHttpDriver:
    """Builds and posts signed HTTP-mode requests (v0 HMAC-SHA256 over ``v0:{ts}:{body}``)."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret.encode()

    def sign(
        self,
        body: str,
        content_type: str,
        *,
        age: float = 0.0,
        bad_signature: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> SignedRequest:
        """Sign ``body``; ``age`` backdates the timestamp (Bolt rejects > 300 s)."""
        timestamp = str(int(time.time() - age))
        digest = hmac.new(self._secret, f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
        if bad_signature:
            digest = digest[::-1]
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest}",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return SignedRequest(body=body, headers=headers)

    async def post(self, url: str, request: SignedRequest, timeout: float = 5.0) -> HttpDelivery:  # noqa: ASYNC109 - a per-call deadline is the API
        """POST ``request`` to the app's URL and return its status, body and response time."""
        started = time.monotonic()
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(url, data=request.body.encode(), headers=request.headers) as response,
        ):
            text = await response.text()
        return HttpDelivery(status=response.status, body=text, elapsed=time.monotonic() - started)


class FakeSlack:
    """Slack Web API + Socket Mode + response_url stand-in; use as ``async with FakeSlack() as slack``.

    Records, in arrival order: ``calls`` (each Web API request with the answer given), ``posted_messages``
    and ``updated_messages`` (chat.postMessage / chat.update), ``envelopes`` (pushed), ``acks`` (received),
    ``response_url_posts``; ``connection_count`` counts accepted Socket Mode connections.
    ``post_interval`` turns on the per-channel post limit (429); ``redeliver_after`` the ack-timeout retries.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-fake-app-token",
        signing_secret: str = "fake-signing-secret",
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0FAKE",
        post_interval: float | None = None,
        redeliver_after: float | None = None,
        client_id: str = "1111.2222",
        client_secret: str = "fake-client-secret",
        team_name: str = "Fake Team",
        stream_idle_timeout_s: float = 300.0,
        streaming: str = "on",
    ) -> None:
        self.bot_token, self.app_token, self.signing_secret = bot_token, app_token, signing_secret
        self.team_id, self.bot_user_id, self.bot_id, self.app_id = team_id, bot_user_id, bot_id, app_id
        self.client_id, self.client_secret = client_id, client_secret
        self.workspaces: dict[str, Workspace] = {team_id: Workspace(team_id, team_name, bot_token, bot_user_id, bot_id)}
        self.oauth_redirect_uri = ""  # the app's configured Redirect URL (used when authorize has none)
        self.oauth_codes: list[OAuthCode] = []
        self._used_codes: set[str] = set()
        self._token_in_use: str | None = None
        self.post_interval, self.redeliver_after = post_interval, redeliver_after
        # chat streaming: "on", or the error a workspace without it answers ("unknown_method", ...)
        self.streaming, self.stream_idle_timeout_s = streaming, stream_idle_timeout_s
        self._streams: dict[tuple[str, str], float] = {}  # (channel, ts) of open streams -> last activity
        self.expired_streams: list[tuple[str, str]] = []  # streams Slack ended for inactivity
        self._redeliveries: set[asyncio.Task[None]] = set()
        self.http = SlackHttpDriver(signing_secret)
        self.calls: list[ApiCall] = []
        self.posted_messages: list[PostedMessage] = []
        self.updated_messages: list[PostedMessage] = []
        self.envelopes: list[Envelope] = []
        self.acks: list[SocketAck] = []
        self.response_url_posts: list[ResponseUrlPost] = []
        self._messages: dict[tuple[str, str], JsonDict] = {}
        self._last_post: dict[str, float] = {}
        self._injected: dict[str, list[tuple[int, JsonDict, dict[str, str]]]] = {}
        self._passes: dict[str, int] = {}  # calls to let through before the next injected error
        self._response_urls: dict[str, float] = {}
        self._holds: list[Hold] = []
        self._holds_seen: list[Hold] = []
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self.connection_count = 0
        self._ts_seq = itertools.count(1)
        self._ts_base = int(time.time())
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self._link)
        app.router.add_post("/commands/{team}/{id}/{token}", self._response_url)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._redeliveries):
            task.cancel()
        for held in self._holds_seen:
            held.release()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``; ends with ``/``."""
        return f"{self.base_url}/api/"

    @property
    def connected(self) -> bool:
        """Whether a Socket Mode client is connected."""
        return bool(self._sockets)

    # -- waiting and lookups -----------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a per-call deadline is the API
        """Poll ``predicate`` until true; raises ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a per-call deadline is the API
        """Wait until a Socket Mode client has connected (and received ``hello``)."""
        await self.wait_for(lambda: self.connected, timeout)

    async def wait_for_ack(self, envelope: Envelope, timeout: float = 3.0) -> SocketAck:  # noqa: ASYNC109 - a per-call deadline is the API
        """Wait for the ack of ``envelope`` (Slack's window is 3 s); raises ``TimeoutError``."""
        await self.wait_for(lambda: self.ack_for(envelope) is not None, timeout)
        ack = self.ack_for(envelope)
        assert ack is not None
        return ack

    def ack_for(self, envelope: Envelope) -> SocketAck | None:
        """The first ack received for ``envelope``, if any."""
        return next((a for a in self.acks if a.envelope_id == envelope.envelope_id), None)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every recorded call to the Web API ``method`` (e.g. ``"chat.postMessage"``)."""
        return [c for c in self.calls if c.method == method]

    def inject_error(
        self, method: str, error: str = "ratelimited", *, status: int = 200, retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """Make the next call to ``method`` fail with ``error`` (status 429 adds ``Retry-After``).

        ``after`` lets that many calls to ``method`` succeed first (``after=1``: the second call fails).
        """
        headers = {"Retry-After": str(retry_after or 1)} if status == 429 else {}
        self._passes[method] = after
        self._injected.setdefault(method, []).append((status, {"ok": False, "error": error}, headers))

    def hold(self, method: str, when: Callable[[JsonDict], bool] = lambda _params: True) -> Hold:
        """Hold the response of the next call to ``method`` whose params match ``when``, after acting on it.

        Slack has done the work (a posted message is recorded and visible in the thread) but the app
        gets no answer until ``release()``: the window in which a crash test kills the app.
        """
        held = Hold(method, when)
        self._holds.append(held)
        self._holds_seen.append(held)
        return held

    def new_ts(self) -> str:
        """A unique, increasing message ts such as ``1732350000.000100``."""
        n = next(self._ts_seq)
        return f"{self._ts_base + n // 10_000}.{(n % 10_000) * 100:06d}"

    def new_response_url(self) -> str:
        """Register a fresh ``response_url`` pointing at this fake."""
        path = f"/commands/{self.team_id}/{uuid.uuid4().int % 10**12}/{uuid.uuid4().hex}"
        self._response_urls[path] = time.monotonic()
        return self.base_url + path

    # -- payload builders --------------------------------------------------------------------------

    def app_mention(
        self, text: str, *, channel: str = "C0CHANNEL", user: str = "U0USER", thread_ts: str | None = None,
        team: str | None = None,
    ) -> JsonDict:
        """An ``app_mention`` event (in workspace ``team``) whose text starts with ``<@bot_user_id>``."""
        bot_user = self.workspaces[team or self.team_id].bot_user_id
        event = self._message_like("app_mention", f"<@{bot_user}> {text}", channel, user, team)
        return event | ({"thread_ts": thread_ts} if thread_ts else {})

    def im_message(
        self, text: str, *, channel: str = "D0DM", user: str = "U0USER", team: str | None = None
    ) -> JsonDict:
        """A ``message`` event in a DM (``channel_type: im``), as ``message.im`` delivers it."""
        return self._message_like("message", text, channel, user, team) | {"channel_type": "im"}

    def assistant_message(
        self, text: str, thread_ts: str, *, channel: str = "D0DM", user: str = "U0USER", team: str | None = None
    ) -> JsonDict:
        """A user's ``message.im`` event inside an assistant thread (the app's split view)."""
        return self.im_message(text, channel=channel, user=user, team=team) | {"thread_ts": thread_ts}

    def assistant_thread_started(
        self, *, channel: str = "D0DM", user: str = "U0USER", context_channel: str = "C0CHANNEL",
        team: str | None = None,
    ) -> JsonDict:
        """The ``assistant_thread_started`` event of a user opening the app's split view (a new thread)."""
        ts = self.new_ts()
        team_id = team or self.team_id
        return {
            "type": "assistant_thread_started", "event_ts": ts, "team": team_id,
            "assistant_thread": {
                "user_id": user, "channel_id": channel, "thread_ts": ts,
                "context": {"channel_id": context_channel, "team_id": team_id, "enterprise_id": None},
            },
        }  # fmt: skip

    def block_action(self, message: JsonDict, action_id: str, value: str, *, user: str = "U0USER",
                     channel: str = "D0DM") -> JsonDict:
        """The ``block_actions`` payload of a user clicking an element (``action_id``, ``value``) of ``message``."""
        return {
            "type": "block_actions", "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user, "team_id": self.team_id}, "api_app_id": self.app_id,
            "token": "fake-verification-token", "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
            "channel": {"id": channel}, "message": message,
            "actions": [{"type": "feedback_buttons", "action_id": action_id, "block_id": "feedback",
                         "value": value, "action_ts": self.new_ts()}],
        }  # fmt: skip

    async def push_block_action(self, payload: JsonDict) -> Envelope:
        """Push an ``interactive`` envelope carrying a ``block_actions`` payload."""
        return await self.send_envelope("interactive", payload)

    def _message_like(self, type_: str, text: str, channel: str, user: str, team: str | None = None) -> JsonDict:
        ts = self.new_ts()
        return {
            "type": type_, "user": user, "text": text, "ts": ts, "channel": channel, "team": team or self.team_id,
            "client_msg_id": str(uuid.uuid4()), "event_ts": ts,
        }  # fmt: skip

    def event_callback(self, event: JsonDict, *, event_id: str | None = None) -> JsonDict:
        """The Events API ``event_callback`` body wrapping ``event``, for the workspace in ``event["team"]``."""
        workspace = self.workspaces.get(event.get("team", ""), self.workspaces[self.team_id])
        return {
            "token": "fake-verification-token", "team_id": workspace.team_id, "api_app_id": self.app_id,
            "event": event, "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()), "is_ext_shared_channel": False,
            "authorizations": [{
                "enterprise_id": None, "team_id": workspace.team_id, "user_id": workspace.bot_user_id,
                "is_bot": True, "is_enterprise_install": False,
            }],
        }  # fmt: skip

    def slash_command(
        self, command: str, text: str = "", *, channel_id: str = "C0CHANNEL", user_id: str = "U0USER"
    ) -> dict[str, str]:
        """A slash-command payload with a fresh ``response_url`` and ``trigger_id``."""
        return {
            "token": "fake-verification-token", "team_id": self.team_id, "team_domain": "fake",
            "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": "traveller",
            "command": command, "text": text, "api_app_id": self.app_id, "is_enterprise_install": "false",
            "response_url": self.new_response_url(), "trigger_id": f"{uuid.uuid4().int % 10**12}.trigger",
        }  # fmt: skip

    # -- Socket Mode -------------------------------------------------------------------------------

    async def send_envelope(
        self,
        type_: str,
        payload: JsonDict,
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool = False,
    ) -> Envelope:
        """Push an envelope to the newest connection (waits up to 5 s for one) and return it."""
        await self.wait_connected()
        envelope = Envelope(str(uuid.uuid4()), type_, payload, retry_attempt, retry_reason, accepts_response_payload)
        self.envelopes.append(envelope)
        await self._sockets[-1].send_json(envelope.to_wire())
        if self.redeliver_after is not None and type_ == "events_api" and retry_attempt < 3:
            task = asyncio.create_task(self._redeliver_unacked(envelope, self.redeliver_after))
            self._redeliveries.add(task)
            task.add_done_callback(self._redeliveries.discard)
        return envelope

    async def _redeliver_unacked(self, envelope: Envelope, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.ack_for(envelope) is None and self.connected:
            await self.redeliver(envelope, reason="timeout")

    async def push_event(self, event: JsonDict, *, event_id: str | None = None) -> Envelope:
        """Push an ``events_api`` envelope carrying ``event`` (message-like events join the history)."""
        if "ts" in event and "channel" in event:
            self._messages[(event["channel"], event["ts"])] = event
        return await self.send_envelope("events_api", self.event_callback(event, event_id=event_id))

    async def redeliver(self, envelope: Envelope, reason: str = "timeout") -> Envelope:
        """Push ``envelope``'s payload again with ``retry_attempt + 1`` and a new envelope id."""
        return await self.send_envelope(
            envelope.type, envelope.payload, retry_attempt=envelope.retry_attempt + 1, retry_reason=reason
        )

    async def push_slash_command(self, command: str, text: str = "", **kwargs: str) -> Envelope:
        """Push a ``slash_commands`` envelope (see ``slash_command`` for keyword arguments)."""
        payload = self.slash_command(command, text, **kwargs)
        return await self.send_envelope("slash_commands", payload, accepts_response_payload=True)

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send a ``disconnect`` frame; the client should reopen via ``apps.connections.open``."""
        await self.wait_connected()
        frame = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        await self._sockets[-1].send_json(frame)

    async def close_sockets(self) -> None:
        """Close every Socket Mode connection abruptly (as a network drop would)."""
        for ws in list(self._sockets):
            await ws.close(code=1011)

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connection_count += 1
        await ws.send_json({
            "type": "hello", "num_connections": len(self._sockets),
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
            "connection_info": {"app_id": self.app_id},
        })  # fmt: skip
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    self.acks.append(SocketAck(frame.get("envelope_id", ""), frame.get("payload")))
        finally:
            self._sockets.remove(ws)
        return ws

    # -- Web API -----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request) | _basic_auth(request)
        token = _bearer(request) or params.pop("token", None)
        status, body, headers = self._answer(method, token, params)
        self.calls.append(ApiCall(method, token, params, body))
        held = next((h for h in self._holds if h.method == method and h.when(params)), None)
        if held is not None:
            self._holds.remove(held)
            held.reached.set()
            await held.released.wait()
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, token: str | None, params: JsonDict) -> tuple[int, JsonDict, dict[str, str]]:
        if self._injected.get(method):
            if self._passes.get(method, 0) <= 0:
                return self._injected[method].pop(0)
            self._passes[method] -= 1
        handler = self._methods().get(method)
        try:
            if handler is None:
                raise SlackApiError("unknown_method")
            if method != "oauth.v2.access":  # authenticated by client ID and secret, not a token
                self._check_token(method, token)
            if method == "chat.postMessage" and self._too_fast(params.get("channel", "")):
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
            self._token_in_use = token  # handlers are synchronous: nothing else runs until they return
            return 200, {"ok": True, **handler(params)}, {}
        except SlackApiError as exc:
            return 200, {"ok": False, "error": str(exc)}, {}

    def _methods(self) -> dict[str, Callable[[JsonDict], JsonDict]]:
        return {
            "auth.test": self._auth_test, "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.postEphemeral": lambda p: {"message_ts": self.new_ts()},
            "conversations.replies": self._replies, "users.info": self._users_info,
            "assistant.threads.setStatus": self._set_status, "assistant.threads.setTitle": self._set_title,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "chat.startStream": self._start_stream, "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream, "oauth.v2.access": self._oauth_access,
        }  # fmt: skip

    def _check_token(self, method: str, token: str | None) -> None:
        app_level = method == "apps.connections.open"
        wanted = {self.app_token} if app_level else {w.bot_token for w in self.workspaces.values()}
        if not token:
            raise SlackApiError("not_authed")
        if token.startswith("xapp-") != app_level:
            raise SlackApiError("not_allowed_token_type")
        if token not in wanted:
            raise SlackApiError("invalid_auth")

    def _too_fast(self, channel: str) -> bool:
        now, last = time.monotonic(), self._last_post.get(channel)
        if self.post_interval is not None and last is not None and now - last < self.post_interval:
            return True
        self._last_post[channel] = now
        return False

    def _workspace(self) -> Workspace:
        """The workspace whose bot token the current call carries (the default one otherwise)."""
        found = (w for w in self.workspaces.values() if w.bot_token == self._token_in_use)
        return next(found, self.workspaces[self.team_id])

    def _auth_test(self, params: JsonDict) -> JsonDict:
        workspace = self._workspace()
        return {
            "url": "https://fake.slack.com/", "team": workspace.team_name, "user": "tourguide",
            "team_id": workspace.team_id, "user_id": workspace.bot_user_id, "bot_id": workspace.bot_id,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _connections_open(self, params: JsonDict) -> JsonDict:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/link/?{urlencode({'ticket': ticket, 'app_id': self.app_id})}"}

    def _post_message(self, params: JsonDict) -> JsonDict:
        channel = _require(params, "channel", "channel_not_found")
        _check_content(params)
        message = self._bot_message(params, self.new_ts())
        self._messages[(channel, message["ts"])] = message
        self.posted_messages.append(_posted(channel, message, params, self._token_in_use))
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _update(self, params: JsonDict) -> JsonDict:
        channel = _require(params, "channel", "channel_not_found")
        old = self._messages.get((channel, _require(params, "ts", "message_not_found")))
        if old is None:
            raise SlackApiError("message_not_found")
        if self._streaming_now(channel, old["ts"]):  # a streaming message changes only through its stream
            raise SlackApiError("cant_update_message")
        _check_content(params)
        message = old | self._bot_message(params, old["ts"]) | {"edited": {"user": self.bot_user_id}}
        self._messages[(channel, old["ts"])] = message
        self.updated_messages.append(_posted(channel, message, params, self._token_in_use))
        return {"channel": channel, "ts": old["ts"], "text": message["text"], "message": message}

    def _bot_message(self, params: JsonDict, ts: str) -> JsonDict:
        workspace = self._workspace()
        message: JsonDict = {
            "type": "message", "user": workspace.bot_user_id, "bot_id": workspace.bot_id, "team": workspace.team_id,
            "text": params.get("text") or params.get("markdown_text") or "", "ts": ts,
        }  # fmt: skip
        for key in ("thread_ts", "blocks", "attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        return message

    def _replies(self, params: JsonDict) -> JsonDict:
        channel, ts = params.get("channel", ""), params.get("ts", "")
        thread = [m for (c, t), m in self._messages.items() if c == channel and ts in (t, m.get("thread_ts"))]
        if not thread:
            raise SlackApiError("thread_not_found")
        return {"messages": sorted(thread, key=lambda m: float(m["ts"])), "has_more": False}

    def _users_info(self, params: JsonDict) -> JsonDict:
        user_id = _require(params, "user", "user_not_found")
        profile = {"display_name": f"user-{user_id}", "real_name": f"User {user_id}"}
        return {"user": {
            "id": user_id, "team_id": self.team_id, "name": profile["display_name"],
            "real_name": profile["real_name"], "tz": "Asia/Shanghai", "is_bot": False, "profile": profile,
        }}  # fmt: skip

    # -- AI apps: assistant threads and chat streaming ---------------------------------------------

    def _assistant_thread(self, params: JsonDict) -> None:
        _require(params, "channel_id", "channel_not_found")
        _require(params, "thread_ts", "invalid_thread_ts")

    def _set_status(self, params: JsonDict) -> JsonDict:
        self._assistant_thread(params)
        if "status" not in params:  # "" clears it; absent is an error
            raise SlackApiError("invalid_arguments")
        loading = params.get("loading_messages")
        if loading is not None and (not isinstance(loading, list) or len(loading) > 10):
            raise SlackApiError("invalid_arguments")
        return {}

    def _set_title(self, params: JsonDict) -> JsonDict:
        self._assistant_thread(params)
        _require(params, "title", "invalid_arguments")
        return {}

    def _set_suggested_prompts(self, params: JsonDict) -> JsonDict:
        _require(params, "channel_id", "channel_not_found")
        prompts = params.get("prompts")
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS or not all(
                isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            raise SlackApiError("invalid_arguments")
        return {}

    def _streaming_now(self, channel: str, ts: str) -> bool:
        """Whether the message is still streaming; a stream idle too long leaves that state for good."""
        last = self._streams.get((channel, ts))
        if last is None:
            return False
        if time.monotonic() - last > self.stream_idle_timeout_s:
            del self._streams[(channel, ts)]
            self.expired_streams.append((channel, ts))
            return False
        return True

    def expire_streams(self) -> None:
        """End every open stream now, as Slack does after an inactivity gap."""
        for key in list(self._streams):
            del self._streams[key]
            self.expired_streams.append(key)

    def _check_streaming(self) -> None:
        if self.streaming != "on":
            raise SlackApiError(self.streaming)

    def _start_stream(self, params: JsonDict) -> JsonDict:
        self._check_streaming()
        channel = _require(params, "channel", "channel_not_found")
        _require(params, "thread_ts", "invalid_arguments")
        if params.get("task_display_mode") not in (None, "timeline", "plan"):
            raise SlackApiError("invalid_arguments")
        text = (params.get("markdown_text") or "") + _chunk_text(params.get("chunks"))
        message = self._post_message(params | {"text": text or " "})
        self._streams[(channel, message["ts"])] = time.monotonic()
        return {"channel": channel, "ts": message["ts"]}

    def _open_stream(self, params: JsonDict) -> tuple[str, JsonDict]:
        self._check_streaming()
        channel = _require(params, "channel", "channel_not_found")
        ts = _require(params, "ts", "invalid_arguments")
        message = self._messages.get((channel, ts))
        if message is None:
            raise SlackApiError("message_not_found")
        if not self._streaming_now(channel, ts):
            raise SlackApiError("message_not_in_streaming_state")
        return channel, message

    def _append_stream(self, params: JsonDict) -> JsonDict:
        channel, message = self._open_stream(params)
        text = (params.get("markdown_text") or "") + _chunk_text(params.get("chunks"))
        if not text:
            raise SlackApiError("invalid_arguments")
        message["text"] = (message["text"].strip() + text).strip() or " "
        self._streams[(channel, message["ts"])] = time.monotonic()
        return {"channel": channel, "ts": message["ts"]}

    def _stop_stream(self, params: JsonDict) -> JsonDict:
        channel, message = self._open_stream(params)
        if params.get("blocks"):
            _check_content(params | {"text": "-"})
        text = (params.get("markdown_text") or "") + _chunk_text(params.get("chunks"))
        final = message | {"text": (message["text"].strip() + text).strip() or " "}
        for key in ("blocks", "metadata"):
            if params.get(key):
                final[key] = params[key]
        self._messages[(channel, message["ts"])] = final
        del self._streams[(channel, message["ts"])]
        return {"channel": channel, "ts": message["ts"], "message": final}

    def is_streaming(self, channel: str, ts: str) -> bool:
        """Whether ``ts`` is a message in streaming state (started, not stopped nor expired)."""
        return self._streaming_now(channel, ts)

    @property
    def messages(self) -> list[JsonDict]:
        """Every message in the fake's history (posted, updated or streamed), oldest first."""
        return sorted(self._messages.values(), key=lambda m: float(m["ts"]))

    # -- OAuth v2 ----------------------------------------------------------------------------------

    def add_workspace(self, team_id: str, team_name: str = "", *, bot_user_id: str = "",
                      bot_id: str = "") -> Workspace:
        """Another workspace the app can be installed into, with a bot token of its own."""
        workspace = Workspace(team_id, team_name or f"Team {team_id}", f"xoxb-{team_id}-{uuid.uuid4().hex[:12]}",
                              bot_user_id or f"U0BOT{team_id}", bot_id or f"B0BOT{team_id}")
        self.workspaces[team_id] = workspace
        return workspace

    async def _authorize(self, request: web.Request) -> web.Response:
        """The "Add to Slack" page: the user approves at once, the browser goes back with code and state."""
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="invalid_client_id")
        if not query.get("scope"):
            return web.Response(status=400, text="invalid_scope")
        team = query.get("team") or self.team_id
        target = query.get("redirect_uri") or self.oauth_redirect_uri
        if team not in self.workspaces or not target:
            return web.Response(status=400, text="invalid_team" if team not in self.workspaces else "no_redirect_uri")
        code = OAuthCode(f"{uuid.uuid4().hex}.{team}", team, query["scope"], query.get("redirect_uri"))
        self.oauth_codes.append(code)
        location = f"{target}?{urlencode({'code': code.code, 'state': query.get('state', '')})}"
        raise web.HTTPFound(location)

    def _oauth_access(self, params: JsonDict) -> JsonDict:
        if params.get("client_id") != self.client_id:
            raise SlackApiError("invalid_client_id")
        if params.get("client_secret") != self.client_secret:
            raise SlackApiError("bad_client_secret")
        code = next((c for c in self.oauth_codes if c.code == params.get("code")), None)
        if code is None or code.code in self._used_codes or time.monotonic() - code.at > OAUTH_CODE_TTL_SECONDS:
            raise SlackApiError("invalid_code")
        if code.redirect_uri is not None and params.get("redirect_uri") != code.redirect_uri:
            raise SlackApiError("bad_redirect_uri")
        self._used_codes.add(code.code)
        workspace = self.workspaces[code.team_id]
        return {
            "access_token": workspace.bot_token, "token_type": "bot", "scope": code.scope,
            "bot_user_id": workspace.bot_user_id, "app_id": self.app_id,
            "team": {"id": workspace.team_id, "name": workspace.team_name},
            "enterprise": None, "is_enterprise_install": False, "authed_user": {"id": workspace.installer},
        }  # fmt: skip

    # -- response_url ------------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        created = self._response_urls.get(request.path)
        uses = sum(1 for p in self.response_url_posts if p.url.endswith(request.path) and p.status == 200)
        status, text = 200, "ok"
        if created is None or time.monotonic() - created > RESPONSE_URL_TTL_SECONDS:
            status, text = 404, "expired_url"
        elif uses >= RESPONSE_URL_MAX_USES:
            status, text = 404, "used_url"
        body = await request.json()
        self.response_url_posts.append(ResponseUrlPost(self.base_url + request.path, body, status))
        return web.Response(status=status, text=text)

    # -- HTTP mode ---------------------------------------------------------------------------------

    def event_request(self, event: JsonDict, *, event_id: str | None = None, **sign: Any) -> SignedRequest:
        """A signed JSON ``event_callback`` request; ``sign`` goes to ``SlackHttpDriver.sign``."""
        body = json.dumps(self.event_callback(event, event_id=event_id))
        return self.http.sign(body, "application/json", **sign)

    def slash_command_request(self, command: str, text: str = "", **sign: Any) -> SignedRequest:
        """A signed form-encoded slash-command request; ``sign`` goes to ``SlackHttpDriver.sign``."""
        body = urlencode(self.slash_command(command, text))
        return self.http.sign(body, "application/x-www-form-urlencoded", **sign)


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    return auth.removeprefix("Bearer ").strip() or None


async def _read_params(request: web.Request) -> JsonDict:
    params: JsonDict = dict(request.query)
    if request.content_type == "application/json":
        params |= await request.json()
    elif request.can_read_body:
        params |= {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    for key in _JSON_PARAMS:
        if isinstance(params.get(key), str) and params[key][:1] in "[{":
            params[key] = json.loads(params[key])
    return params


def _require(params: JsonDict, key: str, error: str) -> str:
    value = params.get(key)
    if not value:
        raise SlackApiError(error)
    return str(value)


def _check_content(params: JsonDict) -> None:
    """Slack's message limits: some text, ≤ 50 blocks, section text ≤ 3000, text ≤ 40 000 chars."""
    text, blocks = params.get("text") or params.get("markdown_text"), params.get("blocks")
    if not text and not blocks and not params.get("attachments"):
        raise SlackApiError("no_text")
    if text and len(text) > 40_000:
        raise SlackApiError("msg_too_long")
    if blocks and (len(blocks) > 50 or any(len(_section_text(b)) > 3000 for b in blocks)):
        raise SlackApiError("invalid_blocks")


def _chunk_text(chunks: Any) -> str:
    """What streamed chunks add to a message's text; refuses chunks Slack would refuse."""
    if chunks is None:
        return ""
    if not isinstance(chunks, list):
        raise SlackApiError("invalid_arguments")
    out = []
    for chunk in chunks:
        kind = chunk.get("type") if isinstance(chunk, dict) else None
        if kind not in CHUNK_TYPES:
            raise SlackApiError("invalid_chunks")
        if kind == "task_update" and (not chunk.get("id") or not chunk.get("title")
                                      or chunk.get("status") not in TASK_STATUSES):
            raise SlackApiError("invalid_chunks")
        out.append(chunk.get("text") if kind == "markdown_text" else f"\n[{chunk.get('title', '')}]")
    return "".join(str(t) for t in out)


def _section_text(block: JsonDict) -> str:
    text = block.get("text") if block.get("type") == "section" else None
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def _posted(channel: str, message: JsonDict, params: JsonDict, token: str | None = None) -> PostedMessage:
    return PostedMessage(
        channel, message["ts"], message["text"], message.get("thread_ts"), message.get("blocks"), params, token=token
    )


def _basic_auth(request: web.Request) -> dict[str, str]:
    """``client_id`` / ``client_secret`` from HTTP Basic auth (how slack-sdk sends them to oauth.v2.access)."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return {}
    try:
        client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        return {}
    return {"client_id": client_id, "client_secret": secret}
