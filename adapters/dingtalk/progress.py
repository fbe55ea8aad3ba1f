"""One AI card per DingTalk session, kept up to date from Supervisor progress events, at most once per interval.

Each card has one worker task, so its calls never overlap and always go out in order. A progress event
records what the event says (step states, the session's end) and wakes the worker; the worker waits
out the throttle interval *before* it renders, so every event of that interval is coalesced into one
full update showing the newest state. Events that come before the card exists (a fast session may
even finish first) are kept for it, so the card still ends in the session's final state, and that
final update is always sent. ``async with`` owns the workers.

DingTalk's limits: at most one update every ``interval_s`` (300 ms) per card, one call in flight per card,
the newest state winning; every call of every card takes its turn in one :class:`CallBudget` below the
app's QPS. After a 403 (QPS) a card sends no more intermediate states, only its end, once.

A card never stays "processing": before an answer goes out, :meth:`ProgressCards.settle` makes sure its
card ended (the worker's final update, or a finishing call here on the card's derived ID when this process
has no worker for it: a restart). The answer is marked sent only after that, so a crash anywhere leaves
an answer the next process delivers, and settles its card first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from adapters.dingtalk.card import FAILED, FINISHED, INPUTING, CardApi, CardView, card_id_for, render
from bot.errors import ExternalServiceError, RateLimited
from bot.logs import log_context
from bot.models import ConversationRef, Progress, SessionStatus
from bot.progress import ProgressView
from bot.schemas import Language

log = logging.getLogger("tourguide.dingtalk.card")

Fallback = Callable[[], Awaitable[None]]
THROTTLE_S = 0.3  # at most one update per card this often; the bot-wide budget bounds all cards together
FINAL_ATTEMPTS = 6  # the end state is retried (after the budget's back-off when DingTalk said 403)
SETTLE_S = 10.0  # how long an answer waits for its card's worker to show the end state
ENDED_KEPT = 10_000  # tasks whose card this process ended, remembered so settle() adds no call
UNCLAIMED_S = 60.0  # how long the state of a finished session waits for its card to be started


@dataclass(eq=False)
class _Card:
    """A session's card and what it should show, as far as progress events told."""

    task_id: str
    shown: ProgressView = field(default_factory=ProgressView)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    finished_at: float | None = None
    quiet: bool = False  # DingTalk said 403 (QPS): only the end state goes out from now on

    def apply(self, event: Progress, now: float) -> None:
        """Fold an event in (out of order too: a step's state never goes back)."""
        self.shown.apply(event)
        if self.shown.finished and self.finished_at is None:
            self.finished_at = now

    def view(self) -> CardView:
        shown = self.shown
        return render(shown.status, shown.language, shown.steps, frozenset(shown.slow), shown.queued, shown.partial)


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
        self._worker_of: dict[str, asyncio.Task[None]] = {}
        self._ended: dict[str, None] = {}  # tasks whose card this process ended (or never had), oldest first
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
        card = self._cards.setdefault(task_id, _Card(task_id, ProgressView(language=language)))
        card.shown.ref = ref
        self._started.add(task_id)
        worker = asyncio.create_task(self._run(card, fallback), name=f"dingtalk-card-{task_id}")
        self._workers.add(worker)
        self._worker_of[task_id] = worker
        worker.add_done_callback(self._workers.discard)
        worker.add_done_callback(lambda _: self._worker_of.pop(task_id, None))

    async def on_progress(self, event: Progress) -> None:
        """Record a DingTalk session's progress and wake its card; never waits for DingTalk."""
        if event.ref is None or event.ref.platform != "dingtalk" or self._closed:
            return
        now = self._clock()
        self._forget_unclaimed(now)
        card = self._cards.setdefault(event.task_id, _Card(event.task_id))
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
            ref = card.shown.ref
            assert ref is not None
            try:
                shown = card.view().text
                card_id = await self._api.create(ref, shown, card_id_for(card.task_id))
            except Exception as exc:
                log.warning("AI card not created (%s); sending the planning message instead", exc)
                with contextlib.suppress(Exception):  # a courtesy: the answer goes through the outbox
                    await fallback()
                self._end(card.task_id, ended=True)  # no card to finish (a half-created one stays hidden)
                return
            ended = False
            try:
                ended = await self._stream(card, card_id, shown)
            finally:
                self._end(card.task_id, ended=ended)

    def _end(self, task_id: str, *, ended: bool) -> None:
        self._cards.pop(task_id, None)
        self._started.discard(task_id)
        if ended:
            self._ended[task_id] = None
            while len(self._ended) > ENDED_KEPT:
                del self._ended[next(iter(self._ended))]

    async def settle(self, task_id: str, status: SessionStatus, language: Language) -> None:
        """Before the answer goes out: the task's card shows its end (finished or failed), never "processing".

        This process's worker does it when it has one (told the end now, in case the FINISHED event is
        still on its way); otherwise (a restart) the card is finished here by its derived ID. Best effort:
        DingTalk refusing costs a warning, never the answer.
        """
        worker = self._worker_of.get(task_id)
        card = self._cards.get(task_id)
        if worker is not None and card is not None:
            if not card.shown.finished:
                card.shown.status, card.finished_at = status, self._clock()
                card.wake.set()
            await asyncio.wait({worker}, timeout=SETTLE_S)
            if not worker.done():
                log.warning("AI card still ending after %.0f s; the answer goes out meanwhile", SETTLE_S)
            return
        if task_id in self._ended or self._closed:
            return
        view = render(status, language, ())
        card_id = card_id_for(task_id)
        try:
            await self._api.stream(card_id, view.text, finalize=True, failed=view.failed)
            await self._api.set_status(card_id, FAILED if view.failed else FINISHED, view.text)
        except ExternalServiceError as exc:  # most often: no card (it fell back to text, or cards were off)
            log.info("no AI card to finish for this answer (%s)", exc)
        self._end(task_id, ended=True)

    async def _stream(self, card: _Card, card_id: str, shown: str) -> bool:
        """Follow the card's state until its end is shown (True) or every attempt at it failed (False)."""
        last, inputing, final_tries = self._clock(), False, FINAL_ATTEMPTS
        card.wake.set()  # the session may have moved on (or ended) while the card was being created
        while final_tries > 0:
            await card.wake.wait()
            await asyncio.sleep(max(0.0, last + self._interval_s - self._clock()))
            card.wake.clear()  # events from here on wake the next update
            view = card.view()
            if (view.text == shown or card.quiet) and not view.done:
                continue
            try:
                if not inputing:
                    await self._api.set_status(card_id, INPUTING)
                    inputing = True
                await self._api.stream(card_id, view.text, finalize=view.done, failed=view.failed)
                if view.done:
                    await self._api.set_status(card_id, FAILED if view.failed else FINISHED, view.text)
                    return True
                shown = view.text
            except RateLimited as exc:  # the budget pauses every card; this one only shows its end from now on
                log.warning("AI card throttled by DingTalk (%s); only its end state will be sent", exc)
                card.quiet = True
                if view.done:
                    final_tries -= 1
                    card.wake.set()
            except Exception as exc:  # progress is best effort (the next event retries); the end state is retried
                log.warning("AI card update failed: %s", exc)
                if view.done:
                    final_tries -= 1
                    card.wake.set()
            last = self._clock()
        log.error("AI card could not be ended after %d attempts; the answer still goes out", FINAL_ATTEMPTS)
        return False
