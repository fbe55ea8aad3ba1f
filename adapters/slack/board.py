"""What each Slack request's status message (or answer stream) shows, kept current from the progress events.

One board per adapter. A status message is updated one change at a time per task, each update showing the
newest state; once the answer is out the task is finalized and late progress events leave it alone. An
answer stream (assistant threads) gets the steps that changed appended, is kept alive while agents are
silent, and is stopped with the answer's first part.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

import adapters.slack.blocks as slack_blocks
import adapters.slack.status as slack_status
import adapters.slack.stream as slack_stream
from adapters.slack import answers
from adapters.slack.assistant import set_status
from adapters.slack.workspaces import WorkspaceClients
from bot.errors import ExternalServiceError
from bot.logs import log_context
from bot.models import ConversationRef, Phase, Progress, Reply, StepStatus
from bot.progress import ProgressView
from bot.schemas import Language
from bot.wording import wording

log = logging.getLogger("tourguide.slack")

PLATFORM = "slack"
FINALIZED_KEPT = 10_000  # finished tasks remembered so that late progress events leave their status alone
Spawn = Callable[[Coroutine[Any, Any, None]], None]


class StatusBoard:
    """The status messages and answer streams of one adapter's requests."""

    def __init__(self, clients: Callable[[], WorkspaceClients], keepalive_s: float, spawn: Spawn) -> None:
        self._clients = clients
        self._keepalive_s = keepalive_s
        self._spawn = spawn
        self._streams: dict[str, slack_stream.AnswerStream] = {}  # task -> its answer stream (assistant threads)
        self._locks: dict[str, asyncio.Lock] = {}
        self._status: dict[str, ProgressView] = {}  # task -> what its status message shows
        # tasks whose status message shows the end (a late progress event must not reopen it), newest last
        self._finalized: dict[str, None] = {}
        self._closed = False

    def close(self) -> None:
        """No more updates (the adapter is stopping)."""
        self._closed = True

    def remember(self, task_id: str, request_text: str) -> None:
        """The request's text for its status message (progress events bring it too, but not to a direct
        answer, whose status is finalized without any)."""
        self._status.setdefault(task_id, ProgressView()).request_text = request_text

    def attach(self, task_id: str, ref: ConversationRef, language: Language) -> None:
        """Where the request's status is shown, before any progress event says so (for the keep-alive)."""
        self._status[task_id].ref, self._status[task_id].language = ref, language

    def start_stream(self, task_id: str, channel: str, ts: str) -> None:
        """The answer stream started for the request."""
        self._streams[task_id] = slack_stream.AnswerStream(channel, ts)

    def stop_tried(self, task_id: str) -> bool:
        """True when stopping the request's stream with the answer was tried (it may be in the thread)."""
        stream = self._streams.get(task_id)
        return stream is not None and stream.stop_tried

    async def on_progress(self, event: Progress) -> None:
        """Refresh the status message of a Slack request off the Supervisor's path."""
        if event.ref is None or event.ref.platform != PLATFORM or self._closed or event.task_id in self._finalized:
            return
        self._status.setdefault(event.task_id, ProgressView()).apply(event)
        if event.phase != Phase.FINISHED:
            self._spawn(self._refresh(event.task_id))

    async def _refresh(self, task_id: str) -> None:
        async with self._lock(task_id):  # one update at a time, each showing the newest state
            status = self._status.get(task_id)
            if task_id in self._finalized or status is None or status.ref is None or not status.ref.status_message:
                return
            if self.stop_tried(task_id):  # the stream message is (becoming) the answer
                return
            ref = status.ref
            text = slack_status.progress(status.steps, status.language, ref.user, status.request_text,
                                         show_request=is_parent(ref), slow=frozenset(status.slow),
                                         queued=status.queued, draft=status.partial)
            with log_context(task_id=task_id, platform=PLATFORM), \
                    contextlib.suppress(SlackApiError, ExternalServiceError):
                client = await self._clients().for_team(ref.workspace)
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

    async def keep_streams_alive(self) -> None:
        """Append to every open stream idle for ``keepalive_s``: Slack ends a stream after an inactivity
        gap, and agents (an LLM being retried) may take minutes between two steps."""
        every = self._keepalive_s
        while not self._closed:
            await asyncio.sleep(every / 2)
            now = time.monotonic()
            for task_id, stream in list(self._streams.items()):
                status = self._status.get(task_id)
                if not stream.alive or stream.stop_tried or now - stream.last_append < every or status is None \
                        or status.ref is None:
                    continue
                async with self._lock(task_id):
                    if task_id in self._finalized or stream.stop_tried:
                        continue
                    with log_context(task_id=task_id, platform=PLATFORM), \
                            contextlib.suppress(SlackApiError, ExternalServiceError):
                        client = await self._clients().for_team(status.ref.workspace)
                        if not await self._refresh_stream(client, task_id, status, keepalive=True):
                            self._spawn(self._refresh(task_id))  # the status text replaces the stream

    async def stop_stream(self, client: AsyncWebClient, reply: Reply, message: slack_blocks.SlackMessage,
                          metadata: dict[str, Any]) -> bool:
        """End the answer stream with the answer's first part; False when Slack says it cannot (fall back).

        Marked as tried before the call: a retry after an unclear failure reads the thread first.
        Raises RateLimited / ExternalServiceError when Slack refuses otherwise.
        """
        ref = reply.ref
        async with self._lock(reply.task_id):  # no progress append races the stop
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
                    raise answers.wrap(exc) from exc
                log.warning("the answer stream ended before the answer (%s); posting it instead", error)
                stream.alive = False
                return False
            self._finalize(reply.task_id)
        return True

    async def answered(self, reply: Reply, *, in_stream: bool) -> None:
        """The answer is out: close the status message, unless it became the answer (``in_stream``)."""
        ref = reply.ref
        if ref.status_message and not in_stream:
            await self._finalize_status(reply)
        elif ref.streamed:
            self._finalize(reply.task_id)
        self._status.pop(reply.task_id, None)
        self._streams.pop(reply.task_id, None)

    async def _finalize_status(self, reply: Reply) -> None:
        async with self._lock(reply.task_id):
            self._finalize(reply.task_id)
            status = self._status.pop(reply.task_id, None)
            request_text = status.request_text if status else ""
            text = slack_status.final(reply, reply.ref.user, request_text, show_request=is_parent(reply.ref))
            try:
                client = await self._clients().for_team(reply.ref.workspace)
                await client.chat_update(channel=reply.ref.channel, ts=reply.ref.status_message, text=text)
            except Exception as exc:  # the answer is out; a stale status line is not worth a resend
                log.warning("status message not updated: %s", exc)
        self._locks.pop(reply.task_id, None)

    def _finalize(self, task_id: str) -> None:
        self._finalized[task_id] = None
        while len(self._finalized) > FINALIZED_KEPT:  # progress events come within seconds of the answer
            del self._finalized[next(iter(self._finalized))]

    def _lock(self, task_id: str) -> asyncio.Lock:
        return self._locks.setdefault(task_id, asyncio.Lock())


def is_parent(ref: ConversationRef) -> bool:
    """The status message is the thread's parent (slash commands): it also shows the request."""
    return ref.status_message == ref.thread
