"""`tourguide bench pipeline`: N sessions at once through the real agents with a simulated LLM delay.

Each agent step sleeps ``agent_latency`` seconds (standing in for LLM time) and each agent runs at most
``agent_concurrency`` steps at once. A session is weather then travel, so the best possible makespan is
``N x latency / K`` (the bottleneck stage) plus one ``latency`` to fill the two-stage pipeline.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

from benchmarks.latency import LATENCY_ENV
from bot.models import ConversationRef, InboundMessage, Progress
from bot.realbroker.admin import run_batch
from bot.realbroker.cluster import ApacheRocketMQ
from bot.realbroker.maven import DEFAULT_VERSION, resolve
from bot.resources import mqadmin_commands
from bot.runtime import agent_processes, broker_endpoint
from bot.settings import load_settings
from bot.wiring import Pipeline, pipeline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
REQUESTS = ("帮我做一个下周三到下周日杭州周边自驾游方案", "3 days in Kyoto next weekend", "下周末去苏州玩两天")


def _label(cmdline: list[str]) -> str:
    java_main = next((a for a in cmdline if a.startswith("org.apache.rocketmq.")), "")
    return f"Apache {java_main.rsplit('.', 1)[-1]}" if java_main else " ".join(cmdline[-2:])


class _RssSampler:
    """Peak resident memory of this process and each child process."""

    def __init__(self) -> None:
        self.peak: dict[str, int] = {}

    async def run(self) -> None:
        me = psutil.Process()
        while True:
            for proc in [me, *me.children(recursive=True)]:
                try:
                    name = _label(proc.cmdline()) if proc.pid != me.pid else "supervisor+broker"
                    self.peak[name] = max(self.peak.get(name, 0), proc.memory_info().rss)
                except psutil.Error:
                    continue
            await asyncio.sleep(0.2)


async def _one_round(p: Pipeline, count: int) -> list[float]:
    done: dict[str, float] = {}
    finished = asyncio.Event()
    started: dict[str, float] = {}

    async def on_progress(event: Progress) -> None:
        if event.phase == "finished" and event.task_id in started:
            done[event.task_id] = time.perf_counter() - started[event.task_id]
            if len(done) == count:
                finished.set()

    p.supervisor.add_listener(on_progress)
    for i in range(count):
        ref = ConversationRef(platform="bench", channel=uuid.uuid4().hex, user=f"user-{i}")
        message = InboundMessage(
            ref=ref, event_id=uuid.uuid4().hex, text=REQUESTS[i % len(REQUESTS)], received_at=datetime.now(UTC)
        )
        t0 = time.perf_counter()
        submitted = await p.intake.submit(message)
        started[submitted.task_id] = t0
    await asyncio.wait_for(finished.wait(), 600)
    return list(done.values())


def _p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


async def _measure(sessions: int, latency_s: float, concurrency: int, endpoint: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-") as tmp:
        settings = load_settings(
            data_dir=Path(tmp),
            rocketmq_endpoint=endpoint,
            user_rate_per_minute=100_000,
            step_timeout_s=max(120.0, sessions * latency_s * 2),
        )
        sampler = _RssSampler()
        sampling = asyncio.create_task(sampler.run())
        async with (
            broker_endpoint(settings) as broker,
            # The product's agents, each in its own process, with simulated model time (benchmarks/__main__.py).
            agent_processes(["weather", "travel"], broker, Path(tmp) / "logs", module="benchmarks"),
            pipeline(settings.model_copy(update={"rocketmq_endpoint": broker}), agents="none", clock=lambda: NOW) as p,
        ):
            await _one_round(p, 1)  # warm-up: consumers get their first assignment about 1 s after start
            single = (await _one_round(p, 1))[0]
            t0 = time.perf_counter()
            times = await _one_round(p, sessions)
            makespan = time.perf_counter() - t0
        sampling.cancel()
    return {"makespan": makespan, "times": times, "single": single, "rss": dict(sampler.peak)}


async def _on_apache(sessions: int, latency_s: float, concurrency: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-rocketmq-") as tmp:
        cluster = ApacheRocketMQ(Path(tmp))
        state = await asyncio.to_thread(cluster.start)
        try:
            await asyncio.to_thread(run_batch, resolve(state.version), state.namesrv, mqadmin_commands(), Path(tmp))
            return await _measure(sessions, latency_s, concurrency, state.endpoint)
        finally:
            await asyncio.to_thread(cluster.stop)


async def run(sessions: int, latency_s: float, concurrency: int, endpoint: str | None = None,
              with_apache: bool = False) -> int:
    """Run the benchmark on the embedded broker (or ``endpoint``; or both brokers) and print the figures."""
    os.environ[LATENCY_ENV] = str(latency_s)  # read by the benchmark's agent processes
    os.environ["TOURGUIDE_AGENT_CONCURRENCY"] = str(concurrency)
    ideal = sessions * latency_s / concurrency + latency_s
    print(
        f"{sessions} sessions, simulated agent latency {latency_s:g} s per step, {concurrency} steps at once per agent"
    )
    runs = [(endpoint or "embedded", await _measure(sessions, latency_s, concurrency, endpoint or ""))]
    if with_apache and not endpoint:
        runs.append((f"Apache RocketMQ {DEFAULT_VERSION}", await _on_apache(sessions, latency_s, concurrency)))
    for name, figures in runs:
        _print(name, figures, ideal, latency_s)
    return 0


def _print(name: str, figures: dict[str, object], ideal: float, latency_s: float) -> None:
    makespan = float(figures["makespan"])  # type: ignore[arg-type]
    times: list[float] = figures["times"]  # type: ignore[assignment]
    single = float(figures["single"])  # type: ignore[arg-type]
    rss: dict[str, int] = figures["rss"]  # type: ignore[assignment]
    print(f"on {name}:")
    print(
        f"  makespan            {makespan:8.2f} s   (ideal {ideal:.2f} s: N x latency / K + latency; "
        f"{ideal / makespan:.0%} of ideal)"
    )
    print(f"  session time        p50 {statistics.median(times):.2f} s   p99 {_p99(times):.2f} s")
    print(f"  orchestration overhead per session (one session alone): {max(0.0, single - 2 * latency_s) * 1000:.0f} ms")
    print("  peak RSS per process:")
    for proc, peak in sorted(rss.items()):
        print(f"    {proc:<28} {peak / 2**20:7.1f} MiB")
