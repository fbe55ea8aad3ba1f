"""The terminal adapter on a running pipeline, for tests that ask through it."""

from __future__ import annotations

import io
from typing import TextIO

from bot.models import Reply
from bot.wiring import Pipeline, terminal


async def ask(p: Pipeline, text: str, progress_out: TextIO | None = None, *, answer_timeout_s: float = 60) -> Reply:
    """One request typed in a fresh terminal conversation; its answer."""
    async with terminal(p, progress_out or io.StringIO(), answer_timeout_s=answer_timeout_s) as term:
        return await term.ask(text)
