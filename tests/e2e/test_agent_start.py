"""An agent process that dies while starting is started once more; twice in a row is a clear error."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.errors import BusError
from bot.runtime import agent_processes, broker_endpoint
from bot.settings import load_settings

pytestmark = pytest.mark.slow


async def test_an_agent_that_crashes_on_start_is_started_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    crashes = tmp_path / "crashes"
    crashes.write_text("1")
    monkeypatch.setenv("TOURGUIDE_TEST_CRASHES", str(crashes))
    async with broker_endpoint(load_settings(rocketmq_endpoint="", data_dir=tmp_path)) as endpoint:
        with caplog.at_level(logging.WARNING, "tourguide"):
            async with agent_processes(["travel"], endpoint, tmp_path / "logs", module="tests.crash_once"):
                assert crashes.read_text() == "0"  # the first start did crash
                assert "travel agent consuming" in (tmp_path / "logs" / "agent-travel.log").read_text()
    # -11 (SIGSEGV); asyncio reports 255 when another loop of this test process reaped the child first
    assert re.search(r"the travel agent did not start \(exit code (-11|255)\)", caplog.text), caplog.text
    assert "starting it again" in caplog.text


async def test_an_agent_that_crashes_twice_on_start_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crashes = tmp_path / "crashes"
    crashes.write_text("2")
    monkeypatch.setenv("TOURGUIDE_TEST_CRASHES", str(crashes))
    async with broker_endpoint(load_settings(rocketmq_endpoint="", data_dir=tmp_path)) as endpoint:
        with pytest.raises(BusError, match=r"the travel agent did not start \(exit code (-11|255)\)"):
            async with agent_processes(["travel"], endpoint, tmp_path / "logs", module="tests.crash_once"):
                pass
    assert crashes.read_text() == "0"
