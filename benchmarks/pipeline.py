"""`tourguide bench pipeline`: N sessions at once through the real agents with a simulated LLM delay.

Each agent step sleeps ``agent_latency`` seconds (standing in for LLM time) and each agent runs at most
``agent_concurrency`` steps at once. A session is weather then travel, so the best possible makespan is
``N x latency / K`` (the bottleneck stage) plus one ``latency`` to fill the two-stage pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

from benchmarks.broker import broker_process, broker_rpcs, free_port
from benchmarks.grpc_floor import cpu_per_call_ms
from benchmarks.latency import LATENCY_ENV
from benchmarks.sync_baseline import CALL_TIMEOUT_S, bench_texts, burst, sync_design
from bot.bus.lite_batches import DROP_AFTER_S
from bot.models import ConversationRef, InboundMessage, Progress
from bot.realbroker.admin import run_batch
from bot.realbroker.cluster import ApacheRocketMQ
from bot.realbroker.maven import DEFAULT_VERSION, resolve
from bot.resources import mqadmin_commands
from bot.runtime import agent_processes, broker_endpoint
from bot.settings import load_settings
from bot.wiring import Pipeline, pipeline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SUBMITTERS = 64  # inbound events handled at once
RPCS_PER_SESSION = 4  # its 4 sends; lite subscription changes and acks can go several to a call, receives too
REQUESTS = ("帮我做一个下周三到下周日杭州周边自驾游方案", "3 days in Kyoto next weekend", "下周末去苏州玩两天")


def _label(cmdline: list[str]) -> str:
    java_main = next((a for a in cmdline if a.startswith("org.apache.rocketmq.")), "")
    if java_main:
        return f"Apache {java_main.rsplit('.', 1)[-1]}"
    for verb in ("agent", "serve"):  # python -m benchmarks agent|serve KIND ...
        if verb in cmdline[:-1]:
            return f"{verb} {cmdline[cmdline.index(verb) + 1]}"
    return "broker" if "broker" in cmdline else " ".join(cmdline[-2:])


class ProcessSampler:
    """Peak resident memory and CPU time of this process (``me``) and each child process."""

    def __init__(self, me: str) -> None:
        self.peak: dict[str, int] = {}
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> (label, CPU seconds when last seen)
        self._me = me

    def sample(self) -> None:
        """Read every process once (exited children keep their last reading)."""
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                cmdline = proc.cmdline()
                if not cmdline:  # a child that has exited but not been reaped yet
                    continue
                name = _label(cmdline) if proc.pid != me.pid else self._me
                with proc.oneshot():
                    rss, cpu = proc.memory_info().rss, proc.cpu_times()
                self.peak[name] = max(self.peak.get(name, 0), rss)
                self._cpu[proc.pid] = (name, cpu.user + cpu.system)
            except psutil.Error:
                continue

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per process label."""
        self.sample()
        total: dict[str, float] = {}
        for name, seconds in self._cpu.values():
            total[name] = total.get(name, 0.0) + seconds
        return total

    async def run(self) -> None:
        """Sample five times a second until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(0.2)


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each process spent between two :meth:`ProcessSampler.cpu` readings."""
    return {name: seconds - before.get(name, 0.0) for name, seconds in after.items()}


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
    # A burst is many users at once: front ends hand each event to the intake concurrently, so do we
    # (SUBMITTERS at a time, as a chat platform's event handlers would).
    gate = asyncio.Semaphore(SUBMITTERS)

    async def submit(i: int) -> None:
        ref = ConversationRef(platform="bench", channel=uuid.uuid4().hex, user=f"user-{i}")
        message = InboundMessage(
            ref=ref, event_id=uuid.uuid4().hex, text=REQUESTS[i % len(REQUESTS)], received_at=datetime.now(UTC)
        )
        t0 = time.perf_counter()  # the event arrived; time waiting for a handler counts
        async with gate:
            submitted = await p.intake.submit(message)
            started[submitted.task_id] = t0

    await asyncio.gather(*(submit(i) for i in range(count)))
    await asyncio.wait_for(finished.wait(), 600)
    return list(done.values())


@dataclass
class Figures:
    """One burst: makespan, per-session times, lost sessions, CPU seconds and peak RSS per process."""

    makespan: float
    times: list[float]
    failures: int
    cpu: dict[str, float]
    rss: dict[str, int]
    single: float | None = None  # one session alone (orchestration overhead)
    abandoned: int = 0  # sync design: calls finished for a caller that had timed out
    rpcs: dict[str, float] = field(default_factory=dict)  # calls at the broker per session, by method


def _of_ideal(figures: Figures, ideal: float) -> str:
    """Makespan against the ideal; meaningless when sessions were lost (they end the run early)."""
    return f"{ideal / figures.makespan:.0%}" if not figures.failures else "n/a (sessions lost)"


def _p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


@contextlib.contextmanager
def _own_broker(endpoint: str, topology: str, data: Path) -> Iterator[tuple[str, int]]:
    """The endpoint to use and the port of the broker's metrics (0: none to read): the given endpoint, or an
    embedded broker in its own process (``process``); empty for ``inline`` (the pipeline starts one inside
    this process)."""
    if endpoint or topology != "process":
        yield endpoint, 0
        return
    metrics_port = free_port()
    with broker_process(data / "broker", metrics_port) as started:
        yield started, metrics_port


async def _measure(sessions: int, latency_s: float, concurrency: int, endpoint: str,
                   topology: str = "process") -> Figures:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-") as tmp, \
            _own_broker(endpoint, topology, Path(tmp)) as (given, metrics_port):
        settings = load_settings(
            data_dir=Path(tmp),
            rocketmq_endpoint=given,
            user_rate_per_minute=100_000,
            step_timeout_s=max(120.0, sessions * latency_s * 2),
        )
        sampler = ProcessSampler("supervisor" if given else "supervisor+broker")
        sampling = asyncio.create_task(sampler.run())
        async with (
            broker_endpoint(settings) as broker,
            # The product's agents, each in its own process, with simulated model time (benchmarks/__main__.py).
            agent_processes(["weather", "travel"], broker, Path(tmp) / "logs", module="benchmarks"),
            pipeline(settings.model_copy(update={"rocketmq_endpoint": broker}), agents="none", clock=lambda: NOW) as p,
        ):
            await _one_round(p, 1)  # warm-up: consumers get their first assignment about 1 s after start
            single = (await _one_round(p, 1))[0]
            rpcs_before = await _rpcs(metrics_port)
            cpu_before = sampler.cpu()
            t0 = time.perf_counter()
            times = await _one_round(p, sessions)
            makespan = time.perf_counter() - t0
            cpu = cpu_between(cpu_before, sampler.cpu())
            rpcs_after = await _rpcs(metrics_port)
        sampling.cancel()
    rpcs = {method: (n - rpcs_before.get(method, 0.0)) / sessions for method, n in rpcs_after.items()}
    return Figures(makespan, times, sessions - len(times), cpu, dict(sampler.peak), single, rpcs=rpcs)


async def _rpcs(metrics_port: int) -> dict[str, float]:
    """The broker's calls so far by method, once the last acks and unsubscribes of the sessions that have
    answered have landed ({} when its metrics cannot be read: another broker)."""
    if not metrics_port:
        return {}
    counts = await asyncio.to_thread(broker_rpcs, metrics_port)
    for _ in range(20):  # quiet for longer than the Supervisor collects unsubscribes: the last batch is in
        await asyncio.sleep(DROP_AFTER_S + 0.2)
        again = await asyncio.to_thread(broker_rpcs, metrics_port)
        if again == counts:
            break
        counts = again
    return counts


async def _measure_sync(sessions: int, latency_s: float, concurrency: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-sync-") as tmp:
        sampler = ProcessSampler("supervisor (sync)")
        sampling = asyncio.create_task(sampler.run())
        async with sync_design(latency_s, concurrency, Path(tmp) / "logs", NOW) as supervisor:
            await burst(supervisor, list(REQUESTS))  # warm-up: connections, imports, caches
            cpu_before = sampler.cpu()
            result = await burst(supervisor, bench_texts(REQUESTS, sessions))
            cpu = cpu_between(cpu_before, sampler.cpu())
        sampling.cancel()
    return Figures(result.makespan, result.times, result.failures, cpu, dict(sampler.peak),
                   abandoned=result.abandoned)


async def _on_apache(sessions: int, latency_s: float, concurrency: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-rocketmq-") as tmp:
        cluster = ApacheRocketMQ(Path(tmp))
        state = await asyncio.to_thread(cluster.start)
        try:
            await asyncio.to_thread(run_batch, resolve(state.version), state.namesrv, mqadmin_commands(), Path(tmp))
            return await _measure(sessions, latency_s, concurrency, state.endpoint)
        finally:
            await asyncio.to_thread(cluster.stop)


async def run(sessions: int, latency_s: float, concurrency: int, endpoint: str | None = None,
              with_apache: bool = False, broker: str = "process", baseline: str | None = None,
              rounds: int = 1) -> int:
    """Run the benchmark on the embedded broker (or ``endpoint``; or both brokers) and print the figures.

    ``broker``: the embedded broker in its own process (``process``) or inside the Supervisor's (``inline``).
    ``baseline="sync"`` also runs the same burst through the synchronous HTTP design, side by side.
    ``rounds`` > 1 runs every design that many times, taking turns, and reports each design's median round:
    on a shared machine the same burst can cost a third more CPU from one minute to the next, so a
    comparison holds only between runs made side by side.
    """
    os.environ[LATENCY_ENV] = str(latency_s)  # read by the benchmark's agent processes
    os.environ["TOURGUIDE_AGENT_CONCURRENCY"] = str(concurrency)
    ideal = sessions * latency_s / concurrency + latency_s
    cpu = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(
        f"{sessions} sessions, simulated agent latency {latency_s:g} s per step, {concurrency} steps at once per agent"
    )
    where = endpoint or f"embedded broker ({'own process' if broker == 'process' else 'in the Supervisor process'})"
    designs: list[tuple[str, Callable[[], Awaitable[Figures]]]] = [
        (where, lambda: _measure(sessions, latency_s, concurrency, endpoint or "", broker))]
    if with_apache and not endpoint:
        designs.append((f"Apache RocketMQ {DEFAULT_VERSION}", lambda: _on_apache(sessions, latency_s, concurrency)))
    sync_name = f"synchronous HTTP design (pool of {concurrency} per service, {CALL_TIMEOUT_S:.0f} s timeout)"
    if baseline == "sync":
        designs.append((sync_name, lambda: _measure_sync(sessions, latency_s, concurrency)))
    measured: dict[str, list[Figures]] = {name: [] for name, _ in designs}
    for round_no in range(1, rounds + 1):
        for name, measure in designs:
            measured[name].append(await measure())
        if rounds > 1:
            print(f"round {round_no} of {rounds}: " + "; ".join(
                f"{name.split(' (')[0]} {figs[-1].makespan:.1f} s, {sum(figs[-1].cpu.values()):.1f} CPU-s"
                for name, figs in measured.items()))
    runs = [(name, _median_round(figs)) for name, figs in measured.items()]
    for name, figures in runs:
        _print(name, figures, ideal, latency_s)
    if len(runs) > 1:
        _table(runs, ideal)
    if sync_name in measured:
        _compare(measured[where], measured[sync_name])
    await _floor(sessions, measured.get(sync_name, []), runs[0][1].rpcs)  # runs[0]: ours, its median round
    return 0


def _median_round(figures: list[Figures]) -> Figures:
    """The round with the median makespan (the upper one of an even count)."""
    return sorted(figures, key=lambda f: f.makespan)[len(figures) // 2]


def _cpu_per_answer_ms(f: Figures) -> float:
    """CPU milliseconds per answered session: the fair unit when a design lost sessions (and their work)."""
    return sum(f.cpu.values()) / max(1, len(f.times)) * 1000


def _compare(ours: list[Figures], sync: list[Figures]) -> None:
    """Ours against the synchronous design, round by round (each pair ran one right after the other)."""
    ratios = [_cpu_per_answer_ms(o) / max(1e-9, _cpu_per_answer_ms(s)) for o, s in zip(ours, sync, strict=True)]
    speed = [f"{o.makespan / s.makespan:.2f}x" if not s.failures else "n/a (sync lost sessions)"
             for o, s in zip(ours, sync, strict=True)]
    print(f"ours against the synchronous design, per round: CPU per answered session "
          f"{', '.join(f'{r:.1f}x' for r in ratios)} (median {statistics.median(ratios):.1f}x); "
          f"makespan {', '.join(speed)}")


async def _floor(sessions: int, sync: list[Figures], rpcs: dict[str, float]) -> None:
    """The CPU no RocketMQ design can go below here: the RPCs a session needs, at what gRPC alone costs."""
    per_call_ms = await asyncio.to_thread(cpu_per_call_ms)
    floor_ms = RPCS_PER_SESSION * per_call_ms
    line = (f"floor: a session needs at least {RPCS_PER_SESSION} RPCs (its 4 sends; lite subscription changes "
            f"and acks go several to a call); one gRPC call alone (grpc.aio echo, client and server) costs "
            f"{per_call_ms:.2f} ms of CPU here, so a session cannot cost less than {floor_ms:.1f} ms "
            f"({sessions * floor_ms / 1000:.1f} CPU-seconds for {sessions})")
    if sync:
        sync_ms = statistics.median(_cpu_per_answer_ms(f) for f in sync)
        line += f", {floor_ms / sync_ms:.1f}x the synchronous design's {sync_ms:.1f} ms per answered session"
    print(line + ", before receives, protobuf, persistence or any of the bot's own work")
    if rpcs:
        made = sum(rpcs.values())
        print(f"  the {made:.1f} RPCs per session counted at the broker cost {made * per_call_ms:.1f} ms in gRPC alone")


def _print(name: str, figures: Figures, ideal: float, latency_s: float) -> None:
    times = figures.times or [float("nan")]
    print(f"on {name}:")
    print(
        f"  makespan            {figures.makespan:8.2f} s   (ideal {ideal:.2f} s: N x latency / K + latency; "
        f"{_of_ideal(figures, ideal)} of ideal)"
    )
    print(f"  session time        p50 {statistics.median(times):.2f} s   p99 {_p99(times):.2f} s")
    print(f"  sessions lost       {figures.failures}" +
          (f"   (calls finished after their caller gave up: {figures.abandoned})" if figures.abandoned else ""))
    if figures.single is not None:
        overhead = max(0.0, figures.single - 2 * latency_s) * 1000
        print(f"  orchestration overhead per session (one session alone): {overhead:.0f} ms")
    if figures.rpcs:
        busy = {method: n for method, n in sorted(figures.rpcs.items(), key=lambda kv: -kv[1]) if n >= 0.05}
        print(f"  RPCs at the broker per session: {sum(figures.rpcs.values()):.1f} ("
              + ", ".join(f"{method} {n:.1f}" for method, n in busy.items()) + ")")
    print(f"  CPU during the burst: {sum(figures.cpu.values()):.1f} s in all")
    print("  per process:                  peak RSS   CPU")
    for proc, peak in sorted(figures.rss.items()):
        print(f"    {proc:<28} {peak / 2**20:7.1f} MiB  {figures.cpu.get(proc, 0.0):5.1f} s")


def _table(runs: list[tuple[str, Figures]], ideal: float) -> None:
    """The runs side by side (Markdown, as in the README)."""
    print()
    print("| design | makespan | % of ideal | p50 / p99 | lost | CPU-seconds | RSS (all processes) |")
    print("|---|---|---|---|---|---|---|")
    for name, f in runs:
        times = f.times or [float("nan")]
        print(f"| {name} | {f.makespan:.1f} s | {_of_ideal(f, ideal)} | {statistics.median(times):.2f} / "
              f"{_p99(times):.2f} s | {f.failures} | {sum(f.cpu.values()):.1f} | "
              f"{sum(f.rss.values()) / 2**20:.0f} MiB |")
