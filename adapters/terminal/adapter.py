"""The terminal front end: ``tourguide chat`` (prompt ``You >``) and one-shot ``tourguide ask``.

Like every adapter it only translates: a line of input becomes an InboundMessage for the intake,
Supervisor progress becomes a short status line, and the outbox answer is printed once and marked
sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from adapters.terminal_input import Line, StdinLines, decode
from bot.models import ConversationRef, InboundMessage, Progress, Reply
from bot.runtime import Pipeline
from bot.wire import StepKind

EXIT_CODES = {"completed": 0, "failed": 1, "needs_clarification": 3}
_PROGRESS = {
    ("sent", StepKind.WEATHER): ("→ 已请天气助手查询目的地天气…", "→ asked the Weather agent for the forecast…"),
    ("ok", StepKind.WEATHER): ("✓ 天气结果已返回", "✓ weather is in"),
    ("sent", StepKind.TRAVEL): ("→ 已请行程助手根据天气制定行程…", "→ asked the Travel agent for a plan…"),
    ("ok", StepKind.TRAVEL): ("✓ 行程已完成", "✓ the itinerary is ready"),
    ("failed", StepKind.WEATHER): ("✗ 天气查询失败", "✗ the weather lookup failed"),
    ("failed", StepKind.TRAVEL): ("✗ 行程规划失败", "✗ trip planning failed"),
    ("slow", StepKind.WEATHER): ("… 天气查询比平时慢，仍在进行（可能在重试）",
                                 "… the weather lookup is slow, still trying"),
    ("slow", StepKind.TRAVEL): ("… AI 行程规划比平时慢，仍在进行（可能在重试）",
                                "… the AI planner is slow (it may be retrying), still working"),
}


def _is_zh(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


class Terminal:
    """One terminal conversation; follow-ups in it amend the previous plan."""

    def __init__(self, pipeline: Pipeline, progress_out: TextIO, *, answer_timeout_s: float) -> None:
        self._pipeline = pipeline
        self._out = progress_out
        self._timeout_s = answer_timeout_s
        self._conversation = f"cli-{uuid.uuid4().hex[:12]}"
        self._finished: dict[str, asyncio.Event] = {}
        self._zh = False
        pipeline.supervisor.add_listener(self._on_progress)

    def new_conversation(self) -> None:
        """Forget the thread: the next request is not a follow-up."""
        self._conversation = f"cli-{uuid.uuid4().hex[:12]}"

    async def _on_progress(self, event: Progress) -> None:
        if event.phase == "finished":
            self._finished.setdefault(event.task_id, asyncio.Event()).set()
            return
        if event.kind is not None and (text := _PROGRESS.get((event.phase, event.kind))):
            print(text[0] if self._zh else text[1], file=self._out, flush=True)

    async def ask(self, text: str) -> Reply:
        """Submit one request and wait for its single answer (marked sent once returned).

        A request given up on (Ctrl-C cancels this call; or no answer in time) is marked cancelled in
        storage: nobody is left to read its answer, so a later start must not resume it silently.
        """
        self._zh = _is_zh(text)
        ref = ConversationRef(platform="cli", channel=self._conversation, user="terminal")
        message = InboundMessage(ref=ref, event_id=uuid.uuid4().hex, text=text, received_at=datetime.now(UTC))
        try:
            submitted = await self._pipeline.intake.submit(message)
            reply = await self._wait(submitted.task_id)
        except (asyncio.CancelledError, TimeoutError):
            await asyncio.shield(self._give_up(message.event_id))
            raise
        await self._pipeline.outbox.mark_sent(reply.task_id)
        return reply

    async def _give_up(self, event_id: str) -> None:
        # by event ID: Ctrl-C may land while submit runs, before its task ID is known here
        task_id = await self._pipeline.sessions.task_for_event("cli", event_id)
        if task_id and await self._pipeline.sessions.cancel(task_id):
            print("tourguide: cancelled." if not self._zh else "tourguide: 已取消。", file=self._out, flush=True)

    async def _wait(self, task_id: str) -> Reply:
        event = self._finished.setdefault(task_id, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        while (reply := await self._pipeline.outbox.get(task_id)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no answer for {task_id} within {self._timeout_s:.0f}s")
            try:
                await asyncio.wait_for(event.wait(), min(remaining, 0.5))
            except TimeoutError:
                continue
        self._finished.pop(task_id, None)
        return reply


async def ask_once(pipeline: Pipeline, text: str, *, as_json: bool, timeout_s: float) -> int:
    """``tourguide ask``: print the answer (Markdown or one JSON object); exit code by status."""
    raw = text.encode("utf-8", errors="surrogateescape")  # argv bytes that are not UTF-8 arrive as surrogates
    if decode(raw).text is None:
        print(_unreadable(Line(None, len(raw))), file=sys.stderr, flush=True)
        return 2
    terminal = Terminal(pipeline, sys.stderr, answer_timeout_s=timeout_s)
    reply = await terminal.ask(text)
    if as_json:
        print(json.dumps(reply.payload, ensure_ascii=False, indent=2))
    else:
        print(reply.text)
    return EXIT_CODES.get(str(reply.payload.get("status")), 1)


CHAT_HELP = """Ask for a trip or the weather, in Chinese or English:
  帮我做一个下周三到下周日杭州周边自驾游方案      3 days in Kyoto next weekend
  明天上海天气怎么样                              weather in Tokyo and Osaka tomorrow
Follow-ups amend the last plan: 改成3天 / make it cheaper / 换成苏州 / by train instead.
Commands: /new starts a fresh conversation, /trace shows the hops of the last request, /exit quits."""


async def chat_loop(pipeline: Pipeline, read_line: Callable[[str], str] | None = None, *, timeout_s: float) -> int:
    """``tourguide chat``: a prompt until EOF, ``/exit`` or Ctrl-C; ``read_line`` replaces the terminal (tests)."""
    terminal = Terminal(pipeline, sys.stdout, answer_timeout_s=timeout_s)
    print("tourguide: 你好！Tell me where and when, e.g. “帮我做一个下周三到下周日杭州周边自驾游方案” or "
          "“3 days in Kyoto next weekend”. /help for more, /exit to quit.", flush=True)
    stdin = StdinLines() if read_line is None else None
    last_task = ""
    while True:
        try:
            typed = await _next_line(stdin, read_line)
        except (EOFError, KeyboardInterrupt):
            typed = None
        if typed is None:
            print()
            return 0
        if typed.text is None:
            print(_unreadable(typed), flush=True)
            continue
        line = typed.text.strip()
        command = line.lower()
        if command in ("exit", "quit", "/exit", "/quit"):
            return 0
        if command in ("/help", "help", "?"):
            print(CHAT_HELP, flush=True)
        elif command == "/new":
            terminal.new_conversation()
            print("tourguide: new conversation; the next request starts from scratch.", flush=True)
        elif command == "/trace":
            await _print_trace(pipeline, last_task)
        elif line:
            try:
                reply = await terminal.ask(line)
            except TimeoutError as exc:
                print(f"tourguide: sorry, that took too long ({exc}). Please try again.", flush=True)
                continue
            last_task = reply.task_id
            print(f"\n{reply.text}\n", flush=True)


async def _next_line(stdin: StdinLines | None, read_line: Callable[[str], str] | None) -> Line | None:
    if stdin is not None:
        print("You > ", end="", flush=True)
        return await stdin.readline()
    assert read_line is not None
    return Line(await asyncio.to_thread(read_line, "You > "), 0)


def _unreadable(line: Line) -> str:
    if line.probably_cut:
        return ("tourguide: that was too long for me, and the terminal cut it off mid-character. Please send a "
                "shorter request (a few sentences are plenty) / 消息太长，被终端截断了，请简短一些再发。")
    return ("tourguide: I could not read that line (it is not valid UTF-8 text). Please type it again "
            "/ 这一行无法识别，请重新输入。")


async def _print_trace(pipeline: Pipeline, task_id: str) -> None:
    if not task_id:
        print("tourguide: no request yet.", flush=True)
        return
    start = None
    print(f"trace of {task_id}:")
    for at, hop, detail in await pipeline.sessions.traces(task_id):
        start = start if start is not None else at
        print(f"  +{(at - start) * 1000:7.1f} ms  {hop:<14} {detail}", flush=True)
