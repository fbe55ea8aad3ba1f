"""A browser session's event log: AG-UI events numbered for SSE, bounded, resumable with Last-Event-ID.

Each event is encoded once (``EventEncoder``) and kept with its sequence number. An event ID is
``<boot>.<seq>``, the boot mark being the serving adapter's: after a restart the log starts again at 1
under a new mark, so a browser that reconnects with an ID from the previous run gets the whole (new) log
instead of skipping its first events.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass

from ag_ui.core import BaseEvent
from ag_ui.encoder import EventEncoder

_ENCODER = EventEncoder()


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded SSE event."""

    boot: str
    seq: int
    data: str  # "data: {...}\n\n" as the AG-UI encoder writes it

    def sse(self) -> bytes:
        """The event with its ID line, ready for the stream."""
        return f"id: {self.boot}.{self.seq}\n{self.data}".encode()


def now_ms() -> int:
    """AG-UI timestamps are milliseconds since the epoch."""
    return int(time.time() * 1000)


class EventLog:
    """Append-only, bounded; readers wait for events after the last one they saw."""

    def __init__(self, boot: str, limit_bytes: int = 512 * 1024) -> None:
        self.boot = boot
        self._frames: deque[Frame] = deque()
        self._bytes = 0
        self._limit = limit_bytes  # the oldest go first: a reload then shows the recent requests only
        self._seq = 0
        self._appended = asyncio.Event()

    def append(self, event: BaseEvent) -> int:
        """Number, encode and keep one event; wake every reader."""
        if event.timestamp is None:
            event = event.model_copy(update={"timestamp": now_ms()})
        self._seq += 1
        frame = Frame(self.boot, self._seq, _ENCODER.encode(event))
        self._frames.append(frame)
        self._bytes += len(frame.data)
        while self._bytes > self._limit and len(self._frames) > 1:
            self._bytes -= len(self._frames.popleft().data)
        woken, self._appended = self._appended, asyncio.Event()
        woken.set()
        return self._seq

    def after(self, seq: int) -> list[Frame]:
        """Events after ``seq`` (all of them for 0), oldest first."""
        return [f for f in self._frames if f.seq > seq]

    async def wait_after(self, seq: int, timeout_s: float) -> list[Frame]:
        """Events after ``seq``, waiting up to ``timeout_s`` for one to arrive."""
        frames = self.after(seq)
        if frames:
            return frames
        appended = self._appended
        try:
            await asyncio.wait_for(appended.wait(), timeout_s)
        except TimeoutError:
            return []
        return self.after(seq)


def new_boot() -> str:
    """A mark for the event IDs of one run of the page."""
    return secrets.token_hex(4)


def resume_point(last_event_id: str | None, boot: str) -> int:
    """The sequence number to resume after: 0 (everything) without an ID or for another run's ID."""
    mark, _, seq = (last_event_id or "").partition(".")
    if mark != boot or not seq.isdigit():
        return 0
    return int(seq)
