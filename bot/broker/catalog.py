"""What the broker holds: topics, groups, retained messages and each group's queue per topic."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from bot.broker.config import BrokerConfig
from bot.broker.model import GroupInfo, Key, StoredMessage, TopicInfo, TopicType
from bot.broker.protocol import Code
from bot.broker.queues import GroupQueue
from bot.broker.store import BrokerStore, Snapshot, Subscription
from bot.broker.validation import Rejected

DLQ_PREFIX = "%DLQ%"


class Catalog:
    """Resource registry plus the in-memory copy of every retained message."""

    def __init__(self, config: BrokerConfig, store: BrokerStore, is_alive: Callable[[str], bool]) -> None:
        self._config = config
        self._store = store
        self._is_alive = is_alive
        self.topics: dict[Key, TopicInfo] = {}
        self.groups: dict[Key, GroupInfo] = {}
        self.messages: dict[Key, dict[int, StoredMessage]] = {}
        self.queues: dict[tuple[Key, Key], GroupQueue] = {}  # (group key, topic key) -> queue
        self._by_topic: dict[Key, list[GroupQueue]] = {}
        self._offsets: dict[tuple[Key, int], int] = {}
        self._next_pk = 1
        self._round_robin = itertools.count()

    # --- start-up ------------------------------------------------------------------------------

    def restore(self, snap: Snapshot) -> None:
        """Rebuild memory from what the store persisted."""
        self.topics = {t.key: t for t in snap.topics}
        self.groups = {g.key: g for g in snap.groups}
        last_pk = 0
        for m in snap.messages:
            self.messages.setdefault(m.topic_key, {})[m.pk] = m
            slot = (m.topic_key, m.queue_id)
            self._offsets[slot] = max(self._offsets.get(slot, 0), m.offset + 1)
            last_pk = max(last_pk, m.pk)
        self._next_pk = last_pk + 1
        for s in snap.subscriptions:
            gkey, tkey = (s.namespace, s.group), (s.namespace, s.topic)
            if gkey not in self.groups or tkey not in self.topics:
                continue
            queue = self._new_queue(self.groups[gkey], self.topics[tkey])
            for m in self.messages.get(tkey, {}).values():
                attempts, acked = snap.deliveries.get((s.namespace, s.group, s.topic, m.pk), (0, False))
                if m.pk >= s.start_pk and not acked:
                    queue.add(m, attempts)

    # --- resources -----------------------------------------------------------------------------

    async def put_topic(self, topic: TopicInfo) -> TopicInfo:
        """Create or update a topic."""
        await self._store.save_topic(topic)
        self.topics[topic.key] = topic
        return topic

    async def put_group(self, group: GroupInfo) -> GroupInfo:
        """Create or update a consumer group (queues keep their messages)."""
        await self._store.save_group(group)
        self.groups[group.key] = group
        for (gkey, _tkey), queue in self.queues.items():
            if gkey == group.key:
                queue.group = group
        return group

    async def apply(
        self, topics: list[TopicInfo], groups: list[GroupInfo], subscriptions: dict[str, list[str]]
    ) -> None:
        """Create or update topics and groups; ``subscriptions`` maps a group to the topics it reads."""
        for topic in topics:
            await self.put_topic(topic)
        for group in groups:
            info = await self.put_group(group)
            for name in subscriptions.get(group.name, []):
                if name.startswith(DLQ_PREFIX) and (group.namespace, name) not in self.topics:
                    continue  # a dead-letter reader: its queue starts (from the earliest) at the first receive
                await self.queue(info, await self.topic((group.namespace, name)))

    async def topic(self, key: Key, *, create: TopicType | None = None) -> TopicInfo:
        """A topic; auto-created when allowed, else TOPIC_NOT_FOUND.

        A dead-letter topic is never created by a route query: as on Apache RocketMQ, ``%DLQ%<group>`` exists
        once the group's first message was dead-lettered (``dead_letter_topic``).
        """
        found = self.topics.get(key)
        if found is not None:
            return found
        if create is None or not self._config.auto_create or key[1].startswith(DLQ_PREFIX):
            raise Rejected(Code.TOPIC_NOT_FOUND, f"topic '{key[1]}' does not exist")
        return await self.put_topic(TopicInfo(key[0], key[1], create, self._config.queues_per_topic))

    async def dead_letter_topic(self, group: GroupInfo) -> TopicInfo:
        """``%DLQ%<group>``, created when the group dead-letters its first message."""
        key = (group.namespace, DLQ_PREFIX + group.name)
        return self.topics.get(key) or await self.put_topic(TopicInfo(key[0], key[1], TopicType.DLQ, 1))

    async def group(self, key: Key, *, lite_bind_topic: str = "") -> GroupInfo:
        """A consumer group; auto-created when allowed, else CONSUMER_GROUP_NOT_FOUND."""
        found = self.groups.get(key)
        if found is not None:
            return found
        if not self._config.auto_create:
            raise Rejected(Code.CONSUMER_GROUP_NOT_FOUND, f"consumer group '{key[1]}' does not exist")
        return await self.put_group(GroupInfo(key[0], key[1], lite_bind_topic=lite_bind_topic))

    async def queue(self, group: GroupInfo, topic: TopicInfo) -> GroupQueue:
        """The group's queue on a topic, created (and persisted) on first use."""
        found = self.queues.get((group.key, topic.key))
        if found is not None:
            return found
        retained = self.messages.get(topic.key, {})
        start = self._next_pk if self._config.new_group_start == "latest" else 0
        await self._store.save_subscription(Subscription(group.namespace, group.name, topic.name, start))
        queue = self._new_queue(group, topic)
        for m in retained.values():
            if m.pk >= start:
                queue.add(m)
        return queue

    def queues_of_topic(self, key: Key) -> list[GroupQueue]:
        """Every group queue fed by a topic."""
        return self._by_topic.get(key, [])

    def _new_queue(self, group: GroupInfo, topic: TopicInfo) -> GroupQueue:
        queue = GroupQueue(group, topic, self._is_alive)
        self.queues[(group.key, topic.key)] = queue
        self._by_topic.setdefault(topic.key, []).append(queue)
        return queue

    # --- messages ------------------------------------------------------------------------------

    def allocate(self, topic: TopicInfo, order_key: str, priority: int = 0) -> tuple[int, int, int]:
        """(pk, queue id, queue offset) for a new message; ordered keys hash to one queue."""
        # Ordered keys always land on one queue, as the proxy's consistent hash does. On a PRIORITY topic
        # the level is the queue, as on Apache RocketMQ (levels above the queue count share the top one).
        spread = sum(order_key.encode()) if order_key else next(self._round_robin)
        queue_id = min(priority, topic.queues - 1) if topic.type == TopicType.PRIORITY else spread % topic.queues
        slot = (topic.key, queue_id)
        offset = self._offsets.get(slot, 0)
        self._offsets[slot] = offset + 1
        pk, self._next_pk = self._next_pk, self._next_pk + 1
        return pk, queue_id, offset

    def index(self, message: StoredMessage) -> None:
        """Make a durable message visible to every group queue of its topic."""
        self.messages.setdefault(message.topic_key, {})[message.pk] = message
        for queue in self.queues_of_topic(message.topic_key):
            queue.add(message)
            queue.signal.notify()

    def forget(self, message: StoredMessage) -> None:
        """Drop a message from memory (expired); group queues are cleaned by the caller."""
        self.messages.get(message.topic_key, {}).pop(message.pk, None)

    def all_messages(self) -> Iterator[StoredMessage]:
        """Every retained message, topic by topic, oldest first."""
        for bucket in self.messages.values():
            yield from list(bucket.values())

    def stored_before(self, cutoff_ms: int) -> list[StoredMessage]:
        """Messages stored before ``cutoff_ms``; each topic is in store order, so the scan stops early."""
        old: list[StoredMessage] = []
        for bucket in self.messages.values():
            for message in bucket.values():
                if message.store_ms >= cutoff_ms:
                    break
                old.append(message)
        return old
