"""Malformed requests get the proxy's status codes, and the broker keeps serving everyone else.

These speak raw gRPC (the client's generated stubs) because the official client refuses most of
these inputs before they reach the wire.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from rocketmq.grpc_protocol import definition_pb2 as pb
from rocketmq.grpc_protocol import service_pb2 as spb
from rocketmq.grpc_protocol import service_pb2_grpc as rpc

from bot.broker import auth
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from tests.broker.clients import drain, message, producer, simple_consumer
from tests.broker.conftest import GROUPS, TOPICS, Target, with_overrides

META = (("x-mq-client-id", "test@1@0@raw"), ("x-mq-language", "PYTHON"))


class Raw:
    """A raw gRPC stub on one broker under test, announced as a simple consumer of GID_simple on Orders
    (Apache RocketMQ answers a receive from a client without settings with an internal error)."""

    def __init__(self, stub: Any, target: Target) -> None:
        self.stub = stub
        self.target = target
        self.n = target.n
        self.kind = target.kind

    async def __aenter__(self) -> Raw:
        settings = pb.Settings(
            client_type=pb.SIMPLE_CONSUMER, request_timeout=Duration(seconds=3),
            subscription=pb.Subscription(group=pb.Resource(name=self.n("GID_simple")), subscriptions=[
                pb.SubscriptionEntry(topic=pb.Resource(name=self.n("Orders")),
                                     expression=pb.FilterExpression(type=pb.TAG, expression="*"))]))
        self._commands: asyncio.Queue[Any] = asyncio.Queue()
        await self._commands.put(spb.TelemetryCommand(settings=settings))
        self._telemetry = self.stub.Telemetry(self._stream(), metadata=META)
        await self._telemetry.read()  # the broker's settings reply
        return self

    async def _stream(self) -> AsyncIterator[Any]:
        while (command := await self._commands.get()) is not None:
            yield command

    async def __aexit__(self, *_exc: object) -> None:
        await self._commands.put(None)
        self._telemetry.cancel()


@pytest.fixture
async def raw(target: Target) -> AsyncIterator[Raw]:
    async with grpc.aio.insecure_channel(target.endpoint) as channel, \
            Raw(rpc.MessagingServiceStub(channel), target) as announced:
        yield announced


@pytest.fixture
async def stub(raw: Raw) -> Any:
    return raw.stub


def _send_request(topic: str = "Orders", body: bytes = b"x", **system: Any) -> Any:
    props = pb.SystemProperties(message_id=uuid.uuid4().hex.upper(), message_type=pb.NORMAL, body_encoding=pb.IDENTITY)
    for name, value in system.items():
        setattr(props, name, value)
    msg = pb.Message(topic=pb.Resource(name=topic), system_properties=props, body=body)
    return spb.SendMessageRequest(messages=[msg])


async def _send_code(stub: Any, request: Any) -> int:
    response = await stub.SendMessage(request, metadata=META)
    return int(response.status.code)


async def test_oversize_body_is_refused(raw: Raw) -> None:
    oversize = _send_request(raw.n("Orders"), body=b"x" * (4 * 1024 * 1024 + 1))
    assert await _send_code(raw.stub, oversize) == pb.MESSAGE_BODY_TOO_LARGE


@pytest.mark.parametrize("topic", ["bad topic", "a/b", "x" * 128, ""])
async def test_illegal_topic_names_are_refused(stub: Any, topic: str) -> None:
    assert await _send_code(stub, _send_request(topic=topic)) == pb.ILLEGAL_TOPIC


@pytest.mark.parametrize("tag", ["a|b", "   ", "tab\tbed"])
async def test_illegal_tags_are_refused(raw: Raw, tag: str) -> None:
    assert await _send_code(raw.stub, _send_request(raw.n("Orders"), tag=tag)) == pb.ILLEGAL_MESSAGE_TAG


@pytest.mark.parametrize("lite", ["task.1", "has space", "x" * 65])
async def test_illegal_lite_topic_names_are_refused(raw: Raw, lite: str) -> None:
    request = _send_request(topic=raw.n("Results"), lite_topic=lite, message_type=pb.LITE)
    assert await _send_code(raw.stub, request) == pb.ILLEGAL_LITE_TOPIC


async def test_unknown_topic_and_wrong_message_type(raw: Raw) -> None:
    # Both answer a send to a missing topic as Apache RocketMQ's proxy does: its type check comes first.
    assert await _send_code(raw.stub, _send_request(topic="NoSuchTopic")) == pb.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE
    fifo_on_normal = _send_request(topic=raw.n("Orders"), message_group="g", message_type=pb.FIFO)
    assert await _send_code(raw.stub, fifo_on_normal) == pb.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE


async def test_missing_client_id_is_refused(stub: Any) -> None:
    response = await stub.SendMessage(_send_request(), metadata=(("x-mq-language", "PYTHON"),))
    assert response.status.code == pb.CLIENT_ID_REQUIRED


async def _receive_status(raw: Raw, group: str, batch: int, invisible_s: int = 15, filter_type: int = pb.TAG) -> int:
    request = spb.ReceiveMessageRequest(
        group=pb.Resource(name=group),
        message_queue=pb.MessageQueue(topic=pb.Resource(name=raw.n("Orders")), id=0),
        filter_expression=pb.FilterExpression(type=filter_type, expression="*"),
        batch_size=batch,
        invisible_duration=Duration(seconds=invisible_s),
        long_polling_timeout=Duration(seconds=5),
    )
    replies = raw.stub.ReceiveMessage(request, metadata=META, timeout=10)
    codes = [r.status.code async for r in replies if r.HasField("status")]
    return int(codes[-1])


async def test_receive_batch_over_32_unknown_group_and_short_invisible_time(raw: Raw) -> None:
    # The proxy serves a batch over 32 (up to 32 at a time) rather than refusing it.
    assert await _receive_status(raw, raw.n("GID_simple"), batch=33) in (pb.OK, pb.MESSAGE_NOT_FOUND)
    assert await _receive_status(raw, "GID_nobody", batch=1) == pb.CONSUMER_GROUP_NOT_FOUND
    assert await _receive_status(raw, raw.n("GID_simple"), batch=1, invisible_s=2) == pb.ILLEGAL_INVISIBLE_TIME


async def test_stale_receipt_handle_is_refused(raw: Raw) -> None:
    """Pinned: the protocol's INVALID_RECEIPT_HANDLE here; Apache RocketMQ cannot decode it and answers
    INTERNAL_SERVER_ERROR (which a 5.1.2 push consumer would retry instead of giving up)."""
    ack = spb.AckMessageRequest(
        group=pb.Resource(name=raw.n("GID_simple")),
        topic=pb.Resource(name=raw.n("Orders")),
        entries=[spb.AckMessageEntry(message_id="X", receipt_handle="not-a-handle")],
    )
    response = await raw.stub.AckMessage(ack, metadata=META)
    expected = pb.INVALID_RECEIPT_HANDLE if raw.kind == "embedded" else pb.INTERNAL_SERVER_ERROR
    assert response.status.code == expected


async def test_broker_keeps_serving_after_bad_requests(raw: Raw) -> None:
    orders = raw.n("Orders")
    oversize = _send_request(orders, body=b"x" * (4 * 1024 * 1024 + 1024))  # over the body limit, under the frame limit
    for bad in (_send_request(topic="a b"), oversize, _send_request(orders, tag="|")):
        assert await _send_code(raw.stub, bad) != pb.OK

    def good_client() -> list[bytes]:
        with producer(raw.target.endpoint, orders) as p:
            p.send(message(orders, b"still-alive"))
        with simple_consumer(raw.target.endpoint, raw.n("GID_simple"), orders) as c:
            return [m.body for m in drain(c, 1, timeout_s=10)]

    assert await asyncio.to_thread(good_client) == [b"still-alive"]


async def test_unused_rpcs(raw: Raw) -> None:
    """Offsets and pull are not served by either broker (gRPC UNIMPLEMENTED, as Apache RocketMQ's proxy).
    Pinned: EndTransaction is NOT_IMPLEMENTED here (no transactions); Apache RocketMQ validates the request."""
    end = await raw.stub.EndTransaction(spb.EndTransactionRequest(topic=pb.Resource(name=raw.n("Orders"))),
                                        metadata=META)
    assert end.status.code == (pb.NOT_IMPLEMENTED if raw.kind == "embedded" else pb.INVALID_TRANSACTION_ID)
    for call in (raw.stub.GetOffset(spb.GetOffsetRequest(), metadata=META),
                 raw.stub.UpdateOffset(spb.UpdateOffsetRequest(), metadata=META),
                 raw.stub.QueryOffset(spb.QueryOffsetRequest(), metadata=META)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_frame_far_over_the_body_limit_is_refused_before_it_is_buffered(broker: EmbeddedBroker) -> None:
    # The stub's own channel would refuse to send it; a raw channel without a send limit plays the attacker.
    async with grpc.aio.insecure_channel(broker.endpoint, options=[("grpc.max_send_message_length", -1)]) as ch:
        stub = rpc.MessagingServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SendMessage(_send_request(body=b"x" * (64 * 1024 * 1024)), metadata=META)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_garbage_frames_get_invalid_argument_and_one_log_line(
    broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(broker.endpoint) as ch:
        send = ch.unary_unary("/apache.rocketmq.v2.MessagingService/SendMessage")  # bytes in, bytes out
        receive = ch.unary_stream("/apache.rocketmq.v2.MessagingService/ReceiveMessage")
        telemetry = ch.stream_stream("/apache.rocketmq.v2.MessagingService/Telemetry")
        codes = []
        for _ in range(20):
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await send(b"\xff\xff\xff\xff garbage", metadata=META)
            codes.append(bad.value.code())
        with pytest.raises(grpc.aio.AioRpcError) as bad_stream:
            async for _ in receive(b"\x0a\xff", metadata=META):
                pass
        call = telemetry(iter([b"\xff\xff"]), metadata=META)
        with pytest.raises(grpc.aio.AioRpcError) as bad_telemetry:
            async for _ in call:
                pass
    assert set(codes) == {grpc.StatusCode.INVALID_ARGUMENT}
    assert bad_stream.value.code() == bad_telemetry.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    lines = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(lines) == 1  # throttled: one line, however many frames
    assert not any(r.exc_info for r in caplog.records)  # and no traceback from us or from grpc


async def test_unknown_enum_values_get_protocol_status_codes(raw: Raw) -> None:
    """Pinned: the embedded broker refuses unknown enum numbers with the protocol's codes; Apache RocketMQ
    stores a message of unknown type or encoding (OK), and answers the others with other codes."""
    embedded = raw.kind == "embedded"
    orders, results = raw.n("Orders"), raw.n("Results")
    assert await _send_code(raw.stub, _send_request(orders, message_type=99)) == (pb.BAD_REQUEST if embedded else pb.OK)
    assert await _send_code(raw.stub, _send_request(orders, body_encoding=42)) == (
        pb.BAD_REQUEST if embedded else pb.OK)
    heartbeat = await raw.stub.Heartbeat(spb.HeartbeatRequest(client_type=77), metadata=META)
    assert heartbeat.status.code == (pb.UNRECOGNIZED_CLIENT_TYPE if embedded else pb.ILLEGAL_CONSUMER_GROUP)
    sync = spb.SyncLiteSubscriptionRequest(action=9, topic=pb.Resource(name=results),
                                           group=pb.Resource(name=raw.n("GID_lite")), lite_topic_set=["t1"])
    sync_code = (await raw.stub.SyncLiteSubscription(sync, metadata=META)).status.code
    assert sync_code == (pb.BAD_REQUEST if embedded else pb.INTERNAL_SERVER_ERROR)
    filter_code = await _receive_status(raw, raw.n("GID_simple"), batch=1, filter_type=13)
    # Apache RocketMQ treats the unknown filter type as "everything": the two messages above come back.
    assert filter_code in ((pb.ILLEGAL_FILTER_EXPRESSION,) if embedded else (pb.OK, pb.MESSAGE_NOT_FOUND))
    empty_ack = await raw.stub.AckMessage(spb.AckMessageRequest(group=pb.Resource(name=raw.n("GID_simple"))),
                                          metadata=META)
    assert empty_ack.status.code == pb.ILLEGAL_TOPIC  # both check the topic first


async def test_dead_letter_topics_exist_only_after_a_dead_letter(raw: Raw) -> None:
    """Both: ``%DLQ%<group>`` has no route until the group dead-lettered a message (conformance tests read
    one after it did), so route queries cannot create topics without bound."""

    async def route(topic: str) -> int:
        response = await raw.stub.QueryRoute(spb.QueryRouteRequest(topic=pb.Resource(name=topic)), metadata=META)
        return int(response.status.code)

    before = len(raw.target.embedded.engine.catalog.topics) if raw.target.embedded else 0
    assert await route("%DLQ%" + raw.n("GID_simple")) == pb.TOPIC_NOT_FOUND
    for i in range(20):
        assert await route(f"%DLQ%nobody{i}") == pb.TOPIC_NOT_FOUND
    if raw.target.embedded:
        assert len(raw.target.embedded.engine.catalog.topics) == before


def _signed(date_time: str, secret: str = "sk-test") -> tuple[tuple[str, str], ...]:
    signature = hmac.new(secret.encode(), date_time.encode(), hashlib.sha1).hexdigest()
    authorization = f"MQv2-HMAC-SHA1 Credential=ak-test, SignedHeaders=x-mq-date-time, Signature={signature}"
    return (*META, ("x-mq-date-time", date_time), ("authorization", authorization))


async def test_stale_signatures_and_unsigned_dead_letter_routes_are_refused(broker_config: BrokerConfig) -> None:
    config = with_overrides(broker_config, auth={"ak-test": "sk-test"})
    async with EmbeddedBroker(config) as broker, grpc.aio.insecure_channel(broker.endpoint) as ch:
        await broker.apply(TOPICS, GROUPS, {})
        stub = rpc.MessagingServiceStub(ch)
        now = time.time()

        async def route(metadata: Any, topic: str = "Orders") -> int:
            response = await stub.QueryRoute(spb.QueryRouteRequest(topic=pb.Resource(name=topic)), metadata=metadata)
            return int(response.status.code)

        assert await route(_signed(auth.date_time(now))) == pb.OK
        assert await route(_signed(auth.date_time(now - 30))) == pb.OK  # a little clock skew is fine
        assert await route(_signed(auth.date_time(now - 10 * 60))) == pb.UNAUTHORIZED  # a captured, replayed header
        assert await route(_signed(auth.date_time(now + 10 * 60))) == pb.UNAUTHORIZED
        assert await route(_signed("not-a-time")) == pb.UNAUTHORIZED
        assert await route(META, "%DLQ%GID_simple") == pb.UNAUTHORIZED
        assert await route(_signed(auth.date_time(now)), "%DLQ%GID_simple") == pb.TOPIC_NOT_FOUND


async def test_a_receive_before_the_clients_settings_is_refused(target: Target) -> None:
    """Both: a client must announce its settings over telemetry before it receives (the 5.1.2
    SimpleConsumer does not wait for them, which is why tests/broker's helper does)."""
    async with grpc.aio.insecure_channel(target.endpoint) as channel:
        unannounced = rpc.MessagingServiceStub(channel)
        request = spb.ReceiveMessageRequest(
            group=pb.Resource(name=target.n("GID_simple")),
            message_queue=pb.MessageQueue(topic=pb.Resource(name=target.n("Orders")), id=0),
            filter_expression=pb.FilterExpression(type=pb.TAG, expression="*"), batch_size=1,
            invisible_duration=Duration(seconds=15), long_polling_timeout=Duration(seconds=5))
        meta = (("x-mq-client-id", f"test@1@0@unannounced{target.suffix}"), ("x-mq-language", "PYTHON"))
        codes = [r.status.code async for r in unannounced.ReceiveMessage(request, metadata=meta, timeout=10)
                 if r.HasField("status")]
    assert codes == [pb.INTERNAL_SERVER_ERROR]
