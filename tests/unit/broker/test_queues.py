"""The pop rule of one group's queue, without gRPC: ordering, visibility, filters, attempts."""

from __future__ import annotations

from bot.broker.model import GroupInfo, StoredMessage, TopicInfo, TopicType
from bot.broker.queues import GroupQueue, PopRequest

ALIVE: set[str] = {"c1"}


def _queue(**group: object) -> GroupQueue:
    info = GroupInfo("", "G", **group)  # type: ignore[arg-type]
    return GroupQueue(info, TopicInfo("", "T", TopicType.MIXED), lambda client: client in ALIVE)


def _msg(pk: int, *, group: str = "", lite: str = "", tag: str = "", at: int = 0) -> StoredMessage:
    return StoredMessage(pk=pk, namespace="", topic="T", queue_id=0, offset=pk, message_id=f"m{pk}", body=b"x",
                         message_group=group, lite_topic=lite, tag=tag, deliver_at_ms=at)


def _pop(q: GroupQueue, now: int = 1000, batch: int = 32, *, tags: frozenset[str] | None = None,
         lite: frozenset[str] | None = None, auto_renew: bool = False, client: str = "c1") -> list[int]:
    invisible = 3 * 3600_000 if auto_renew else 10_000  # the engine holds auto-renewed handles up to 3 h
    result = q.pop(PopRequest(now, batch, tags, client, auto_renew, invisible, lite))
    for d in result.delivered:
        d.handle = f"h{d.pk}-{d.attempts}"
    return [d.pk for d in result.delivered]


def test_in_flight_messages_come_back_after_their_invisible_time() -> None:
    q = _queue()
    q.add(_msg(1))
    assert _pop(q, now=1000) == [1]
    assert _pop(q, now=5000) == []
    assert _pop(q, now=11_000) == [1]
    assert q.get(1).attempts == 2  # type: ignore[union-attr]


def test_fifo_group_serializes_each_message_group() -> None:
    q = _queue(fifo=True)
    for pk, group in ((1, "a"), (2, "a"), (3, "b"), (4, "a")):
        q.add(_msg(pk, group=group))
    assert _pop(q, batch=2) == [1, 2]  # consecutive messages of one group may share a batch
    assert _pop(q) == [3]  # group a is blocked while 1 and 2 are in flight
    q.remove(q.get(1))  # type: ignore[arg-type]
    assert _pop(q) == []  # 2 is still in flight: 4 must wait
    q.remove(q.get(2))  # type: ignore[arg-type]
    assert _pop(q) == [4]


def test_concurrent_group_ignores_message_groups() -> None:
    q = _queue()
    for pk in (1, 2, 3):
        q.add(_msg(pk, group="a"))
    assert _pop(q, batch=1) == [1]
    assert _pop(q, batch=1) == [2]


def test_lite_consumers_get_only_their_lite_topics_in_order() -> None:
    q = _queue(lite_bind_topic="T")
    for pk, lite in ((1, "task-a"), (2, "task-b"), (3, "task-a")):
        q.add(_msg(pk, lite=lite))
    assert _pop(q, lite=frozenset({"task-a"}), batch=1) == [1]
    assert _pop(q, lite=frozenset({"task-a"})) == []  # one batch in flight per lite topic
    assert _pop(q, lite=frozenset({"task-b", "task-c"})) == [2]


def test_tag_filter_skips_and_delay_waits() -> None:
    q = _queue()
    q.add(_msg(1, tag="travel"))
    q.add(_msg(2, tag="weather", at=5000))
    result = q.pop(PopRequest(1000, 32, frozenset({"weather"}), "c1", False, 10_000))
    assert [d.pk for d in result.filtered] == [1] and result.delivered == []
    assert result.next_due_ms == 5000
    assert _pop(q, now=5000, tags=frozenset({"weather"})) == [2]


def test_exhausted_messages_are_handed_to_the_dead_letter_queue() -> None:
    q = _queue(max_attempts=2)
    q.add(_msg(1))
    assert _pop(q, now=0) == [1]
    assert _pop(q, now=20_000) == [1]
    result = q.pop(PopRequest(40_000, 32, None, "c1", False, 10_000))
    assert result.delivered == [] and [d.pk for d in result.dead] == [1]


def test_auto_renewed_delivery_is_held_while_its_owner_lives() -> None:
    q = _queue()
    q.add(_msg(1))
    assert _pop(q, now=0, auto_renew=True, client="c1") == [1]
    assert _pop(q, now=60_000) == []  # owner alive: the proxy keeps renewing
    assert _pop(q, now=0, auto_renew=True, client="gone") == []
    q.add(_msg(2))
    assert _pop(q, now=0, auto_renew=True, client="gone") == [2]
    assert _pop(q, now=1) == [2]  # its owner is dead: back at once


def test_priority_topic_pops_highest_level_first_and_a_retry_keeps_its_level() -> None:
    q = GroupQueue(GroupInfo("", "G"), TopicInfo("", "P", TopicType.PRIORITY, queues=10), lambda c: c in ALIVE)
    for pk, level in ((1, 1), (2, 1), (3, 8), (4, 1), (5, 8)):
        q.add(StoredMessage(pk=pk, namespace="", topic="P", queue_id=level, offset=pk, message_id=f"m{pk}",
                            body=b"x", priority=level))
    assert _pop(q, now=1000, batch=1) == [3]
    assert _pop(q, now=2000, batch=1) == [5]
    # 3 is not acked: when it comes back (attempt 2) it goes ahead of every low message still waiting,
    # unlike Apache RocketMQ today (issue #10350: a retried message loses its priority there).
    assert _pop(q, now=11_500, batch=2) == [3, 1]
