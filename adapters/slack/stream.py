"""The answer of an assistant-thread request as a Slack chat stream.

``chat.startStream`` opens the answer message when the request arrives; each step is a ``task_update``
chunk (weather, travel, with its status) appended as progress comes; ``chat.stopStream`` ends it with the
Block Kit itinerary. Streaming is progress only: the outbox decides when the answer is delivered, and a
stream Slack ended (``message_not_in_streaming_state`` after an inactivity gap) or a workspace without
streaming (``unknown_method``, ``not_allowed_token_type``...) makes the caller fall back to
``chat.postMessage`` + ``chat.update``. Wording comes from :mod:`bot.wording`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import StepState, StepStatus
from bot.progress import draft_tail
from bot.schemas import Language
from bot.wire import StepKind
from bot.wording import wording

log = logging.getLogger("tourguide.slack")

# Slack's answers meaning "this message cannot stream (any more)": fall back to post + update.
STREAM_GONE = frozenset({
    "message_not_in_streaming_state", "unknown_method", "not_allowed_token_type", "method_deprecated",
    "not_implemented", "feature_not_enabled", "message_not_found", "invalid_chunks", "missing_scope",
})
# Slack's answers meaning "never stream in this workspace" (no need to try on the next request).
NO_STREAMING = frozenset({"unknown_method", "not_allowed_token_type", "method_deprecated", "not_implemented",
                          "feature_not_enabled", "missing_scope"})
DRAFT_CHARS = 1500  # of a streamed draft shown as the Travel step's output: its newest part
_CHUNK_STATUS = {StepStatus.PENDING: "pending", StepStatus.SENT: "in_progress", StepStatus.OK: "complete",
                 StepStatus.FAILED: "error"}


@dataclass
class AnswerStream:
    """One open chat stream: where it is and what it already shows."""

    channel: str
    ts: str
    alive: bool = True
    stop_tried: bool = False  # chat.stopStream was sent: a retry must check the thread first
    shown: dict[str, str] = field(default_factory=dict)  # step kind -> task_update status appended
    last_append: float = field(default_factory=time.monotonic)


def error_of(exc: SlackApiError) -> str:
    """Slack's error code of a refused call."""
    return str(exc.response.get("error", "unknown"))


def step_chunks(steps: Sequence[StepState], language: Language, slow: frozenset[str],
                draft: str = "") -> list[dict[str, Any]]:
    """A ``task_update`` chunk per step: its name, its status and, while out, the agent at work; the plan's
    draft, as the model streams it, is the Travel step's output until the answer (``chat.stopStream``)."""
    words = wording(language)
    chunks = []
    for step in steps:
        out = step.status == StepStatus.SENT
        details = words.agent_at_work.get(step.kind, "") if out else None
        if out and step.kind.value in slow:
            details = words.slow_state
        output = draft_tail(draft, DRAFT_CHARS) if out and draft and step.kind == StepKind.TRAVEL else None
        chunks.append(TaskUpdateChunk(id=step.kind.value, title=words.step_names.get(step.kind, step.kind.value),
                                      status=_CHUNK_STATUS[step.status], details=details, output=output).to_dict())
    return chunks


async def start(client: AsyncWebClient, *, channel: str, thread_ts: str, team: str, user: str,
                language: Language) -> tuple[str, str]:
    """Open the answer stream in the thread: (its ts, "") or ("", Slack's error) when it cannot stream."""
    if not hasattr(client, "chat_startStream"):  # slack-sdk older than 3.37: as if Slack had no such method
        return "", "unknown_method"
    try:
        started = await client.chat_startStream(
            channel=channel, thread_ts=thread_ts, recipient_team_id=team or None, recipient_user_id=user or None,
            task_display_mode="timeline", chunks=[PlanUpdateChunk(title=wording(language).planning)])
    except SlackApiError as exc:
        return "", error_of(exc)
    return str(started["ts"]), ""


async def append(client: AsyncWebClient, stream: AnswerStream, chunks: list[dict[str, Any]]) -> bool:
    """Append chunks; False (and the stream marked dead) when Slack says it cannot stream any more.

    Other refusals (rate limits) drop this update: the next one, or the keep-alive, carries the state again.
    """
    if not stream.alive or not chunks:
        return stream.alive
    try:
        await client.chat_appendStream(channel=stream.channel, ts=stream.ts, chunks=chunks)
    except SlackApiError as exc:
        error = error_of(exc)
        if error in STREAM_GONE:
            log.warning("the answer stream ended (%s); falling back to message updates", error)
            stream.alive = False
            return False
        log.warning("stream update not accepted: %s", error)
        return True
    stream.last_append = time.monotonic()
    return True


def plan_chunk(title: str) -> dict[str, Any]:
    """The plan's title as a ``plan_update`` chunk (what a stream without steps yet shows)."""
    return PlanUpdateChunk(title=title).to_dict()


def text_chunk(text: str) -> dict[str, Any]:
    """Streamed answer text (partial plans) as a ``markdown_text`` chunk."""
    return MarkdownTextChunk(text=text).to_dict()
