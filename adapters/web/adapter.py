"""The web as a chat platform: messages in from the page, progress and answers out as AG-UI events.

Everything a page shows goes through its browser session's event log, so a reload or a reconnect
replays it from the server and never asks the core again. The answer reaches the log exactly once per
task: the outbox sender delivers it once, and a second delivery of the same task (an attempt cut off
by a crash) adds nothing while this process remembers the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from adapters.serving import serve
from adapters.web import agui
from adapters.web.server import TraceRows, build_app
from adapters.web.sessions import BrowserSession, SessionRegistry
from adapters.web.settings import WebSettings
from bot.bus import hops
from bot.logs import log_context
from bot.models import ConversationRef, InboundMessage, Progress, Reply
from bot.ports import AcceptedParts, Requests, Submitted
from bot.schemas import Language
from bot.wire import StepKind
from bot.wording import language_of, reply_language

log = logging.getLogger("tourguide.web")

PLATFORM = "web"
STEP_KINDS = frozenset(kind.value for kind in StepKind)  # task messages are tagged with their step's kind
EARLY_HOPS = 1000  # tasks whose deliveries are kept until their browser is known (other platforms' never are)


OpenTraces = Callable[[], AbstractAsyncContextManager[TraceRows]]
"""Opens the trace store for as long as the page is served (the wiring knows where it is)."""


class WebAdapter:
    """``async with`` serves the page; the outbox sender calls :meth:`deliver`, the Supervisor
    :meth:`on_progress`."""

    platform = PLATFORM

    def __init__(self, settings: WebSettings, requests: Requests, open_traces: OpenTraces | None = None) -> None:
        self.requests = requests
        self.settings = settings
        self.traces: TraceRows | None = None  # while served, when a trace store was given
        self.sessions = SessionRegistry(per_minute=settings.rate_per_minute)
        self._open_traces = open_traces
        self._early: OrderedDict[str, list[hops.Hop]] = OrderedDict()  # hops of tasks no browser claimed yet
        self._stack = contextlib.AsyncExitStack()
        self._url = ""

    @property
    def url(self) -> str:
        """Where the page is served (after ``async with``)."""
        return self._url

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()

        def from_client_thread(hop: hops.Hop) -> None:  # the bus client reports deliveries from its threads
            loop.call_soon_threadsafe(self._on_hop, hop)

        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(hops.observing(from_client_thread))
            if self._open_traces is not None:
                self.traces = await stack.enter_async_context(self._open_traces())
            # open SSE streams never end by themselves: a short grace for them on the way out
            base = await stack.enter_async_context(
                serve(build_app(self), self.settings.host, self.settings.port, shutdown_timeout_s=2.0))
            self._url = base + "/"
            self._stack = stack.pop_all()
        log.info("web page at %s", self._url)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.aclose()
        self.traces = None

    async def submit(self, session: BrowserSession, text: str) -> Submitted:
        """A message typed on the page: echoed into the log, then handed to the core."""
        event_id = uuid.uuid4().hex
        session.log.append(agui.user_message(event_id, text))
        ref = ConversationRef(platform=PLATFORM, channel=session.conversation, thread=session.thread,
                              user=session.conversation)
        message = InboundMessage(ref=ref, event_id=event_id, text=text, received_at=datetime.now(UTC))
        try:
            submitted = await self.requests.submit(message)
        except BaseException:  # the page stops saying it is reading this one (the POST reports why)
            session.log.append(agui.not_taken(event_id))
            raise
        with log_context(task_id=submitted.task_id, platform=PLATFORM):
            self._start_run(session, submitted.task_id, session.languages.get(submitted.task_id, language_of(text)))
            self._claim(session, submitted.task_id)
            log.info("request from the web page (%s)", "started" if submitted.started else "answered directly")
        return submitted

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Put the answer in its browser's log (a browser unknown after a restart gets a fresh log)."""
        session = self.sessions.get(reply.ref.channel)
        with log_context(task_id=reply.task_id, platform=PLATFORM):
            if reply.task_id not in session.answered:
                self._start_run(session, reply.task_id, reply_language(reply.payload))
                self._claim(session, reply.task_id)
                for event in agui.answer(reply):
                    session.log.append(event)
                session.answered.add(reply.task_id)
            await accepted(1)

    async def on_progress(self, event: Progress) -> None:
        """A step went out or came back: into its browser's log (never blocks: memory only)."""
        if event.ref is None or event.ref.platform != PLATFORM:
            return
        session = self.sessions.find(event.ref.channel)
        if session is None:  # nobody is looking (the page of a previous process): the answer will do
            return
        session.languages[event.task_id] = event.language
        self._start_run(session, event.task_id, event.language)
        self._claim(session, event.task_id)
        for agui_event in agui.progress(event):
            session.log.append(agui_event)

    def _on_hop(self, hop: hops.Hop) -> None:
        """A task message delivered to an agent (picked up) or nacked by it (to be retried): shown on its step.

        Seen only where the agents run in this process (``--with-agents``); elsewhere the page shows
        sent / slow / done from the Supervisor's progress alone.
        """
        if hop.event not in ("delivered", "nacked") or hop.tag not in STEP_KINDS:
            return
        for task_id in hop.task_ids:
            session = self.sessions.owner(task_id)
            if session is None:  # the agent was quicker than the Supervisor's "sent": kept for the claim
                self._early.setdefault(task_id, []).append(hop)
                while len(self._early) > EARLY_HOPS:
                    self._early.popitem(last=False)
                continue
            language = session.languages.get(task_id, Language.EN)
            session.log.append(agui.delivery(task_id, hop.tag, hop.attempt, hop.event == "nacked", language))

    def _claim(self, session: BrowserSession, task_id: str) -> None:
        self.sessions.claim(session, task_id)
        for hop in self._early.pop(task_id, []):
            self._on_hop(hop)

    @staticmethod
    def _start_run(session: BrowserSession, task_id: str, language: Language) -> None:
        # The first steps go out inside submit(), before it returns the task ID: whichever comes first starts it.
        if task_id not in session.started:
            session.started.add(task_id)
            session.log.append(agui.run_started(session.thread_id, task_id, language))

