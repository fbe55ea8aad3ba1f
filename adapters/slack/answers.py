"""An answer's parts in its thread: the message metadata that marks them, and finding those already posted."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ExternalServiceError, RateLimited
from bot.models import ConversationRef

log = logging.getLogger("tourguide.slack")

ANSWER_EVENT = "tourguide_answer"  # message metadata event type of every answer part (task ID, part, parts)


def metadata(task_id: str, part: int, parts: int) -> dict[str, Any]:
    """Message metadata of an answer part: what the in-doubt check looks for in the thread."""
    return {"event_type": ANSWER_EVENT, "event_payload": {"task_id": task_id, "part": part, "parts": parts}}


async def parts_in_thread(client: AsyncWebClient, ref: ConversationRef, task_id: str) -> dict[int, str]:
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


def wrap(exc: SlackApiError) -> ExternalServiceError:
    """Slack's refusal as our error: RateLimited for a 429 (the outbox retries it later)."""
    error = str(exc.response.get("error", "unknown"))
    if exc.response.status_code == 429 or error == "ratelimited":
        return RateLimited(f"slack: {error}")
    return ExternalServiceError(f"slack: {error}")
