"""``tourguide bench priority``: how long urgent steps wait behind a backlog, with and without a PRIORITY topic.

A backlog of low-priority steps is queued, then consumers start (K steps at once, S seconds each, as agents
with simulated model time), and high-priority steps keep arriving while the backlog drains. The wait of a
step is from its publish to the moment a consumer starts it. The same run on a NORMAL topic (first in, first
out) shows what the priority buys. Embedded broker, in this process; our Publisher and TaskConsumer.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.broker.config import BrokerConfig
from bot.broker.provision import GroupSpec, TopicSpec
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Envelope, Publisher, TaskConsumer
from bot.resources import PRIORITY_LEVELS

LOW, HIGH = 2, 7  # a new long itinerary and a follow-up, by the default policy
TOPICS = (TopicSpec("BenchPriorityTask", "PRIORITY", PRIORITY_LEVELS), TopicSpec("BenchNormalTask", "NORMAL", 2))
GROUPS = (GroupSpec("GID_bench_priority", "BenchPriorityTask"), GroupSpec("GID_bench_normal", "BenchNormalTask"))


@dataclass(frozen=True, slots=True)
class Waits:
    """Seconds from publish to start, by priority."""

    high: list[float]
    low: list[float]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _one(endpoint: str, topic: TopicSpec, group: GroupSpec, low: int, high: int, step_s: float,
               concurrency: int) -> Waits:
    bus = BusConfig(endpoint)
    waits: dict[str, list[float]] = {"high": [], "low": []}
    done = asyncio.Event()
    priority = topic.kind == "PRIORITY"

    async def handler(envelope: Envelope) -> None:
        body = json.loads(envelope.body)
        waits[body["kind"]].append(time.time() - body["sent"])
        if len(waits["high"]) + len(waits["low"]) == low + high:
            done.set()
        await asyncio.sleep(step_s)

    async with Publisher(bus, [topic.name]) as publisher:
        async def send(kind: str, level: int) -> None:
            body = json.dumps({"kind": kind, "sent": time.time()}).encode()
            await publisher.publish(topic.name, body, priority=level if priority else None)

        await asyncio.gather(*(send("low", LOW) for _ in range(low)))
        drain_s = low * step_s / concurrency
        async with TaskConsumer(bus, topic.name, group.name, handler, max_in_flight=concurrency):
            for _ in range(high):  # urgent work keeps coming while the backlog drains (its first half)
                await asyncio.sleep(drain_s / (2 * high))
                await send("high", HIGH)
            await asyncio.wait_for(done.wait(), drain_s * 4 + 60)
    return Waits(waits["high"], waits["low"])


async def run(low: int, high: int, step_s: float, concurrency: int) -> int:
    """Both runs, printed side by side."""
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-priority-") as tmp:
        async with EmbeddedBroker(BrokerConfig(port=0, data_dir=Path(tmp))) as broker:
            await broker.provision(list(TOPICS), list(GROUPS))
            results = [(t.kind, await _one(broker.endpoint, t, g, low, high, step_s, concurrency))
                       for t, g in zip(TOPICS, GROUPS, strict=True)]
    print(f"{low} low-priority steps queued, {high} high-priority steps arriving while they drain; "
          f"{concurrency} at a time, {step_s} s each (ideal drain {low * step_s / concurrency:.1f} s)")
    print(f"{'topic':<10} {'high p50':>9} {'high p99':>9} {'low p50':>9} {'low p99':>9}")
    for kind, w in results:
        print(f"{kind:<10} {statistics.median(w.high):>8.2f}s {_pct(w.high, 0.99):>8.2f}s "
              f"{statistics.median(w.low):>8.2f}s {_pct(w.low, 0.99):>8.2f}s")
    return 0
