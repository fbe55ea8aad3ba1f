"""Prometheus metrics: counted where things happen, served when ``TOURGUIDE_METRICS_PORT`` is set.

Modules call the objects here (``metrics.STEPS.labels(...).inc()``); nothing is served unless a process
opens :func:`serving`. Gauges that describe shared state (backlog, outbox, sessions) are set by
:mod:`bot.ops.gauges` on a timer, not here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("tourguide.metrics")
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created sample beside every counter: Prometheus does not need them

REGISTRY = CollectorRegistry(auto_describe=True)

STEPS = Counter("tourguide_steps", "Agent steps handled, by agent and outcome "
                "(ok, input, service, exhausted, expired, retry)", ["agent", "outcome"], registry=REGISTRY)
STEP_SECONDS = Histogram("tourguide_step_seconds", "Time an agent spent on one step", ["agent"], registry=REGISTRY,
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300))
LLM_CALLS = Counter("tourguide_llm_calls", "Model calls by agent and outcome (ok, rate_limited, error)",
                    ["agent", "outcome"], registry=REGISTRY)
LLM_TOKENS = Counter("tourguide_llm_tokens", "Tokens the provider reported, by agent", ["agent"], registry=REGISTRY)
LLM_BUDGET = Gauge("tourguide_llm_budget_requests", "Model requests this process may make per budget window "
                   "(after 429 back-off)", ["agent"], registry=REGISTRY)
BACKLOG = Gauge("tourguide_backlog", "Messages waiting in the broker, by topic and group", ["topic", "group"],
                registry=REGISTRY)
DEAD_LETTERS = Gauge("tourguide_dead_letters", "Messages in a group's dead-letter queue", ["group"],
                     registry=REGISTRY)
OUTBOX_UNSENT = Gauge("tourguide_outbox_unsent", "Answers not yet delivered to the chat platform",
                      registry=REGISTRY)
SESSIONS_RUNNING = Gauge("tourguide_sessions_running", "Sessions still running", registry=REGISTRY)


class _BrokerRpcs(Collector):
    """The embedded broker's own call counts (``bot.broker.rpc_counts``), read when Prometheus scrapes."""

    def __init__(self, snapshot: Callable[[], Mapping[str, int]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("tourguide_broker_rpcs", "RPCs the embedded broker received, by method",
                                     labels=["method"])
        for method, count in sorted(self._snapshot().items()):
            family.add_metric([method], count)
        yield family


@contextlib.contextmanager
def broker_rpcs(snapshot: Callable[[], Mapping[str, int]]) -> Iterator[None]:
    """Export ``tourguide_broker_rpcs_total{method}`` from ``snapshot`` while the block runs."""
    collector = _BrokerRpcs(snapshot)
    REGISTRY.register(collector)
    try:
        yield
    finally:
        REGISTRY.unregister(collector)


@contextlib.asynccontextmanager
async def serving(port: int, host: str = "127.0.0.1") -> AsyncIterator[int]:
    """Serve ``/metrics`` on ``port`` (0 = not at all) until the block exits; yields the port."""
    if not port:
        yield 0
        return
    server, thread = start_http_server(port, host, registry=REGISTRY)
    bound = int(server.server_address[1])
    log.info("metrics on http://%s:%d/metrics", host, bound)
    try:
        yield bound
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
