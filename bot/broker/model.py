"""In-memory records of the embedded broker: topics, groups, stored messages, deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.broker.protocol import pb

Key = tuple[str, str]  # (namespace, name) of a topic or a group

DEFAULT_BACKOFF_S: tuple[float, ...] = (
    1,
    5,
    10,
    30,
    60,
    120,
    180,
    240,
    300,
    360,
    420,
    480,
    540,
    600,
    1200,
    1800,
    3600,
    7200,
)


class TopicType(StrEnum):
    """The topic's ``message.type`` attribute; decides which message types it accepts."""

    NORMAL = "NORMAL"
    FIFO = "FIFO"
    DELAY = "DELAY"
    TRANSACTION = "TRANSACTION"
    LITE = "LITE"
    PRIORITY = "PRIORITY"
    MIXED = "MIXED"
    DLQ = "DLQ"


_ACCEPTS: dict[TopicType, tuple[int, ...]] = {
    TopicType.NORMAL: (pb.NORMAL,),
    TopicType.FIFO: (pb.FIFO,),
    TopicType.DELAY: (pb.DELAY,),
    TopicType.TRANSACTION: (pb.TRANSACTION,),
    TopicType.LITE: (pb.LITE,),
    TopicType.PRIORITY: (pb.PRIORITY,),
    TopicType.MIXED: (pb.NORMAL, pb.FIFO, pb.DELAY, pb.TRANSACTION, pb.LITE, pb.PRIORITY),
    TopicType.DLQ: (pb.NORMAL, pb.FIFO, pb.DELAY),
}


@dataclass(slots=True)
class TopicInfo:
    """A topic and its attributes."""

    namespace: str
    name: str
    type: TopicType = TopicType.NORMAL
    queues: int = 2
    lite_ttl_s: int = 0  # idle lifetime of a lite topic; 0 = never expires

    @property
    def key(self) -> Key:
        """(namespace, name)."""
        return (self.namespace, self.name)

    @property
    def accepts(self) -> tuple[int, ...]:
        """Message types a send to this topic may carry."""
        return _ACCEPTS[self.type]


@dataclass(slots=True)
class GroupInfo:
    """A consumer group and its retry policy."""

    namespace: str
    name: str
    fifo: bool = False
    max_attempts: int = 16
    backoff_s: tuple[float, ...] = DEFAULT_BACKOFF_S
    lite_bind_topic: str = ""
    lite_quota: int = 2000

    @property
    def key(self) -> Key:
        """(namespace, name)."""
        return (self.namespace, self.name)

    @property
    def is_lite(self) -> bool:
        """True for a LITE_SELECTIVE group bound to a lite parent topic."""
        return bool(self.lite_bind_topic)


@dataclass(slots=True)
class StoredMessage:
    """A message as persisted, with everything needed to deliver it again."""

    pk: int
    namespace: str
    topic: str
    queue_id: int
    offset: int
    message_id: str
    body: bytes
    message_type: int = pb.NORMAL
    tag: str = ""
    keys: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    message_group: str = ""
    lite_topic: str = ""
    encoding: int = pb.IDENTITY
    born_ms: int = 0
    born_host: str = ""
    store_ms: int = 0
    deliver_at_ms: int = 0
    dlq_origin_topic: str = ""
    dlq_origin_message_id: str = ""
    priority: int = 0  # PRIORITY messages: higher first; the queue id is min(priority, queues - 1)

    @property
    def topic_key(self) -> Key:
        """(namespace, topic)."""
        return (self.namespace, self.topic)


@dataclass(slots=True)
class Delivery:
    """One message's delivery state for one consumer group."""

    message: StoredMessage
    attempts: int = 0
    visible_at_ms: int = 0
    handle: str = ""
    owner: str = ""  # client id holding an auto-renewed delivery
    auto_renew: bool = False
    popped_at_ms: int = 0

    @property
    def pk(self) -> int:
        """Primary key of the message."""
        return self.message.pk

    @property
    def order_key(self) -> str:
        """Key under which deliveries are serialized ('' = unordered)."""
        return self.message.lite_topic or self.message.message_group
