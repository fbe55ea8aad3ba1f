"""Provisioning from plain data: the topics and groups an application declares, as the broker's records.

The broker does not know which resources an application needs; the application hands them over as
:class:`TopicSpec` and :class:`GroupSpec` values, to a running broker (:meth:`EmbeddedBroker.provision
<bot.broker.server.EmbeddedBroker.provision>`) or to a stopped broker's store (:func:`provision_store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.broker.catalog import Catalog
from bot.broker.config import BrokerConfig
from bot.broker.model import DEFAULT_BACKOFF_S, GroupInfo, TopicInfo, TopicType
from bot.broker.store import BrokerStore


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create; ``kind`` is its ``message.type`` (NORMAL, FIFO, DELAY, LITE, PRIORITY...)."""

    name: str
    kind: str = "NORMAL"
    queues: int = 2
    lite_ttl_s: int = 0  # idle lifetime of a lite topic; 0 = never expires


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A consumer group, the topic it reads, and its retry policy; a lite group reads its bind topic."""

    name: str
    reads: str
    max_attempts: int = 16
    backoff_s: tuple[float, ...] = DEFAULT_BACKOFF_S
    fifo: bool = False
    lite: bool = False
    lite_quota: int = 2000


@dataclass(frozen=True, slots=True)
class Records:
    """What :meth:`Catalog.apply <bot.broker.catalog.Catalog.apply>` takes."""

    topics: list[TopicInfo]
    groups: list[GroupInfo]
    subscriptions: dict[str, list[str]]  # group -> the topics it reads, so early messages wait for it


def records(topics: Sequence[TopicSpec], groups: Sequence[GroupSpec], namespace: str = "") -> Records:
    """The broker's records for the given declarations."""
    return Records(
        topics=[TopicInfo(namespace, t.name, TopicType(t.kind), t.queues, max(0, t.lite_ttl_s)) for t in topics],
        groups=[
            GroupInfo(
                namespace, g.name, fifo=g.fifo, max_attempts=g.max_attempts, backoff_s=g.backoff_s,
                lite_bind_topic=g.reads if g.lite else "", lite_quota=g.lite_quota,
            )
            for g in groups
        ],
        subscriptions={g.name: [g.reads] for g in groups if not g.lite},
    )


async def apply(
    catalog: Catalog, topics: Sequence[TopicSpec], groups: Sequence[GroupSpec], namespace: str = ""
) -> None:
    """Create or update the declared topics and groups in a catalog."""
    wanted = records(topics, groups, namespace)
    await catalog.apply(wanted.topics, wanted.groups, wanted.subscriptions)


async def provision_store(
    data_dir: Path, topics: Sequence[TopicSpec], groups: Sequence[GroupSpec], namespace: str = ""
) -> None:
    """Write the declared topics and groups into a stopped broker's store (it loads them at start).

    Raises BrokerError when a running broker holds the store.
    """
    async with BrokerStore(data_dir) as store:
        catalog = Catalog(BrokerConfig(data_dir=data_dir), store, lambda _client: False)
        catalog.restore(await store.load())
        await apply(catalog, topics, groups, namespace)
