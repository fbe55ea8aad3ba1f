"""Priority end to end on the embedded broker: policy -> Publisher -> PRIORITY task topic -> TaskConsumer.

Apache RocketMQ 5.5 delivers a first backlog in the same order (tests/broker/test_conformance.py::
test_priority_backlog_is_delivered_highest_level_first); it loses the level of a retried message
(apache/rocketmq#10350), which is why the retry case is embedded-only here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from agents.supervisor.planner import plan_steps
from agents.supervisor.priority import PriorityPolicy, PriorityRules, parse_rules
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Envelope, Publisher, TaskConsumer
from bot.models import ConversationRef, Session, SessionStatus
from bot.provisioning import broker_groups, broker_topics
from bot.resources import WEATHER_GROUP, WEATHER_TASK_TOPIC
from bot.schemas import Intent, TripRequest


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[str]:
    async with EmbeddedBroker(BrokerConfig(port=0, data_dir=tmp_path / "broker")) as broker:
        await broker.provision(broker_topics(), broker_groups())
        yield broker.endpoint


def _session(task_id: str, conversation: str, *, days: int = 5, intent: Intent = Intent.ITINERARY,
             user: str = "U1") -> Session:
    request = TripRequest(intent=intent, destination="Hangzhou", start_date=date(2026, 12, 2),
                          end_date=date(2026, 12, 1 + days), text="trip")
    ref = ConversationRef(platform="slack", workspace="T1", channel=conversation, user=user)
    return Session(task_id, ref, request, SessionStatus.RUNNING, time.time(), tuple(plan_steps(request)))


async def _wait_for(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_default_policy_puts_follow_ups_and_weather_above_long_itineraries() -> None:
    policy = PriorityPolicy()
    first = _session("t-1", "C1")
    follow_up = _session("t-2", "C1")
    weather = _session("t-3", "C2", intent=Intent.WEATHER, days=1)
    short = _session("t-4", "C3", days=2)
    assert policy.level(first, first.steps[0]) == PriorityRules().long_itinerary
    assert policy.level(first, first.steps[-1]) == PriorityRules().long_itinerary  # the same session, later
    assert policy.level(follow_up, follow_up.steps[0]) == PriorityRules().followup
    assert policy.level(weather, weather.steps[0]) == PriorityRules().weather
    assert policy.level(short, short.steps[0]) == PriorityRules().itinerary
    assert PriorityRules().followup > PriorityRules().weather > PriorityRules().itinerary \
        > PriorityRules().long_itinerary


def test_rules_by_workspace_channel_and_user_most_specific_wins() -> None:
    rules = parse_rules("weather=5, workspace:T1=3, channel:VIP=8, user:U9=9")
    policy = PriorityPolicy(rules)
    levels = [policy.level(s, s.steps[0]) for s in
              (_session("a", "C1"), _session("b", "VIP"), _session("c", "VIP", user="U9"))]
    assert levels == [3, 8, 9]
    assert parse_rules('{"followup": 9, "user:U1": 0}') == PriorityRules(followup=9, scoped={"user:U1": 0})


@pytest.mark.parametrize("bad", ["weather=10", "vip=3", "user:=2", "weather", "followup=high", "[1]", "{"])
def test_bad_rules_are_refused_at_load(bad: str) -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    with pytest.raises(ConfigError, match="priority_rules"):
        load_settings(priority_rules=bad)


async def test_high_priority_backlog_starts_before_every_queued_itinerary(endpoint: str) -> None:
    """500 long itineraries, then 50 follow-ups, published while no agent runs: the follow-ups start first."""
    bus = BusConfig(endpoint)
    policy = PriorityPolicy()
    started: list[str] = []

    async def handler(envelope: Envelope) -> None:
        started.append(envelope.body.decode())

    async with Publisher(bus, [WEATHER_TASK_TOPIC]) as publisher:
        for i in range(500):  # one at a time: the store order is the send order
            s = _session(f"low-{i}", f"C-low-{i}")
            await publisher.publish(WEATHER_TASK_TOPIC, f"low-{i}".encode(), priority=policy.level(s, s.steps[0]))
        for i in range(50):
            policy.level(first := _session(f"first-{i}", f"C-high-{i}"), first.steps[0])  # the earlier plan
            s = _session(f"high-{i}", f"C-high-{i}")
            await publisher.publish(WEATHER_TASK_TOPIC, f"high-{i}".encode(), priority=policy.level(s, s.steps[0]))
    # One step at a time makes "started" the broker's delivery order (with more, threads race to start);
    # a larger cache spares the client's 1 s back-off whenever its cache is full.
    async with TaskConsumer(bus, WEATHER_TASK_TOPIC, WEATHER_GROUP, handler, max_in_flight=1, cache=64):
        await _wait_for(lambda: len(started) == 550, 60)
    assert {s.split("-")[0] for s in started[:50]} == {"high"}
    assert started[:50] == [f"high-{i}" for i in range(50)]  # FIFO within a level
    assert started[50:] == [f"low-{i}" for i in range(500)]


async def test_a_retried_step_keeps_its_priority(endpoint: str) -> None:
    """A high step that fails once comes back ahead of the low steps still queued (embedded broker; Apache
    RocketMQ 5.5 redelivers it at level 0, issue #10350)."""
    bus = BusConfig(endpoint)
    starts: list[tuple[str, int, int]] = []

    async def handler(envelope: Envelope) -> None:
        body = envelope.body.decode()
        starts.append((body, envelope.priority, envelope.delivery_attempt))
        if body == "high" and envelope.delivery_attempt == 1:
            raise RuntimeError("forced failure")
        await asyncio.sleep(0.1)  # lows take a while, so many are still queued when the retry is due

    async with Publisher(bus, [WEATHER_TASK_TOPIC]) as publisher:
        await publisher.publish(WEATHER_TASK_TOPIC, b"high", priority=7)
        for i in range(60):
            await publisher.publish(WEATHER_TASK_TOPIC, f"low-{i}".encode(), priority=2)
    async with TaskConsumer(bus, WEATHER_TASK_TOPIC, WEATHER_GROUP, handler, max_in_flight=1, cache=8):
        await _wait_for(lambda: any(b == "high" and a == 2 for b, _, a in starts), 30)
        retried = next(i for i, (b, _, a) in enumerate(starts) if b == "high" and a == 2)
        assert starts[retried][1] == 7
        still_queued = 61 - len(starts)
        assert still_queued > 0, "the retry must overtake lows that were queued before it"
        await _wait_for(lambda: len(starts) == 62, 30)
    assert [b for b, _, _ in starts[retried + 1:]] == [f"low-{i}" for i in range(retried - 1, 60)]


async def test_the_supervisor_publishes_each_step_with_the_policys_level(tmp_path: Path) -> None:
    """Through the real intake and Supervisor (no agent running): a long itinerary, then a follow-up in the same
    conversation, then a request from a user the rules promote; the broker hands them out in reverse."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.bus.simple import SimpleReader
    from bot.models import InboundMessage
    from bot.settings import load_settings
    from bot.wire import decode_task
    from bot.wiring import pipeline

    now = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", retention_days=0,
                             priority_rules="user:UVIP=9")
    async with pipeline(settings, agents="none", clock=lambda: now) as p:
        tasks: list[str] = []
        for user, channel, text in (("U1", "C1", "帮我做一个下周三到下周日杭州周边自驾游方案"), ("U1", "C1", "改成3天"),
                                    ("UVIP", "C9", "3 days in Kyoto next weekend")):
            ref = ConversationRef(platform="slack", workspace="T1", channel=channel, user=user)
            submitted = await p.intake.submit(InboundMessage(ref=ref, event_id=f"ev-{len(tasks)}", text=text,
                                                             received_at=now))
            assert submitted.started
            tasks.append(submitted.task_id)
        got: list[tuple[str, int]] = []
        async with SimpleReader(BusConfig(p.endpoint), WEATHER_GROUP, WEATHER_TASK_TOPIC, await_s=1) as reader:
            deadline = time.monotonic() + 20
            while len(got) < 3 and time.monotonic() < deadline:
                got += [(decode_task(r.envelope.body).task_id, r.envelope.priority)
                        for r in await reader.receive(1, invisible_s=30)]
    first, follow_up, vip = tasks
    assert got == [(vip, 9), (follow_up, PriorityRules().followup), (first, PriorityRules().long_itinerary)]
