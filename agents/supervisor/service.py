"""The Supervisor: runs each session's steps over RocketMQ and finishes it into the reply outbox.

Results arrive on the task's lite topic. Each is committed to SQLite before it is acked, and a
redelivered result is a no-op (task ID + step ID). Every wait is bounded by the step's deadline.

The sessions this process runs are kept in memory, SQLite being their durable log: a change is
committed first and applied to the copy in memory only after the commit succeeded, so nothing is
re-read per event. The version each commit returns tells whether the copy was current (another
process may run the same session); a copy found stale is reloaded from SQLite.

Deadlines and slow-step notices are timers (:mod:`agents.supervisor.timers`), set when a step is
published. Every ``adopt_every_s`` one query reads the task IDs of running sessions and adopts those
this process does not run yet (committed by another process, or not started because the broker was
down). After a restart, unfinished sessions are reloaded, their lite topics resubscribed (results that
arrived meanwhile are delivered from the backlog) and their pending steps published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from agents.supervisor.compose import compose
from agents.supervisor.planner import step_input
from agents.supervisor.priority import PriorityPolicy
from agents.supervisor.queue import QueueWatch
from agents.supervisor.timers import Reminder, Timer, Timers
from bot import background, tracing
from bot.bus import Envelope, LiteSubscriber, Publisher
from bot.errors import BusError
from bot.logs import log_context
from bot.models import Phase, Progress, Reply, Session, SessionStatus, Step, StepState, StepStatus
from bot.wire import ErrorKind, ResultMessage, ResultStatus, StepKind, TaskMessage, decode_result, encode
from storage.sessions import SessionStore

log = logging.getLogger("tourguide.supervisor")
SLOW_AFTER_S = 30.0  # a step out this long is reported as slow (an LLM being retried, usually)
ADOPT_EVERY_S = 3.0  # how often running sessions of other processes (task IDs only) are looked for
RETRY_PUBLISH_S = 1.0  # a step that could not be published is tried again this often


Listener = Callable[[Progress], Awaitable[None]]
SubscriberFactory = Callable[[Callable[[Envelope], Any]], LiteSubscriber]


class Supervisor:
    """Owns the result subscriber; ``async with`` starts it and resumes unfinished sessions."""

    def __init__(self, store: SessionStore, publisher: Publisher, subscribe: SubscriberFactory,
                 topics: dict[StepKind, str], *, step_timeout_s: float, slow_after_s: float = SLOW_AFTER_S,
                 priority: PriorityPolicy | None = None, adopt_every_s: float = ADOPT_EVERY_S,
                 agent_capacity: int = 4) -> None:
        self._store = store
        self._publisher = publisher
        self._subscriber = subscribe(self._on_result)
        self._topics = topics
        self._timeout_s = step_timeout_s
        self._slow_after_s = slow_after_s
        self._priority = priority or PriorityPolicy()
        self._queue = QueueWatch(self._emit, capacity=agent_capacity)  # "you're 13th in line, about 40 s"
        self._partial_seq: dict[str, dict[str, int]] = {}  # task -> step -> newest partial shown
        self._queue_running: contextlib.AbstractAsyncContextManager[QueueWatch] = self._queue.running()
        self._adopt_every_s = adopt_every_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._listeners: list[Listener] = []
        self._sessions: dict[str, Session] = {}  # the running sessions of this process, as last committed
        self._slow_told: dict[str, set[str]] = {}  # task -> its steps already reported slow
        self._timers = Timers(self._on_timer)
        self._adopter: asyncio.Task[None] | None = None

    def runs(self, task_id: str) -> bool:
        """Whether this process runs the session now (it is held in memory here)."""
        return task_id in self._sessions

    def add_listener(self, listener: Listener) -> None:
        """Be told about progress of every session."""
        self._listeners.append(listener)

    async def __aenter__(self) -> Supervisor:
        await self._subscriber.__aenter__()
        await self._timers.__aenter__()
        await self._queue_running.__aenter__()
        for task_id in await self._store.unfinished():
            with log_context(task_id=task_id):
                log.info("resuming unfinished session")
                try:
                    await self.start(task_id)
                except BusError as exc:  # the broker is down: adopted once it is back
                    log.warning("session not resumed yet: %s", exc)
        self._adopter = asyncio.create_task(self._adopt(), name="supervisor-adopt")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await background.stop(self._adopter)
        await self._queue_running.__aexit__(exc_type, exc, tb)
        await self._timers.__aexit__(exc_type, exc, tb)
        await self._subscriber.__aexit__(exc_type, exc, tb)

    async def start(self, task_id: str) -> None:
        """Run a session that is stored and RUNNING: load it, subscribe its lite topic, publish ready steps.

        Raises BusError when the lite topic cannot be subscribed; the session is adopted later.
        """
        with log_context(task_id=task_id):
            async with self._lock(task_id):
                if task_id not in self._sessions and await self._load(task_id) is not None:
                    await self._advance(task_id)

    async def run(self, session: Session) -> None:
        """Run a session this process has just committed (``SessionStore.create``): as :meth:`start`, without
        reading back from SQLite what was just written. Raises BusError as :meth:`start` does."""
        with log_context(task_id=session.task_id):
            async with self._lock(session.task_id):
                if session.task_id not in self._sessions:
                    await self._subscriber.subscribe(session.task_id)  # first: a failed subscribe leaves it to adoption
                    self._sessions[session.task_id] = session
                    await self._advance(session.task_id)

    def _lock(self, task_id: str) -> asyncio.Lock:
        return self._locks.setdefault(task_id, asyncio.Lock())

    async def _load(self, task_id: str) -> Session | None:
        """Read a running session from SQLite and run it here (under its lock); None when it is not running."""
        session = await self._store.get(task_id)
        if session is None or session.status != SessionStatus.RUNNING:
            await self._forget(task_id)
            return None
        old = self._sessions.get(task_id)
        if old is None:
            await self._subscriber.subscribe(task_id)  # first: a failed subscribe leaves it to adoption
        self._sessions[task_id] = session
        for step in session.steps:  # timers for the steps that are out and were not out in the old copy
            before = old.step(step.step_id) if old is not None else None
            if step.status == StepStatus.SENT and (before is None or before.status != StepStatus.SENT):
                self._remind(task_id, step)
        return session

    def _remind(self, task_id: str, step: Step) -> None:
        """Timers of a step that is out: the slow notice and the deadline."""
        self._timers.at(step.deadline - self._timeout_s + self._slow_after_s, task_id, step.step_id, Reminder.SLOW)
        self._timers.at(step.deadline, task_id, step.step_id, Reminder.DEADLINE)

    async def _on_result(self, envelope: Envelope) -> None:
        result = decode_result(envelope.body)
        if result.status == ResultStatus.PARTIAL:
            await self._on_partial(result)
            return
        with log_context(task_id=result.task_id, step=result.step_id, agent=result.agent):
            status = StepStatus.OK if result.status == ResultStatus.OK else StepStatus.FAILED
            async with self._lock(result.task_id):
                session = await self._record(result.task_id, result.step_id, status, output=result.output,
                                             error=result.error, user_message=result.user_message,
                                             error_kind=result.error_kind)
                if session is None:
                    log.info("duplicate or late result ignored")
                    if result.task_id not in self._sessions:  # not run here: keep no lock for it
                        self._locks.pop(result.task_id, None)
                    return
                log.info("result %s", result.status.value)
                self._queue.done(result.task_id, result.step_id)
                step = session.step(result.step_id)
                kind = step.kind if step else StepKind.WEATHER if result.agent == "weather" else StepKind.TRAVEL
                await self._emit(_progress(session, Phase(status.value), kind, result.error))
                await self._advance(result.task_id)

    async def _on_partial(self, result: ResultMessage) -> None:
        """A running step's text so far: shown (Phase.PARTIAL), never committed; older or late ones dropped."""
        session = self._sessions.get(result.task_id)
        step = session.step(result.step_id) if session else None
        if session is None or step is None or step.done:
            return
        shown = self._partial_seq.setdefault(result.task_id, {})
        if result.seq <= shown.get(result.step_id, 0):
            return
        shown[result.step_id] = result.seq
        await self._emit(_progress(session, Phase.PARTIAL, step.kind, result.partial_text))

    async def _record(self, task_id: str, step_id: str, status: StepStatus, **outcome: Any) -> Session | None:
        """Commit a step's outcome, then apply it to the session in memory; None when it changed nothing."""
        version = await self._store.record_result(task_id, step_id, status, **outcome)
        if version is None:
            if task_id in self._sessions:  # final in SQLite but not here: another process got there first
                log.info("step %s already final elsewhere: reloaded", step_id)
                await self._load(task_id)
            return None
        return await self._committed(task_id, step_id, version, status=status, **outcome)

    async def _committed(self, task_id: str, step_id: str, version: int, **changes: Any) -> Session | None:
        """The session after a committed change of one step: patched in memory when the copy was current
        (``version`` is its own plus one), reloaded from SQLite otherwise."""
        cached = self._sessions.get(task_id)
        if cached is None or cached.version + 1 != version:
            if cached is not None:
                log.info("session changed elsewhere (version %d, not %d): reloaded", version, cached.version + 1)
            return await self._load(task_id)
        steps = tuple(replace(s, **changes) if s.step_id == step_id else s for s in cached.steps)
        session = self._sessions[task_id] = replace(cached, steps=steps, version=version)
        return session

    async def _advance(self, task_id: str) -> None:
        """Publish the steps that are ready and finish the session once nothing is left (under its lock)."""
        session = self._sessions.get(task_id)
        if session is None:
            return
        for step in _ready(session):
            if (current := session.step(step.step_id)) is None or current.status != StepStatus.PENDING:
                continue  # a reload on the way found it published by another process
            try:
                await self._dispatch(session, step)
            except BusError as exc:
                log.warning("step %s not published yet, retrying: %s", step.step_id, exc)
                self._timers.at(time.time() + RETRY_PUBLISH_S, task_id, "", Reminder.RETRY)
                return
            session = self._sessions.get(task_id)
            if session is None:
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
        level = self._priority.level(session, step)
        await self._publisher.publish(self._topics[step.kind], encode(task), keys=[session.task_id],
                                      tag=step.kind.value, priority=level)
        version = await self._store.mark_sent(session.task_id, step.step_id, deadline)
        if version is None:  # no longer pending in SQLite: another process published it or has its result
            await self._load(session.task_id)
            return
        log.info("step %s sent", step.step_id)
        changed = await self._committed(session.task_id, step.step_id, version, status=StepStatus.SENT,
                                        deadline=deadline)
        if changed is not None:
            self._remind(session.task_id, replace(step, deadline=deadline))
            await self._emit(_progress(changed, Phase.SENT, step.kind))
            self._queue.sent(changed, step.step_id, step.kind, level)

    async def _finish(self, session: Session) -> None:
        answer = compose(session)
        # The answer carries the finishing step's trace context: its delivery, maybe in another process, joins it.
        reply = Reply(session.task_id, session.ref, answer.text, answer.payload, traceparent=tracing.traceparent())
        if await self._store.finish(reply, answer.status):
            log.info("session finished: %s", answer.status.value)
            await self._emit(_progress(replace(session, status=answer.status), Phase.FINISHED, None,
                                       answer.status.value))
        await self._forget(session.task_id)

    async def _forget(self, task_id: str) -> None:
        """The session ended (here or elsewhere): stop running it in this process."""
        self._queue.forget(task_id)
        self._locks.pop(task_id, None)
        self._partial_seq.pop(task_id, None)
        if self._sessions.pop(task_id, None) is None:
            return
        self._slow_told.pop(task_id, None)
        with contextlib.suppress(BusError):  # not running any more (shutting down): the broker drops it anyway
            self._subscriber.unsubscribe(task_id)

    async def _on_timer(self, timer: Timer) -> None:
        if timer.task_id not in self._sessions:
            return  # ended meanwhile (most timers of a session outlive it); no lock is made for it
        with log_context(task_id=timer.task_id, step=timer.step_id):
            async with self._lock(timer.task_id):
                session = self._sessions.get(timer.task_id)
                if session is None:
                    return
                if timer.reminder == Reminder.RETRY:
                    await self._retry(session)
                    return
                step = session.step(timer.step_id)
                if step is None or step.status != StepStatus.SENT:
                    return  # the result came in time
                if timer.reminder == Reminder.SLOW:
                    await self._slow(session.task_id, step.step_id)
                elif timer.reminder == Reminder.DEADLINE and step.deadline <= time.time():
                    await self._time_out(session, [step])
                    await self._advance(timer.task_id)

    async def _slow(self, task_id: str, step_id: str) -> None:
        """Tell the user once that a step is still out; read from SQLite first (rare: only for a slow step),
        as another process running the session too may have its result in a copy this one has not seen."""
        if step_id in self._slow_told.get(task_id, ()) or (session := await self._load(task_id)) is None:
            return
        step = session.step(step_id)
        if step is not None and step.status == StepStatus.SENT:
            self._slow_told.setdefault(task_id, set()).add(step_id)
            await self._emit(_progress(session, Phase.SLOW, step.kind))

    async def _retry(self, session: Session) -> None:
        """Publish steps a broker outage held back; after a step timeout they fail instead."""
        if session.created_at + self._timeout_s < time.time():
            await self._time_out(session, _ready(session))
        await self._advance(session.task_id)

    async def _time_out(self, session: Session, steps: list[Step]) -> None:
        for step in steps:
            with log_context(task_id=session.task_id, step=step.step_id):
                log.warning("no result before the deadline")
                changed = await self._record(session.task_id, step.step_id, StepStatus.FAILED,
                                             error="no result before the deadline", error_kind=ErrorKind.TIMEOUT)
                if changed is not None:
                    self._queue.done(session.task_id, step.step_id)  # given up on: it no longer waits in line
                    await self._emit(_progress(changed, Phase.FAILED, step.kind, "timeout"))

    async def _adopt(self) -> None:
        """Every few seconds: run the sessions another process committed (task IDs only are read), and
        stop running those another process ended."""
        while True:
            await asyncio.sleep(self._adopt_every_s)
            try:
                running = set(await self._store.unfinished())
            except Exception:
                log.exception("looking for sessions to adopt failed")
                continue
            for task_id in running - self._sessions.keys():
                try:
                    await self.start(task_id)
                except Exception:  # one broken session (or a broker hiccup) must not stop the others
                    log.exception("adopting session %s failed", task_id)
            for task_id in self._sessions.keys() - running:  # ended elsewhere, or started after the query
                async with self._lock(task_id):
                    if task_id in self._sessions:
                        await self._load(task_id)

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
