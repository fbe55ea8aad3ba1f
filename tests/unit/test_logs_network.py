"""An unreachable Slack / DingTalk gives one log line per retry, not a traceback (issue 8)."""

from __future__ import annotations

import logging

import pytest

from bot.logs import configure


def _fail(logger: str, exc: BaseException) -> None:
    try:
        raise exc
    except BaseException:
        logging.getLogger(logger).exception("Failed to connect; Retrying...")


def test_sdk_reconnect_failures_are_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO")
    try:
        _fail("slack_bolt.AsyncApp", ConnectionRefusedError(111, "Connect call failed"))
        _fail("dingtalk_stream.client", TimeoutError("timed out"))
        _fail("tourguide.outbox", ConnectionRefusedError(111, "ours keep their traceback"))
    finally:
        logging.getLogger().handlers.clear()
    lines = capsys.readouterr().err.splitlines()
    assert "Failed to connect; Retrying... (ConnectionRefusedError: [Errno 111] Connect call failed)" in lines[0]
    assert "(TimeoutError: timed out)" in lines[1]
    assert "Traceback" not in "\n".join(lines[:2])
    assert any(line.startswith("Traceback") for line in lines[3:])  # our own errors are not shortened
