"""`tourguide chat` on a real pseudo-terminal: broken UTF-8, Ctrl-C at the prompt and Ctrl-C mid-request.

The child owns the pty as its controlling terminal, so Ctrl-C (byte 0x03) reaches it as SIGINT through
the terminal's line discipline, and lines are cut at the terminal's 4095-byte limit, as for a person.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.processes import clean_env
from tests.standins.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

NOW = "2026-11-23T09:00:00+08:00"
CTRL_C = b"\x03"
# Session leader (start_new_session) opening the pty makes it the controlling terminal; then run the bot.
_LAUNCH = ("import os, sys; os.close(os.open(os.ttyname(0), os.O_RDWR)); "
           "os.execv(sys.executable, [sys.executable, '-m', 'bot', *sys.argv[1:]])")


class PtyChat:
    """`tourguide chat --agents inline` on a pty without echo; ``expect`` waits for text in its output."""

    def __init__(self, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # our input need not come back; canonical mode and ISIG stay on
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.proc = subprocess.Popen([sys.executable, "-c", _LAUNCH, "chat", "--agents", "inline", "--now", NOW],
                                     stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self._master = master
        self.output = b""
        self._seen = 0

    def expect(self, text: str, timeout_s: float = 60.0) -> str:
        """Wait until ``text`` appears after what earlier calls matched; returns the output up to it."""
        wanted = text.encode()
        deadline = time.monotonic() + timeout_s
        while (at := self.output.find(wanted, self._seen)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} not seen; output so far:\n{self.output.decode(errors='replace')}")
        chunk, self._seen = self.output[self._seen:at + len(wanted)], at + len(wanted)
        return chunk.decode(errors="replace")

    def _read(self, timeout_s: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], min(timeout_s, 0.5))
        if ready:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: the child closed the terminal (exited)
                return False
            self.output += chunk
            return bool(chunk)
        return self.proc.poll() is None

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def exit_code(self, timeout_s: float) -> int | None:
        """The exit code once the child exits within ``timeout_s``, else None."""
        deadline = time.monotonic() + timeout_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)  # keep draining: a full pty buffer would block the child's writes
        return self.proc.poll()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self._master)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(TOURGUIDE_DATA_DIR=str(tmp_path), **extra)


def test_broken_utf8_lines_get_a_friendly_answer_and_the_chat_goes_on(tmp_path: Path) -> None:
    chat = PtyChat(_env(tmp_path))
    try:
        chat.expect("You > ")
        chat.send(b"3 days in Kyoto \xe4\xb8\n")  # a character cut in two
        assert "could not read that line" in chat.expect("You > ")
        # A paste longer than the terminal's 4095-byte line: the terminal cuts it inside a character.
        chat.send(b"x" + "京".encode() * 2000 + b"\n")
        assert "too long" in chat.expect("You > ")
        chat.send(b"/exit\n")
        assert chat.exit_code(30) == 0
    finally:
        chat.close()
    assert b"Traceback" not in chat.output


def test_ctrl_c_at_an_idle_prompt_exits_at_once(tmp_path: Path) -> None:
    chat = PtyChat(_env(tmp_path))
    try:
        chat.expect("You > ")
        started = time.monotonic()
        chat.send(CTRL_C)
        code = chat.exit_code(15)  # it used to wait for Enter forever
        elapsed = time.monotonic() - started
    finally:
        chat.close()
    assert code == 130, chat.output.decode(errors="replace")
    assert elapsed < 15


async def test_a_request_cancelled_with_ctrl_c_is_not_resumed_at_the_next_start(tmp_path: Path) -> None:
    async with FakeOpenAI() as llm:
        llm.gate.clear()  # every LLM call hangs: the request is in flight when Ctrl-C comes
        env = _env(tmp_path, TOURGUIDE_LLM_PROVIDER="openai", OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-fake")
        chat = PtyChat(env)
        try:
            await asyncio.to_thread(chat.expect, "You > ")
            chat.send("帮我做一个下周三到下周日杭州周边自驾游方案\n".encode())
            await asyncio.wait_for(llm.arrived.wait(), 60)
            chat.send(CTRL_C)
            await asyncio.to_thread(chat.expect, "已取消")
            assert await asyncio.to_thread(chat.exit_code, 30) == 130
        finally:
            chat.close()
        cancelled = _rows(tmp_path)
        assert len(cancelled) == 1

        llm.gate.set()  # a resumed request would now be answered at once
        again = PtyChat(env)
        try:
            await asyncio.to_thread(again.expect, "You > ")
            again.send(b"3 days in Kyoto next weekend\n")
            await asyncio.to_thread(again.expect, "Kyoto")
            await asyncio.to_thread(again.expect, "You > ")
            again.send(b"/exit\n")
            assert await asyncio.to_thread(again.exit_code, 30) == 0
        finally:
            again.close()
    rows = _rows(tmp_path)
    task_id = cancelled[0][0]
    first = next(r for r in rows if r[0] == task_id)
    assert first[1] in ("cancelled", None), rows  # cancelled, or dropped before it had a session
    assert first[2] == "", "the received event would be processed again at start-up"
    assert not _answered(tmp_path, task_id), "the cancelled request was answered after all"
    assert b"Traceback" not in chat.output + again.output


def _rows(tmp_path: Path) -> list[tuple[str, str | None, str]]:
    """(task ID, session status or None, pending inbound message) of every terminal request."""
    with sqlite3.connect(tmp_path / "tourguide.sqlite3") as db:
        return [(str(r[0]), r[1], str(r[2])) for r in db.execute(
            "SELECT i.task_id, s.status, i.message FROM inbound i LEFT JOIN sessions s ON s.task_id = i.task_id "
            "WHERE i.platform = 'cli' ORDER BY i.received_at")]


def _answered(tmp_path: Path, task_id: str) -> bool:
    with sqlite3.connect(tmp_path / "tourguide.sqlite3") as db:
        return bool(db.execute("SELECT COUNT(*) FROM outbox WHERE task_id = ?", (task_id,)).fetchone()[0] > 0)


def test_ask_with_an_argument_that_is_not_utf8_answers_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable.encode(), b"-m", b"bot", b"ask", b"--agents", b"inline",
                           b"3 days in Kyoto \xe4\xb8"], env=_env(tmp_path), capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert b"could not read that" in done.stderr and b"Traceback" not in done.stderr


def test_ask_with_agent_processes_prints_the_plan_and_no_grpc_core_log_lines(tmp_path: Path) -> None:
    # gRPC's C core logs at INFO ("I1202 09:03:29.848623 ... fork_posix.cc:71] ... skipping fork() handlers")
    # when an agent process is started while the RocketMQ client is busy; the CLI keeps that out of a chat.
    # With gRPC's fork handlers on, such a start also crashed now and then (the CLI turns them off).
    env = {k: v for k, v in _env(tmp_path).items() if k not in ("GRPC_VERBOSITY", "GRPC_ENABLE_FORK_SUPPORT")}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "--now", NOW, "3 days in Kyoto next weekend"],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert "did not start" not in done.stderr  # no agent process had to be started again
    assert "Kyoto" in done.stdout
    assert not [line for line in done.stderr.splitlines() if re.match(r"[IWE]\d{4} \d\d:\d\d:\d\d\.\d+ ", line)]
