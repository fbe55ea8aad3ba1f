"""The broker's behaviour: send, long-polling receive, ack, nack, dead letters, lite subscriptions.

Protocol-free: the gRPC service translates protobuf to these calls and ``Rejected`` to status
codes. All state changes happen on the event loop; durability comes from :mod:`store`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.broker.catalog import Catalog
from bot.broker.clients import ClientRegistry, ClientSession
from bot.broker.config import BrokerConfig
from bot.broker.model import Delivery, GroupInfo, Key, StoredMessage, TopicInfo, TopicType
from bot.broker.protocol import Code, pb
from bot.broker.queues import GroupQueue, PopRequest
from bot.broker.store import BrokerStore
from bot.broker.validation import Rejected, check_lite_topic

log = logging.getLogger("tourguide.broker")


def wall_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class ReceiveArgs:
    """A validated ReceiveMessage request."""

    client_id: str
    group: Key
    topic: Key
    tags: frozenset[str] | None
    batch: int
    auto_renew: bool
    invisible_s: float
    polling_s: float
    gone: Callable[[], bool] = lambda: False  # True once the caller's stream is cancelled


@dataclass(frozen=True, slots=True)
class SendResult:
    """What SendMessage answers for one message."""

    message_id: str
    queue_id: int
    offset: int


class BrokerEngine:
    """One single-node broker; created and owned by :class:`bot.broker.server.EmbeddedBroker`."""

    def __init__(self, config: BrokerConfig, store: BrokerStore, clock: Callable[[], int] = wall_ms) -> None:
        self.config = config
        self.clients = ClientRegistry(int(config.client_expiry_s * 1000))
        self.catalog = Catalog(config, store, self.clients.is_alive)
        self._store = store
        self._clock = clock
        self._handles: dict[str, tuple[GroupQueue, Delivery]] = {}
        self._handle_seq = itertools.count(1)
        self._recent: OrderedDict[tuple[Key, str], SendResult] = OrderedDict()
        self._lite_written: dict[tuple[Key, str], int] = {}

    async def start(self) -> None:
        """Reload persisted state."""
        self.catalog.restore(await self._store.load())
        now = self._clock()
        for m in self.catalog.all_messages():
            if m.lite_topic:
                self._lite_written[(m.topic_key, m.lite_topic)] = max(m.store_ms, now)

    # --- produce -------------------------------------------------------------------------------

    async def send(self, message: StoredMessage) -> SendResult:
        """Store a message durably, then make it deliverable; a retried message ID is answered again."""
        topic = await self.catalog.topic(message.topic_key, create=TopicType.MIXED)
        if message.message_type not in topic.accepts:
            raise Rejected(
                Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
                f"topic '{topic.name}' ({topic.type}) does not accept {pb.MessageType.Name(message.message_type)}",
            )
        now = self._clock()
        if message.deliver_at_ms and message.deliver_at_ms - now > self.config.max_delay_s * 1000:
            raise Rejected(Code.ILLEGAL_DELIVERY_TIME, "delivery time is too far in the future")
        seen = self._recent.get((topic.key, message.message_id))
        if seen is not None:
            return seen
        pk, queue_id, offset = self.catalog.allocate(topic, message.lite_topic or message.message_group,
                                                      message.priority)
        stored = replace(message, pk=pk, queue_id=queue_id, offset=offset, store_ms=now)
        await self._store.save_message(stored)
        self.catalog.index(stored)
        if stored.lite_topic:
            self._lite_written[(topic.key, stored.lite_topic)] = now
        return self._remember(topic.key, SendResult(stored.message_id, queue_id, offset))

    def _remember(self, topic: Key, result: SendResult) -> SendResult:
        self._recent[(topic, result.message_id)] = result
        while len(self._recent) > self.config.dedupe_window:
            self._recent.popitem(last=False)
        return result

    # --- consume -------------------------------------------------------------------------------

    async def receive(self, args: ReceiveArgs) -> list[tuple[Delivery, str]]:
        """Long-poll for up to ``args.batch`` messages; returns (delivery, receipt handle) pairs."""
        group, topic = await self._group_and_topic(args.group, args.topic)
        session = self.clients.touch(args.client_id, self._clock())
        self._check_mode(group, session)
        queue = await self.catalog.queue(group, topic)
        if not self.clients.is_current(session) or args.gone():
            # A poll from a client released a moment ago (killed while this RPC was in flight): whatever it
            # popped would sit with a dead owner until client expiry. Answer empty, a little later.
            await asyncio.sleep(min(args.polling_s, 1.0))
            return []
        invisible_s = self.config.auto_renew_max_s if args.auto_renew else args.invisible_s
        deadline = asyncio.get_running_loop().time() + args.polling_s
        while True:
            now = self._clock()
            self.clients.set_clock(now)
            lite = session.lite_topics if group.is_lite else None  # the live set: no copy per receive
            result = queue.pop(
                PopRequest(now, args.batch, args.tags, args.client_id, args.auto_renew, int(invisible_s * 1000), lite)
            )
            await self._settle(queue, result.filtered, result.dead)
            if result.delivered:
                return [(d, self._issue_handle(queue, d)) for d in result.delivered]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            if result.next_due_ms is not None:
                remaining = min(remaining, max(0.0, (result.next_due_ms - now) / 1000))
            await queue.signal.wait(remaining)
            if self.clients.get(args.client_id) is not session or args.gone():
                # The client went away while this long poll waited (kill -9 wakes us with the release
                # of its messages): handing it anything now would only cost those messages an attempt.
                return []

    def unpop(self, deliveries: list[tuple[Delivery, str]]) -> None:
        """Deliveries that never reached the client (its stream broke): visible again, attempt not counted."""
        for d, handle in deliveries:
            found = self._handles.pop(handle, None)
            if found is None or d.handle != handle:
                continue
            queue = found[0]
            d.attempts = max(0, d.attempts - 1)
            d.handle, d.owner, d.auto_renew, d.visible_at_ms = "", "", False, 0
            queue.signal.notify()

    async def _group_and_topic(self, gkey: Key, tkey: Key) -> tuple[GroupInfo, TopicInfo]:
        topic = await self.catalog.topic(tkey, create=TopicType.MIXED)
        group = await self.catalog.group(gkey, lite_bind_topic=tkey[1] if topic.type == TopicType.LITE else "")
        return group, topic

    @staticmethod
    def _check_mode(group: GroupInfo, session: ClientSession) -> None:
        if session.client_type == pb.CLIENT_TYPE_UNSPECIFIED:
            return
        if group.is_lite and not session.is_lite:
            raise Rejected(Code.ILLEGAL_CONSUMER_GROUP, f"lite group {group.name} must use LITE mode")
        if session.is_lite and not group.is_lite:
            raise Rejected(Code.ILLEGAL_CONSUMER_GROUP, f"regular group {group.name} cannot use LITE mode")

    def _issue_handle(self, queue: GroupQueue, d: Delivery) -> str:
        self._handles.pop(d.handle, None)
        d.handle = f"{next(self._handle_seq):x} {d.popped_at_ms} {d.pk} {self.config.broker_name}"
        self._handles[d.handle] = (queue, d)
        self._store.save_attempts(queue.group.namespace, queue.group.name, queue.topic.name, d.pk, d.attempts)
        return d.handle

    async def _settle(self, queue: GroupQueue, filtered: list[Delivery], dead: list[Delivery]) -> None:
        g, t = queue.group, queue.topic
        for d in filtered:
            queue.remove(d)
            self._store.save_ack_later(g.namespace, g.name, t.name, d.pk, d.attempts)
        for d in dead:
            queue.remove(d)
            self._handles.pop(d.handle, None)
            log.info("to DLQ after %d attempts: %s group=%s", d.attempts, d.message.message_id, g.name)
            await self._dead_letter(g, d)

    async def _dead_letter(self, group: GroupInfo, d: Delivery) -> None:
        dlq = await self.catalog.dead_letter_topic(group)
        m = d.message
        pk, queue_id, offset = self.catalog.allocate(dlq, "")
        copy = replace(
            m,
            pk=pk,
            topic=dlq.name,
            namespace=dlq.namespace,
            queue_id=queue_id,
            offset=offset,
            store_ms=self._clock(),
            deliver_at_ms=0,
            dlq_origin_topic=m.topic,
            dlq_origin_message_id=m.message_id,
            message_type=pb.NORMAL if m.message_type in (pb.LITE, pb.PRIORITY) else m.message_type,
        )
        self._store.save_message_later(copy)
        await self._store.save_ack(group.namespace, group.name, m.topic, m.pk, d.attempts)
        self.catalog.index(copy)

    def _held(self, handle: str) -> tuple[GroupQueue, Delivery]:
        found = self._handles.get(handle)
        if found is None or found[1].handle != handle:
            raise Rejected(Code.INVALID_RECEIPT_HANDLE, "receipt handle is expired")
        queue, d = found
        if not d.auto_renew and d.visible_at_ms <= self._clock():
            self._handles.pop(handle, None)
            raise Rejected(Code.INVALID_RECEIPT_HANDLE, "receipt handle is expired")
        return queue, d

    async def ack(self, handle: str) -> None:
        """Acknowledge a delivery for good; INVALID_RECEIPT_HANDLE when stale."""
        queue, d = self._held(handle)
        queue.remove(d)
        self._handles.pop(handle, None)
        await self._store.save_ack(queue.group.namespace, queue.group.name, queue.topic.name, d.pk, d.attempts)
        if queue.ordered:
            queue.signal.notify()

    def change_invisible(self, handle: str, invisible_s: float) -> str:
        """Make a delivery visible again after ``invisible_s``; returns the new handle (the nack path)."""
        if not 0 <= invisible_s <= self.config.max_invisible_s:
            raise Rejected(Code.ILLEGAL_INVISIBLE_TIME, f"invisible duration {invisible_s}s is out of range")
        queue, d = self._held(handle)
        d.visible_at_ms = self._clock() + int(invisible_s * 1000)
        d.auto_renew = False
        queue.signal.notify()
        return self._issue_handle(queue, d)

    async def change_invisible_or_dead_letter(self, handle: str, invisible_s: float) -> str:
        """ChangeInvisibleDuration. From a push consumer (auto-renewed delivery) it is always a nack, so a
        nack of the last attempt goes to the DLQ now rather than at a pop that may never come; a simple
        consumer may be extending its lease, so its message is only dead-lettered at the next pop."""
        queue, d = self._held(handle)
        if d.auto_renew and d.attempts >= queue.group.max_attempts:
            await self.forward_to_dlq(handle)
            return handle
        return self.change_invisible(handle, invisible_s)

    async def forward_to_dlq(self, handle: str) -> None:
        """Move a delivery to ``%DLQ%<group>`` (the FIFO client's own give-up path)."""
        queue, d = self._held(handle)
        queue.remove(d)
        self._handles.pop(handle, None)
        await self._dead_letter(queue.group, d)
        if queue.ordered:
            queue.signal.notify()

    # --- clients -------------------------------------------------------------------------------

    async def register(
        self, client_id: str, client_type: int, group: Key | None, topics: list[Key]
    ) -> GroupInfo | None:
        """Record a client's settings; consumers get their group (and queues) resolved."""
        session = self.clients.touch(client_id, self._clock(), revive=True)
        session.client_type = client_type
        session.has_settings = True
        if group is None:
            return None
        session.group = group
        lite_bind = topics[0][1] if session.is_lite and topics else ""
        info = await self.catalog.group(group, lite_bind_topic=lite_bind)
        self._check_mode(info, session)
        for tkey in topics:
            await self.catalog.queue(info, await self.catalog.topic(tkey, create=TopicType.MIXED))
        return info

    def release(self, client_id: str) -> None:
        """A client is gone: its auto-renewed messages come back soon, its lite subscriptions end."""
        self.clients.set_clock(self._clock())
        session = self.clients.remove(client_id)
        due = self._clock() + int(self.config.release_delay_s * 1000)
        for queue in self.catalog.queues.values():
            held = queue.held_by(client_id)
            for d in held:
                d.visible_at_ms, d.auto_renew = due, False
            if held:
                queue.signal.notify()
        if session is not None:
            session.lite_topics.clear()

    async def sync_lite(self, client_id: str, group: Key, topic: Key, action: int, names: list[str]) -> None:
        """Apply a SyncLiteSubscription; wakes the client's long poll so a backlog flows at once."""
        info = self.catalog.groups.get(group)
        if info is None:
            raise Rejected(Code.ILLEGAL_CONSUMER_GROUP, f"group {group[1]} not found")
        if info.lite_bind_topic != topic[1]:
            raise Rejected(
                Code.ILLEGAL_TOPIC, f"lite group {group[1]} is expected to bind topic {info.lite_bind_topic}"
            )
        if action in (pb.PARTIAL_ADD, pb.COMPLETE_ADD):
            for name in names:
                check_lite_topic(name, self.config.max_lite_topic_len)
        session = self.clients.touch(client_id, self._clock())
        session.group = group
        _apply_lite_action(session.lite_topics, action, names, info.lite_quota + 300)
        session.lite_synced_ms = self._clock()
        queue = await self.catalog.queue(info, await self.catalog.topic(topic))
        queue.signal.notify()

    # --- housekeeping --------------------------------------------------------------------------

    async def housekeeping(self) -> None:
        """Expire dead clients, stale lite subscriptions, idle lite topics and old messages."""
        now = self._clock()
        for client_id in self.clients.expired(now):
            self.release(client_id)
        stale_before = now - int(self.config.lite_subscription_expiry_s * 1000)
        for session in self._lite_sessions():
            # The client re-sends its whole set every 30 s; silence for 3 min means it is gone.
            if session.lite_synced_ms < stale_before:
                session.lite_topics.clear()
        await self._expire_lite_topics(now)
        await self._expire_messages(now - int(self.config.retention_s * 1000))

    def _lite_sessions(self) -> list[ClientSession]:
        return [s for key in self.catalog.groups for s in self.clients.lite_subscribers(key)]

    async def _expire_lite_topics(self, now: int) -> None:
        expired: list[StoredMessage] = []
        for (tkey, lite), written in list(self._lite_written.items()):
            topic = self.catalog.topics.get(tkey)
            if topic is None or topic.lite_ttl_s <= 0 or now - written < topic.lite_ttl_s * 1000:
                continue
            del self._lite_written[(tkey, lite)]
            for queue in self.catalog.queues_of_topic(tkey):
                for d in queue.drop_lite_topic(lite):
                    self._handles.pop(d.handle, None)
            expired += [m for m in self.catalog.messages.get(tkey, {}).values() if m.lite_topic == lite]
        await self._delete(expired)

    async def _expire_messages(self, cutoff_ms: int) -> None:
        old = self.catalog.stored_before(cutoff_ms)
        for m in old:
            for queue in self.catalog.queues_of_topic(m.topic_key):
                if (d := queue.get(m.pk)) is not None:
                    queue.remove(d)
                    self._handles.pop(d.handle, None)
        await self._delete(old)

    async def _delete(self, messages: list[StoredMessage]) -> None:
        if not messages:
            return
        for m in messages:
            self.catalog.forget(m)
        await self._store.delete_messages([m.pk for m in messages])


def _apply_lite_action(current: set[str], action: int, names: list[str], limit: int) -> None:
    """Change a client's lite subscriptions in place: O(names), not O(subscriptions) (a client may hold
    100,000 lite topics and subscribes one at a time). Raises Rejected over the quota, changing nothing."""
    if action == pb.PARTIAL_REMOVE:
        current.difference_update(names)
        return
    wanted = set(names)
    size = len(wanted) if action != pb.PARTIAL_ADD else len(current) + len(wanted - current)
    if size > limit:
        raise Rejected(Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED, f"more than {limit - 300} lite topics")
    if action != pb.PARTIAL_ADD:
        current.clear()  # COMPLETE_ADD replaces the set; COMPLETE_REMOVE empties it
    if action != pb.COMPLETE_REMOVE:
        current.update(wanted)
