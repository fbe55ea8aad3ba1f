"""Shared pytest configuration."""

from __future__ import annotations

import pytest

from tests.realbroker import stop_apache_session


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the Apache RocketMQ cluster the run started, if any."""
    stop_apache_session()
