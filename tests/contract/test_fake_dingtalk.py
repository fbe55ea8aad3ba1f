"""Contract tests: the real dingtalk-stream 0.24.3 client works against ``FakeDingTalk``.

The SDK copies ``DINGTALK_OPENAPI_ENDPOINT`` into several modules at import time and the fake's port is
only known once it runs, so each test patches those attributes with ``monkeypatch`` (``sdk_patches``)
instead of setting the environment variable before import: that works whatever imported the SDK first.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import dingtalk_stream
import httpx
import pytest
from dingtalk_stream import AckMessage, ChatbotMessage, Credential, DingTalkStreamClient
from dingtalk_stream.card_replier import AICardReplier

from tests.standins.fake_dingtalk import (
    CHATBOT_TOPIC,
    SESSION_EXPIRED_ERRCODE,
    THROTTLED_CODE,
    THROTTLED_ERRCODE,
    FakeDingTalk,
    stop_stream_client,
)


class RecordingHandler(dingtalk_stream.AsyncChatbotHandler):  # type: ignore[misc]
    """Ack-first handler: ``process`` runs in the SDK's thread pool and replies with plain httpx."""

    def __init__(self, work_seconds: float = 0.0) -> None:
        super().__init__(max_workers=2)
        self.work_seconds = work_seconds
        self.incoming: list[ChatbotMessage] = []

    def process(self, callback: dingtalk_stream.CallbackMessage) -> None:
        incoming = ChatbotMessage.from_dict(callback.data)
        self.incoming.append(incoming)
        time.sleep(self.work_seconds)  # the "long job", off the event loop
        body = {
            "msgtype": "markdown",
            "markdown": {"title": "Plan", "text": f"Plan for: {incoming.text.content}"},
            "at": {"atUserIds": [incoming.sender_staff_id], "isAtAll": False},
        }
        httpx.post(incoming.session_webhook, json=body, timeout=5).raise_for_status()


class AwaitingHandler(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    """The SDK's default pattern: the ACK is sent only after ``process`` returns."""

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        await asyncio.sleep(0.3)
        self.reply_markdown("Plan", "Day 1: West Lake", ChatbotMessage.from_dict(callback.data))
        return AckMessage.STATUS_OK, "OK"


@asynccontextmanager
async def _running_client(
    fake: FakeDingTalk, monkeypatch: pytest.MonkeyPatch, handler: dingtalk_stream.ChatbotHandler
) -> AsyncIterator[DingTalkStreamClient]:
    for target, name, value in fake.sdk_patches():
        monkeypatch.setattr(target, name, value)
    client = DingTalkStreamClient(Credential(fake.client_id, fake.client_secret))
    client.register_callback_handler(ChatbotMessage.TOPIC, handler)
    task = asyncio.create_task(client.start())
    try:
        await fake.wait_connected()
        yield client
    finally:
        await stop_stream_client(task)
        if isinstance(handler, dingtalk_stream.AsyncChatbotHandler):
            handler.async_executor.shutdown(wait=True)


async def test_group_message_is_acked_before_the_work_and_answered_via_session_webhook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = RecordingHandler(work_seconds=0.3)
    async with FakeDingTalk() as fake, _running_client(fake, monkeypatch, handler):
        frame = await fake.push_chatbot_message("plan 3 days in Hangzhou", at_staff_ids=("staff002",))
        ack = await fake.wait_for_ack(frame)
        await fake.wait_for(lambda: len(fake.webhook_posts) == 1)

    opened = fake.connection_opens[0]
    assert (opened.client_id, opened.subscriptions) == (fake.client_id, [{"type": "CALLBACK", "topic": CHATBOT_TOPIC}])
    assert (ack.code, ack.data["msgId"]) == (200, frame.data["msgId"])
    post = fake.webhook_posts[0]
    assert ack.at < post.at and post.at - ack.at >= 0.25  # ACK first, reply after the work
    assert (post.errcode, post.conversation_id) == (0, frame.data["conversationId"])
    assert post.body["at"]["atUserIds"] == ["staff001"]
    incoming = handler.incoming[0]
    assert (incoming.conversation_type, incoming.is_in_at_list, incoming.message_id) == ("2", True, frame.data["msgId"])
    assert [u.staff_id for u in incoming.at_users] == [None, "staff002"]
    assert incoming.session_webhook_expired_time > int(time.time() * 1000) + 80 * 60 * 1000


async def test_default_handler_acks_only_after_process_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDingTalk() as fake, _running_client(fake, monkeypatch, AwaitingHandler()):
        frame = await fake.push_chatbot_message("hi", conversation_type="1", conversation_id="cidFakeDm==")
        ack = await fake.wait_for_ack(frame)

    post = fake.webhook_posts[0]
    assert ack.at - frame.at >= 0.3 and post.at < ack.at
    assert ack.data == {"response": "OK"}
    assert post.body == {
        "msgtype": "markdown",
        "markdown": {"title": "Plan", "text": "Day 1: West Lake"},
        "at": {"atUserIds": ["staff001"]},
    }


async def test_ping_is_echoed_and_repushed_msg_id_reaches_the_handler_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = RecordingHandler()
    async with FakeDingTalk() as fake, _running_client(fake, monkeypatch, handler):
        ping = await fake.send_ping("opaque-1")
        first = await fake.push_chatbot_message("again?")
        second = await fake.repush(first)
        await fake.wait_for_ack(second)
        await fake.wait_for(lambda: len(handler.incoming) == 2)
        ping_ack = await fake.wait_for_ack(ping)

    assert ping_ack.data == {"opaque": "opaque-1"}
    assert first.message_id != second.message_id
    assert [m.message_id for m in handler.incoming] == [first.data["msgId"]] * 2  # the SDK does not dedupe


async def test_unacked_frames_are_redelivered_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDingTalk(redeliver_after=0.2) as fake:
        for target, name, value in fake.sdk_patches():
            monkeypatch.setattr(target, name, value)
        async with aiohttp.ClientSession() as session:
            opened = await (await session.post(f"{fake.base_url}/v1.0/gateway/connections/open", json={
                "clientId": fake.client_id, "clientSecret": fake.client_secret, "subscriptions": [],
            })).json()  # fmt: skip
            async with session.ws_connect(f"{opened['endpoint']}?ticket={opened['ticket']}") as ws:
                frame = await fake.push_chatbot_message("nobody acks me")
                first, again = json.loads(await ws.receive_str()), json.loads(await ws.receive_str())

    assert json.loads(first["data"])["msgId"] == json.loads(again["data"])["msgId"] == frame.data["msgId"]
    assert first["headers"]["messageId"] != again["headers"]["messageId"]


async def test_disconnect_frame_makes_the_client_reopen_with_a_new_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDingTalk() as fake, _running_client(fake, monkeypatch, RecordingHandler()):
        await fake.send_disconnect(close_after=0.1)
        await fake.wait_connected(count=2)

    assert [o.status for o in fake.connection_opens] == [200, 200]


async def test_gateway_rejects_bad_credentials_and_reused_tickets() -> None:
    async with FakeDingTalk() as fake, aiohttp.ClientSession() as session:
        url = f"{fake.base_url}/v1.0/gateway/connections/open"
        bad = await session.post(url, json={"clientId": fake.client_id, "clientSecret": "wrong"})
        good = await (
            await session.post(url, json={"clientId": fake.client_id, "clientSecret": fake.client_secret})
        ).json()
        ws_url = f"{good['endpoint']}?ticket={good['ticket']}"
        async with session.ws_connect(ws_url):
            await fake.wait_connected()
        with pytest.raises(aiohttp.WSServerHandshakeError) as reused:
            await session.ws_connect(ws_url)

    assert bad.status == 401 and (await bad.json())["code"] == "InvalidAuthentication"
    assert reused.value.status == 401


async def test_session_webhook_answers_expired_and_throttled() -> None:
    async with FakeDingTalk(rate_limit_per_minute=2) as fake, httpx.AsyncClient() as http:
        group = fake.chatbot_message("hi")
        text = {"msgtype": "text", "text": {"content": "x"}}
        answers = [(await http.post(group["sessionWebhook"], json=text)).json()["errcode"] for _ in range(3)]
        fake.expire_sessions()
        expired = (await http.post(group["sessionWebhook"], json=text)).json()

    assert answers == [0, 0, THROTTLED_ERRCODE]
    assert expired == {"errcode": SESSION_EXPIRED_ERRCODE, "errmsg": "session 不存在"}


async def _group_send(http: httpx.AsyncClient, fake: FakeDingTalk, token: str, cid: str) -> httpx.Response:
    body = {
        "robotCode": fake.robot_code, "openConversationId": cid, "msgKey": "sampleMarkdown",
        "msgParam": json.dumps({"title": "Plan", "text": "Day 1"}),
    }  # fmt: skip
    return await http.post(
        f"{fake.base_url}/v1.0/robot/groupMessages/send", json=body, headers={"x-acs-dingtalk-access-token": token}
    )


async def test_openapi_enforces_twenty_sends_per_minute_per_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDingTalk() as fake, httpx.AsyncClient() as http:
        for target, name, value in fake.sdk_patches():
            monkeypatch.setattr(target, name, value)
        sdk_client = DingTalkStreamClient(Credential(fake.client_id, fake.client_secret))
        token = await asyncio.to_thread(sdk_client.get_access_token)  # blocking requests call
        statuses = [(await _group_send(http, fake, token, "cidA==")).status_code for _ in range(21)]
        throttled = fake.sends_to("cidA==")[-1]
        other = await _group_send(http, fake, token, "cidB==")
        batch = await http.post(
            f"{fake.base_url}/v1.0/robot/oToMessages/batchSend",
            json={"robotCode": fake.robot_code, "userIds": ["staff001"], "msgKey": "sampleText",
                  "msgParam": json.dumps({"content": "hi"})},
            headers={"x-acs-dingtalk-access-token": token},
        )  # fmt: skip
        fake.revoke_access_tokens()
        revoked = await _group_send(http, fake, token, "cidB==")

    assert statuses == [200] * 20 + [403]
    assert (throttled.response["code"], throttled.status) == (THROTTLED_CODE, 403)
    assert other.status_code == 200 and "processQueryKey" in other.json()
    assert batch.json()["flowControlledStaffIdList"] == []
    assert revoked.status_code == 401
    window = [c.at for c in fake.sends_to("cidA==")]
    assert window[-1] - window[0] < 60  # all 21 inside one minute: the 21st is the one refused


async def test_ai_card_create_deliver_and_stream_via_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDingTalk() as fake:
        for target, name, value in fake.sdk_patches():
            monkeypatch.setattr(target, name, value)
        sdk_client = DingTalkStreamClient(Credential(fake.client_id, fake.client_secret))
        incoming = ChatbotMessage.from_dict(fake.chatbot_message("plan"))
        replier = AICardReplier(sdk_client, incoming)
        card_id: Any = await replier.async_create_and_send_card("tpl.schema", {"msgContent": ""}, at_sender=True)
        await replier.async_streaming(card_id, "msgContent", "Day 1", append=False, finished=False, failed=False)
        await replier.async_streaming(card_id, "msgContent", "Day 1\nDay 2", append=False, finished=True, failed=False)

    assert fake.cards[card_id]["msgContent"] == "Day 1\nDay 2"
    deliver = next(c for c in fake.openapi_calls if c.path == "/v1.0/card/instances/deliver")
    assert deliver.body["openSpaceId"] == f"dtv1.card//IM_GROUP.{incoming.conversation_id}"
    assert deliver.body["imGroupOpenDeliverModel"]["atUserIds"] == {"staff001": "Traveller"}
    assert all(c.status == 200 for c in fake.openapi_calls)
