"""Which broker an operator command talks to: the configured one, the embedded broker another tourguide
process runs on this data directory (its store's lock file names its address), or one started here."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import AsyncIterator
from pathlib import Path

from bot.settings import Settings


def announced_endpoint(broker_dir: Path) -> str:
    """The address of the embedded broker that holds ``broker_dir`` now, or "" when none does."""
    lock = broker_dir / "broker.lock"
    if not lock.exists():
        return ""
    with lock.open("rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: a broker runs on this store
            return f.read().decode(errors="replace").strip()
        fcntl.flock(f, fcntl.LOCK_UN)
    return ""


@contextlib.asynccontextmanager
async def operator_endpoint(settings: Settings) -> AsyncIterator[str]:
    """The broker endpoint for ``tourguide dlq`` and friends, for as long as the block runs."""
    if settings.rocketmq_endpoint:
        yield settings.rocketmq_endpoint
        return
    if running := announced_endpoint(settings.data_dir / "broker"):
        yield running
        return
    from bot.runtime import broker_endpoint

    async with broker_endpoint(settings) as endpoint:  # nothing runs: open the store with a broker of our own
        yield endpoint
