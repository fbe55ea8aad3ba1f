"""The runtime every worker agent shares: consume a task topic, do the step, publish the result.

A result is published before the task message is acked, so a crash in between causes a redelivery
(and a duplicate result, which the Supervisor ignores), never a lost answer. Failures the user must
fix (unknown place, bad dates) are answered at once; other failures are retried by the broker, and
on the last attempt the agent reports the failure before the message goes to the dead-letter queue.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from agents import partial
from bot import metrics
from bot.bus import Envelope, Publisher
from bot.errors import ExternalServiceError, InputError, WireError
from bot.logs import log_context
from bot.resources import RESPONSE_TOPIC
from bot.wire import TASK_ID_PATTERN, ErrorKind, ResultMessage, ResultStatus, TaskMessage, decode_task, encode

log = logging.getLogger("tourguide.agent")

StepHandler = Callable[[TaskMessage], Awaitable[Any]]  # returns a WeatherReport or an Itinerary


class Worker:
    """Adapts a step handler to the bus: decode, deadline check, run, publish, then ack."""

    def __init__(self, name: str, publisher: Publisher, handler: StepHandler, *, max_attempts: int) -> None:
        self.name = name
        self._publisher = publisher
        self._handler = handler
        self._max_attempts = max_attempts

    async def __call__(self, envelope: Envelope) -> None:
        """Handle one delivery; raising makes the broker redeliver it later."""
        task_id = next((k for k in envelope.keys if TASK_ID_PATTERN.match(k)), "")
        with log_context(task_id=task_id, agent=self.name):
            try:
                task = decode_task(envelope.body)
            except WireError:
                await self._report_if_last(envelope, task_id, "", "the task message could not be read")
                raise
            with log_context(step=task.step_id), metrics.STEP_SECONDS.labels(self.name).time():
                await self._handle(envelope, task)

    async def _handle(self, envelope: Envelope, task: TaskMessage) -> None:
        if task.deadline < datetime.now(UTC):
            log.warning("task expired before it was handled")
            await self._publish(task, ResultStatus.FAILED, error="deadline passed", kind=ErrorKind.EXPIRED)
            return
        try:
            with partial.reporting(partial.Throttled(lambda text, seq: self._publish_partial(task, text, seq))):
                output = await self._handler(task)
        except InputError as exc:
            await self._publish(task, ResultStatus.FAILED, error=str(exc), kind=ErrorKind.INPUT,
                                user_message=exc.user_message)
            return
        except Exception as exc:
            log.warning("step failed on attempt %d: %s", envelope.delivery_attempt, exc)
            kind = ErrorKind.SERVICE if isinstance(exc, ExternalServiceError) else ErrorKind.EXHAUSTED
            if envelope.delivery_attempt >= self._max_attempts:
                await self._publish(task, ResultStatus.FAILED, error=f"{type(exc).__name__}: {exc}", kind=kind)
            else:
                metrics.STEPS.labels(self.name, "retry").inc()
            raise
        await self._publish(task, ResultStatus.OK, output=output)
        log.info("step done")

    async def _publish_partial(self, task: TaskMessage, text: str, seq: int) -> None:
        """The step's text so far, on the task's lite topic (in order with its result); best effort."""
        result = ResultMessage(task_id=task.task_id, step_id=task.step_id, status=ResultStatus.PARTIAL,
                               agent=self.name, partial_text=text, seq=seq)
        try:
            await self._publisher.publish(RESPONSE_TOPIC, encode(result), keys=[task.task_id],
                                          tag=ResultStatus.PARTIAL.value, lite_topic=task.reply_lite_topic)
        except Exception as exc:  # progress only: the step goes on
            log.warning("partial result not published: %s", exc)

    async def _report_if_last(self, envelope: Envelope, task_id: str, step_id: str, error: str) -> None:
        if envelope.delivery_attempt < self._max_attempts or not task_id:
            return
        result = ResultMessage(task_id=task_id, step_id=step_id or "unknown", status=ResultStatus.FAILED,
                               agent=self.name, error=error, error_kind=ErrorKind.EXHAUSTED)
        await self._publisher.publish(RESPONSE_TOPIC, encode(result), keys=[task_id], lite_topic=task_id)

    async def _publish(self, task: TaskMessage, status: ResultStatus, *, output: Any = None, error: str = "",
                       kind: ErrorKind | None = None, user_message: str = "") -> None:
        result = ResultMessage(task_id=task.task_id, step_id=task.step_id, status=status, agent=self.name,
                               output=output, error=error, error_kind=kind, user_message=user_message)
        metrics.STEPS.labels(self.name, kind.value if kind else status.value).inc()
        await self._publisher.publish(
            RESPONSE_TOPIC, encode(result), keys=[task.task_id], tag=status.value, lite_topic=task.reply_lite_topic
        )
