"""The worker runtime on the real bus: results before acks, failures reported, then dead-lettered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.worker import Worker
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Envelope, LiteSubscriber, Publisher, TaskConsumer
from bot.errors import UnknownPlace
from bot.resources import RESPONSE_TOPIC
from bot.schemas import TripRequest
from bot.wire import ErrorKind, ResultMessage, ResultStatus, TaskMessage, WeatherInput, decode_result, encode
from tests.broker.clients import drain, simple_consumer


def _task(task_id: str, deadline: datetime | None = None) -> TaskMessage:
    return TaskMessage(
        task_id=task_id, step_id="weather", input=WeatherInput(request=TripRequest(destination="Nowhere")),
        reply_lite_topic=task_id, deadline=deadline or datetime.now(UTC) + timedelta(minutes=5),
    )


async def _run(broker: EmbeddedBroker, handler: Any, tasks: list[TaskMessage], expect: int) -> list[ResultMessage]:
    await broker.apply([TopicInfo("", RESPONSE_TOPIC, TopicType.LITE, 1)],
                       [GroupInfo("", "GID_results", lite_bind_topic=RESPONSE_TOPIC)], {})
    config = BusConfig(broker.endpoint)
    results: list[ResultMessage] = []
    got = asyncio.Event()

    async def on_result(envelope: Envelope) -> None:
        results.append(decode_result(envelope.body))
        if len(results) >= expect:
            got.set()

    async with Publisher(config, ["Orders", RESPONSE_TOPIC]) as bus:
        worker = Worker("weather", bus, handler, max_attempts=3)  # GID_push allows 3 attempts
        async with (
            LiteSubscriber(config, RESPONSE_TOPIC, "GID_results", on_result) as supervisor,
            TaskConsumer(config, "Orders", "GID_push", worker),
        ):
            for task in tasks:
                await supervisor.subscribe(task.task_id)
                await bus.publish("Orders", encode(task), keys=[task.task_id])
            await asyncio.wait_for(got.wait(), 20)
    return results


async def test_exhausted_retries_report_a_failed_result_and_dead_letter_the_task(broker: EmbeddedBroker) -> None:
    attempts: list[str] = []

    async def always_broken(task: TaskMessage) -> Any:
        attempts.append(task.task_id)
        raise RuntimeError("weather API down")

    results = await _run(broker, always_broken, [_task("task-dead")], expect=1)
    assert len(attempts) == 3
    assert [(r.task_id, r.status, r.error_kind) for r in results] == [("task-dead", ResultStatus.FAILED,
                                                                        ErrorKind.EXHAUSTED)]
    await asyncio.sleep(1.5)  # the broker dead-letters it at the next pop after the last nack

    def dead_letters() -> list[bytes]:
        with simple_consumer(broker.endpoint, "GID_dlq_reader", "%DLQ%GID_push") as dlq:
            return [m.body for m in drain(dlq, 1, timeout_s=6)]

    assert [TaskMessage.model_validate_json(b).task_id for b in await asyncio.to_thread(dead_letters)] == ["task-dead"]


async def test_input_errors_and_expired_tasks_are_answered_at_once(broker: EmbeddedBroker) -> None:
    async def unknown(task: TaskMessage) -> Any:
        raise UnknownPlace("nowhere", user_message="Where is that?")

    expired = _task("task-late", deadline=datetime.now(UTC) - timedelta(seconds=1))
    results = await _run(broker, unknown, [_task("task-bad"), expired], expect=2)
    by_task = {r.task_id: r for r in results}
    assert by_task["task-bad"].error_kind == ErrorKind.INPUT and by_task["task-bad"].user_message == "Where is that?"
    assert by_task["task-late"].error_kind == ErrorKind.EXPIRED

