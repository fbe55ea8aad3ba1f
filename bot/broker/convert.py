"""Conversions between protobuf messages and the broker's records."""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from bot.broker.config import BrokerConfig
from bot.broker.model import Delivery, GroupInfo, StoredMessage
from bot.broker.protocol import Code, duration_s, pb, timestamp_ms, to_ms
from bot.broker.validation import (
    Rejected,
    check_body,
    check_enum,
    check_keys,
    check_lite_topic,
    check_message_group,
    check_properties,
    check_tag,
    check_topic,
)

_STORE_HOST = socket.gethostname()


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def message_from_proto(m: Any, config: BrokerConfig) -> StoredMessage:
    """Validate a sent message the way the proxy does and turn it into a record (pk unset)."""
    sp = m.system_properties
    check_topic(m.topic.name, for_send=True)
    if not sp.message_id:
        raise Rejected(Code.ILLEGAL_MESSAGE_ID, "message id is empty")
    # proto3 keeps enum numbers it does not know; refuse them here rather than fail later on a lookup
    check_enum(pb.MessageType, sp.message_type, Code.BAD_REQUEST, "message type")
    check_enum(pb.Encoding, sp.body_encoding, Code.BAD_REQUEST, "body encoding")
    tag = _optional(sp, "tag") or ""
    if sp.HasField("tag"):
        check_tag(tag)
    check_keys(list(sp.keys))
    group = _optional(sp, "message_group") or ""
    if sp.HasField("message_group"):
        check_message_group(group)
    lite = _optional(sp, "lite_topic") or ""
    if sp.HasField("lite_topic"):
        check_lite_topic(lite, config.max_lite_topic_len)
    props = dict(m.user_properties)
    check_properties(props)
    check_body(m.body, config.max_body_bytes)
    deliver_at = to_ms(sp.delivery_timestamp) if sp.HasField("delivery_timestamp") else 0
    priority = sp.priority if sp.HasField("priority") else 0
    if priority and (group or lite or deliver_at):
        raise Rejected(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
                       "priority cannot be combined with a message group, a lite topic or a delivery time")
    if priority < 0:
        raise Rejected(Code.BAD_REQUEST, "priority must not be negative")
    return StoredMessage(
        pk=0,
        namespace=m.topic.resource_namespace,
        topic=m.topic.name,
        queue_id=0,
        offset=0,
        message_id=sp.message_id,
        body=bytes(m.body),
        message_type=sp.message_type or pb.NORMAL,
        tag=tag,
        keys=tuple(sp.keys),
        properties=props,
        message_group=group,
        lite_topic=lite,
        encoding=sp.body_encoding or pb.IDENTITY,
        born_ms=to_ms(sp.born_timestamp),
        born_host=sp.born_host,
        deliver_at_ms=deliver_at,
        priority=priority,
    )


def message_to_proto(d: Delivery, handle: str, config: BrokerConfig) -> Any:
    """A delivered message with every system property the client reads (§5.5 of the protocol notes)."""
    m = d.message
    sp = pb.SystemProperties(
        message_id=m.message_id,
        receipt_handle=handle,
        # IDENTITY is required: an unset encoding makes the client drop the whole batch.
        body_encoding=m.encoding,
        body_digest=pb.Digest(type=pb.MD5, checksum=hashlib.md5(m.body).hexdigest().upper()),
        message_type=m.message_type,
        keys=list(m.keys),
        born_timestamp=timestamp_ms(m.born_ms),
        born_host=m.born_host,
        store_timestamp=timestamp_ms(m.store_ms),
        store_host=_STORE_HOST,
        queue_id=m.queue_id,
        queue_offset=m.offset,
        delivery_attempt=d.attempts,
        invisible_duration=duration_s(
            config.auto_renew_invisible_s if d.auto_renew else max(0, d.visible_at_ms - d.popped_at_ms) / 1000
        ),
    )
    if m.tag:
        sp.tag = m.tag
    if m.message_type == pb.PRIORITY:
        sp.priority = m.priority
    if m.message_group:
        sp.message_group = m.message_group
    if m.lite_topic:
        sp.lite_topic = m.lite_topic
    if m.deliver_at_ms:
        sp.delivery_timestamp.CopyFrom(timestamp_ms(m.deliver_at_ms))
    if m.dlq_origin_topic:
        sp.dead_letter_queue.CopyFrom(pb.DeadLetterQueue(topic=m.dlq_origin_topic, message_id=m.dlq_origin_message_id))
    topic = pb.Resource(resource_namespace=m.namespace, name=m.topic)
    return pb.Message(topic=topic, user_properties=m.properties, system_properties=sp, body=m.body)


def settings_reply(client: Any, group: GroupInfo | None, config: BrokerConfig) -> Any:
    """The client's settings merged with the server's values; see §4.2 of the protocol notes."""
    reply = pb.Settings()
    reply.CopyFrom(client)
    reply.metric.CopyFrom(pb.Metric(on=False))
    if client.client_type == pb.PRODUCER:
        # The producer overwrites its body-size limit with this: a missing value breaks every send.
        reply.publishing.max_body_size = config.max_body_bytes
        reply.publishing.validate_message_type = True
        reply.backoff_policy.CopyFrom(
            pb.RetryPolicy(
                max_attempts=3,
                exponential_backoff=pb.ExponentialBackoff(
                    initial=duration_s(0.01), max=duration_s(1.0), multiplier=2.0
                ),
            )
        )
        return reply
    if group is not None:
        reply.backoff_policy.CopyFrom(
            pb.RetryPolicy(
                max_attempts=group.max_attempts,
                customized_backoff=pb.CustomizedBackoff(next=[duration_s(s) for s in group.backoff_s]),
            )
        )
        sub = reply.subscription
        sub.fifo = group.fifo
        sub.receive_batch_size = config.max_batch
        sub.long_polling_timeout.CopyFrom(duration_s(config.long_polling_max_s))
        # Lite consumers start with quota 0 and refuse every subscribe until this arrives.
        sub.lite_subscription_quota = group.lite_quota
        sub.max_lite_topic_size = config.max_lite_topic_len
    return reply
