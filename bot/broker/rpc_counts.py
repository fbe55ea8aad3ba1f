"""How many RPCs the embedded broker received, by method: for operators' metrics and the benchmarks.

Counted when grpc asks the interceptors for a call's handler, before anything is parsed, so a refused or
failing call counts too. The broker itself knows nothing of Prometheus; ``tourguide broker --metrics-port``
exports these counts (``bot.broker_command``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import grpc


class RpcCounter(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts every incoming call by its method's short name (``SendMessage``, ``AckMessage``, ...)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any
    ) -> Any:
        self._counts[str(handler_call_details.method).rpartition("/")[2]] += 1
        return await continuation(handler_call_details)

    def snapshot(self) -> dict[str, int]:
        """The counts so far (a copy)."""
        return dict(self._counts)
