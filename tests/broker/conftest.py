"""Fixtures for the broker conformance suite: a real embedded broker on 127.0.0.1 and the official client."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.broker.config import BrokerConfig
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.broker.server import EmbeddedBroker

TOPICS = [
    TopicInfo("", "Orders", TopicType.NORMAL),
    TopicInfo("", "Fifo", TopicType.FIFO),
    TopicInfo("", "Delayed", TopicType.DELAY),
    TopicInfo("", "Results", TopicType.LITE, queues=1),
]
GROUPS = [
    GroupInfo("", "GID_simple"),
    GroupInfo("", "GID_push", max_attempts=3, backoff_s=(1.0,)),
    GroupInfo("", "GID_fifo", fifo=True),
    GroupInfo("", "GID_delay"),
    GroupInfo("", "GID_dlq_reader"),
    GroupInfo("", "GID_lite", lite_bind_topic="Results"),
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
