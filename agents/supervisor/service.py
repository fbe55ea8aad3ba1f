"""The Supervisor: runs each session's steps over RocketMQ and finishes it into the reply outbox.

Results arrive on the task's lite topic. Each is committed to SQLite before it is acked, and a
redelivered result is a no-op (task ID + step ID). Every wait is bounded by the step's deadline.
After a restart, unfinished sessions are reloaded, their lite topics resubscribed (results that
arrived meanwhile are delivered from the backlog) and their pending steps published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from agents.supervisor.compose import compose
from agents.supervisor.planner import step_input
from bot import background
from bot.bus import Envelope, LiteSubscriber, Publisher
from bot.errors import BusError
from bot.logs import log_context
from bot.models import Phase, Progress, Session, SessionStatus, Step, StepState, StepStatus
from bot.wire import ErrorKind, ResultStatus, StepKind, TaskMessage, decode_result, encode
from storage.outbox import Outbox
from storage.sessions import SessionStore

log = logging.getLogger("tourguide.supervisor")
SLOW_AFTER_S = 30.0  # a step out this long is reported as slow (an LLM being retried, usually)


Listener = Callable[[Progress], Awaitable[None]]
SubscriberFactory = Callable[[Callable[[Envelope], Any]], LiteSubscriber]


class Supervisor:
    """Owns the result subscriber; ``async with`` starts it and resumes unfinished sessions."""

    def __init__(self, store: SessionStore, outbox: Outbox, publisher: Publisher, subscribe: SubscriberFactory,
                 topics: dict[StepKind, str], *, step_timeout_s: float, slow_after_s: float = SLOW_AFTER_S) -> None:
        self._store = store
        self._outbox = outbox
        self._publisher = publisher
        self._subscriber = subscribe(self._on_result)
        self._topics = topics
        self._timeout_s = step_timeout_s
        self._slow_after_s = slow_after_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[Listener] = []
        self._active: set[str] = set()
        self._slow_told: set[tuple[str, str]] = set()  # (task, step) already reported slow
        self._watchdog: asyncio.Task[None] | None = None

    def add_listener(self, listener: Listener) -> None:
        """Be told about progress of every session."""
        self._listeners.append(listener)

    async def __aenter__(self) -> Supervisor:
        await self._subscriber.__aenter__()
        self._watchdog = asyncio.create_task(self._watch_deadlines(), name="supervisor-deadlines")
        for task_id in await self._store.unfinished():
            with log_context(task_id=task_id):
                log.info("resuming unfinished session")
            await self.start(task_id)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await background.stop(self._watchdog)
        await self._subscriber.__aexit__(exc_type, exc, tb)

    async def start(self, task_id: str) -> None:
        """Run a session that is stored and RUNNING: subscribe its lite topic, publish ready steps."""
        with log_context(task_id=task_id):
            await self._subscriber.subscribe(task_id)
            self._active.add(task_id)  # only now: a failed subscribe is retried by the watchdog
            await self._advance(task_id)

    def _lock(self, task_id: str) -> asyncio.Lock:
        return self._locks.setdefault(task_id, asyncio.Lock())

    async def _on_result(self, envelope: Envelope) -> None:
        result = decode_result(envelope.body)
        with log_context(task_id=result.task_id, step=result.step_id, agent=result.agent):
            status = StepStatus.OK if result.status == ResultStatus.OK else StepStatus.FAILED
            changed = await self._store.record_result(
                result.task_id, result.step_id, status, result.output, result.error, result.user_message,
                result.error_kind,
            )
            if not changed:
                log.info("duplicate or late result ignored")
                return
            log.info("result %s", result.status.value)
            kind = StepKind.WEATHER if result.agent == "weather" else StepKind.TRAVEL
            session = await self._store.get(result.task_id)
            if session is not None:
                await self._emit(_progress(session, Phase(status.value), kind, result.error))
            await self._advance(result.task_id)

    async def _advance(self, task_id: str) -> None:
        async with self._lock(task_id):
            session = await self._store.get(task_id)
            if session is None or session.status != SessionStatus.RUNNING:
                return
            for step in _ready(session):
                try:
                    await self._dispatch(session, step)
                except BusError as exc:
                    log.warning("step %s not published yet, retrying: %s", step.step_id, exc)
                    return
            if all(s.done for s in session.steps) or _blocked(session):
                await self._finish(session)

    async def _dispatch(self, session: Session, step: Step) -> None:
        deadline = time.time() + self._timeout_s
        task = TaskMessage(
            task_id=session.task_id, step_id=step.step_id, input=step_input(session, step),
            reply_lite_topic=session.task_id, deadline=datetime.fromtimestamp(deadline, UTC),
            language=session.request.language,
        )
        await self._publisher.publish(self._topics[step.kind], encode(task), keys=[session.task_id],
                                      tag=step.kind.value)
        await self._store.mark_sent(session.task_id, step.step_id, deadline)
        log.info("step %s sent", step.step_id)
        session = await self._store.get(session.task_id) or session
        await self._emit(_progress(session, Phase.SENT, step.kind))

    async def _finish(self, session: Session) -> None:
        session = await self._store.get(session.task_id) or session
        answer = compose(session)
        if await self._outbox.finish(session.task_id, answer.status, session.ref, answer.text, answer.payload):
            log.info("session finished: %s", answer.status.value)
            await self._emit(_progress(session, Phase.FINISHED, None, answer.status.value))
        with contextlib.suppress(Exception):
            await self._subscriber.unsubscribe(session.task_id)
        self._locks.pop(session.task_id, None)
        self._active.discard(session.task_id)
        self._slow_told = {told for told in self._slow_told if told[0] != session.task_id}

    async def _watch_deadlines(self) -> None:
        """Every second: adopt sessions another process created, retry unpublished steps, fail late ones."""
        while True:
            await asyncio.sleep(1.0)
            for task_id in await self._store.unfinished():
                try:
                    await self._check(task_id)
                except Exception:  # one broken session (or a broker hiccup) must not stop the watchdog
                    log.exception("checking session %s failed", task_id)

    async def _check(self, task_id: str) -> None:
        if task_id not in self._active:
            await self.start(task_id)
            return
        session = await self._store.get(task_id)
        if session is None:
            return
        now = time.time()
        for step in session.steps:  # tell the user a slow step is still being worked on (once per step)
            sent_at = step.deadline - self._timeout_s
            if step.status == StepStatus.SENT and now - sent_at > self._slow_after_s and \
                    (task_id, step.step_id) not in self._slow_told:
                self._slow_told.add((task_id, step.step_id))
                await self._emit(_progress(session, Phase.SLOW, step.kind))
        late = [s for s in session.steps if s.status == StepStatus.SENT and s.deadline < now]
        # Steps that could never be published (the broker was unreachable) give up after a step timeout too.
        unsent = [s for s in _ready(session) if session.created_at + self._timeout_s < now]
        for step in late + unsent:
            with log_context(task_id=task_id, step=step.step_id):
                log.warning("no result before the deadline")
                await self._store.record_result(task_id, step.step_id, StepStatus.FAILED,
                                                error="no result before the deadline", error_kind=ErrorKind.TIMEOUT)
                await self._emit(_progress(await self._store.get(task_id) or session, Phase.FAILED, step.kind,
                                           "timeout"))
        if late or unsent or _ready(session):
            await self._advance(task_id)

    async def _emit(self, event: Progress) -> None:
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("progress listener failed")


def _progress(session: Session, phase: Phase, kind: StepKind | None, detail: str = "") -> Progress:
    """A progress event with everything a surface shows: the conversation, the language and every step."""
    return Progress(
        session.task_id, phase, kind, detail, ref=session.ref, language=session.request.language,
        request_text=session.request.text, steps=tuple(StepState(s.kind, s.status) for s in session.steps),
    )


def _ready(session: Session) -> list[Step]:
    done_ok = {s.step_id for s in session.steps if s.done}
    return [s for s in session.steps if s.status == StepStatus.PENDING and set(s.depends_on) <= done_ok
            and not _blocked(session)]


def _blocked(session: Session) -> bool:
    """The main step, or one others depend on, failed because of the user's input: ask the user."""
    needed = {"weather"} | {d for s in session.steps for d in s.depends_on}
    return any(s.status == StepStatus.FAILED and s.error_kind == ErrorKind.INPUT and s.step_id in needed
               for s in session.steps)
