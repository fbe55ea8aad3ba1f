"""The worker runtime on the real bus: results before acks, failures reported, then dead-lettered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.worker import Worker
from bot.broker.model import GroupInfo, TopicInfo, TopicType
from bot.bus import BusConfig, Envelope, LiteSubscriber, Publisher, TaskConsumer
from bot.errors import UnknownPlace
from bot.resources import RESPONSE_TOPIC
from bot.schemas import TripRequest
from bot.wire import ErrorKind, ResultMessage, ResultStatus, TaskMessage, WeatherInput, decode_result, encode
from tests.broker.conftest import Target
from tests.broker.test_conformance import read_dead_letters
from tests.realbroker import GroupDef


def _task(task_id: str, deadline: datetime | None = None) -> TaskMessage:
    return TaskMessage(
        task_id=task_id, step_id="weather", input=WeatherInput(request=TripRequest(destination="Nowhere")),
        reply_lite_topic=task_id, deadline=deadline or datetime.now(UTC) + timedelta(minutes=5),
    )


async def _results_group(target: Target) -> str:
    """A lite group on the product's response topic (the Worker always answers there)."""
    name = target.n("GID_results")
    if target.embedded is not None:
        await target.embedded.apply([TopicInfo("", RESPONSE_TOPIC, TopicType.LITE, 1)],
                                    [GroupInfo("", name, lite_bind_topic=RESPONSE_TOPIC)], {})
    else:
        assert target.apache is not None
        await asyncio.to_thread(target.apache.provision_product)
        await asyncio.to_thread(target.apache.create, [], [GroupDef(name, lite_bind_topic=RESPONSE_TOPIC)])
    return name


async def _run(target: Target, handler: Any, tasks: list[TaskMessage], expect: int) -> list[ResultMessage]:
    results_group = await _results_group(target)
    config = BusConfig(target.endpoint)
    orders = target.n("Orders")
    results: list[ResultMessage] = []
    got = asyncio.Event()

    async def on_result(envelope: Envelope) -> None:
        results.append(decode_result(envelope.body))
        if len(results) >= expect:
            got.set()

    async with Publisher(config, [orders, RESPONSE_TOPIC]) as bus:
        worker = Worker("weather", bus, handler, max_attempts=3)  # GID_push allows 3 attempts
        async with (
            LiteSubscriber(config, RESPONSE_TOPIC, results_group, on_result) as supervisor,
            TaskConsumer(config, orders, target.n("GID_push"), worker),
        ):
            for task in tasks:
                await supervisor.subscribe(task.task_id)
                await bus.publish(orders, encode(task), keys=[task.task_id])
            await asyncio.wait_for(got.wait(), 40)
    return results


async def test_exhausted_retries_report_a_failed_result_and_dead_letter_the_task(target: Target) -> None:
    attempts: list[str] = []

    async def always_broken(task: TaskMessage) -> Any:
        attempts.append(task.task_id)
        raise RuntimeError("weather API down")

    task_id = "task-dead" + target.suffix.replace("_", "-")
    results = await _run(target, always_broken, [_task(task_id)], expect=1)
    assert len(attempts) == 3
    assert [(r.task_id, r.status, r.error_kind) for r in results] == [(task_id, ResultStatus.FAILED,
                                                                        ErrorKind.EXHAUSTED)]
    dead = await asyncio.to_thread(read_dead_letters, target, "%DLQ%" + target.n("GID_push"), 1)
    assert [TaskMessage.model_validate_json(bytes(m.body)).task_id for m in dead] == [task_id]


async def test_input_errors_and_expired_tasks_are_answered_at_once(target: Target) -> None:
    async def unknown(task: TaskMessage) -> Any:
        raise UnknownPlace("nowhere", user_message="Where is that?")

    tag = target.suffix.replace("_", "-")
    expired = _task("task-late" + tag, deadline=datetime.now(UTC) - timedelta(seconds=1))
    results = await _run(target, unknown, [_task("task-bad" + tag), expired], expect=2)
    by_task = {r.task_id: r for r in results}
    bad = by_task["task-bad" + tag]
    assert bad.error_kind == ErrorKind.INPUT and bad.user_message == "Where is that?"
    assert by_task["task-late" + tag].error_kind == ErrorKind.EXPIRED

