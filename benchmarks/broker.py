"""`tourguide bench broker`: the official client against the embedded broker (in its own process), any endpoint,
or the embedded broker and Apache RocketMQ 5.5 side by side in one run.

Measures (1) produce -> push consume -> ack throughput and per-message latency with 256-byte
durable messages, and (2) the cost of subscribing many lite topics and the delivery latency at
10 versus N subscribed lite topics. The broker runs as `tourguide broker` in a child process so
the client and the broker do not share one interpreter lock, as in a real deployment.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.clients import LatencyListener, lite_push_consumer, message, producer, push_consumer, subscribe_lite
from bot.broker.provision import GroupSpec, TopicSpec, provision_store
from bot.realbroker.admin import GroupDef, TopicDef, create_resources
from bot.realbroker.cluster import ApacheRocketMQ
from bot.realbroker.maven import DEFAULT_VERSION, resolve

BODY_SIZE = 256
LITE_BLOCK = 10_000  # lite subscriptions per block for the first / last block rates
PACED_RATE = 200.0  # msg/s for the per-hop latency figures: well below saturation


def lite_block(lite_topics: int) -> int:
    """Subscriptions per block: LITE_BLOCK, or a tenth of a smaller run (so first and last are both there)."""
    return max(1, min(LITE_BLOCK, (lite_topics - 10) // 10))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _provision(data: Path, lite_quota: int) -> None:
    await provision_store(
        data,
        [TopicSpec("BenchTopic", "NORMAL", 4), TopicSpec("BenchLite", "LITE", 1)],
        [
            GroupSpec("GID_bench", "BenchTopic"),
            GroupSpec("GID_bench_lite", "BenchLite", lite=True, lite_quota=lite_quota),
        ],
    )


@contextmanager
def broker_process(data: Path, metrics_port: int = 0) -> Iterator[str]:
    """`tourguide broker` on ``data`` in a child process (it provisions the product's resources); its endpoint.

    With ``metrics_port`` it serves its metrics there (see :func:`broker_rpcs`).
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--log-level", "WARNING", "broker", "--port", str(port), "--data", str(data),
         "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        if "listening" not in proc.stdout.readline():
            raise RuntimeError("the broker did not start")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)


def broker_rpcs(metrics_port: int) -> dict[str, float]:
    """The calls an embedded broker received so far, by method, read from its metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {sample.labels["method"]: sample.value
            for family in text_string_to_metric_families(text) if family.name == "tourguide_broker_rpcs"
            for sample in family.samples if sample.name == "tourguide_broker_rpcs_total"}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _throughput(endpoint: str, count: int) -> dict[str, float]:
    listener = LatencyListener()
    with producer(endpoint, "BenchTopic") as p, push_consumer(endpoint, "GID_bench", "BenchTopic", listener):
        _send_burst(p, "BenchTopic", 200, listener)  # warm-up: channels, threads, SQLite pages
        listener.reset()
        cpu_before = _cpu_s()
        started = time.perf_counter()
        _send_burst(p, "BenchTopic", count, listener)
        elapsed = listener.last_at - started
        cpu_ms = (_cpu_s() - cpu_before) * 1000 / count
        burst = listener.latencies_ms
        listener.reset()
        _send_paced(p, "BenchTopic", count // 2, PACED_RATE, listener)
        paced = listener.latencies_ms
    return {
        "rate": count / elapsed,
        "n": count,
        "cpu_ms": cpu_ms,
        "burst_p50": _pct(burst, 0.5),
        "burst_p99": _pct(burst, 0.99),
        "p50": _pct(paced, 0.5),
        "p99": _pct(paced, 0.99),
    }


def _cpu_s() -> float:
    """CPU seconds of this process (the producer and the consumer) and of its children (the broker's processes:
    the embedded broker, or Apache RocketMQ's JVMs when this run started them)."""
    me = psutil.Process()
    processes = [me, *me.children(recursive=True)]
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:  # exited meanwhile
            continue
        total += times.user + times.system
    return total


def _send_paced(p: Any, topic: str, count: int, rate: float, listener: LatencyListener) -> None:
    started = time.perf_counter()
    futures = []
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        futures.append(p.send_async(_stamped(topic)))
    for f in futures:
        f.result(30)
    if not listener.wait_for(count, 60):
        raise RuntimeError(f"only {listener.count} of {count} paced messages were consumed")


def _send_burst(p: Any, topic: str, count: int, listener: LatencyListener, window: int = 256) -> None:
    slots = threading.Semaphore(window)
    futures = []
    for _ in range(count):
        slots.acquire()
        future = p.send_async(_stamped(topic))
        future.add_done_callback(lambda _f: slots.release())
        futures.append(future)
    for f in futures:
        f.result(30)
    if not listener.wait_for(count, 60):
        raise RuntimeError(f"only {listener.count} of {count} messages were consumed")


def _stamped(topic: str, lite_topic: str | None = None) -> Any:
    body = struct.pack("!d", time.perf_counter()) + os.urandom(BODY_SIZE - 8)
    return message(topic, body, lite_topic=lite_topic)


def _lite_scale(endpoint: str, total: int) -> dict[str, float]:
    listener = LatencyListener()
    names = [f"task-bench-{i:06d}" for i in range(total)]
    with (
        producer(endpoint, "BenchLite") as p,
        lite_push_consumer(endpoint, "GID_bench_lite", "BenchLite", listener) as c,
    ):
        for name in names[:10]:
            subscribe_lite(c, name)
        at_10 = _lite_latency(p, names[:10], listener)
        started = time.perf_counter()
        block = lite_block(total)
        block_rates = []  # subscriptions per second in each block: constant if O(1) each
        block_started, in_block = started, 0
        for name in names[10:]:
            subscribe_lite(c, name)
            in_block += 1
            if in_block == block:
                now = time.perf_counter()
                block_rates.append(in_block / (now - block_started))
                block_started, in_block = now, 0
        subscribe_s = time.perf_counter() - started
        at_n = _lite_latency(p, names, listener)
    return {
        "subscribe_s": subscribe_s,
        "per_sub_ms": subscribe_s * 1000 / max(1, total - 10),
        "first_block_rate": block_rates[0] if block_rates else 0.0,
        "last_block_rate": block_rates[-1] if block_rates else 0.0,
        "p50_10": at_10,
        "p50_n": at_n,
    }


def _lite_latency(p: Any, names: list[str], listener: LatencyListener, samples: int = 200) -> float:
    listener.reset()
    for i in range(samples):
        p.send(_stamped("BenchLite", random.choice(names)))
        if not listener.wait_for(i + 1, 10):
            raise RuntimeError("a lite message was not delivered")
    return statistics.median(listener.latencies_ms)


BENCH_TOPICS = (TopicDef("BenchTopic", "NORMAL", 4), TopicDef("BenchLite", "LITE", 1))


def _bench_groups(lite_quota: int) -> tuple[GroupDef, ...]:
    return (GroupDef("GID_bench"), GroupDef("GID_bench_lite", lite_bind_topic="BenchLite", lite_quota=lite_quota))


def _measure(endpoint: str, messages: int, lite_topics: int) -> dict[str, float]:
    return {**_throughput(endpoint, messages), **_lite_scale(endpoint, lite_topics)}


async def _embedded(messages: int, lite_topics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-") as tmp:
        data = Path(tmp)
        await _provision(data, lite_quota=lite_topics + 100)
        with broker_process(data) as endpoint:
            return await asyncio.to_thread(_measure, endpoint, messages, lite_topics)


def _apache(messages: int, lite_topics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-rocketmq-") as tmp, \
            ApacheRocketMQ(Path(tmp)) as state:
        create_resources(resolve(state.version), state.namesrv, Path(tmp), BENCH_TOPICS,
                         _bench_groups(lite_topics + 100))
        return _measure(state.endpoint, messages, lite_topics)


async def run(messages: int, lite_topics: int, endpoint: str | None = None, with_apache: bool = False) -> int:
    """Measure the embedded broker, a given endpoint, or the embedded broker and Apache RocketMQ side by side.

    An ``endpoint`` must already have the bench resources (``BenchTopic``, ``BenchLite``, ``GID_bench``,
    ``GID_bench_lite`` with a lite quota above ``lite_topics``).
    """
    columns: dict[str, dict[str, float]] = {}
    if endpoint:
        columns[endpoint] = await asyncio.to_thread(_measure, endpoint, messages, lite_topics)
    else:
        columns["embedded"] = await _embedded(messages, lite_topics)
        if with_apache:
            columns[f"Apache RocketMQ {DEFAULT_VERSION}"] = await asyncio.to_thread(_apache, messages, lite_topics)
    _print(columns, messages, lite_topics)
    return 0


def _print(columns: dict[str, dict[str, float]], messages: int, lite_topics: int) -> None:
    cpu = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}")
    print(f"official client {BODY_SIZE} B durable messages; burst of {messages} (256 in flight), "
          f"paced at {PACED_RATE:.0f} msg/s, {lite_topics:,} lite topics on one consumer")
    rows: list[tuple[str, Callable[[dict[str, float]], str]]] = [
        ("produce -> push consume -> ack", lambda f: f"{f['rate']:.0f} msg/s"),
        ("CPU per message, client and broker", lambda f: f"{f['cpu_ms']:.2f} ms"),
        ("hop latency p50 / p99 (paced)", lambda f: f"{f['p50']:.1f} / {f['p99']:.1f} ms"),
        ("latency inside the burst p50 / p99", lambda f: f"{f['burst_p50']:.0f} / {f['burst_p99']:.0f} ms"),
        (f"subscribe {lite_topics - 10:,} lite topics", lambda f: f"{f['subscribe_s']:.1f} s "
                                                                  f"({1000 / f['per_sub_ms']:.0f}/s)"),
        (f"subscribe rate, first / last {lite_block(lite_topics):,}", lambda f: f"{f['first_block_rate']:.0f} / "
                                                                  f"{f['last_block_rate']:.0f} per s"),
        ("lite delivery p50 at 10 subscribed", lambda f: f"{f['p50_10']:.1f} ms"),
        (f"lite delivery p50 at {lite_topics:,}", lambda f: f"{f['p50_n']:.1f} ms ({f['p50_n'] / f['p50_10']:.2f}x)"),
    ]
    names = list(columns)
    print(f"| figure | {' | '.join(names)} |")
    print(f"|---|{'---|' * len(names)}")
    for label, cell in rows:
        print(f"| {label} | {' | '.join(cell(columns[n]) for n in names)} |")
