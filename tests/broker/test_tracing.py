"""OpenTelemetry across the bus: one request is one trace through task, worker (and its model call), result
and delivery.

The trace context travels only in the messages (the ``traceparent`` property): each consumer runs on the
client's threads with no ambient context, as in another process. Spans go over OTLP/HTTP to a local
collector stand-in that decodes the protobuf export.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agents.llm import ChatMessage, OpenAICompatChat
from agents.llm.budget import BudgetedChat, ModelBudget
from bot import tracing
from bot.bus import BusConfig, Envelope, LiteSubscriber, Publisher, TaskConsumer
from bot.models import ConversationRef, InboundMessage, Phase, Progress
from bot.resources import RESPONSE_TOPIC, TRAVEL_TASK_TOPIC, WEATHER_TASK_TOPIC
from bot.settings import load_settings
from bot.wiring import pipeline
from tests.broker.conftest import Target
from tests.standins.fake_openai import FakeOpenAI
from tests.standins.otlp_receiver import OtlpReceiver
from tests.terminal import ask
from tests.waiting import until

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
async def receiver() -> AsyncIterator[OtlpReceiver]:
    async with OtlpReceiver() as collector:
        tracing.configure(collector.origin, service="tourguide-test")
        try:
            yield collector
        finally:
            await asyncio.to_thread(tracing.shutdown)


async def test_one_request_is_one_trace_from_publish_to_delivery(target: Target, receiver: OtlpReceiver) -> None:
    config = BusConfig(endpoint=target.endpoint)
    orders, results = target.n("Orders"), target.n("Results")
    delivered = asyncio.Event()

    async with (
        Publisher(config, [orders, results]) as bus,
        FakeOpenAI() as fake,
        OpenAICompatChat(fake.base_url, fake.api_key, "qwen-plus") as chat,
    ):
        model = BudgetedChat(chat, ModelBudget(10), agent="travel")

        async def worker(task: Envelope) -> None:  # an agent: asks its model, answers on the task's lite topic
            answer = await model.complete([ChatMessage.user("plan")])
            await bus.publish(results, answer.content.encode(), keys=task.keys, lite_topic="task-traced")

        async def deliver(_result: Envelope) -> None:  # the Supervisor handing the answer to the user
            with tracing.span("deliver answer"):
                delivered.set()

        async with (
            TaskConsumer(config, orders, target.n("GID_simple"), worker),
            LiteSubscriber(config, results, target.n("GID_lite"), deliver) as supervisor,
        ):
            await supervisor.subscribe("task-traced")
            with tracing.span("request"):
                await bus.publish(orders, b"step", keys=["task-traced"])
            await asyncio.wait_for(delivered.wait(), 30)

    def exported() -> bool:
        tracing.flush()
        return bool(receiver.named("deliver answer"))

    await until(lambda: asyncio.to_thread(exported), 30, "the delivery span exported")
    (root,) = receiver.named("request")
    hops = {s.name.split()[0]: s for s in receiver.spans if s.trace_id == root.trace_id}
    assert {s.trace_id for s in receiver.spans} == {root.trace_id}  # nothing started a second trace
    chain = [receiver.named(f"publish {orders}")[0], receiver.named(f"consume {orders}")[0],
             receiver.named(f"publish {results}")[0], receiver.named(f"consume {results}")[0],
             receiver.named("deliver answer")[0]]
    (llm,) = receiver.named("llm travel")
    assert llm.parent_span_id == chain[1].span_id  # the model call belongs to the step that made it
    parent = root
    for hop in chain:  # each hop is the child of the one before: publish -> consume -> result -> deliver
        assert hop.parent_span_id == parent.span_id, f"{hop.name} is not a child of {parent.name}"
        parent = hop
    assert {"request", "publish", "consume", "llm", "deliver"} <= set(hops)
    assert {s.service for s in receiver.spans} == {"tourguide-test"}


async def test_without_an_endpoint_nothing_is_traced_and_no_property_is_added(target: Target,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tracing.ENDPOINT_ENV, raising=False)
    tracing.shutdown()
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    got: list[Envelope] = []
    done = asyncio.Event()

    async def handler(task: Envelope) -> None:
        got.append(task)
        done.set()

    async with Publisher(config, [orders]) as bus, TaskConsumer(config, orders, target.n("GID_simple"), handler):
        with tracing.span("request"):
            assert tracing.traceparent() == ""
            await bus.publish(orders, b"step")
        await asyncio.wait_for(done.wait(), 30)
    assert got[0].traceparent == ""


async def test_a_request_through_the_real_pipeline_is_one_trace(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """Intake -> weather step -> its result -> travel step -> its result, Supervisor and agents on the bus."""
    now = NOW
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", retention_days=0)
    finished = asyncio.Event()

    async def on_progress(event: Progress) -> None:
        if event.phase == Phase.FINISHED:
            finished.set()

    async with pipeline(settings, agents="inline", clock=lambda: now) as p:
        p.supervisor.add_listener(on_progress)
        ref = ConversationRef(platform="cli", channel="traced", user="u")
        await p.intake.submit(InboundMessage(ref=ref, event_id="e-1", text="下周末去苏州玩两天", received_at=now))
        await asyncio.wait_for(finished.wait(), 60)

    def exported() -> bool:
        tracing.flush()
        return len(receiver.named(f"consume {RESPONSE_TOPIC}")) >= 2

    await until(lambda: asyncio.to_thread(exported), 30, "both results' spans exported")
    (root,) = receiver.named("request")
    for name in (f"publish {WEATHER_TASK_TOPIC}", f"consume {WEATHER_TASK_TOPIC}", f"publish {TRAVEL_TASK_TOPIC}",
                 f"consume {TRAVEL_TASK_TOPIC}", f"publish {RESPONSE_TOPIC}", f"consume {RESPONSE_TOPIC}"):
        spans = receiver.named(name)
        assert spans, f"no {name} span"
        assert {s.trace_id for s in spans} == {root.trace_id}, f"{name} left the request's trace"


async def test_the_standard_variable_turns_tracing_on(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    config = BusConfig(endpoint=target.endpoint)
    orders = target.n("Orders")
    async with OtlpReceiver() as collector:
        monkeypatch.setenv(tracing.ENDPOINT_ENV, collector.origin)
        tracing.shutdown()  # the next span reads the environment
        try:
            async with Publisher(config, [orders]) as bus:
                with tracing.span("request"):
                    await bus.publish(orders, b"step")

            def exported() -> bool:
                tracing.flush()
                return bool(collector.named(f"publish {orders}"))

            await until(lambda: asyncio.to_thread(exported), 30, "the publish span exported")
        finally:
            await asyncio.to_thread(tracing.shutdown)


async def test_the_answer_s_delivery_joins_the_request_s_trace(tmp_path: Path, receiver: OtlpReceiver) -> None:
    """Through the real pipeline (intake, Supervisor, both agents, outbox sender): the delivery of the answer is
    a span of the request's trace, the child of the Supervisor consuming the result that finished the session."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", retention_days=0)
    async with pipeline(settings, agents="inline", clock=lambda: NOW) as p:
        reply = await ask(p, "3 days in Kyoto next weekend", answer_timeout_s=60)
    assert reply.payload["status"] == "completed"

    def exported() -> bool:
        tracing.flush()
        return bool(receiver.named("deliver answer"))

    await until(lambda: asyncio.to_thread(exported), 30, "the delivery span exported")
    (deliver,) = receiver.named("deliver answer")
    (root,) = [s for s in receiver.named("request") if s.trace_id == deliver.trace_id]
    in_trace = [s for s in receiver.spans if s.trace_id == root.trace_id]
    by_id = {s.span_id: s for s in in_trace}
    parent = by_id[deliver.parent_span_id]
    assert parent.name == f"consume {RESPONSE_TOPIC}"  # the travel result that finished the session
    names = {s.name for s in in_trace}
    assert {f"publish {WEATHER_TASK_TOPIC}", f"consume {WEATHER_TASK_TOPIC}", f"publish {TRAVEL_TASK_TOPIC}",
            f"consume {TRAVEL_TASK_TOPIC}", f"publish {RESPONSE_TOPIC}"} <= names
    chain, span = [], deliver  # walk up from the delivery: it must reach the request without leaving the trace
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span.name)
    assert span is root, chain
