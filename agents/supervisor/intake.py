"""The dispatcher: an inbound chat message becomes a session (or a direct answer), exactly once.

Dedupes by platform event ID, applies the per-user rate limit, understands the text (dates are
always resolved by our deterministic resolver), applies follow-ups to the thread's last request,
and commits the session before anything is published.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from agents.supervisor.compose import payload
from agents.supervisor.planner import plan_steps
from agents.understanding import AliasIndex, amend, understand, validate_dates
from bot import tracing
from bot.errors import BusError, InputError
from bot.logs import log_context
from bot.models import InboundMessage, Session, SessionStatus
from bot.ports import Submitted
from bot.schemas import Intent, Language, TripRequest
from bot.text import language_of
from bot.wire import new_task_id
from bot.wording import wording
from storage.sessions import SessionStore

log = logging.getLogger("tourguide.intake")
LOCAL_PLATFORM = "cli"  # the terminal (chat / ask)
# Sessions committed and started at once (understanding, an LLM call perhaps, is not limited). Running
# sessions' results share the Supervisor's loop and its one database connection with new sessions: with a
# whole burst starting at once, results waited behind it and the second agent sat idle for the first
# seconds of a 1,000-session burst (74 % of the ideal makespan; 81-83 % with this limit).
ADMIT_AT_ONCE = 4


class RateLimiter:
    """At most ``per_minute`` requests per user in any 60 s window."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, user: str) -> bool:
        """Count a request; False when the user is over the limit."""
        now, window = self._clock(), self._seen[user]
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self._per_minute:
            return False
        window.append(now)
        return True


class Intake:
    """Turns inbound messages into sessions; the one entry point for every front end (``bot.ports.Requests``)."""

    def __init__(self, store: SessionStore, start: Callable[[Session], Awaitable[None]],
                 places: AliasIndex, clock: Callable[[], datetime], *, max_chars: int,
                 limiter: RateLimiter | None = None,
                 local_name: Callable[[str, Language], str] = lambda name, _lang: name,
                 understander: Callable[[str, datetime], Awaitable[TripRequest]] | None = None) -> None:
        self._store = store
        self._start = start  # the in-process Supervisor's run; a Supervisor elsewhere adopts new sessions
        self._places = places
        self._clock = clock
        self._max_chars = max_chars
        self._limiter = limiter
        self._local_name = local_name
        # With an LLM configured: LLMUnderstanding.understand (structured extraction, our dates); else offline.
        self._understander = understander
        self._admit = asyncio.Semaphore(ADMIT_AT_ONCE)

    async def submit(self, message: InboundMessage) -> Submitted:
        """Handle one inbound message (:meth:`receive`, then :meth:`process`); a repeated event ID returns
        the original task."""
        received = await self.receive(message)
        if received.duplicate:
            return received
        return await self.process(message, received.task_id)

    async def receive(self, message: InboundMessage) -> Submitted:
        """Commit the inbound event alone, before anything slow (an LLM reading it): the front end acks
        its platform right after. A crash before :meth:`process` is repaired by :meth:`recover`."""
        task_id = new_task_id()
        ref = message.ref
        if not message.event_id:
            return Submitted(task_id, started=False)
        if await self._store.receive(ref.platform, message.event_id, task_id, message.model_dump_json()):
            return Submitted(task_id, started=False)
        seen = await self._store.task_for_event(ref.platform, message.event_id) or task_id
        log.info("duplicate event %s ignored", message.event_id)
        return Submitted(seen, started=False, duplicate=True)

    async def task_for_event(self, platform: str, event_id: str) -> str | None:
        """The task a platform event already started, if any: a redelivery must start no work."""
        return await self._store.task_for_event(platform, event_id)

    async def cancel(self, task_id: str) -> bool:
        """The user gave up on a request: never resumed, never answered; False when nothing was left."""
        return await self._store.cancel(task_id)

    async def recover(self) -> list[Submitted]:
        """Process events a crash left received but not processed (the platform already has its ack)."""
        done = []
        for task_id, raw in await self._store.unprocessed():
            with log_context(task_id=task_id):
                try:
                    message = InboundMessage.model_validate_json(raw)
                    log.info("processing an event received before a restart (%s)", message.event_id)
                    done.append(await self.process(message, task_id))
                except Exception:  # e.g. another process recovered it first: never block a start-up
                    log.exception("could not process a received event")
        return done

    async def process(self, message: InboundMessage, task_id: str) -> Submitted:
        """Understand a received message, commit its session (or direct answer) and start it."""
        ref = message.ref
        # The request's trace (bot.tracing; nothing when off): its steps' messages carry it to the agents.
        with log_context(task_id=task_id, platform=ref.platform), \
                tracing.span("request", platform=ref.platform, task_id=task_id):
            # The terminal is the operator's own: no per-user limit there (issue 8).
            if (self._limiter is not None and ref.platform != LOCAL_PLATFORM
                    and not self._limiter.allow(f"{ref.platform}:{ref.user}")):
                return await self._direct(message, task_id, TripRequest(language=language_of(message.text)), _busy,
                                          SessionStatus.FAILED)
            try:
                request = await self._understand(message)
            except InputError as exc:
                req = TripRequest(language=language_of(message.text[: self._max_chars]), text=message.text[:200])
                reason = exc.user_message
                return await self._direct(message, task_id, req, lambda _r: reason)
            if not request.destination or request.start_date is None:
                shown = request.model_copy(update={"destination": self._display(request)})
                return await self._direct(message, task_id, shown, _missing)
            async with self._admit:
                session = await self._store.create(task_id, ref, request, plan_steps(request), message.event_id)
                if session is None:
                    return Submitted(task_id, started=False, duplicate=True)
                log.info("session created for %s %s..%s", request.destination, request.start_date,
                         request.end_date)
                try:
                    await self._start(session)
                except BusError as exc:  # committed: the Supervisor's watchdog picks it up when RocketMQ is back
                    log.warning("session stored, start deferred: %s", exc)
            return Submitted(task_id, started=True, language=request.language)

    def _display(self, request: TripRequest) -> str | None:
        return self._local_name(request.destination, request.language) if request.destination else None

    async def _understand(self, message: InboundMessage) -> TripRequest:
        now = self._clock()
        if message.has_attachments and not message.text.strip():
            raise InputError("attachment only", user_message=wording(language_of(message.text)).text_only)
        previous = await self._store.latest_in_conversation(message.ref.key)
        request = None
        if previous is not None and previous.request.destination:
            request = amend(previous.request, message.text, now, self._places)
        if request is None and self._understander is not None and len(message.text) <= self._max_chars:
            request = await self._understander(message.text, now)
        if request is None:
            request = understand(message.text, now, self._places, max_chars=self._max_chars)
            if request.intent == Intent.WEATHER:
                others = [p for p in self._places.find_all(message.text) if p != request.destination]
                request = request.model_copy(update={"also": tuple(others[:4])})
        validate_dates(request, now)
        return request

    async def _direct(self, message: InboundMessage, task_id: str, request: TripRequest,
                      say: Callable[[TripRequest], str],
                      status: SessionStatus = SessionStatus.NEEDS_CLARIFICATION) -> Submitted:
        text = say(request)
        body = payload(task_id, status, request, None, None, text)
        if not await self._store.answer_directly(task_id, message.ref, request, status, text, body,
                                                 message.event_id):
            return Submitted(task_id, started=False, duplicate=True, language=request.language)
        log.info("answered directly: %s", status.value)
        return Submitted(task_id, started=False, language=request.language)


def _missing(request: TripRequest) -> str:
    words = wording(request.language)
    return words.ask_when.format(destination=request.destination) if request.destination else words.ask_where


def _busy(request: TripRequest) -> str:
    return wording(request.language).too_many
