"""Shared pytest configuration."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.realbroker import in_ci, stop_apache_session, wanted_brokers, why_no_apache


def pytest_report_header(config: pytest.Config) -> str:
    """Say once which brokers this run tests, and why Apache RocketMQ is left out if it is."""
    line = f"brokers under test: {', '.join(wanted_brokers())}"
    if "apache" not in wanted_brokers() and why_no_apache() and not in_ci():
        line += f" ({why_no_apache()})"
    return line


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``apache`` run only when Apache RocketMQ is among the brokers under test."""
    if "apache" in wanted_brokers():
        return
    kept = [item for item in items if item.get_closest_marker("apache") is None]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the Apache RocketMQ cluster the run started, if any."""
    stop_apache_session()


@pytest.fixture(autouse=True)
def _dump_tasks_when_stuck() -> Iterator[None]:
    """A test still running after 200 s prints each pending asyncio task's stack: thread stacks hide awaits."""

    def dump() -> None:
        tasks = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
        print(f"\n--- {len(tasks)} pending asyncio tasks after 200 s ---", file=sys.stderr)
        for task in tasks:
            task.print_stack(file=sys.stderr)

    timer = threading.Timer(200, dump)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
