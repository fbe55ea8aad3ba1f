"""One AI card per DingTalk session, kept up to date from Supervisor progress events, at most once per interval.

Each card has one worker task, so its calls never overlap and always go out in order. A progress event
only wakes the worker; the worker waits out the throttle interval *before* it reads the session, so every
event of that interval is coalesced into one full update showing the newest state. The session's own
status (not the "finished" event, which may come before the card exists) decides when the card is
finished, and that final update is always sent. ``async with`` owns the workers; cards live in memory,
so a card whose session outlives a restart stays at its last state (the answer is still delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from adapters.dingtalk_card import FAILED, FINISHED, INPUTING, CardApi, CardView, render
from bot.logs import log_context
from bot.models import ConversationRef, Progress
from storage.sessions import SessionStore

log = logging.getLogger("tourguide.dingtalk.card")

Fallback = Callable[[], Awaitable[None]]
THROTTLE_S = 1.0  # no official QPS for card streaming; one update a second is the common practice
FINAL_ATTEMPTS = 3


@dataclass(eq=False)
class _Card:
    task_id: str
    ref: ConversationRef
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    slow: set[str] = field(default_factory=set)  # step kinds the Supervisor reported slow


class ProgressCards:
    """Starts a card per session (:meth:`start`) and streams its progress (:meth:`on_progress`)."""

    def __init__(self, api: CardApi, sessions: SessionStore, *, interval_s: float = THROTTLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._sessions = sessions
        self._interval_s = interval_s
        self._clock = clock
        self._cards: dict[str, _Card] = {}
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

    def start(self, task_id: str, ref: ConversationRef, fallback: Fallback) -> None:
        """Create the session's card in the background; ``fallback`` runs instead if that fails."""
        if self._closed:  # a message that came in while shutting down: no worker may outlive us
            return
        card = _Card(task_id, ref)
        self._cards[task_id] = card
        worker = asyncio.create_task(self._run(card, fallback), name=f"dingtalk-card-{task_id}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def on_progress(self, event: Progress) -> None:
        """Supervisor listener: wake the session's card (if it has one); never waits for DingTalk."""
        card = self._cards.get(event.task_id)
        if card is not None:
            if event.phase == "slow" and event.kind is not None:
                card.slow.add(event.kind.value)
            card.wake.set()

    async def _run(self, card: _Card, fallback: Fallback) -> None:
        with log_context(task_id=card.task_id, platform="dingtalk"):
            try:
                shown = (await self._view(card)).text
                card_id = await self._api.create(card.ref, shown)
            except Exception as exc:
                log.warning("AI card not created (%s); sending the planning message instead", exc)
                with contextlib.suppress(Exception):  # a courtesy: the answer goes through the outbox
                    await fallback()
                self._cards.pop(card.task_id, None)
                return
            try:
                await self._stream(card, card_id, shown)
            finally:
                self._cards.pop(card.task_id, None)

    async def _stream(self, card: _Card, card_id: str, shown: str) -> None:
        last, inputing, final_tries = self._clock(), False, FINAL_ATTEMPTS
        card.wake.set()  # the session may have moved on (or ended) while the card was being created
        while final_tries > 0:
            await card.wake.wait()
            await asyncio.sleep(max(0.0, last + self._interval_s - self._clock()))
            card.wake.clear()  # events from here on wake the next update
            view = await self._view(card)
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

    async def _view(self, card: _Card) -> CardView:
        session = await self._sessions.get(card.task_id)
        if session is None:  # cannot happen for a started session; end the card rather than spin
            return CardView("", done=True, failed=True)
        return render(session, frozenset(card.slow))
