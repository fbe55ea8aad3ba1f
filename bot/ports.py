"""The seams between the core and the chat surfaces.

An adapter is handed a :class:`Requests` (events in) and implements :class:`ChatAdapter` (answers and
progress out). It never sees storage, the Supervisor or the composition root: the wiring connects the
three, the outbox sender (:mod:`bot.delivery`) calls :meth:`ChatAdapter.deliver`, and the Supervisor's
progress stream calls :meth:`ChatAdapter.on_progress`. A chat platform registers itself with one
:class:`Platform` entry in the wiring's ``PLATFORMS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from bot.models import InboundMessage, Progress, Reply
from bot.schemas import Language


@dataclass(frozen=True, slots=True)
class Submitted:
    """What became of an inbound message."""

    task_id: str
    started: bool  # a session with agent steps is running
    duplicate: bool = False
    language: Language = Language.EN  # the request's language, once it was read (process)


class Requests(Protocol):
    """The core's entry point for inbound chat messages, exactly once per platform event ID."""

    async def receive(self, message: InboundMessage) -> Submitted:
        """Commit the inbound event alone (milliseconds): the adapter acks its platform right after."""
        ...

    async def process(self, message: InboundMessage, task_id: str) -> Submitted:
        """Understand a received message and start its session (or queue a direct answer)."""
        ...

    async def submit(self, message: InboundMessage) -> Submitted:
        """:meth:`receive` then :meth:`process`, for platforms without an ack deadline."""
        ...

    async def task_for_event(self, platform: str, event_id: str) -> str | None:
        """The task a platform event already started: a redelivery must start no work."""
        ...

    async def cancel(self, task_id: str) -> bool:
        """The user gave up on a request (Ctrl-C in the terminal): it is never resumed nor answered."""
        ...


class Traces(Protocol):
    """Read-only: the recorded hops of one request (``/trace`` in the terminal)."""

    async def traces(self, task_id: str) -> Sequence[tuple[float, str, str]]:
        """``(unix time, hop, detail)`` of every hop, oldest first."""
        ...


class Feedback(Protocol):
    """Where a user's verdict on an answer goes (thumbs up or down under it), kept with the task's trace."""

    async def record(self, task_id: str, platform: str, user: str, helpful: bool) -> None:
        """Record one click; every click is kept (a user may change their mind)."""
        ...


AcceptedParts = Callable[[int], Awaitable[None]]
"""Called by :meth:`ChatAdapter.deliver` after the platform accepted the first N messages of an answer."""


class ChatAdapter(Protocol):
    """One chat platform: ``async with`` runs it (connections, listeners, HTTP endpoints), leaving closes it."""

    platform: str  # ConversationRef.platform of its conversations: the outbox rows it delivers

    @property
    def url(self) -> str:
        """Where the platform posts events to us (HTTP modes), empty when we connect out."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Put the answer on the platform, starting at ``reply.parts_sent``; report each accepted part.

        Raises ``RateLimited`` / ``ExternalServiceError`` when the platform refuses: the sender retries.
        """
        ...

    async def on_progress(self, event: Progress) -> None:
        """Show a step going out, coming back, or the session finishing; must not block the Supervisor.

        Called for every session: an adapter ignores events whose ``ref.platform`` is not its own.
        """
        ...


S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Platform(Generic[S]):
    """A chat platform as the wiring sees it: its settings, whether they are set, and how to build it."""

    load: Callable[[], S]  # reads its settings class from the environment; ConfigError when invalid
    configured: Callable[[S], bool]  # its credentials are set: ``tourguide bot`` runs it
    build: Callable[[S, Requests, Path], ChatAdapter]  # (settings, requests, data dir for its own store)
    hint: str  # the variables to set, shown when no platform is configured


AnyPlatform = Platform[Any]
