"""Fixtures for the broker conformance suite: a real embedded broker on 127.0.0.1 and the official client."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.broker.config import BrokerConfig
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.broker.server import EmbeddedBroker
from tests.realbroker import ApacheSession, GroupDef, TopicDef, apache_session, wanted_brokers

TOPICS = [
    TopicInfo("", "Orders", TopicType.NORMAL),
    TopicInfo("", "Fifo", TopicType.FIFO),
    TopicInfo("", "Delayed", TopicType.DELAY),
    TopicInfo("", "Results", TopicType.LITE, queues=1),
    TopicInfo("", "Prio", TopicType.PRIORITY, queues=10),  # levels 0-9, one queue each (as on Apache RocketMQ)
]
GROUPS = [
    GroupInfo("", "GID_simple"),
    GroupInfo("", "GID_push", max_attempts=3, backoff_s=(1.0,)),
    GroupInfo("", "GID_fifo", fifo=True),
    GroupInfo("", "GID_delay"),
    GroupInfo("", "GID_dlq_reader"),
    GroupInfo("", "GID_lite", lite_bind_topic="Results"),
    GroupInfo("", "GID_prio"),
]


BrokerFactory = Callable[..., EmbeddedBroker]


@pytest.fixture
def broker_config(tmp_path: Path) -> BrokerConfig:
    """A strict broker on a free port with its own data directory."""
    return BrokerConfig(port=0, data_dir=tmp_path / "broker")


@pytest.fixture
async def broker(broker_config: BrokerConfig) -> AsyncIterator[EmbeddedBroker]:
    """A running, provisioned embedded broker."""
    async with EmbeddedBroker(broker_config) as running:
        await running.apply(TOPICS, GROUPS, {})
        yield running


def with_overrides(config: BrokerConfig, **changes: object) -> BrokerConfig:
    """A copy of a broker config with some fields changed."""
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def holds_nothing(broker: EmbeddedBroker) -> bool:
    """True when no group has a message left to deliver or waiting for its ack: consumers got all they get."""
    return not any(len(queue) for queue in broker.engine.catalog.queues.values())


APACHE_SETTLE_S = 1.5  # one redelivery back-off of the conformance groups (1 s), plus the proxy's hop


async def settled(target: Target, timeout_s: float = 10.0) -> None:
    """Wait until the broker holds nothing unacknowledged, before asserting that nothing else arrives.

    The embedded broker shows it (its queues are empty). Apache RocketMQ's proxy gives a client no such
    view, so there this can only wait out one redelivery back-off.
    """
    if target.embedded is None:
        await asyncio.sleep(APACHE_SETTLE_S)
        return
    deadline = time.monotonic() + timeout_s
    while not holds_nothing(target.embedded):
        assert time.monotonic() < deadline, "the broker still holds unacknowledged messages"
        await asyncio.sleep(0.05)


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """A broker under test: the embedded one or Apache RocketMQ, behind one endpoint.

    ``n(name)`` maps a conformance resource name to this target's copy: on Apache RocketMQ every test gets
    topics and groups of its own (a suffix), because one cluster serves the whole session.
    """

    kind: str
    endpoint: str
    suffix: str = ""
    embedded: EmbeddedBroker | None = None
    apache: ApacheSession | None = None

    def n(self, name: str) -> str:
        """This target's name for a conformance topic or group (``%DLQ%GID_push`` included)."""
        return name + self.suffix


def _apache_defs(suffix: str) -> tuple[list[TopicDef], list[GroupDef]]:
    topics = [TopicDef(t.name + suffix, t.type.value, t.queues if t.type == TopicType.PRIORITY else
                       1 if t.type == TopicType.LITE else 2) for t in TOPICS]
    topics.append(TopicDef("ns1%Orders" + suffix, "NORMAL", 2))
    groups = [GroupDef(g.name + suffix, g.max_attempts, g.backoff_s, g.fifo,
                       g.lite_bind_topic + suffix if g.lite_bind_topic else "") for g in GROUPS]
    groups.append(GroupDef("ns1%GID_simple" + suffix))
    return topics, groups


@pytest.fixture(params=wanted_brokers())
async def target(request: pytest.FixtureRequest, broker_config: BrokerConfig) -> AsyncIterator[Target]:
    """The conformance resources on each broker kind this run tests (see tests/realbroker.py)."""
    if request.param == "embedded":
        async with EmbeddedBroker(broker_config) as running:
            await running.apply(TOPICS, GROUPS, {})
            await running.apply([TopicInfo("ns1", "Orders", TopicType.NORMAL)], [GroupInfo("ns1", "GID_simple")], {})
            yield Target("embedded", running.endpoint, embedded=running)
        return
    session = apache_session()
    suffix = await asyncio.to_thread(_fresh_suffix, session)
    yield Target("apache", session.endpoint, suffix, apache=session)


class _Pool:
    """Conformance resource sets created ahead on Apache RocketMQ: one admin JVM per 40 tests, not per test."""

    ready: list[str] = []  # noqa: RUF012 - one pool per test run, by design
    BATCH = 40


def _fresh_suffix(session: ApacheSession) -> str:
    if not _Pool.ready:
        suffixes = [session.next_suffix() for _ in range(_Pool.BATCH)]
        topics: list[TopicDef] = []
        groups: list[GroupDef] = []
        for suffix in suffixes:
            more_topics, more_groups = _apache_defs(suffix)
            topics += more_topics
            groups += more_groups
        session.create(topics, groups)
        _Pool.ready = suffixes
    return _Pool.ready.pop(0)
