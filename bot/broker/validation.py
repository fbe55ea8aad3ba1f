"""The proxy's validation rules, answered with the same status codes as Apache RocketMQ."""

from __future__ import annotations

import re
from typing import Any

from bot.broker.errors import BrokerError
from bot.broker.protocol import Code

TOPIC_RE = re.compile(r"^[%|a-zA-Z0-9_-]+$")
LITE_TOPIC_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_NAME_LEN = 127
MAX_MESSAGE_GROUP_BYTES = 64
MAX_PROPERTIES_BYTES = 16 * 1024
SYSTEM_TOPIC_PREFIXES = ("rmq_sys_", "%RETRY%", "RMQ_SYS_")
RESERVED_PROPERTY_KEYS = frozenset(
    {
        "KEYS",
        "TAGS",
        "UNIQ_KEY",
        "DELAY",
        "RETRY_TOPIC",
        "REAL_TOPIC",
        "REAL_QID",
        "TRAN_MSG",
        "PGROUP",
        "MIN_OFFSET",
        "MAX_OFFSET",
        "BUYER_ID",
        "ORIGIN_MESSAGE_ID",
        "TRANSFER_FLAG",
        "CORRECTION_FLAG",
        "MQ2_FLAG",
        "RECONSUME_TIME",
        "MSG_REGION",
        "TRACE_ON",
        "__STARTDELIVERTIME",
        "__SHARDINGKEY",
        "__BORNHOST",
        "__LITE_TOPIC",
        "DLQ_ORIGIN_TOPIC",
        "DLQ_ORIGIN_MESSAGE_ID",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Rejected(BrokerError):
    """Raised inside the broker when a request is refused; carries the protocol status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_topic(name: str, *, for_send: bool = False) -> None:
    """Topic names: pattern, length, and no sends to system topics."""
    if not name or not TOPIC_RE.match(name) or len(name) > MAX_NAME_LEN:
        raise Rejected(Code.ILLEGAL_TOPIC, f"topic '{name}' is illegal")
    if for_send and (name.startswith(SYSTEM_TOPIC_PREFIXES) or name.startswith("%DLQ%")):
        raise Rejected(Code.ILLEGAL_TOPIC, f"topic '{name}' is a system topic")


def check_group(name: str) -> None:
    """Consumer group names: pattern and length."""
    if not name or not TOPIC_RE.match(name) or len(name) > MAX_NAME_LEN:
        raise Rejected(Code.ILLEGAL_CONSUMER_GROUP, f"consumer group '{name}' is illegal")


def check_tag(tag: str) -> None:
    """A tag must not be blank, contain '|' or control characters."""
    if not tag.strip() or "|" in tag or _CONTROL.search(tag):
        raise Rejected(Code.ILLEGAL_MESSAGE_TAG, f"tag '{tag!r}' is illegal")


def check_keys(keys: list[str]) -> None:
    """Keys must not be blank or contain control characters."""
    for key in keys:
        if not key.strip() or _CONTROL.search(key):
            raise Rejected(Code.ILLEGAL_MESSAGE_KEY, f"message key '{key!r}' is illegal")


def check_message_group(group: str) -> None:
    """Message groups are shorter than 64 bytes and free of control characters."""
    if len(group.encode()) >= MAX_MESSAGE_GROUP_BYTES or _CONTROL.search(group) or not group.strip():
        raise Rejected(Code.ILLEGAL_MESSAGE_GROUP, f"message group '{group!r}' is illegal")


def check_lite_topic(name: str, max_len: int) -> None:
    """Lite topic names: ``[a-zA-Z0-9_-]``, at most ``max_len`` bytes."""
    if not name or len(name.encode()) > max_len or not LITE_TOPIC_RE.match(name):
        raise Rejected(Code.ILLEGAL_LITE_TOPIC, f"lite topic '{name}' is illegal")


def check_properties(props: dict[str, str]) -> None:
    """User properties may not use reserved keys and must stay under 16 KiB."""
    for key in props:
        if key in RESERVED_PROPERTY_KEYS or not key.strip():
            raise Rejected(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, f"property key '{key}' is reserved")
    size = sum(len(k.encode()) + len(v.encode()) for k, v in props.items())
    if size > MAX_PROPERTIES_BYTES:
        raise Rejected(Code.MESSAGE_PROPERTIES_TOO_LARGE, f"properties are {size} bytes, over 16 KiB")


def check_body(body: bytes, max_bytes: int) -> None:
    """Bodies are non-empty and at most ``max_bytes``."""
    if not body:
        raise Rejected(Code.MESSAGE_BODY_EMPTY, "message body is empty")
    if len(body) > max_bytes:
        raise Rejected(Code.MESSAGE_BODY_TOO_LARGE, f"message body is {len(body)} bytes, over {max_bytes}")


def check_enum(enum: Any, value: int, code: int, what: str) -> None:
    """A protobuf enum field holds a value this protocol version defines (proto3 keeps unknown numbers)."""
    if value not in enum.values():
        raise Rejected(code, f"{what} {value} is not a known value")
