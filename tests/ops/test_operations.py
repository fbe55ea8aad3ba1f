"""Operations against a real embedded broker and the real pipeline: status figures after a known workload,
dead-letter replay (exactly once, or refused with a reason), the Prometheus endpoint scraped over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from agents.supervisor.priority import PriorityPolicy
from bot.broker.config import BrokerConfig
from bot.broker.provision import GroupSpec
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Envelope, Publisher, TaskConsumer
from bot.bus.simple import SimpleReader
from bot.metrics import REGISTRY
from bot.models import ConversationRef, InboundMessage, Phase, Progress
from bot.ops.dlq import list_dead_letters, replay
from bot.ops.gauges import metrics_endpoint, refresh
from bot.ops.status import Status, collect, render
from bot.provisioning import broker_groups, broker_topics
from bot.resources import TRAVEL_GROUP, WEATHER_GROUP, WEATHER_TASK_TOPIC
from bot.runtime import agent
from bot.settings import Settings, load_settings
from bot.wiring import pipeline
from tests.processes import free_port
from tests.waiting import settled

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _groups() -> list[GroupSpec]:
    """The project's groups, with a weather group that gives up after 2 attempts 0.5 s apart."""
    return [dataclasses.replace(g, max_attempts=2, backoff_s=(0.5,)) if g.name == WEATHER_GROUP else g
            for g in broker_groups()]


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[str]:
    # invisible times of 1 s (RocketMQ allows 10 s at least) let listing and replaying dead letters settle in 2 s
    async with EmbeddedBroker(BrokerConfig(port=0, data_dir=tmp_path / "broker", min_invisible_s=1.0)) as broker:
        await broker.provision(broker_topics(), _groups())
        yield broker.endpoint


def _settings(tmp_path: Path, endpoint: str, **overrides: object) -> Settings:
    return load_settings(data_dir=tmp_path, rocketmq_endpoint=endpoint, retention_days=0, **overrides)


async def _until(condition: Callable[[], object], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _status_until(settings: Settings, ok: Callable[[Status], bool], timeout_s: float = 15) -> Status:
    deadline = time.monotonic() + timeout_s
    while True:
        status = await collect(settings)
        if ok(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


async def test_status_after_sends_acks_a_retry_and_a_dead_letter(tmp_path: Path) -> None:
    # invisible times of 1 s (RocketMQ allows 10 s at least) keep this test short
    async with EmbeddedBroker(BrokerConfig(port=0, data_dir=tmp_path / "broker", min_invisible_s=1.0)) as broker:
        await broker.provision(broker_topics(), _groups())
        await _status_scenario(_settings(tmp_path, broker.endpoint), BusConfig(broker.endpoint))


async def _status_scenario(settings: Settings, bus: BusConfig) -> None:
    async with Publisher(bus, [WEATHER_TASK_TOPIC]) as publisher:
        await publisher.publish(WEATHER_TASK_TOPIC, b"doomed", priority=9)  # first out: highest level
        for i in range(10):
            await publisher.publish(WEATHER_TASK_TOPIC, f"task-{i}".encode(), priority=2)
    async with SimpleReader(bus, WEATHER_GROUP, WEATHER_TASK_TOPIC, await_s=1) as reader:
        for _ in range(2):  # two deliveries, never acked: the group's last attempt
            got = await reader.receive(1, invisible_s=1)
            assert [r.envelope.body for r in got] == [b"doomed"]
            await asyncio.sleep(1.1)
        got = await reader.receive(4, invisible_s=60)  # this receive dead-letters "doomed"
        assert [r.envelope.body for r in got] == [b"task-0", b"task-1", b"task-2", b"task-3"]
        for received in got[:3]:
            await reader.ack(received)  # task-3 stays in flight
        again = await reader.receive(1, invisible_s=1)
        await asyncio.sleep(1.1)
        assert [r.envelope.body for r in again] == [b"task-4"]
        assert [r.envelope.body for r in await reader.receive(1, invisible_s=60)] == [b"task-4"]  # retrying
        status = await _status_until(settings, lambda s: s.groups[-1].retrying == 1 and s.groups[-1].in_flight == 1)
    weather = next(g for g in status.groups if g.group == WEATHER_GROUP)
    travel = next(g for g in status.groups if g.group == TRAVEL_GROUP)
    assert (weather.backlog, weather.waiting, weather.in_flight, weather.retrying) == (7, 5, 1, 1)
    assert weather.oldest_age_s is not None and weather.oldest_age_s > 2
    assert travel.backlog == 0 and travel.oldest_age_s is None
    assert status.dead_letters == {WEATHER_GROUP: 1, TRAVEL_GROUP: 0}
    assert (status.app.sessions_running, status.app.outbox_unsent) == (0, 0)
    table = render(status)
    assert "WeatherAgentTaskConsumerGroup" in table and "sessions running: 0" in table


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_replay_finishes_a_session_once_and_refuses_an_ended_one(tmp_path: Path, endpoint: str) -> None:
    """Two requests whose weather step a broken agent dead-letters; one is cancelled meanwhile. A replay sends the
    live one back (it completes, once) and refuses the other with the reason; the metrics endpoint shows it."""
    settings = _settings(tmp_path, endpoint, step_timeout_s=120, metrics_port=free_port())
    bus = BusConfig(endpoint)
    finished: list[Progress] = []
    ok_before = _sample("tourguide_steps_total", agent="weather", outcome="ok")

    async def broken_agent(envelope: Envelope) -> None:
        raise RuntimeError("agent bug")

    async with pipeline(settings, agents="none", clock=lambda: NOW) as p, metrics_endpoint(settings, 0.2) as port:
        async def on_progress(event: Progress) -> None:
            if event.phase == Phase.FINISHED:
                finished.append(event)

        p.supervisor.add_listener(on_progress)
        async with TaskConsumer(bus, WEATHER_TASK_TOPIC, WEATHER_GROUP, broken_agent, max_in_flight=2):
            tasks = []
            for i, text in enumerate(("3 days in Kyoto next weekend", "2 days in Hangzhou next weekend")):
                ref = ConversationRef(platform="cli", channel=f"ops-{i}", user="operator")
                submitted = await p.intake.submit(InboundMessage(ref=ref, event_id=f"ev-{i}", text=text,
                                                                 received_at=NOW))
                assert submitted.started
                tasks.append(submitted.task_id)
            letters: list[str] = []

            async def dead() -> bool:
                letters[:] = [d.task_id for d in await list_dead_letters(bus, invisible_s=1)]
                return sorted(letters) == sorted(tasks)

            deadline = time.monotonic() + 30
            while not await dead():
                assert time.monotonic() < deadline, f"not dead-lettered: {letters}"
                await asyncio.sleep(0.5)
        live, ended = tasks
        assert await p.sessions.cancel(ended)

        async with agent("weather", settings, bus), agent("travel", settings, bus):
            outcomes = await replay(bus, p.sessions.get, PriorityPolicy().level, invisible_s=1)
            by_task = {o.letter.task_id: o for o in outcomes}
            assert by_task[live].sent
            assert not by_task[ended].sent and "ended (cancelled)" in by_task[ended].reason
            await _until(lambda: any(e.task_id == live for e in finished))
            reply = await p.outbox.get(live)
            assert reply is not None and reply.payload["status"] == "completed"
            # nothing left to replay for the live task; the refused one is kept
            again = await replay(bus, p.sessions.get, PriorityPolicy().level, invisible_s=1)
            assert [o.letter.task_id for o in again] == [ended]
            await settled(settings.data_dir, delivering=False)  # nothing running could finish it again
        assert [e.task_id for e in finished] == [live]

        await refresh(settings)
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    assert _sample("tourguide_steps_total", agent="weather", outcome="ok") == ok_before + 1
    assert 'tourguide_steps_total{agent="travel",outcome="ok"}' in text
    assert 'tourguide_step_seconds_count{agent="weather"}' in text
    assert 'tourguide_dead_letters{group="WeatherAgentTaskConsumerGroup"} 1.0' in text
    assert "tourguide_sessions_running 0.0" in text
    assert "tourguide_outbox_unsent 1.0" in text  # the live answer: no chat adapter runs here to send it
