"""5.1.2 workarounds: recover within seconds when the broker (or Apache RocketMQ's proxy) restarts.

1. The client creates its gRPC channels with fixed options (``rpc_channel.py``) and gRPC's default reconnect
back-off grows to 120 s, so after a broker restart that took half a minute the client kept failing with
the old "connection refused" for up to two minutes (seen on Apache RocketMQ). Here the client module's
view of ``grpc.aio`` is replaced by one whose channel constructors add a short back-off; nothing else in
the process is touched.

2. The client re-sends its settings over the telemetry stream every 300 s, and rebuilds a broken stream
only when such a write fails. A restarted Apache RocketMQ proxy knows nothing of the client until then and
answers every receive with an internal error ("settings is null"), so consumers stalled for up to five
minutes after a broker restart. Settings are re-sent every few seconds instead.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from grpc import aio
from rocketmq.v5.client import client_telemetry_manager
from rocketmq.v5.client.connection import rpc_channel
from rocketmq.v5.client.scheduler import ClientScheduler

RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)
SETTINGS_RESYNC_S = 5


def _with_backoff(options: Any) -> list[tuple[str, Any]]:
    return [*(options or []), *RECONNECT_OPTIONS]


def _insecure_channel(target: str, options: Any = None, *args: Any, **kwargs: Any) -> Any:
    return aio.insecure_channel(target, _with_backoff(options), *args, **kwargs)


def _secure_channel(target: str, credentials: Any, options: Any = None, *args: Any, **kwargs: Any) -> Any:
    return aio.secure_channel(target, credentials, _with_backoff(options), *args, **kwargs)


def _start_settings_scheduler(manager: Any, io_loop: Any) -> None:
    # The same scheduler the client starts (ClientTelemetryManager.start_scheduler), with a short period.
    client = manager._ClientTelemetryManager__client
    scheduler = ClientScheduler(f"{client.client_id}_sync_setting_schedule_thread",
                                manager._ClientTelemetryManager__sync_all_settings, 1, SETTINGS_RESYNC_S, io_loop)
    manager._ClientTelemetryManager__scheduler = scheduler
    scheduler.start_scheduler()


def install() -> None:
    """Make the client reconnect and re-announce itself within seconds of a broker restart; idempotent."""
    if isinstance(rpc_channel.aio, SimpleNamespace):
        return
    view = SimpleNamespace(**{name: getattr(aio, name) for name in dir(aio) if not name.startswith("__")})
    view.insecure_channel = _insecure_channel
    view.secure_channel = _secure_channel
    rpc_channel.aio = view
    client_telemetry_manager.ClientTelemetryManager.start_scheduler = _start_settings_scheduler
