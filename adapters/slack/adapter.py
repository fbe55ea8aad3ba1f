"""Slack front end: Bolt listeners in, thread replies and one updated status message out.

Translates only. ``/trip <request>`` posts a visible "planning…" message whose ts becomes the
thread; ``app_mention`` and DM ``message`` events answer in the thread of the asking message
(``thread_ts or ts``), so a reply inside that thread has the same ``ConversationRef.key`` and
amends the plan. The core dedupes by ``event_id`` (slash commands: ``trigger_id``); redeliveries
(``x-slack-retry-num`` > 0) of an event already seen are dropped before any work. Answers are
delivered by :meth:`SlackAdapter.deliver`, called by the outbox sender; the status message is
refreshed from the progress events alone (they carry the conversation, the language and the steps).

In an assistant thread (the app's split view, a DM thread: Bolt's ``AsyncAssistant`` routes it) the thread
gets a title and a loading status naming the agent at work, and the answer message is a chat stream
(:mod:`adapters.slack.stream`) started when the request arrives, its ts committed as the status message
(``ConversationRef.streamed``): steps are appended as task updates and ``chat.stopStream`` delivers the
answer. A stream Slack ended, or a workspace without streaming, falls back to today's status message and
thread replies. Every answer ends with feedback buttons, recorded through the :class:`Feedback` port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

import adapters.slack.blocks as slack_blocks
import adapters.slack.status as slack_status
import adapters.slack.stream as slack_stream
from adapters import http_guard
from adapters.serving import serve
from adapters.slack.assistant import assistant, set_status, set_title
from adapters.slack.installations import SlackOAuthStorage
from adapters.slack.settings import SlackSettings
from adapters.slack.workspaces import InstalledWorkspaces, SingleWorkspace, WorkspaceClients, oauth_settings, web_client
from bot.errors import ExternalServiceError, RateLimited
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Phase, Progress, Reply, StepStatus
from bot.ports import AcceptedParts, Feedback, Requests, Submitted
from bot.progress import ProgressView
from bot.wording import language_of, reply_language, wording

log = logging.getLogger("tourguide.slack")

PLATFORM = "slack"
ANSWER_EVENT = "tourguide_answer"  # message metadata event type of every answer part (task ID, part, parts)
RESPONSE_URL_TTL = timedelta(minutes=30)
SOCKET_CLOSE_TIMEOUT_S = 5.0
_MENTION = re.compile(r"<@[A-Z0-9]+>")
_HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")  # edits, joins, bot posts... are not requests
_BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
FINALIZED_KEPT = 10_000  # finished tasks remembered so that late progress events leave their status alone
OAUTH_DATABASE = "slack_installations.sqlite3"  # in the data directory: Slack's own store
FEEDBACK_ACTION = "tourguide_feedback"  # action_id of the thumbs up/down under every answer
FeedbackStore = Callable[[Path], AbstractAsyncContextManager[Feedback]]  # opened on the data directory
__all__ = ["SlackAdapter", "bolt_app", "http_mode", "socket_mode", "web_client"]




class SlackAdapter:
    """The Slack chat adapter: ``async with`` opens the OAuth store (many workspaces), builds the Bolt
    app and serves it over Socket Mode or HTTP (``url``) until the block exits.

    With OAuth, each workspace's client comes from its installation for the work done after the
    request (progress, answers).
    """

    platform = PLATFORM

    def __init__(self, settings: SlackSettings, requests: Requests, data_dir: Path,
                 feedback_store: FeedbackStore | None = None) -> None:
        self._settings = settings
        self._feedback_store = feedback_store
        self._feedback: Feedback | None = None
        self._streams: dict[str, slack_stream.AnswerStream] = {}  # task -> its answer stream (assistant threads)
        self._no_streaming: set[str] = set()  # workspaces that answered a stream with "not here"
        self._requests = requests
        self._data_dir = data_dir
        self._clients: WorkspaceClients | None = None
        self._in_progress: set[str] = set()  # event IDs being submitted right now (concurrent retries)
        self._status_locks: dict[str, asyncio.Lock] = {}
        self._status: dict[str, ProgressView] = {}  # task -> what its status message shows
        # tasks whose status message shows the end (a late progress event must not reopen it), newest last
        self._finalized: dict[str, None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._stack = contextlib.AsyncExitStack()
        self.url = ""
        self.signing_secret = settings.signing_secret.get_secret_value()  # checked before Bolt parses a body
        self.app: AsyncApp | None = None

    async def __aenter__(self) -> SlackAdapter:
        settings = self._settings
        async with contextlib.AsyncExitStack() as stack:
            oauth, clients = await self._oauth(stack) if settings.oauth_on else (None, None)
            client = web_client(None if oauth else settings.bot_token.get_secret_value(), settings.api_url)
            self._clients = clients or SingleWorkspace(client)
            self.app = app = bolt_app(client, self.signing_secret, oauth)
            if oauth is not None:  # uninstalls and revoked tokens delete the workspace's installation
                app.enable_token_revocation_listeners()
            app.command("/trip")(self._on_trip)
            app.event("app_mention")(self._on_mention)
            app.event("message")(self._on_message)
            app.use(assistant(self._on_assistant_message))
            app.action(FEEDBACK_ACTION)(self._on_feedback)
            if self._feedback_store is not None:
                self._feedback = await stack.enter_async_context(self._feedback_store(self._data_dir))
            stack.push_async_callback(self._stop_tasks)
            self._spawn(self._keep_streams_alive())
            if settings.serving == "socket":
                await stack.enter_async_context(socket_mode(app, settings.app_token.get_secret_value()))
            else:
                self.url = await stack.enter_async_context(
                    http_mode(app, self.signing_secret, settings.http_host, settings.http_port))
            log.info("Slack adapter running (%s mode%s)", settings.serving, ", OAuth installs" if oauth else "")
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _oauth(self, stack: contextlib.AsyncExitStack) -> tuple[AsyncOAuthSettings, WorkspaceClients]:
        """The installation and state stores (SQLite in the data dir), Bolt's OAuth settings on them, and
        the per-workspace clients for answers."""
        settings = self._settings
        storage = await stack.enter_async_context(SlackOAuthStorage(
            self._data_dir / OAUTH_DATABASE, settings.client_id, state_ttl_s=settings.oauth_state_ttl_s,
            key=settings.token_key.get_secret_value()))
        oauth = oauth_settings(
            client_id=settings.client_id, client_secret=settings.client_secret.get_secret_value(),
            scopes=[s.strip() for s in settings.scopes.split(",") if s.strip()],
            redirect_uri=settings.redirect_uri, api_url=settings.api_url,
            installations=storage.installations, states=storage.states, state_ttl_s=settings.oauth_state_ttl_s)
        return oauth, InstalledWorkspaces(settings.api_url, storage.installations.bot_token_for_team)

    async def _stop_tasks(self) -> None:
        """Stop pending status updates."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _workspace(self) -> WorkspaceClients:
        assert self._clients is not None, "used before async with"
        return self._clients

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
            client = await self._workspace().for_team(ref.workspace)
            ts = ""
            try:
                posted = await client.chat_postMessage(channel=ref.channel, text=slack_status.planning(
                    ref.user, message.text, language_of(message.text), show_request=True))
                ts = str(posted["ts"])
            except SlackApiError as exc:  # e.g. not_in_channel: the user still deserves an explanation
                log.warning("cannot post in %s: %s", ref.channel, exc.response.get("error"))
                with contextlib.suppress(Exception):
                    await respond(text="I can't post in this conversation. Invite me to the channel, or mention "
                                       "me in one where I am.", response_type="ephemeral")
            # the "planning…" message is the thread the answer goes into
            self._remember(task_id, message.text)
            await self._process(message.model_copy(update={"ref": ref.model_copy(
                update={"thread": ts, "status_message": ts})}), task_id)

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._on_user_message(event, body)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":  # in channels only mentions are requests (app_mention)
            await self._on_user_message(event, body)

    async def _on_assistant_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        await self._on_user_message(event, body, in_assistant=True)

    async def _on_user_message(self, event: dict[str, Any], body: dict[str, Any], *,
                               in_assistant: bool = False) -> None:
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
            self._spawn(self._assistant_after_ack(message, received.task_id) if in_assistant and message.text
                        else self._message_after_ack(message, received.task_id))

    async def _message_after_ack(self, message: InboundMessage, task_id: str) -> None:
        ref = message.ref
        with log_context(task_id=task_id, platform=PLATFORM):
            status = (await self._post_status(ref.workspace, ref.channel, ref.thread, ref.user, message.text)
                      if message.text else "")
            self._remember(task_id, message.text)
            await self._process(message.model_copy(update={"ref": ref.model_copy(update={"status_message": status})}),
                                task_id)

    async def _assistant_after_ack(self, message: InboundMessage, task_id: str) -> None:
        """Title and status of the thread, then the answer stream (or a status message without streaming)."""
        ref = message.ref
        with log_context(task_id=task_id, platform=PLATFORM):
            client = await self._workspace().for_team(ref.workspace)
            language = language_of(message.text)
            await set_title(client, ref.channel, ref.thread, message.text)
            await set_status(client, ref.channel, ref.thread, wording(language).thinking, [wording(language).planning])
            ts, error = ("", "no_streaming") if ref.workspace in self._no_streaming else await slack_stream.start(
                client, channel=ref.channel, thread_ts=ref.thread, team=ref.workspace, user=ref.user,
                language=language)
            if ts:
                self._streams[task_id] = slack_stream.AnswerStream(ref.channel, ts)
                ref = ref.model_copy(update={"status_message": ts, "streamed": True})
            else:
                if error in slack_stream.NO_STREAMING:
                    log.info("workspace %s cannot stream (%s): answers are posted", ref.workspace, error)
                    self._no_streaming.add(ref.workspace)
                ref = ref.model_copy(update={"status_message": await self._post_status(
                    ref.workspace, ref.channel, ref.thread, ref.user, message.text)})
            self._remember(task_id, message.text)
            self._status[task_id].ref, self._status[task_id].language = ref, language  # keep-alive before progress
            await self._process(message.model_copy(update={"ref": ref}), task_id)

    async def _on_feedback(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        verdict, _, task_id = str(action.get("value", "")).partition(":")
        user = str((body.get("user") or {}).get("id", ""))
        if self._feedback is None or verdict not in ("good", "bad") or not task_id.startswith("task-"):
            return
        with log_context(task_id=task_id, platform=PLATFORM):
            await self._feedback.record(task_id, PLATFORM, user, verdict == "good")
            log.info("feedback from %s: %s", user, verdict)

    async def _receive(self, ref: ConversationRef, event_id: str, text: str, *,
                       has_files: bool) -> tuple[InboundMessage, Submitted]:
        """Commit the inbound event (nothing slower): the ack goes out when the listener returns."""
        message = InboundMessage(ref=ref, event_id=event_id, text=text, received_at=datetime.now(UTC),
                                 has_attachments=has_files)
        received = await self._requests.receive(message)
        with log_context(task_id=received.task_id, platform=PLATFORM):
            log.info("request received (duplicate=%s)", received.duplicate)
        return message, received

    async def _process(self, message: InboundMessage, task_id: str) -> None:
        """Read the request, commit and start its session (or queue the direct answer)."""
        submitted = await self._requests.process(message, task_id)
        log.info("request submitted (started=%s)", submitted.started)

    def _remember(self, task_id: str, request_text: str) -> None:
        """The request's text for its status message (progress events bring it too, but not to a direct
        answer, whose status is finalized without any)."""
        self._status.setdefault(task_id, ProgressView()).request_text = request_text

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
        if await self._requests.task_for_event(PLATFORM, event_id):
            self._in_progress.discard(event_id)
            log.info("redelivered event %s ignored", event_id)
            return False
        return True

    async def _post_status(self, team: str, channel: str, thread: str, user: str, text: str) -> str:
        client = await self._workspace().for_team(team)
        try:
            posted = await client.chat_postMessage(
                channel=channel, thread_ts=thread,
                text=slack_status.planning(user, text, language_of(text), show_request=False))
        except SlackApiError as exc:
            log.warning("no status message: %s", exc.response.get("error"))
            return ""
        return str(posted["ts"])

    # -- progress ----------------------------------------------------------------------------------

    async def on_progress(self, event: Progress) -> None:
        """Refresh the status message of a Slack request off the Supervisor's path."""
        if event.ref is None or event.ref.platform != PLATFORM or self._closed or event.task_id in self._finalized:
            return
        self._status.setdefault(event.task_id, ProgressView()).apply(event)
        if event.phase != Phase.FINISHED:
            self._spawn(self._refresh_status(event.task_id))

    async def _refresh_status(self, task_id: str) -> None:
        async with self._status_lock(task_id):  # one update at a time, each showing the newest state
            status = self._status.get(task_id)
            if task_id in self._finalized or status is None or status.ref is None or not status.ref.status_message:
                return
            stream = self._streams.get(task_id)
            if stream is not None and stream.stop_tried:  # the stream message is (becoming) the answer
                return
            ref = status.ref
            text = slack_status.progress(status.steps, status.language, ref.user, status.request_text,
                                         show_request=_is_parent(ref), slow=frozenset(status.slow),
                                         queued=status.queued, draft=status.partial)
            with log_context(task_id=task_id, platform=PLATFORM), \
                    contextlib.suppress(SlackApiError, ExternalServiceError):
                client = await self._workspace().for_team(ref.workspace)
                if ref.streamed and await self._refresh_stream(client, task_id, status, keepalive=False):
                    return
                await client.chat_update(channel=ref.channel, ts=ref.status_message, text=text)

    async def _refresh_stream(self, client: AsyncWebClient, task_id: str, status: ProgressView, *,
                              keepalive: bool) -> bool:
        """Append the steps that changed (all of them for a keep-alive); False once the stream is gone.

        A stream started by an earlier process (restart) is picked up from the committed ts.
        """
        ref = status.ref
        assert ref is not None
        stream = self._streams.setdefault(task_id, slack_stream.AnswerStream(ref.channel, ref.status_message))
        slow = frozenset(status.slow)
        chunks = slack_stream.step_chunks(status.steps, status.language, slow, status.partial)
        keys = {state.kind.value: f"{state.status}:{state.kind.value in slow}:{len(status.partial)}"
                for state in status.steps}
        fresh = [c for c in chunks if keepalive or stream.shown.get(c["id"]) != keys[c["id"]]]
        if keepalive and not fresh:  # nothing to show yet: the plan title again keeps the stream open
            fresh = [slack_stream.plan_chunk(wording(status.language).planning)]
        if not await slack_stream.append(client, stream, fresh):
            return False
        stream.shown.update(keys)
        words = wording(status.language)
        loading = [words.agent_at_work[s.kind] for s in status.steps
                   if s.status == StepStatus.SENT and s.kind in words.agent_at_work]
        if loading and not keepalive:
            await set_status(client, ref.channel, ref.thread, words.thinking, loading)
        return True

    async def _keep_streams_alive(self) -> None:
        """Append to every open stream idle for ``stream_keepalive_s``: Slack ends a stream after an inactivity
        gap, and agents (an LLM being retried) may take minutes between two steps."""
        every = self._settings.stream_keepalive_s
        while not self._closed:
            await asyncio.sleep(every / 2)
            now = time.monotonic()
            for task_id, stream in list(self._streams.items()):
                status = self._status.get(task_id)
                if not stream.alive or stream.stop_tried or now - stream.last_append < every or status is None \
                        or status.ref is None:
                    continue
                async with self._status_lock(task_id):
                    if task_id in self._finalized or stream.stop_tried:
                        continue
                    with log_context(task_id=task_id, platform=PLATFORM), \
                            contextlib.suppress(SlackApiError, ExternalServiceError):
                        client = await self._workspace().for_team(status.ref.workspace)
                        if not await self._refresh_stream(client, task_id, status, keepalive=True):
                            self._spawn(self._refresh_status(task_id))  # the status text replaces the stream

    def _finalize(self, task_id: str) -> None:
        self._finalized[task_id] = None
        while len(self._finalized) > FINALIZED_KEPT:  # progress events come within seconds of the answer
            del self._finalized[next(iter(self._finalized))]

    def _status_lock(self, task_id: str) -> asyncio.Lock:
        return self._status_locks.setdefault(task_id, asyncio.Lock())

    # -- outbound ----------------------------------------------------------------------------------

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Post the answer into its thread (several messages if long), then close the status message.

        Raises RateLimited / ExternalServiceError when Slack refuses. Each accepted part is recorded in
        the outbox before the next one goes out, so a retry (also after a restart) starts at the first
        part Slack has not accepted yet. When an earlier attempt was cut off after it may have reached
        Slack (``in_doubt``: the process died between the post and ``mark_sent``), the thread is read
        first and parts already there (our message metadata carries task ID and part) are not posted again.

        A streamed request (assistant thread) gets its first part through ``chat.stopStream`` on the stream
        message, with the same metadata; when Slack says the stream is gone, it is posted like any other.
        """
        ref = reply.ref
        client = await self._workspace().for_team(ref.workspace)
        messages = slack_blocks.render(reply.text)
        last = messages[-1]
        if len(last.blocks) < slack_blocks.MAX_BLOCKS:
            messages[-1] = slack_blocks.SlackMessage(last.text, [*last.blocks, slack_blocks.feedback(
                FEEDBACK_ACTION, reply.task_id, wording(reply_language(reply.payload)))])
        stream = self._streams.get(reply.task_id)
        check = reply.in_doubt or (stream is not None and stream.stop_tried)
        posted = await self._parts_in_thread(client, ref, reply.task_id) if check else {}
        if ref.streamed and reply.parts_sent == 0 and 1 not in posted \
                and await self._stop_stream(client, reply, messages[0], _metadata(reply.task_id, 1, len(messages))):
            posted[1] = ref.status_message
            if len(messages) > 1:
                await accepted(1)
        for index in range(reply.parts_sent, len(messages)):
            message = messages[index]
            if index + 1 in posted:
                if posted[index + 1] != ref.status_message or not ref.streamed:
                    log.warning("part %d of the answer is already in the thread; not posting it again", index + 1)
            else:
                try:
                    await client.chat_postMessage(channel=ref.channel, thread_ts=ref.thread or None,
                                                  text=message.text, blocks=message.blocks,
                                                  metadata=_metadata(reply.task_id, index + 1, len(messages)))
                except SlackApiError as exc:
                    raise _wrap(exc) from exc
            if len(messages) > 1:  # a single message is covered by mark_sent alone
                await accepted(index + 1)
        # the status message is closed unless it became the answer (a stream stopped with it)
        if ref.status_message and not (ref.streamed and posted.get(1) == ref.status_message):
            await self._finalize_status(reply)
        elif ref.streamed:
            self._finalize(reply.task_id)
        self._status.pop(reply.task_id, None)
        self._streams.pop(reply.task_id, None)

    async def _stop_stream(self, client: AsyncWebClient, reply: Reply, message: slack_blocks.SlackMessage,
                           metadata: dict[str, Any]) -> bool:
        """End the answer stream with the answer's first part; False when Slack says it cannot (fall back).

        Marked as tried before the call: a retry after an unclear failure reads the thread first.
        """
        ref = reply.ref
        async with self._status_lock(reply.task_id):  # no progress append races the stop
            stream = self._streams.setdefault(reply.task_id, slack_stream.AnswerStream(ref.channel, ref.status_message))
            if not stream.alive:
                return False
            stream.stop_tried = True
            try:
                await client.chat_stopStream(channel=ref.channel, ts=ref.status_message, blocks=message.blocks,
                                             metadata=metadata)
            except SlackApiError as exc:
                error = slack_stream.error_of(exc)
                if error not in slack_stream.STREAM_GONE:
                    raise _wrap(exc) from exc
                log.warning("the answer stream ended before the answer (%s); posting it instead", error)
                stream.alive = False
                return False
            self._finalize(reply.task_id)
        return True

    async def _parts_in_thread(self, client: AsyncWebClient, ref: ConversationRef, task_id: str) -> dict[int, str]:
        """Part numbers of this task's answer already in the thread (conversations.replies + metadata).

        Without a thread, or without the history scope, nothing can be checked: the answer is posted
        (at least once) and a warning says so.
        """
        if not ref.thread:
            log.warning("answer may already be out, but it has no thread to check; posting it")
            return {}
        found: dict[int, str] = {}
        cursor: str | None = None
        try:
            for _page in range(20):
                page = await client.conversations_replies(channel=ref.channel, ts=ref.thread, cursor=cursor,
                                                          include_all_metadata=True, limit=200)
                for message in page.get("messages") or []:
                    meta = message.get("metadata") or {}
                    payload = meta.get("event_payload") or {}
                    if meta.get("event_type") == ANSWER_EVENT and payload.get("task_id") == task_id:
                        found[int(payload.get("part", 1))] = str(message.get("ts", ""))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    break
        except SlackApiError as exc:
            log.warning("cannot read the thread to check for an earlier answer (%s); posting it",
                        exc.response.get("error"))
        return found

    async def _finalize_status(self, reply: Reply) -> None:
        async with self._status_lock(reply.task_id):
            self._finalize(reply.task_id)
            status = self._status.pop(reply.task_id, None)
            request_text = status.request_text if status else ""
            text = slack_status.final(reply, reply.ref.user, request_text, show_request=_is_parent(reply.ref))
            try:
                client = await self._workspace().for_team(reply.ref.workspace)
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


def _metadata(task_id: str, part: int, parts: int) -> dict[str, Any]:
    """Message metadata of an answer part: what the in-doubt check looks for in the thread."""
    return {"event_type": ANSWER_EVENT, "event_payload": {"task_id": task_id, "part": part, "parts": parts}}


def _is_parent(ref: ConversationRef) -> bool:
    """The status message is the thread's parent (slash commands): it also shows the request."""
    return ref.status_message == ref.thread


def _wrap(exc: SlackApiError) -> ExternalServiceError:
    error = str(exc.response.get("error", "unknown"))
    if exc.response.status_code == 429 or error == "ratelimited":
        return RateLimited(f"slack: {error}")
    return ExternalServiceError(f"slack: {error}")


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
