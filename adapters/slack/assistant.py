"""Slack assistant threads (the app's split view and its DMs): suggested prompts, titles, loading statuses.

Bolt's ``AsyncAssistant`` routes ``assistant_thread_started``, ``assistant_thread_context_changed`` and a
user's message inside an assistant thread (``message.im`` with a ``thread_ts``); the adapter hands it the
listener for those messages. Status and title are cosmetic: a refusal is logged, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import AsyncSetSuggestedPrompts
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schemas import Language
from bot.wording import wording
from bot.wording.prompts import SUGGESTED_PROMPTS

log = logging.getLogger("tourguide.slack")

TITLE_CHARS = 80
UserMessage = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]  # (event, body)


def assistant(on_user_message: UserMessage) -> AsyncAssistant:
    """The assistant middleware: prompts when a thread starts, requests from its messages."""
    middleware = AsyncAssistant()

    @middleware.thread_started
    async def started(set_suggested_prompts: AsyncSetSuggestedPrompts, payload: dict[str, Any]) -> None:
        language = Language.EN  # nothing said yet; the prompts themselves are in both languages
        try:
            await set_suggested_prompts(
                prompts=[{"title": title, "message": message} for title, message in SUGGESTED_PROMPTS],
                title=wording(language).prompts_title)
        except SlackApiError as exc:
            log.warning("no suggested prompts: %s", exc.response.get("error"))

    @middleware.thread_context_changed
    async def context_changed(payload: dict[str, Any]) -> None:
        # The channel the user looks at does not change a trip request; Bolt's default would write it
        # into the thread's first message's metadata, which we have no use for.
        return None

    @middleware.user_message
    async def user_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        await on_user_message(event, body)

    return middleware


async def set_title(client: AsyncWebClient, channel: str, thread_ts: str, request_text: str) -> None:
    """Name the thread after the request (the history list of the split view shows it)."""
    title = request_text if len(request_text) <= TITLE_CHARS else request_text[: TITLE_CHARS - 1] + "…"
    try:
        await client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title or "…")
    except SlackApiError as exc:
        log.warning("thread title not set: %s", exc.response.get("error"))


async def set_status(client: AsyncWebClient, channel: str, thread_ts: str, status: str,
                     loading: list[str] | None = None) -> None:
    """The thread's "is working" line, with loading messages naming the agent at work; "" clears it."""
    try:
        await client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=status,
                                                 loading_messages=loading or None)
    except SlackApiError as exc:
        log.warning("thread status not set: %s", exc.response.get("error"))
