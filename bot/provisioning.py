"""The declared resources (:mod:`bot.resources`) as the embedded broker's provisioning input.

The broker knows nothing of tourguide's topics; the wiring hands these specs to it.
"""

from __future__ import annotations

from bot.broker.provision import GroupSpec, TopicSpec
from bot.broker.server import EmbeddedBroker
from bot.resources import GROUPS, TOPICS


def broker_topics() -> list[TopicSpec]:
    """The project's topics; a lite topic's TTL in seconds (-1 minutes, never expire, is 0 there)."""
    return [TopicSpec(t.name, t.kind, t.queues, max(0, t.lite_ttl_minutes) * 60) for t in TOPICS]


def broker_groups() -> list[GroupSpec]:
    """The project's consumer groups with their retry policies."""
    return [
        GroupSpec(g.name, g.reads, max_attempts=g.max_attempts, backoff_s=g.backoff_s, fifo=g.fifo, lite=g.lite,
                  lite_quota=g.lite_quota)
        for g in GROUPS
    ]


async def provision_broker(broker: EmbeddedBroker, namespace: str = "") -> None:
    """Create the declared topics and groups on a running embedded broker."""
    await broker.provision(broker_topics(), broker_groups(), namespace)
