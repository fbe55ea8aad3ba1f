"""Robot messages to a DingTalk conversation, with our own async HTTP client (never the SDK's ``requests``).

The message's ``sessionWebhook`` is used while it is valid (markdown, @ the requester in groups);
after it expires the robot OpenAPI is used (``groupMessages/send`` with openConversationId +
robotCode, ``oToMessages/batchSend`` for 1:1) with a cached access token. DingTalk allows a robot
20 messages per minute per conversation and blocks it for 10 minutes past that, so every send
waits for a slot of :class:`ConversationLimiter` first: queued, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.errors import ExternalServiceError, RateLimited
from bot.models import ConversationRef

THROTTLED_ERRCODES = frozenset({130101, 90030})  # "send too fast", "webhook over limit"
MAX_PARAM_BYTES = 12_000  # msgParam must stay under 15,000 bytes once JSON-encoded
TOKEN_MARGIN_S = 300.0


class ConversationLimiter:
    """At most ``limit`` sends per ``window_s`` per conversation; sends to one conversation go one at a time.

    A send counts from when it *completed*, which is never earlier than when the platform saw it, so
    our window is never shorter than the platform's. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, limit: int = 20, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @contextlib.asynccontextmanager
    async def slot(self, conversation: str) -> AsyncIterator[None]:
        """Wait for a free slot (FIFO per conversation), then send inside the block."""
        async with self._locks[conversation]:
            sent = self._sent[conversation]
            while True:
                now = self._clock()
                while sent and now - sent[0] >= self._window_s:
                    sent.popleft()
                if len(sent) < self._limit:
                    break
                await self._sleep(sent[0] + self._window_s - now)
            try:
                yield
            finally:
                sent.append(self._clock())


def split_markdown(text: str, limit: int = MAX_PARAM_BYTES) -> list[str]:
    """Cut a long answer at paragraph or line boundaries into parts of at most ``limit`` UTF-8 bytes."""
    parts: list[str] = []
    current = ""
    for raw in text.split("\n"):
        line = raw
        while len(line.encode()) > limit:  # a single monster line: cut it by characters
            cut = len(line.encode()[:limit].decode(errors="ignore"))
            parts, current = _flush(parts, current), ""
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) > limit:
            parts, current = _flush(parts, current), line
        else:
            current = candidate
    return _flush(parts, current) or [""]


def _flush(parts: list[str], current: str) -> list[str]:
    return [*parts, current] if current.strip() else parts


class DingTalkSender:
    """Sends markdown to the conversation of a ConversationRef; raises ExternalServiceError / RateLimited."""

    def __init__(self, http: httpx.AsyncClient, *, endpoint: str, client_id: str, client_secret: str,
                 robot_code: str, limiter: ConversationLimiter) -> None:
        self._http = http
        self._endpoint = endpoint.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._robot_code = robot_code or client_id
        self._limiter = limiter
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def send_markdown(self, ref: ConversationRef, title: str, text: str) -> None:
        """Send ``text`` (split if long) to the conversation; each part waits for a rate-limit slot."""
        for part in split_markdown(text):
            await self.send_part(ref, title, part)

    async def send_part(self, ref: ConversationRef, title: str, part: str) -> None:
        """Send one message (a part of :func:`split_markdown`) once a rate-limit slot is free."""
        async with self._limiter.slot(ref.channel):
            if not await self._via_webhook(ref, title, part):
                await self._via_openapi(ref, title, part)

    async def _via_webhook(self, ref: ConversationRef, title: str, text: str) -> bool:
        """True when the session webhook took the message; False when it is missing or expired."""
        if not ref.reply_webhook or _expired(ref.webhook_expires_at):
            return False
        at = [ref.user] if ref.is_group and ref.user else []
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": _at_prefix(at) + text},
                "at": {"atUserIds": at, "isAtAll": False}}
        answer = await self._post(ref.reply_webhook, body)
        errcode = int(answer.get("errcode", 0))
        if errcode in THROTTLED_ERRCODES:
            raise RateLimited(f"dingtalk webhook: {answer.get('errmsg')}")
        return errcode == 0  # any other error (expired session...): the OpenAPI takes over

    async def _via_openapi(self, ref: ConversationRef, title: str, text: str) -> None:
        param = json.dumps({"title": title, "text": text}, ensure_ascii=False)
        body: dict[str, Any] = {"robotCode": self._robot_code, "msgKey": "sampleMarkdown", "msgParam": param}
        if ref.is_group:
            path, body["openConversationId"] = "/v1.0/robot/groupMessages/send", ref.channel
        else:
            path, body["userIds"] = "/v1.0/robot/oToMessages/batchSend", [ref.user]
        answer = await self.openapi(path, body)
        if answer.get("flowControlledStaffIdList"):
            raise RateLimited("dingtalk: flow controlled")

    @property
    def robot_code(self) -> str:
        """The robot's code (the client ID unless configured otherwise)."""
        return self._robot_code

    async def openapi(self, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        """One OpenAPI call with the cached access token (renewed once on 401); its JSON answer.

        Raises ExternalServiceError when DingTalk refuses, RateLimited when it throttles.
        """
        for attempt in (1, 2):
            headers = {"x-acs-dingtalk-access-token": await self._access_token()}
            response = await self._request(self._endpoint + path, body, headers, method)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # revoked or expired early: fetch a new one once
                continue
            return _json_or_raise(response)
        raise ExternalServiceError("dingtalk: access token refused")

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token[1]:
                body = {"appKey": self._client_id, "appSecret": self._client_secret}
                answer = _json_or_raise(await self._request(self._endpoint + "/v1.0/oauth2/accessToken", body, {}))
                ttl = float(answer.get("expireIn", 7200))
                self._token = (str(answer["accessToken"]), time.monotonic() + max(ttl - TOKEN_MARGIN_S, 60.0))
            return self._token[0]

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        return _json_or_raise(await self._request(url, body, {}))

    async def _request(self, url: str, body: dict[str, Any], headers: dict[str, str],
                       method: str = "POST") -> httpx.Response:
        try:
            return await self._http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ExternalServiceError(f"dingtalk: {type(exc).__name__}: {exc}") from exc


def _expired(expires_at: datetime | None) -> bool:
    # a minute of margin: the webhook must still be valid when the request arrives
    return expires_at is not None and expires_at <= datetime.now(UTC) + timedelta(minutes=1)


def _at_prefix(users: list[str]) -> str:
    # DingTalk renders (and notifies) an @ in markdown only if the text itself contains "@userId"
    return "".join(f"@{u} " for u in users) + ("\n\n" if users else "")


def _json_or_raise(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if (response.status_code == 403 and "QpsLimit" in str(answer.get("code", ""))) or response.status_code == 429:
        raise RateLimited(f"dingtalk: {answer.get('code')}: {answer.get('message')}")
    if response.status_code >= 400:
        raise ExternalServiceError(f"dingtalk HTTP {response.status_code}: {answer.get('code')}: "
                                   f"{answer.get('message')}")
    return answer if isinstance(answer, dict) else {}
