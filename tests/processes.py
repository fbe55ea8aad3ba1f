"""Child `python -m bot ...` processes for tests that need real process boundaries (kill -9, restarts)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY_WORDS = ("ready", "listening on")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral range.

    Tests restart a process on the same port after killing it; a port from the ephemeral range (what
    binding port 0 gives) can meanwhile become the local end of any outgoing connection on the machine,
    a gRPC client's in another test, and the restart fails with "address already in use".
    """
    first_ephemeral = _ephemeral_range()[0]
    if first_ephemeral <= 21_000:  # no room below it: any free port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for _ in range(200):
        port = random.randrange(20_000, first_ephemeral)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in 20000..{first_ephemeral - 1}")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default


def clean_env(**overrides: str) -> dict[str, str]:
    """This environment minus any tourguide / LLM / chat settings, plus ``overrides``."""
    prefixes = ("TOURGUIDE_", "DASHSCOPE", "OPENAI", "SLACK", "DINGTALK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, "PYTHONUNBUFFERED": "1", **overrides}


@contextmanager
def bot_process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m bot ARGS` that printed its ready line; SIGTERM (then a wait) on exit."""
    with log.open("a") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "bot", *args], stdout=subprocess.PIPE, stderr=sink,
                                text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert any(word in line for word in READY_WORDS), f"{args} did not start: {log.read_text()[-2000:]}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
