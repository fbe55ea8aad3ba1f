"""Slack front end: Bolt listeners in, thread replies and one updated status message out.

Translates only. ``/trip <request>`` posts a visible "planning…" message whose ts becomes the
thread; ``app_mention`` and DM ``message`` events answer in the thread of the asking message
(``thread_ts or ts``), so a reply inside that thread has the same ``ConversationRef.key`` and
amends the plan. The intake dedupes by ``event_id`` (slash commands: ``trigger_id``); redeliveries
(``x-slack-retry-num`` > 0) of an event already seen are dropped before any work. Answers are
delivered by :meth:`SlackAdapter.deliver`, called by the outbox sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters import http_guard, slack_blocks, slack_status
from adapters.slack_workspaces import SingleWorkspace, WorkspaceClients, web_client
from agents.supervisor.intake import Submitted
from bot.errors import ExternalServiceError, RateLimited
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Progress, Reply
from bot.runtime import Pipeline

log = logging.getLogger("tourguide.slack")

PLATFORM = "slack"
ANSWER_EVENT = "tourguide_answer"  # message metadata event type of every answer part (task ID, part, parts)
RESPONSE_URL_TTL = timedelta(minutes=30)
SOCKET_CLOSE_TIMEOUT_S = 5.0
_MENTION = re.compile(r"<@[A-Z0-9]+>")
_HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")  # edits, joins, bot posts... are not requests
_BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
__all__ = ["SlackAdapter", "bolt_app", "http_mode", "socket_mode", "web_client"]


class SlackAdapter:
    """Owns the Bolt app; ``app`` is served by :func:`socket_mode` or :func:`http_mode`.

    ``oauth`` turns on multi-workspace installs (Bolt's OAuth flow and ``authorize``); ``clients``
    then gives each workspace's client for the work done after the request (progress, answers).
    """

    def __init__(self, pipeline: Pipeline, client: AsyncWebClient, signing_secret: str = "", *,
                 oauth: AsyncOAuthSettings | None = None, clients: WorkspaceClients | None = None) -> None:
        self._pipeline = pipeline
        self._clients = clients or SingleWorkspace(client)
        self._in_progress: set[str] = set()  # event IDs being submitted right now (concurrent retries)
        self._status_locks: dict[str, asyncio.Lock] = {}
        self._finalized: set[str] = set()
        self._slow: dict[str, set[str]] = {}  # task -> step kinds the Supervisor reported slow
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.after_submit: Callable[[], None] = lambda: None  # the outbox sender's wake (direct answers)
        self.app = bolt_app(client, signing_secret, oauth)
        self.signing_secret = signing_secret  # HTTP mode checks it before Bolt parses a body (http_guard)
        if oauth is not None:  # uninstalls and revoked tokens delete the workspace's installation
            self.app.enable_token_revocation_listeners()
        self.app.command("/trip")(self._on_trip)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)

    async def aclose(self) -> None:
        """Stop pending status updates."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- inbound -----------------------------------------------------------------------------------

    async def _on_trip(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        # process_before_response: the 200 / Socket Mode ack leaves when this listener returns, i.e. after
        # the inbound event is committed (milliseconds, well inside Slack's 3 s). Reading the request (an
        # LLM may take seconds) and posting happen after, in a task; a crash there is repaired at restart.
        await ack()
        event_id, text = str(command["trigger_id"]), str(command.get("text", "")).strip()
        if not await self._claim(event_id):
            return
        try:
            channel, user, team = str(command["channel_id"]), str(command["user_id"]), str(command.get("team_id", ""))
            ref = ConversationRef(
                platform=PLATFORM, workspace=team, channel=channel, user=user,
                user_name=str(command.get("user_name", "")), is_group=not channel.startswith("D"),
                reply_webhook=str(command.get("response_url", "")),
                webhook_expires_at=datetime.now(UTC) + RESPONSE_URL_TTL)
            message, received = await self._receive(ref, event_id, text, has_files=False)
        finally:
            self._in_progress.discard(event_id)
        if not received.duplicate:
            self._spawn(self._trip_after_ack(message, received.task_id, respond))

    async def _trip_after_ack(self, message: InboundMessage, task_id: str, respond: Any) -> None:
        ref = message.ref
        with log_context(task_id=task_id, platform=PLATFORM):
            client = await self._clients.for_team(ref.workspace)
            ts = ""
            try:
                posted = await client.chat_postMessage(
                    channel=ref.channel, text=slack_status.planning(ref.user, message.text, show_request=True))
                ts = str(posted["ts"])
            except SlackApiError as exc:  # e.g. not_in_channel: the user still deserves an explanation
                log.warning("cannot post in %s: %s", ref.channel, exc.response.get("error"))
                with contextlib.suppress(Exception):
                    await respond(text="I can't post in this conversation. Invite me to the channel, or mention "
                                       "me in one where I am.", response_type="ephemeral")
            # the "planning…" message is the thread the answer goes into
            await self._process(message.model_copy(update={"ref": ref.model_copy(
                update={"thread": ts, "status_message": ts})}), task_id)

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._on_user_message(event, body)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":  # in channels only mentions are requests (app_mention)
            await self._on_user_message(event, body)

    async def _on_user_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        event_id = str(body.get("event_id", ""))
        # the installation's workspace (event.team is the user's, which differs in shared channels)
        team = str(body.get("team_id") or event.get("team", ""))
        if event.get("bot_id") or event.get("subtype") not in _HANDLED_SUBTYPES or not event.get("user"):
            return
        if not await self._claim(event_id):
            return
        try:
            channel, user = str(event["channel"]), str(event["user"])
            thread = str(event.get("thread_ts") or event["ts"])
            text = _MENTION.sub("", str(event.get("text", ""))).strip()
            ref = ConversationRef(platform=PLATFORM, workspace=team, channel=channel,
                                  thread=thread, user=user, is_group=event.get("channel_type") != "im")
            message, received = await self._receive(ref, event_id, text, has_files=bool(event.get("files")))
        finally:
            self._in_progress.discard(event_id)
        if not received.duplicate:
            self._spawn(self._message_after_ack(message, received.task_id))

    async def _message_after_ack(self, message: InboundMessage, task_id: str) -> None:
        ref = message.ref
        with log_context(task_id=task_id, platform=PLATFORM):
            status = (await self._post_status(ref.workspace, ref.channel, ref.thread, ref.user, message.text)
                      if message.text else "")
            await self._process(message.model_copy(update={"ref": ref.model_copy(update={"status_message": status})}),
                                task_id)

    async def _receive(self, ref: ConversationRef, event_id: str, text: str, *,
                       has_files: bool) -> tuple[InboundMessage, Submitted]:
        """Commit the inbound event (nothing slower): the ack goes out when the listener returns."""
        message = InboundMessage(ref=ref, event_id=event_id, text=text, received_at=datetime.now(UTC),
                                 has_attachments=has_files)
        received = await self._pipeline.intake.receive(message)
        with log_context(task_id=received.task_id, platform=PLATFORM):
            log.info("request received (duplicate=%s)", received.duplicate)
        return message, received

    async def _process(self, message: InboundMessage, task_id: str) -> None:
        """Read the request, commit and start its session (or queue the direct answer)."""
        try:
            submitted = await self._pipeline.intake.process(message, task_id)
            log.info("request submitted (started=%s)", submitted.started)
        finally:
            self.after_submit()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self, event_id: str) -> bool:
        """False for an event seen before or being handled now: a retry must not start any work."""
        if event_id in self._in_progress:  # checked and taken without an await in between
            log.info("concurrent redelivery of %s ignored", event_id)
            return False
        self._in_progress.add(event_id)
        if await self._pipeline.sessions.task_for_event(PLATFORM, event_id):
            self._in_progress.discard(event_id)
            log.info("redelivered event %s ignored", event_id)
            return False
        return True

    async def _post_status(self, team: str, channel: str, thread: str, user: str, text: str) -> str:
        client = await self._clients.for_team(team)
        try:
            posted = await client.chat_postMessage(
                channel=channel, thread_ts=thread, text=slack_status.planning(user, text, show_request=False))
        except SlackApiError as exc:
            log.warning("no status message: %s", exc.response.get("error"))
            return ""
        return str(posted["ts"])

    # -- progress ----------------------------------------------------------------------------------

    async def on_progress(self, event: Progress) -> None:
        """Supervisor listener: refresh the status message off the Supervisor's path."""
        if event.phase == "slow" and event.kind is not None:
            self._slow.setdefault(event.task_id, set()).add(event.kind.value)
        if event.phase in ("sent", "ok", "failed", "slow") and not self._closed:
            self._spawn(self._refresh_status(event.task_id))

    async def _refresh_status(self, task_id: str) -> None:
        async with self._status_lock(task_id):
            if task_id in self._finalized:
                return
            session = await self._pipeline.sessions.get(task_id)  # read under the lock: the newest state wins
            if session is None or session.ref.platform != PLATFORM or not session.ref.status_message:
                return
            ref = session.ref
            text = slack_status.progress(session, ref.user, session.request.text, show_request=_is_parent(ref),
                                         slow=frozenset(self._slow.get(task_id, ())))
            with log_context(task_id=task_id, platform=PLATFORM), \
                    contextlib.suppress(SlackApiError, ExternalServiceError):
                client = await self._clients.for_team(ref.workspace)
                await client.chat_update(channel=ref.channel, ts=ref.status_message, text=text)

    def _status_lock(self, task_id: str) -> asyncio.Lock:
        return self._status_locks.setdefault(task_id, asyncio.Lock())

    # -- outbound ----------------------------------------------------------------------------------

    async def deliver(self, reply: Reply) -> None:
        """Post the answer into its thread (several messages if long), then close the status message.

        Raises RateLimited / ExternalServiceError when Slack refuses. Each accepted part is recorded in
        the outbox before the next one goes out, so a retry (also after a restart) starts at the first
        part Slack has not accepted yet. When an earlier attempt was cut off after it may have reached
        Slack (``in_doubt``: the process died between the post and ``mark_sent``), the thread is read
        first and parts already there (our message metadata carries task ID and part) are not posted again.
        """
        ref = reply.ref
        client = await self._clients.for_team(ref.workspace)
        messages = slack_blocks.render(reply.text)
        posted = await self._parts_in_thread(client, ref, reply.task_id) if reply.in_doubt else set()
        for index in range(reply.parts_sent, len(messages)):
            message = messages[index]
            metadata = {"event_type": ANSWER_EVENT,
                        "event_payload": {"task_id": reply.task_id, "part": index + 1, "parts": len(messages)}}
            if index + 1 in posted:
                log.warning("part %d of the answer is already in the thread; not posting it again", index + 1)
            else:
                try:
                    await client.chat_postMessage(channel=ref.channel, thread_ts=ref.thread or None,
                                                  text=message.text, blocks=message.blocks, metadata=metadata)
                except SlackApiError as exc:
                    raise _wrap(exc) from exc
            if len(messages) > 1:  # a single message is covered by mark_sent alone
                await self._pipeline.outbox.mark_part_sent(reply.task_id, index + 1)
        if ref.status_message:
            await self._finalize_status(reply)

    async def _parts_in_thread(self, client: AsyncWebClient, ref: ConversationRef, task_id: str) -> set[int]:
        """Part numbers of this task's answer already in the thread (conversations.replies + metadata).

        Without a thread, or without the history scope, nothing can be checked: the answer is posted
        (at least once) and a warning says so.
        """
        if not ref.thread:
            log.warning("answer may already be out, but it has no thread to check; posting it")
            return set()
        found: set[int] = set()
        cursor: str | None = None
        try:
            for _page in range(20):
                page = await client.conversations_replies(channel=ref.channel, ts=ref.thread, cursor=cursor,
                                                          include_all_metadata=True, limit=200)
                for message in page.get("messages") or []:
                    meta = message.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == ANSWER_EVENT and payload.get("task_id") == task_id:
                        found.add(int(payload.get("part", 1)))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    break
        except SlackApiError as exc:
            log.warning("cannot read the thread to check for an earlier answer (%s); posting it",
                        exc.response.get("error"))
        return found

    async def _finalize_status(self, reply: Reply) -> None:
        async with self._status_lock(reply.task_id):
            self._finalized.add(reply.task_id)
            self._slow.pop(reply.task_id, None)
            session = await self._pipeline.sessions.get(reply.task_id)
            request_text = session.request.text if session else ""
            text = slack_status.final(reply, reply.ref.user, request_text, show_request=_is_parent(reply.ref))
            try:
                client = await self._clients.for_team(reply.ref.workspace)
                await client.chat_update(channel=reply.ref.channel, ts=reply.ref.status_message, text=text)
            except Exception as exc:  # the answer is out; a stale status line is not worth a resend
                log.warning("status message not updated: %s", exc)
        self._status_locks.pop(reply.task_id, None)


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


def _is_parent(ref: ConversationRef) -> bool:
    """The status message is the thread's parent (slash commands): it also shows the request."""
    return ref.status_message == ref.thread


def _wrap(exc: SlackApiError) -> ExternalServiceError:
    error = str(exc.response.get("error", "unknown"))
    if exc.response.status_code == 429 or error == "ratelimited":
        return RateLimited(f"slack: {error}")
    return ExternalServiceError(f"slack: {error}")


@contextlib.asynccontextmanager
async def socket_mode(adapter: SlackAdapter, app_token: str) -> AsyncIterator[None]:
    """Serve the app over Socket Mode (no public URL) until the block exits."""
    handler = AsyncSocketModeHandler(adapter.app, app_token)
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
async def http_mode(adapter: SlackAdapter, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``POST /slack/events`` (Bolt verifies signatures and timestamps); yields its URL."""
    app = http_guard.protect_slack(adapter.app.web_app(path="/slack/events"), adapter.signing_secret, "/slack/events")
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0]
        yield f"http://{bound[0]}:{bound[1]}/slack/events"
    finally:
        await runner.cleanup()
