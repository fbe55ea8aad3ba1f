"""Lite subscriptions change in place (O(names), not O(subscriptions)) and the quota changes nothing."""

from __future__ import annotations

import pytest

from bot.broker.config import BrokerConfig
from bot.broker.engine import BrokerEngine
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.broker.protocol import Code, pb
from bot.broker.store import BrokerStore
from bot.broker.validation import Rejected

TOPIC, GROUP = ("", "Results"), ("", "GID_lite")


async def test_partial_adds_and_removes_keep_one_set_and_the_quota_refuses_without_changing_it() -> None:
    async with BrokerStore(None) as store:
        engine = BrokerEngine(BrokerConfig(data_dir=None), store)
        await engine.start()
        await engine.catalog.apply([TopicInfo("", "Results", TopicType.LITE, 1)],
                                   [GroupInfo("", "GID_lite", lite_bind_topic="Results", lite_quota=10)], {})
        await engine.register("c1", pb.LITE_PUSH_CONSUMER, GROUP, [TOPIC])
        session = engine.clients.get("c1")
        assert session is not None
        held = session.lite_topics
        for i in range(300):
            await engine.sync_lite("c1", GROUP, TOPIC, pb.PARTIAL_ADD, [f"task-{i}"])
        await engine.sync_lite("c1", GROUP, TOPIC, pb.PARTIAL_REMOVE, ["task-0"])
        assert session.lite_topics is held and len(held) == 299  # the same set, changed in place

        with pytest.raises(Rejected) as refused:  # quota 10 (+300 headroom, as the proxy allows)
            await engine.sync_lite("c1", GROUP, TOPIC, pb.PARTIAL_ADD, [f"more-{i}" for i in range(20)])
        assert refused.value.code == Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED
        assert len(held) == 299  # nothing of the refused request was applied

        await engine.sync_lite("c1", GROUP, TOPIC, pb.COMPLETE_ADD, ["task-a", "task-b"])
        assert held == {"task-a", "task-b"}
        await engine.sync_lite("c1", GROUP, TOPIC, pb.COMPLETE_REMOVE, [])
        assert held == set()
