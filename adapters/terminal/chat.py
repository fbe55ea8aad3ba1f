"""The two terminal commands on a running :class:`TerminalAdapter`: ``ask`` (one request) and ``chat``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

from adapters.terminal.adapter import TerminalAdapter
from adapters.terminal.input import Line, StdinLines, decode

EXIT_CODES = {"completed": 0, "failed": 1, "needs_clarification": 3}

CHAT_HELP = """Ask for a trip or the weather, in Chinese or English:
  帮我做一个下周三到下周日杭州周边自驾游方案      3 days in Kyoto next weekend
  明天上海天气怎么样                              weather in Tokyo and Osaka tomorrow
Follow-ups amend the last plan: 改成3天 / make it cheaper / 换成苏州 / by train instead.
Commands: /new starts a fresh conversation, /trace shows the hops of the last request, /exit quits."""


def readable(text: str) -> bool:
    """Whether a command-line argument is text (argv bytes that are not UTF-8 arrive as surrogates)."""
    raw = text.encode("utf-8", errors="surrogateescape")
    if decode(raw).text is None:
        print(_unreadable(Line(None, len(raw))), file=sys.stderr, flush=True)
        return False
    return True


async def ask_once(terminal: TerminalAdapter, text: str, *, as_json: bool) -> int:
    """``tourguide ask``: print the answer (Markdown or one JSON object); exit code by status."""
    reply = await terminal.ask(text)
    if as_json:
        print(json.dumps(reply.payload, ensure_ascii=False, indent=2))
    else:
        print(reply.text)
    return EXIT_CODES.get(str(reply.payload.get("status")), 1)


async def chat_loop(terminal: TerminalAdapter, read_line: Callable[[str], str] | None = None) -> int:
    """``tourguide chat``: a prompt until EOF, ``/exit`` or Ctrl-C; ``read_line`` replaces the terminal (tests)."""
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
            await terminal.print_trace(last_task)
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
