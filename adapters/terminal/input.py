"""Lines typed at the ``tourguide chat`` prompt, read without a blocking thread and without trusting the bytes.

``input()`` in a worker thread had two faults: Ctrl-C at an idle prompt cancelled the chat, but the
interpreter then waited for that thread, stuck in ``input()``, until Enter was pressed; and a line that
was not valid UTF-8 (a long paste the terminal cut in the middle of a character) raised
UnicodeDecodeError out of the chat loop. Here stdin is read on the event loop (``add_reader``; plain
reads for a regular file, which is always readable), and a line comes back as its raw bytes, so the
caller decides what to say about bytes that are not text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass

READ_CHUNK = 65536
CANONICAL_LINE_MAX = 4095  # a Linux terminal in canonical mode cuts longer lines here


@dataclass(frozen=True, slots=True)
class Line:
    """One line as typed: its text, or None when the bytes are not UTF-8, and how many bytes it had."""

    text: str | None
    size: int

    @property
    def probably_cut(self) -> bool:
        """Broken and as long as the terminal allows: the end of a paste was cut off mid-character."""
        return self.text is None and self.size >= CANONICAL_LINE_MAX - 8


def decode(raw: bytes) -> Line:
    """A line's text (without the newline), or None for invalid UTF-8."""
    raw = raw.rstrip(b"\r\n")
    try:
        return Line(raw.decode("utf-8"), len(raw))
    except UnicodeDecodeError:
        return Line(None, len(raw))


class StdinLines:
    """Async lines of a file descriptor (stdin by default); ``readline`` returns None at end of input."""

    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._eof = False

    async def readline(self) -> Line | None:
        """The next line; waits on the event loop, so cancelling it (Ctrl-C) returns at once."""
        while b"\n" not in self._buffer and not self._eof:
            await self._readable()
            chunk = os.read(self._fd, READ_CHUNK)
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True
        if not self._buffer:
            return None
        cut = self._buffer.find(b"\n")
        end = len(self._buffer) if cut < 0 else cut + 1
        raw = bytes(self._buffer[:end])
        del self._buffer[:end]
        return decode(raw)

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(self._fd, wake)
        except (PermissionError, OSError):  # a regular file (``< file``): epoll refuses it, reads never block
            return
        try:
            await ready
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(self._fd)
