"""DingTalk front end (Stream mode): robot messages in, markdown replies out through :mod:`dingtalk_sender`.

Translates only. The SDK (dingtalk-stream 0.24.3) makes blocking ``requests`` calls on the loop that
runs ``client.start()`` and only stops when cancelled twice, so it gets a thread and an event loop of
its own (:class:`StreamThread`). Our handler runs the commit (dedupe by ``msgId``, session) on the
bot's loop and ACKs the frame only after it; starting the session and progress happen after the ACK.
Progress is an AI card (:mod:`dingtalk_progress`) when a card template is configured, else one short
"planning…" message.
The gateway URL comes from our settings (``DINGTALK_OPENAPI_ENDPOINT``) through an
``open_connection`` override, because the SDK copies that variable at import time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import platform
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import dingtalk_stream
import requests
from dingtalk_stream.frames import AckMessage

from adapters.dingtalk_progress import ProgressCards
from adapters.dingtalk_sender import DingTalkSender, split_markdown
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Reply
from bot.runtime import Pipeline

log = logging.getLogger("tourguide.dingtalk")

PLATFORM = "dingtalk"
ACK_WAIT_S = 5.0  # longest the Stream ACK waits for the commit (DingTalk redelivers unacked frames)
_PLANNING = {True: "🧭 正在为你规划行程，请稍候…", False: "🧭 Planning your trip, one moment…"}
_TITLES = {True: "行程助手", False: "Tour guide"}


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
    """Robot messages become InboundMessages; answers go back through the sender."""

    def __init__(self, pipeline: Pipeline, sender: DingTalkSender, cards: ProgressCards | None = None) -> None:
        self._pipeline = pipeline
        self._sender = sender
        self._cards = cards  # progress as an AI card (a card template is configured), else one message
        self.after_submit: Callable[[], None] = lambda: None  # the outbox sender's wake (direct answers)
        self._tasks: set[asyncio.Task[None]] = set()

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
            received = await self._pipeline.intake.receive(message)
        if not received.duplicate:
            task = asyncio.create_task(self._run(received.task_id, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, task_id: str, message: InboundMessage) -> None:
        with log_context(task_id=task_id, platform=PLATFORM):
            try:
                submitted = await self._pipeline.intake.process(message, task_id)
            except Exception:
                log.exception("could not process message %s", message.event_id)
                return
            finally:
                self.after_submit()
            log.info("request submitted (started=%s)", submitted.started)
            if not submitted.started:
                return
            planning = functools.partial(self._planning, message.ref, _is_zh(message.text))
            if self._cards is not None:
                self._cards.start(submitted.task_id, message.ref, fallback=planning)
            else:
                await planning()

    async def _planning(self, ref: ConversationRef, zh: bool) -> None:
        try:
            await self._sender.send_markdown(ref, _TITLES[zh], _PLANNING[zh])
        except Exception as exc:  # progress is a courtesy; the answer goes through the outbox
            log.warning("planning message not sent: %s", exc)

    async def deliver(self, reply: Reply) -> None:
        """Send an outbox answer to its conversation (raises ExternalServiceError / RateLimited).

        A long answer goes out in parts; each accepted part is recorded in the outbox, so a retry (also
        after a restart) resumes with the first part DingTalk has not accepted yet.
        """
        parts = split_markdown(reply.text)
        first = reply.parts_sent
        if reply.in_doubt and first < len(parts):
            # The process died while this part was on its way, and DingTalk offers no way to look it up
            # (the robot send APIs take no idempotency key): the documented choice is at most once per part.
            log.warning("part %d may have reached DingTalk before a crash; not sending it again", first + 1)
            first += 1
            if len(parts) > 1:
                await self._pipeline.outbox.mark_part_sent(reply.task_id, first)
        for index in range(first, len(parts)):
            await self._sender.send_part(reply.ref, _TITLES[_is_zh(reply.text)], parts[index])
            if len(parts) > 1:  # a single message is covered by mark_sent alone
                await self._pipeline.outbox.mark_part_sent(reply.task_id, index + 1)


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


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)

