"""The terminal front end: ``tourguide chat`` (prompt ``You >``) and one-shot ``tourguide ask``.

An ordinary chat adapter: a line of input becomes an InboundMessage for the core (``Requests``),
progress events become short status lines, and the outbox sender hands over the answer through
:meth:`TerminalAdapter.deliver`, which resolves the ``ask`` that waits for it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

from bot.models import ConversationRef, InboundMessage, Phase, Progress, Reply
from bot.ports import AcceptedParts, Requests, Traces
from bot.wording import language_of, wording
from bot.wording.queue import queued_line

PLATFORM = "cli"


class TerminalAdapter:
    """One terminal; follow-ups in its conversation amend the previous plan."""

    platform = PLATFORM
    url = ""

    def __init__(self, requests: Requests, traces: Traces, progress_out: TextIO, *, answer_timeout_s: float) -> None:
        self._requests = requests
        self._traces = traces
        self._out = progress_out
        self._timeout_s = answer_timeout_s
        self._conversation = ""
        self._conversations: set[str] = set()  # every conversation of this terminal (answers to deliver)
        self._answers: dict[str, asyncio.Future[Reply]] = {}
        self._draft_lines: dict[str, int] = {}  # task -> lines of its streamed draft printed so far
        self._closed = False
        self.new_conversation()

    async def __aenter__(self) -> TerminalAdapter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closed = True
        for answer in self._answers.values():
            answer.cancel()

    def new_conversation(self) -> None:
        """Forget the thread: the next request is not a follow-up."""
        self._conversation = f"cli-{uuid.uuid4().hex[:12]}"
        self._conversations.add(self._conversation)

    def conversations(self) -> frozenset[str]:
        """This terminal's conversations: the answers it takes (other terminals on the same data directory
        have their own)."""
        return frozenset(self._conversations)

    async def deliver(self, reply: Reply, accepted: AcceptedParts) -> None:
        """Hand the answer to the ``ask`` waiting for it (it may not know its task ID yet)."""
        self._draft_lines.pop(reply.task_id, None)
        answer = self._answer(reply.task_id)
        if not answer.done():
            answer.set_result(reply)

    async def on_progress(self, event: Progress) -> None:
        """A status line for a request typed here."""
        if self._closed or event.ref is None or event.ref.channel not in self._conversations:
            return
        if event.phase == Phase.PARTIAL:
            self._print_draft(event.task_id, event.detail)
            return
        line: str | None
        if event.phase == Phase.QUEUED:
            line = queued_line(event.language, event.detail)
        else:
            line = wording(event.language).progress_lines.get((event.phase, event.kind)) if event.kind else None
        if line:
            print(line, file=self._out, flush=True)

    def _print_draft(self, task_id: str, draft: str) -> None:
        """The plan as the model writes it: each line once, when it is complete (the answer follows whole)."""
        complete = draft.split("\n")[:-1]
        printed = self._draft_lines.get(task_id, 0)
        for line in complete[printed:]:
            print(f"  ┊ {line}", file=self._out, flush=True)
        self._draft_lines[task_id] = max(printed, len(complete))

    async def ask(self, text: str) -> Reply:
        """Submit one request and wait for its single answer.

        A request given up on (Ctrl-C cancels this call; or no answer in time) is cancelled: nobody is
        left to read its answer, so a later start must not resume it silently.
        """
        ref = ConversationRef(platform=PLATFORM, channel=self._conversation, user="terminal")
        message = InboundMessage(ref=ref, event_id=uuid.uuid4().hex, text=text, received_at=datetime.now(UTC))
        task_id = ""
        try:
            task_id = (await self._requests.submit(message)).task_id
            return await asyncio.wait_for(asyncio.shield(self._answer(task_id)), self._timeout_s)
        except TimeoutError as exc:
            await asyncio.shield(self._give_up(message))
            raise TimeoutError(f"no answer for {task_id} within {self._timeout_s:.0f}s") from exc
        except asyncio.CancelledError:
            await asyncio.shield(self._give_up(message))
            raise
        finally:
            self._answers.pop(task_id, None)

    def _answer(self, task_id: str) -> asyncio.Future[Reply]:
        return self._answers.setdefault(task_id, asyncio.get_running_loop().create_future())

    async def _give_up(self, message: InboundMessage) -> None:
        # by event ID: Ctrl-C may land while submit runs, before its task ID is known here
        task_id = await self._requests.task_for_event(PLATFORM, message.event_id)
        if task_id and await self._requests.cancel(task_id):
            print(wording(language_of(message.text)).cancelled, file=self._out, flush=True)

    async def print_trace(self, task_id: str) -> None:
        """``/trace``: every recorded hop of a request, relative to the first."""
        if not task_id:
            print("tourguide: no request yet.", flush=True)
            return
        start = None
        print(f"trace of {task_id}:")
        for at, hop, detail in await self._traces.traces(task_id):
            start = start if start is not None else at
            print(f"  +{(at - start) * 1000:7.1f} ms  {hop:<14} {detail}", flush=True)
