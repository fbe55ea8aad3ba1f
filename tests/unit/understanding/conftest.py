"""A fixed now and a small place index for the understanding tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agents.understanding import AliasIndex

PLACES = {
    "杭州": "Hangzhou",
    "Hangzhou": "Hangzhou",
    "上海": "Shanghai",
    "Shanghai": "Shanghai",
    "苏州": "Suzhou",
    "Suzhou": "Suzhou",
    "京都": "Kyoto",
    "Kyoto": "Kyoto",
    "东京": "Tokyo",
    "Tokyo": "Tokyo",
}


@pytest.fixture
def now() -> datetime:
    """Monday 2026-11-23, 09:00 in Shanghai."""
    return datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def places() -> AliasIndex:
    """The few places the tests know."""
    return AliasIndex(PLACES)
