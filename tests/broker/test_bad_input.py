"""Malformed requests get the proxy's status codes, and the broker keeps serving everyone else.

These speak raw gRPC (the client's generated stubs) because the official client refuses most of
these inputs before they reach the wire.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from rocketmq.grpc_protocol import definition_pb2 as pb
from rocketmq.grpc_protocol import service_pb2 as spb
from rocketmq.grpc_protocol import service_pb2_grpc as rpc

from bot.broker.server import EmbeddedBroker
from tests.broker.clients import drain, message, producer, simple_consumer

META = (("x-mq-client-id", "test@1@0@raw"), ("x-mq-language", "PYTHON"))


@pytest.fixture
async def stub(broker: EmbeddedBroker) -> AsyncIterator[Any]:
    async with grpc.aio.insecure_channel(broker.endpoint) as channel:
        yield rpc.MessagingServiceStub(channel)


def _send_request(topic: str = "Orders", body: bytes = b"x", **system: Any) -> Any:
    props = pb.SystemProperties(message_id=uuid.uuid4().hex.upper(), message_type=pb.NORMAL, body_encoding=pb.IDENTITY)
    for name, value in system.items():
        setattr(props, name, value)
    msg = pb.Message(topic=pb.Resource(name=topic), system_properties=props, body=body)
    return spb.SendMessageRequest(messages=[msg])


async def _send_code(stub: Any, request: Any) -> int:
    response = await stub.SendMessage(request, metadata=META)
    return int(response.status.code)


async def test_oversize_body_is_refused(stub: Any) -> None:
    assert await _send_code(stub, _send_request(body=b"x" * (4 * 1024 * 1024 + 1))) == pb.MESSAGE_BODY_TOO_LARGE


@pytest.mark.parametrize("topic", ["bad topic", "a/b", "x" * 128, ""])
async def test_illegal_topic_names_are_refused(stub: Any, topic: str) -> None:
    assert await _send_code(stub, _send_request(topic=topic)) == pb.ILLEGAL_TOPIC


@pytest.mark.parametrize("tag", ["a|b", "   ", "tab\tbed"])
async def test_illegal_tags_are_refused(stub: Any, tag: str) -> None:
    assert await _send_code(stub, _send_request(tag=tag)) == pb.ILLEGAL_MESSAGE_TAG


@pytest.mark.parametrize("lite", ["task.1", "has space", "x" * 65])
async def test_illegal_lite_topic_names_are_refused(stub: Any, lite: str) -> None:
    request = _send_request(topic="Results", lite_topic=lite, message_type=pb.LITE)
    assert await _send_code(stub, request) == pb.ILLEGAL_LITE_TOPIC


async def test_unknown_topic_and_wrong_message_type(stub: Any) -> None:
    assert await _send_code(stub, _send_request(topic="NoSuchTopic")) == pb.TOPIC_NOT_FOUND
    fifo_on_normal = _send_request(topic="Orders", message_group="g", message_type=pb.FIFO)
    assert await _send_code(stub, fifo_on_normal) == pb.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE


async def test_missing_client_id_is_refused(stub: Any) -> None:
    response = await stub.SendMessage(_send_request(), metadata=(("x-mq-language", "PYTHON"),))
    assert response.status.code == pb.CLIENT_ID_REQUIRED


async def _receive_status(stub: Any, group: str, batch: int, invisible_s: int = 15) -> int:
    request = spb.ReceiveMessageRequest(
        group=pb.Resource(name=group),
        message_queue=pb.MessageQueue(topic=pb.Resource(name="Orders"), id=0),
        filter_expression=pb.FilterExpression(type=pb.TAG, expression="*"),
        batch_size=batch,
        invisible_duration=Duration(seconds=invisible_s),
        long_polling_timeout=Duration(seconds=5),
    )
    codes = [
        r.status.code async for r in stub.ReceiveMessage(request, metadata=META, timeout=10) if r.HasField("status")
    ]
    return int(codes[-1])


async def test_receive_batch_over_32_unknown_group_and_short_invisible_time(stub: Any) -> None:
    assert await _receive_status(stub, "GID_simple", batch=33) == pb.BAD_REQUEST
    assert await _receive_status(stub, "GID_nobody", batch=1) == pb.CONSUMER_GROUP_NOT_FOUND
    assert await _receive_status(stub, "GID_simple", batch=1, invisible_s=2) == pb.ILLEGAL_INVISIBLE_TIME


async def test_stale_receipt_handle_is_refused(stub: Any) -> None:
    ack = spb.AckMessageRequest(
        group=pb.Resource(name="GID_simple"),
        topic=pb.Resource(name="Orders"),
        entries=[spb.AckMessageEntry(message_id="X", receipt_handle="not-a-handle")],
    )
    response = await stub.AckMessage(ack, metadata=META)
    assert response.status.code == pb.INVALID_RECEIPT_HANDLE


async def test_broker_keeps_serving_after_bad_requests(broker: EmbeddedBroker, stub: Any) -> None:
    for bad in (_send_request(topic="a b"), _send_request(body=b"x" * (5 * 1024 * 1024)), _send_request(tag="|")):
        assert await _send_code(stub, bad) != pb.OK

    def good_client() -> list[bytes]:
        with producer(broker.endpoint, "Orders") as p:
            p.send(message("Orders", b"still-alive"))
        with simple_consumer(broker.endpoint, "GID_simple", "Orders") as c:
            return [m.body for m in drain(c, 1, timeout_s=5)]

    assert await asyncio.to_thread(good_client) == [b"still-alive"]


async def test_unused_rpcs_answer_not_implemented(stub: Any) -> None:
    end = await stub.EndTransaction(spb.EndTransactionRequest(topic=pb.Resource(name="Orders")), metadata=META)
    offset = await stub.GetOffset(spb.GetOffsetRequest(), metadata=META)
    assert end.status.code == offset.status.code == pb.NOT_IMPLEMENTED
