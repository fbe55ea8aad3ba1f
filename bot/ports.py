"""The seams between the core and the chat surfaces.

An adapter is handed a :class:`Requests` (events in) and implements :class:`ChatAdapter` (answers and
progress out). It never sees storage, the Supervisor or the composition root: the wiring connects the
three, the ``OutboxSender`` calls :meth:`ChatAdapter.deliver`, and the Supervisor's progress stream
calls :meth:`ChatAdapter.on_progress`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from bot.models import InboundMessage, Progress, Reply


@dataclass(frozen=True, slots=True)
class Submitted:
    """What became of an inbound message."""

    task_id: str
    started: bool  # a session with agent steps is running
    duplicate: bool = False


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


AcceptedParts = Callable[[int], Awaitable[None]]
"""Called by :meth:`ChatAdapter.deliver` after the platform accepted the first N messages of an answer."""


class ChatAdapter(Protocol):
    """One chat platform: ``async with`` runs it (connections, listeners), leaving closes it."""

    platform: str

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Put the answer on the platform, starting at ``reply.parts_sent``; report each accepted part.

        Raises ``RateLimited`` / ``ExternalServiceError`` when the platform refuses: the sender retries.
        """
        ...

    async def on_progress(self, event: Progress) -> None:
        """Show a step going out, coming back, or the session finishing; must not block the Supervisor."""
        ...
