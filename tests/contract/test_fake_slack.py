"""Contract tests: the real slack-bolt / slack-sdk clients work against ``FakeSlack``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.standins.fake_slack import FakeSlack


def _bolt_app(slack: FakeSlack) -> AsyncApp:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    return AsyncApp(client=client, signing_secret=slack.signing_secret)


@asynccontextmanager
async def _socket_mode(slack: FakeSlack, app: AsyncApp) -> AsyncIterator[AsyncSocketModeHandler]:
    handler = AsyncSocketModeHandler(app, slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_connected()
        yield handler
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@asynccontextmanager
async def _http_mode(app: AsyncApp) -> AsyncIterator[str]:
    runner = web.AppRunner(app.web_app(path="/slack/events"), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


async def test_socket_mode_app_mention_is_acked_and_answered_in_thread() -> None:
    async with FakeSlack() as slack:
        app = _bolt_app(slack)

        @app.event("app_mention")
        async def on_mention(event: dict[str, Any], say: Any) -> None:
            await say(text=f"echo: {event['text']}", thread_ts=event.get("thread_ts") or event["ts"])

        async with _socket_mode(slack, app):
            event = slack.app_mention("plan a trip to Hangzhou")
            envelope = await slack.push_event(event)
            ack = await slack.wait_for_ack(envelope)
            await slack.wait_for(lambda: len(slack.posted_messages) >= 1)

        assert ack.payload is None
        posted = slack.posted_messages[0]
        assert (posted.channel, posted.thread_ts) == (event["channel"], event["ts"])
        assert posted.text.endswith("plan a trip to Hangzhou")
        assert slack.calls_to("apps.connections.open")[0].token == slack.app_token
        assert slack.calls_to("chat.postMessage")[0].token == slack.bot_token


async def test_socket_mode_slash_command_is_acked_with_text_and_respond_reaches_response_url() -> None:
    async with FakeSlack() as slack:
        app = _bolt_app(slack)
        seen: list[str] = []

        @app.command("/trip")
        async def on_trip(ack: Any, command: dict[str, Any], respond: Any) -> None:
            await ack("Planning…")
            seen.append(command["text"])
            await respond(text="Here is your plan", response_type="ephemeral")

        async with _socket_mode(slack, app):
            envelope = await slack.push_slash_command("/trip", "3 days in Xi'an")
            ack = await slack.wait_for_ack(envelope)
            await slack.wait_for(lambda: len(slack.response_url_posts) == 1)

        assert ack.payload == {"text": "Planning…"}
        assert seen == ["3 days in Xi'an"]
        post = slack.response_url_posts[0]
        assert (post.status, post.body["text"]) == (200, "Here is your plan")
        assert post.url == envelope.payload["response_url"]


async def test_socket_mode_redelivery_carries_retry_fields_to_bolt() -> None:
    async with FakeSlack() as slack:
        app = _bolt_app(slack)
        retries: list[tuple[str, str]] = []

        @app.event("message")
        async def on_dm(request: AsyncBoltRequest) -> None:
            headers = request.headers
            retries.append((headers["x-slack-retry-num"][0], headers["x-slack-retry-reason"][0]))

        async with _socket_mode(slack, app):
            first = await slack.push_event(slack.im_message("hi"), event_id="Ev0001")
            second = await slack.redeliver(first, reason="timeout")
            await slack.wait_for_ack(second)
            await slack.wait_for(lambda: len(retries) == 2)

        assert second.payload["event_id"] == "Ev0001"
        assert second.to_wire()["retry_attempt"] == 1
        assert sorted(retries) == [("0", ""), ("1", "timeout")]


async def test_socket_mode_client_reconnects_after_disconnect_frame() -> None:
    async with FakeSlack() as slack:
        async with _socket_mode(slack, _bolt_app(slack)):
            await slack.send_disconnect("refresh_requested")
            await slack.wait_for(lambda: slack.connection_count == 2)

        assert len(slack.calls_to("apps.connections.open")) == 2


async def test_web_api_methods_answer_like_slack() -> None:
    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        auth = await client.auth_test()
        parent = await client.chat_postMessage(channel="C1", text="Planning…")
        reply = await client.chat_postMessage(channel="C1", text="Day 1", thread_ts=parent["ts"])
        updated = await client.chat_update(channel="C1", ts=parent["ts"], text="Done")
        thread = await client.conversations_replies(channel="C1", ts=parent["ts"])
        status = await client.assistant_threads_setStatus(channel_id="C1", thread_ts=parent["ts"], status="…")
        user = await client.users_info(user="U42")
        ephemeral = await client.chat_postEphemeral(channel="C1", user="U42", text="psst")

    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0FAKE")
    assert float(reply["ts"]) > float(parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert updated["message"]["text"] == "Done"
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], reply["ts"]]
    assert status["ok"] and user["user"]["id"] == "U42" and ephemeral["message_ts"]
    assert slack.calls_to("users.info")[0].params == {"user": "U42"}
    assert [m.text for m in slack.updated_messages] == ["Done"]


async def test_web_api_rejects_wrong_tokens_and_bad_messages() -> None:
    async with FakeSlack() as slack:
        wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
        app_level = AsyncWebClient(token=slack.app_token, base_url=slack.api_url)
        bot = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        errors = []
        for call in (
            wrong.auth_test(),
            app_level.chat_postMessage(channel="C1", text="x"),
            bot.apps_connections_open(app_token=slack.bot_token),
            bot.api_call("chat.postMessage", json={"channel": "C1"}),
            bot.chat_postMessage(channel="C1", text="x", blocks=[{"type": "divider"}] * 51),
            bot.chat_update(channel="C1", ts="1.000100", text="x"),
        ):
            with pytest.raises(SlackApiError) as caught:
                await call
            errors.append(caught.value.response["error"])

    assert errors == [
        "invalid_auth",
        "not_allowed_token_type",
        "not_allowed_token_type",
        "no_text",
        "invalid_blocks",
        "message_not_found",
    ]


async def test_web_api_rate_limits_posts_per_channel() -> None:
    async with FakeSlack(post_interval=1.0) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        await client.chat_postMessage(channel="C1", text="one")
        await client.chat_postMessage(channel="C2", text="other channel is fine")
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C1", text="two")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"


async def test_http_mode_processes_signed_requests_and_rejects_forged_ones() -> None:
    async with FakeSlack() as slack:
        app = _bolt_app(slack)
        handled: list[str] = []

        @app.event("app_mention")
        async def on_mention(event: dict[str, Any], say: Any) -> None:
            handled.append(event["ts"])
            await say(text="on it", thread_ts=event["ts"])

        @app.command("/trip")
        async def on_trip(ack: Any, command: dict[str, Any]) -> None:
            await ack(f"Planning {command['text']}")

        async with _http_mode(app) as url:
            event = slack.app_mention("hello")
            ok = await slack.http.post(url, slack.event_request(event))
            await slack.wait_for(lambda: len(slack.posted_messages) == 1)
            command = await slack.http.post(url, slack.slash_command_request("/trip", "Lhasa"))
            forged = await slack.http.post(url, slack.event_request(event, bad_signature=True))
            stale = await slack.http.post(url, slack.event_request(event, age=301))

    assert (ok.status, handled) == (200, [event["ts"]])
    assert slack.posted_messages[0].thread_ts == event["ts"]
    assert (command.status, command.body) == (200, "Planning Lhasa")
    assert (forged.status, forged.json()) == (401, {"error": "invalid request"})
    assert (stale.status, stale.json()) == (401, {"error": "invalid request"})


async def test_http_mode_retry_headers_reach_bolt() -> None:
    async with FakeSlack() as slack:
        app = _bolt_app(slack)
        retries: list[str] = []

        @app.event("message")
        async def on_dm(request: AsyncBoltRequest) -> None:
            retries.append(request.headers["x-slack-retry-num"][0])

        request = slack.event_request(slack.im_message("hi"), retry_num=2, retry_reason="http_timeout")
        async with _http_mode(app) as url:
            delivered = await slack.http.post(url, request)
            await slack.wait_for(lambda: retries == ["2"])

    assert delivered.status == 200
    assert request.headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_unacked_events_are_redelivered_with_retry_attempt() -> None:
    async with FakeSlack(redeliver_after=0.1) as slack, aiohttp.ClientSession() as session:
        opened = await AsyncWebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)
        async with session.ws_connect(opened["url"]) as ws:
            hello = await ws.receive_json()
            envelope = await slack.push_event(slack.app_mention("anyone?"))
            first, again = await ws.receive_json(), await ws.receive_json()
            await ws.send_json({"envelope_id": again["envelope_id"]})
            await slack.wait_for(lambda: len(slack.acks) == 1)

    assert hello["type"] == "hello"
    assert first["envelope_id"] == envelope.envelope_id != again["envelope_id"]
    assert (again["retry_attempt"], again["retry_reason"]) == (1, "timeout")
    assert again["payload"]["event_id"] == first["payload"]["event_id"]
