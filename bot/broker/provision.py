"""Turns the declarative resource list (:mod:`bot.resources`) into embedded-broker records."""

from __future__ import annotations

from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.resources import GROUPS, TOPICS


def topics(namespace: str = "") -> list[TopicInfo]:
    """The project's topics for the embedded broker."""
    return [
        TopicInfo(namespace, t.name, TopicType(t.kind), t.queues, max(0, t.lite_ttl_minutes) * 60) for t in TOPICS
    ]


def groups(namespace: str = "") -> list[GroupInfo]:
    """The project's consumer groups for the embedded broker."""
    return [
        GroupInfo(
            namespace, g.name, fifo=g.fifo, max_attempts=g.max_attempts, backoff_s=g.backoff_s,
            lite_bind_topic=g.reads if g.lite else "", lite_quota=g.lite_quota,
        )
        for g in GROUPS
    ]


def subscriptions() -> dict[str, list[str]]:
    """Which topic each group reads, so messages sent before a worker starts wait for it."""
    return {g.name: [g.reads] for g in GROUPS if not g.lite}
