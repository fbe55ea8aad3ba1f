"""The answer stream's SDK edge: an slack-sdk without chat streaming (older than 3.37) counts as a workspace
without streaming, and the bot asks Slack nothing it cannot answer."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

import adapters.slack.stream as slack_stream
from bot.schemas import Language
from tests.standins.fake_slack import FakeSlack

_STREAMING = ("chat_startStream", "chat_appendStream", "chat_stopStream", "chat_stream")


class OlderClient(AsyncWebClient):
    """slack-sdk's client as releases before 3.37 had it: no chat streaming methods."""

    def __getattribute__(self, name: str) -> Any:
        if name in _STREAMING:
            raise AttributeError(name)
        return super().__getattribute__(name)


async def test_an_sdk_without_streaming_falls_back_without_a_call() -> None:
    async with FakeSlack() as slack:
        client = OlderClient(token=slack.bot_token, base_url=slack.api_url)
        started = await slack_stream.start(client, channel="D0DM", thread_ts="1.000100", team=slack.team_id,
                                           user="U0USER", language=Language.EN)
    assert started == ("", "unknown_method")
    assert "unknown_method" in slack_stream.NO_STREAMING  # the adapter then posts a status message instead
    assert slack.calls == []


async def test_a_workspace_without_streaming_is_told_apart_from_an_ended_stream() -> None:
    async with FakeSlack(streaming="not_allowed_token_type") as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        started = await slack_stream.start(client, channel="D0DM", thread_ts="1.000100", team=slack.team_id,
                                           user="U0USER", language=Language.EN)
    assert started == ("", "not_allowed_token_type") and started[1] in slack_stream.NO_STREAMING
    assert "message_not_in_streaming_state" not in slack_stream.NO_STREAMING  # that one is per message
