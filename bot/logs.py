"""Structured logging: context (task ID, step, agent, platform) is bound, not formatted into text.

``with log_context(task_id=..., step=...):`` binds fields for everything logged inside, across
awaits (contextvars). Only the CLI calls :func:`configure`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator

_CONTEXT: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("tourguide_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Bind fields to every log record emitted inside the block (and in tasks it starts)."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = _CONTEXT.get() or {}
        return True


class _NetworkErrorsOnOneLine(logging.Filter):
    """Third-party SDKs (Slack's Socket Mode, DingTalk's Stream client) log every failed reconnect with a
    traceback; an unreachable platform is an expected condition, so keep their one line and drop the trace."""

    _THIRD_PARTY = ("slack_bolt", "slack_sdk", "dingtalk_stream", "websockets", "aiohttp")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith(self._THIRD_PARTY) and _is_network(record.exc_info[1]):
            record.msg = f"{record.getMessage()} ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _is_network(exc: BaseException | None) -> bool:
    """Connection refused / reset / timed out, whatever library wrapped it."""
    while exc is not None:
        if isinstance(exc, OSError | TimeoutError | ConnectionError) or type(exc).__module__.startswith(
                ("aiohttp", "websockets", "requests", "urllib3")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class KeyValueFormatter(logging.Formatter):
    """``time level logger message key=value ...`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        ctx = getattr(record, "ctx", {})
        if ctx:
            base += " " + " ".join(f"{k}={v}" for k, v in ctx.items())
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


class JsonFormatter(logging.Formatter):
    """One JSON object per line for machines."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "ctx", {}),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Send tourguide's logs to stderr; quiet chatty third-party loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    handler.addFilter(_ContextFilter())
    handler.addFilter(_NetworkErrorsOnOneLine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("grpc", "aiosqlite", "httpx", "httpcore", "asyncio", "websockets", "slack_bolt", "urllib3",
                  "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
