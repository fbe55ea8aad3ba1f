"""One AI card per DingTalk session, kept up to date from Supervisor progress events, at most once per interval.

Each card has one worker task, so its calls never overlap and always go out in order. A progress event
records what the event says (step states, the session's end) and wakes the worker; the worker waits
out the throttle interval *before* it renders, so every event of that interval is coalesced into one
full update showing the newest state. Events that come before the card exists (a fast session may
even finish first) are kept for it, so the card still ends in the session's final state, and that
final update is always sent. ``async with`` owns the workers; cards live in memory, so a card whose
session outlives a restart stays at its last state (the answer is still delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from adapters.dingtalk.card import FAILED, FINISHED, INPUTING, CardApi, CardView, render
from bot.logs import log_context
from bot.models import ConversationRef, Phase, Progress, SessionStatus, StepState, StepStatus
from bot.schemas import Language

log = logging.getLogger("tourguide.dingtalk.card")

Fallback = Callable[[], Awaitable[None]]
THROTTLE_S = 1.0  # no official QPS for card streaming; one update a second is the common practice
FINAL_ATTEMPTS = 3
UNCLAIMED_S = 60.0  # how long the state of a finished session waits for its card to be started
_RANK = {StepStatus.PENDING: 0, StepStatus.SENT: 1, StepStatus.OK: 2, StepStatus.FAILED: 2}


@dataclass(eq=False)
class _Card:
    """A session's card and what it should show, as far as progress events told."""

    task_id: str
    language: Language
    ref: ConversationRef | None = None
    status: SessionStatus = SessionStatus.RUNNING
    steps: tuple[StepState, ...] = ()
    slow: set[str] = field(default_factory=set)  # step kinds the Supervisor reported slow
    queued: dict[str, str] = field(default_factory=dict)  # step kind -> "position:seconds" while it waits
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    finished_at: float | None = None

    def apply(self, event: Progress, now: float) -> None:
        """Fold an event in; events may arrive out of order, and a step's state never goes back."""
        self.language = event.language
        if len(event.steps) != len(self.steps) or not self.steps:
            self.steps = event.steps or self.steps
        else:
            self.steps = tuple(new if _RANK[new.status] >= _RANK[old.status] else old
                               for old, new in zip(self.steps, event.steps, strict=True))
        if event.phase == Phase.SLOW and event.kind is not None:
            self.slow.add(event.kind.value)
        if event.phase == Phase.QUEUED and event.kind is not None:
            self.queued[event.kind.value] = event.detail
        if event.phase == Phase.FINISHED:
            self.status = _ended(event.detail)
            self.finished_at = now

    def view(self) -> CardView:
        return render(self.status, self.language, self.steps, frozenset(self.slow), self.queued)


class ProgressCards:
    """Starts a card per session (:meth:`start`) and streams its progress (:meth:`on_progress`)."""

    def __init__(self, api: CardApi, *, interval_s: float = THROTTLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._interval_s = interval_s
        self._clock = clock
        self._cards: dict[str, _Card] = {}  # by task: started cards, and states waiting for theirs
        self._started: set[str] = set()
        self._workers: set[asyncio.Task[None]] = set()
        self._closed = False

    async def __aenter__(self) -> ProgressCards:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closed = True
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    def start(self, task_id: str, ref: ConversationRef, language: Language, fallback: Fallback) -> None:
        """Create the session's card in the background; ``fallback`` runs instead if that fails."""
        if self._closed:  # a message that came in while shutting down: no worker may outlive us
            return
        card = self._cards.setdefault(task_id, _Card(task_id, language))
        card.ref = ref
        self._started.add(task_id)
        worker = asyncio.create_task(self._run(card, fallback), name=f"dingtalk-card-{task_id}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def on_progress(self, event: Progress) -> None:
        """Record a DingTalk session's progress and wake its card; never waits for DingTalk."""
        if event.ref is None or event.ref.platform != "dingtalk" or self._closed:
            return
        now = self._clock()
        self._forget_unclaimed(now)
        card = self._cards.setdefault(event.task_id, _Card(event.task_id, event.language))
        card.apply(event, now)
        card.wake.set()

    def _forget_unclaimed(self, now: float) -> None:
        """States of sessions no card was started for (resumed after a restart, answered elsewhere)."""
        stale = [task for task, card in self._cards.items() if task not in self._started
                 and card.finished_at is not None and now - card.finished_at > UNCLAIMED_S]
        for task in stale:
            del self._cards[task]

    async def _run(self, card: _Card, fallback: Fallback) -> None:
        with log_context(task_id=card.task_id, platform="dingtalk"):
            assert card.ref is not None
            try:
                shown = card.view().text
                card_id = await self._api.create(card.ref, shown)
            except Exception as exc:
                log.warning("AI card not created (%s); sending the planning message instead", exc)
                with contextlib.suppress(Exception):  # a courtesy: the answer goes through the outbox
                    await fallback()
                self._end(card.task_id)
                return
            try:
                await self._stream(card, card_id, shown)
            finally:
                self._end(card.task_id)

    def _end(self, task_id: str) -> None:
        self._cards.pop(task_id, None)
        self._started.discard(task_id)

    async def _stream(self, card: _Card, card_id: str, shown: str) -> None:
        last, inputing, final_tries = self._clock(), False, FINAL_ATTEMPTS
        card.wake.set()  # the session may have moved on (or ended) while the card was being created
        while final_tries > 0:
            await card.wake.wait()
            await asyncio.sleep(max(0.0, last + self._interval_s - self._clock()))
            card.wake.clear()  # events from here on wake the next update
            view = card.view()
            if view.text == shown and not view.done:
                continue
            try:
                if not inputing:
                    await self._api.set_status(card_id, INPUTING)
                    inputing = True
                await self._api.stream(card_id, view.text, finalize=view.done, failed=view.failed)
                if view.done:
                    await self._api.set_status(card_id, FAILED if view.failed else FINISHED, view.text)
                    return
                shown = view.text
            except Exception as exc:  # progress is best effort (the next event retries); the end state is retried
                log.warning("AI card update failed: %s", exc)
                if view.done:
                    final_tries -= 1
                    card.wake.set()
            last = self._clock()


def _ended(detail: str) -> SessionStatus:
    """The session's final status, which a FINISHED event carries as its detail."""
    try:
        return SessionStatus(detail)
    except ValueError:
        return SessionStatus.FAILED
