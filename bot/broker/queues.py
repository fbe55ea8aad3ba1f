"""The delivery state of one consumer group on one topic, and the pop rule.

A ``GroupQueue`` holds every message the group has not acknowledged yet, in store order. A pop
walks them and returns the deliverable ones, honouring delivery time, invisibility, auto-renew,
tag filters, max attempts and ordering: FIFO groups serialize per message group, lite groups per
lite topic (one batch in flight per key). It is synchronous and does no I/O; the engine persists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from bot.broker.model import Delivery, GroupInfo, StoredMessage, TopicInfo, TopicType
from bot.broker.signal import Signal


@dataclass(frozen=True, slots=True)
class PopRequest:
    """What one ReceiveMessage asks for."""

    now_ms: int
    batch: int
    tags: frozenset[str] | None  # None = every tag
    client_id: str
    auto_renew: bool
    invisible_ms: int
    lite_topics: AbstractSet[str] | None = None  # lite consumers: the client's subscriptions (read only)


@dataclass(slots=True)
class PopResult:
    """Deliveries handed out, plus side effects the engine must persist."""

    delivered: list[Delivery] = field(default_factory=list)
    filtered: list[Delivery] = field(default_factory=list)  # tag mismatch: acked for this group
    dead: list[Delivery] = field(default_factory=list)  # attempts exhausted: to the DLQ
    next_due_ms: int | None = None  # earliest time something may become deliverable


class GroupQueue:
    """Unacknowledged messages of one (group, topic) and who holds which."""

    def __init__(self, group: GroupInfo, topic: TopicInfo, is_alive: Callable[[str], bool]) -> None:
        self.group = group
        self.topic = topic
        self.signal = Signal()
        self._is_alive = is_alive
        self._pending: dict[int, Delivery] = {}
        self._by_lite: dict[str, dict[int, Delivery]] = {}
        # PRIORITY topics: pending deliveries per level (the queue id), each in store order, so a pop walks
        # the levels top down instead of sorting every pending message (a 5,000-session backlog) each time.
        self._by_level: dict[int, dict[int, Delivery]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def ordered(self) -> bool:
        """True when deliveries are serialized per key (FIFO or lite group)."""
        return self.group.fifo or self.group.is_lite

    def add(self, message: StoredMessage, attempts: int = 0) -> Delivery:
        """Track a newly stored message (or one reloaded after a restart)."""
        delivery = Delivery(message=message, attempts=attempts)
        self._pending[message.pk] = delivery
        if message.lite_topic:
            self._by_lite.setdefault(message.lite_topic, {})[message.pk] = delivery
        if self.topic.type == TopicType.PRIORITY:
            self._by_level.setdefault(message.queue_id, {})[message.pk] = delivery
        return delivery

    def remove(self, delivery: Delivery) -> None:
        """Forget a delivery (acked, filtered out, dead-lettered or expired)."""
        self._pending.pop(delivery.pk, None)
        if (level := self._by_level.get(delivery.message.queue_id)) is not None:
            level.pop(delivery.pk, None)
        lite = delivery.message.lite_topic
        if lite and (bucket := self._by_lite.get(lite)) is not None:
            bucket.pop(delivery.pk, None)
            if not bucket:
                del self._by_lite[lite]

    def get(self, pk: int) -> Delivery | None:
        """The pending delivery of a message, if the group has not acked it."""
        return self._pending.get(pk)

    def lite_topics(self) -> set[str]:
        """Lite topics with unacknowledged messages."""
        return set(self._by_lite)

    def drop_lite_topic(self, lite_topic: str) -> list[Delivery]:
        """Remove every pending message of an expired lite topic."""
        bucket = self._by_lite.pop(lite_topic, {})
        for pk in bucket:
            self._pending.pop(pk, None)
        return list(bucket.values())

    def held_by(self, client_id: str) -> list[Delivery]:
        """Auto-renewed deliveries currently held by a client."""
        return [d for d in self._pending.values() if d.handle and d.auto_renew and d.owner == client_id]

    def pop(self, req: PopRequest) -> PopResult:
        """Hand out up to ``req.batch`` deliverable messages; see the module docstring."""
        result = PopResult()
        blocked: set[str] = set()
        for delivery in self._candidates(req.lite_topics):
            if len(result.delivered) >= req.batch:
                break
            key = delivery.order_key if self.ordered else ""
            if key and key in blocked:
                continue
            due = self._due_at(delivery, req.now_ms)
            if due > req.now_ms:
                result.next_due_ms = due if result.next_due_ms is None else min(result.next_due_ms, due)
                if key:
                    blocked.add(key)
                continue
            self._take(delivery, req, result)
        return result

    def _take(self, d: Delivery, req: PopRequest, result: PopResult) -> None:
        if req.tags is not None and d.message.tag not in req.tags:
            result.filtered.append(d)
            return
        if d.attempts >= self.group.max_attempts:
            result.dead.append(d)
            return
        d.attempts += 1
        d.popped_at_ms = req.now_ms
        d.owner = req.client_id
        d.auto_renew = req.auto_renew
        d.visible_at_ms = req.now_ms + req.invisible_ms
        # A delivered key stays open, so the group's next messages join the same ordered batch.
        result.delivered.append(d)

    def _candidates(self, lite_topics: AbstractSet[str] | None) -> Iterator[Delivery]:
        if lite_topics is None:
            # No copies: a pop only marks deliveries, it never adds or removes one while walking them.
            if self.topic.type == TopicType.PRIORITY:
                # Highest level first, store order within a level; a retry keeps its message's level.
                for level in sorted(self._by_level, reverse=True):
                    yield from self._by_level[level].values()
                return
            yield from self._pending.values()
            return
        names: Iterable[str] = lite_topics if len(lite_topics) < len(self._by_lite) else list(self._by_lite)
        for name in names:
            if name in lite_topics and (bucket := self._by_lite.get(name)):
                yield from list(bucket.values())

    def _due_at(self, d: Delivery, now_ms: int) -> int:
        """When the delivery may next be handed out (<= now means now)."""
        if d.message.deliver_at_ms > now_ms:
            return d.message.deliver_at_ms
        if not d.handle:
            return 0
        if d.auto_renew:
            # The proxy renews a push consumer's handle while the client lives, for at most 3 h.
            if self._is_alive(d.owner) and now_ms < d.visible_at_ms:
                return d.visible_at_ms
            return 0
        return d.visible_at_ms
