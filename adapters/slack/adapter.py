"""Slack front end: Bolt listeners in, thread replies and one updated status message out.

Translates only. ``/trip <request>`` posts a visible "planning…" message whose ts becomes the
thread; ``app_mention`` and DM ``message`` events answer in the thread of the asking message
(``thread_ts or ts``), so a reply inside that thread has the same ``ConversationRef.key`` and
amends the plan. The core dedupes by ``event_id`` (slash commands: ``trigger_id``); redeliveries
(``x-slack-retry-num`` > 0) of an event already seen are dropped before any work. Answers are
delivered by :meth:`SlackAdapter.deliver`, called by the outbox sender; the status message is
refreshed from the progress events alone (they carry the conversation, the language and the steps), by
:class:`adapters.slack.board.StatusBoard`; the Bolt app is served by :mod:`adapters.slack.transport`.

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
import re
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError

import adapters.slack.blocks as slack_blocks
import adapters.slack.status as slack_status
import adapters.slack.stream as slack_stream
from adapters.slack import answers
from adapters.slack.assistant import assistant, set_status, set_title
from adapters.slack.board import PLATFORM, StatusBoard
from adapters.slack.installations import SlackOAuthStorage
from adapters.slack.settings import SlackSettings
from adapters.slack.transport import bolt_app, http_mode, socket_mode
from adapters.slack.workspaces import InstalledWorkspaces, SingleWorkspace, WorkspaceClients, oauth_settings, web_client
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Progress, Reply
from bot.ports import AcceptedParts, Feedback, Requests, Submitted
from bot.wording import language_of, reply_language, wording

log = logging.getLogger("tourguide.slack")

RESPONSE_URL_TTL = timedelta(minutes=30)
_MENTION = re.compile(r"<@[A-Z0-9]+>")
_HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")  # edits, joins, bot posts... are not requests
OAUTH_DATABASE = "slack_installations.sqlite3"  # in the data directory: Slack's own store
FEEDBACK_ACTION = "tourguide_feedback"  # action_id of the thumbs up/down under every answer
FeedbackStore = Callable[[Path], AbstractAsyncContextManager[Feedback]]  # opened on the data directory
__all__ = ["SlackAdapter"]




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
        self._no_streaming: set[str] = set()  # workspaces that answered a stream with "not here"
        self._requests = requests
        self._data_dir = data_dir
        self._clients: WorkspaceClients | None = None
        self._in_progress: set[str] = set()  # event IDs being submitted right now (concurrent retries)
        self._tasks: set[asyncio.Task[None]] = set()
        self._board = StatusBoard(self._workspace, settings.stream_keepalive_s, self._spawn)
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
            self._spawn(self._board.keep_streams_alive())
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
        self._board.close()
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
            self._board.remember(task_id, message.text)
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
            self._board.remember(task_id, message.text)
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
                self._board.start_stream(task_id, ref.channel, ts)
                ref = ref.model_copy(update={"status_message": ts, "streamed": True})
            else:
                if error in slack_stream.NO_STREAMING:
                    log.info("workspace %s cannot stream (%s): answers are posted", ref.workspace, error)
                    self._no_streaming.add(ref.workspace)
                ref = ref.model_copy(update={"status_message": await self._post_status(
                    ref.workspace, ref.channel, ref.thread, ref.user, message.text)})
            self._board.remember(task_id, message.text)
            self._board.attach(task_id, ref, language)  # keep-alive before progress
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
        """Refresh the status message (or answer stream) of a Slack request off the Supervisor's path."""
        await self._board.on_progress(event)

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
        check = reply.in_doubt or self._board.stop_tried(reply.task_id)
        posted = await answers.parts_in_thread(client, ref, reply.task_id) if check else {}
        first = answers.metadata(reply.task_id, 1, len(messages))
        if ref.streamed and reply.parts_sent == 0 and 1 not in posted \
                and await self._board.stop_stream(client, reply, messages[0], first):
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
                                                  metadata=answers.metadata(reply.task_id, index + 1, len(messages)))
                except SlackApiError as exc:
                    raise answers.wrap(exc) from exc
            if len(messages) > 1:  # a single message is covered by mark_sent alone
                await accepted(index + 1)
        await self._board.answered(reply, in_stream=ref.streamed and posted.get(1) == ref.status_message)
