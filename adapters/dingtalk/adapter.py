"""DingTalk front end (Stream mode): robot messages in, markdown replies out through :mod:`dingtalk_sender`.

Translates only. The SDK (dingtalk-stream 0.24.3) makes blocking ``requests`` calls on the loop that
runs ``client.start()`` and only stops when cancelled twice, so it gets a thread and an event loop of
its own (:class:`StreamThread`). Our handler runs the commit (dedupe by ``msgId``, session) on the
bot's loop and ACKs the frame only after it; starting the session and progress happen after the ACK.
Progress is an AI card (:mod:`adapters.dingtalk.progress`) when a card template is configured, else one
short "planning…" message. Messages also arrive as HTTP callbacks (:mod:`adapters.dingtalk.http`) when
that mode is chosen.
The gateway URL comes from our settings (``DINGTALK_OPENAPI_ENDPOINT``) through an
``open_connection`` override, because the SDK copies that variable at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import platform
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import dingtalk_stream
import httpx
import requests
from dingtalk_stream.frames import AckMessage

from adapters.dingtalk.budget import CallBudget
from adapters.dingtalk.card import CardApi
from adapters.dingtalk.http import http_callback
from adapters.dingtalk.markdown import for_dingtalk
from adapters.dingtalk.progress import ProgressCards
from adapters.dingtalk.sender import ConversationLimiter, DingTalkSender, split_markdown
from adapters.dingtalk.settings import DingTalkSettings
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Progress, Reply, SessionStatus
from bot.ports import AcceptedParts, Requests
from bot.schemas import Language
from bot.wording import reply_language, wording

log = logging.getLogger("tourguide.dingtalk")

PLATFORM = "dingtalk"
ACK_WAIT_S = 5.0  # longest the Stream ACK waits for the commit (DingTalk redelivers unacked frames)


class _StreamClient(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    """The SDK client, pointed at our configured gateway, with a timeout on the (blocking) open call."""

    def __init__(self, credential: Any, endpoint: str) -> None:
        super().__init__(credential, logger=logging.getLogger("dingtalk_stream.client"))
        self._open_url = endpoint.rstrip("/") + "/v1.0/gateway/connections/open"

    def open_connection(self) -> dict[str, Any] | None:
        subscriptions = [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": subscriptions, "ua": f"tourguide/python-{platform.python_version()}",
                "localIp": "127.0.0.1"}
        try:  # runs on the stream thread, never on the bot's loop
            response = requests.post(self._open_url, json=body, timeout=10)
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.error("DingTalk gateway refused the connection: %s", exc)
            return None
        return answer


class _Handler(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """Runs on the stream thread's loop: the ACK frame goes back only once the message is committed.

    The commit (dedupe row + session) runs on the bot's loop; it takes milliseconds, far inside the time
    DingTalk waits for an ACK before it redelivers. If it fails or is slow, the ACK says so and DingTalk
    delivers the message again (a duplicate is recognised by its msgId).
    """

    def __init__(self, adapter: DingTalkAdapter, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._adapter = adapter
        self._loop = loop
        self.async_executor = ThreadPoolExecutor(max_workers=1)  # kept for the caller's shutdown call

    async def process(self, callback: Any) -> tuple[int, str]:
        done = asyncio.run_coroutine_threadsafe(self._adapter.on_message(dict(callback.data)), self._loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(done), ACK_WAIT_S)
        except Exception as exc:  # not committed (yet): let DingTalk redeliver rather than lose it
            log.warning("message not committed before the ACK deadline (%s); asking for a redelivery", exc)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not committed"
        return AckMessage.STATUS_OK, "OK"


class StreamThread:
    """``DingTalkStreamClient.start()`` on its own thread and loop; ``async with`` starts and stops it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._serve, name="dingtalk-stream", daemon=True)

    async def __aenter__(self) -> StreamThread:
        self._thread.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join, 30)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        task = asyncio.create_task(self._client.start())
        await self._stop.wait()
        # 0.24.3 swallows the first CancelledError and sleeps 10 s: cancel until it is really done
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        others = asyncio.all_tasks() - {asyncio.current_task()}  # keepalive and frame tasks it leaked
        for other in others:
            other.cancel()
        await asyncio.gather(*others, return_exceptions=True)


class DingTalkAdapter:
    """The DingTalk chat adapter: robot messages become InboundMessages; answers go back through the sender.

    ``async with`` opens the HTTP client, the progress cards (when a card template is configured) and the
    Stream connection or the HTTP callback endpoint (``url``).
    """

    platform = PLATFORM

    def __init__(self, settings: DingTalkSettings, requests: Requests, data_dir: Path | None = None) -> None:
        self._settings = settings
        self._requests = requests
        self._sender: DingTalkSender | None = None
        self._cards: ProgressCards | None = None  # progress as an AI card, else one "planning…" message
        self._tasks: set[asyncio.Task[None]] = set()
        self._stack = contextlib.AsyncExitStack()
        self.url = ""

    async def __aenter__(self) -> DingTalkAdapter:
        settings = self._settings
        secret = settings.client_secret.get_secret_value()
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=15.0))
            self._sender = sender = DingTalkSender(
                http, endpoint=settings.openapi_endpoint, client_id=settings.client_id, client_secret=secret,
                robot_code=settings.robot_code,
                limiter=ConversationLimiter(settings.rate_per_minute, settings.rate_window_s))
            if settings.card_template_id:  # closed before the HTTP client they use
                budget = CallBudget(settings.card_qps)  # one for every card of this bot
                self._cards = await stack.enter_async_context(ProgressCards(
                    CardApi(sender, settings.card_template_id, budget), interval_s=settings.card_interval_s))
            stack.push_async_callback(self._stop_tasks)
            if settings.serving == "http":
                self.url = await stack.enter_async_context(
                    http_callback(self.on_message, secret, settings.http_host, settings.callback_port))
                log.info("DingTalk adapter running (HTTP callbacks at %s)", self.url)
            else:
                thread, handler = self.stream(settings.client_id, secret, settings.openapi_endpoint)
                stack.callback(handler.async_executor.shutdown, wait=False)
                await stack.enter_async_context(thread)
                log.info("DingTalk adapter running (Stream mode)")
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _stop_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _send(self) -> DingTalkSender:
        assert self._sender is not None, "used before async with"
        return self._sender

    def stream(self, client_id: str, client_secret: str, endpoint: str) -> tuple[StreamThread, Any]:
        """The stream thread to run, and the SDK handler (its thread pool must be shut down after)."""
        client = _StreamClient(dingtalk_stream.Credential(client_id, client_secret), endpoint)
        handler = _Handler(self, asyncio.get_running_loop())
        client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, handler)
        return StreamThread(client), handler

    async def on_message(self, data: dict[str, Any]) -> None:
        """A robot message (the callback's data): commit it; reading it, the session and progress follow.

        Returns once the inbound event is committed, so the Stream ACK / HTTP 200 that waits for it never
        acknowledges a message a crash could still lose (one received but not processed is processed at
        the next start). Reading it may take an LLM call: that happens after the ACK.
        """
        if data.get("senderId") and data.get("senderId") == data.get("chatbotUserId"):
            return  # our own message
        message = inbound(data)
        with log_context(platform=PLATFORM):
            received = await self._requests.receive(message)
        if not received.duplicate:
            task = asyncio.create_task(self._run(received.task_id, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, task_id: str, message: InboundMessage) -> None:
        with log_context(task_id=task_id, platform=PLATFORM):
            try:
                submitted = await self._requests.process(message, task_id)
            except Exception:
                log.exception("could not process message %s", message.event_id)
                return
            log.info("request submitted (started=%s)", submitted.started)
            if not submitted.started:
                return
            planning = functools.partial(self._planning, message.ref, submitted.language)
            if self._cards is not None:
                self._cards.start(submitted.task_id, message.ref, submitted.language, fallback=planning)
            else:
                await planning()

    async def _planning(self, ref: ConversationRef, language: Language) -> None:
        words = wording(language)
        try:
            await self._send().send_markdown(ref, words.answer_title, words.planning_message)
        except Exception as exc:  # progress is a courtesy; the answer goes through the outbox
            log.warning("planning message not sent: %s", exc)

    async def on_progress(self, event: Progress) -> None:
        """The progress card follows the session (when cards are on)."""
        if self._cards is not None:
            await self._cards.on_progress(event)

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Send an outbox answer to its conversation (raises ExternalServiceError / RateLimited).

        A long answer goes out in parts; each accepted part is reported, so a retry (also after a
        restart) resumes with the first part DingTalk has not accepted yet. The progress card ends first
        (finished or failed): once the answer is marked sent, no card of it is left "processing".
        """
        if self._cards is not None:
            told = str(reply.payload.get("status", ""))
            status = SessionStatus(told) if told in {s.value for s in SessionStatus} else SessionStatus.FAILED
            await self._cards.settle(reply.task_id, status, reply_language(reply.payload))
        parts = split_markdown(for_dingtalk(reply.text))
        first = reply.parts_sent
        if reply.in_doubt and first < len(parts):
            # The process died while this part was on its way, and DingTalk offers no way to look it up
            # (the robot send APIs take no idempotency key): the documented choice is at most once per part.
            log.warning("part %d may have reached DingTalk before a crash; not sending it again", first + 1)
            first += 1
            if len(parts) > 1:
                await accepted(first)
        title = wording(reply_language(reply.payload)).answer_title
        for index in range(first, len(parts)):
            await self._send().send_part(reply.ref, title, parts[index])
            if len(parts) > 1:  # a single message is covered by mark_sent alone
                await accepted(index + 1)


def inbound(data: dict[str, Any]) -> InboundMessage:
    """A ChatbotMessage callback payload in our terms."""
    text, has_files = _content(data)
    expires_ms = data.get("sessionWebhookExpiredTime")
    ref = ConversationRef(
        platform=PLATFORM, workspace=str(data.get("chatbotCorpId") or data.get("senderCorpId") or ""),
        channel=str(data.get("conversationId", "")), user=str(data.get("senderStaffId") or data.get("senderId", "")),
        user_name=str(data.get("senderNick", "")), is_group=str(data.get("conversationType")) == "2",
        reply_webhook=str(data.get("sessionWebhook", "")),
        webhook_expires_at=datetime.fromtimestamp(int(expires_ms) / 1000, UTC) if expires_ms else None)
    return InboundMessage(ref=ref, event_id=str(data.get("msgId", "")), text=text, received_at=datetime.now(UTC),
                          has_attachments=has_files)


def _content(data: dict[str, Any]) -> tuple[str, bool]:
    kind = data.get("msgtype")
    if kind == "text":
        return str((data.get("text") or {}).get("content", "")).strip(), False
    if kind == "richText":
        items = (data.get("content") or {}).get("richText") or []
        text = "".join(str(i.get("text", "")) for i in items if isinstance(i, dict))
        return text.strip(), any(isinstance(i, dict) and "downloadCode" in i for i in items)
    return "", True  # picture, file, audio, video: we only read text
