"""`tourguide bench pipeline --baseline sync`: the same burst through a synchronous request-reply design.

The design the reference system argues against: the Supervisor calls the Weather and Travel agents
over HTTP and waits for each answer. Each agent is an aiohttp service in its own process
(``python -m benchmarks serve KIND``) running the product's step handler with the same simulated
model time and at most K steps at once; the Supervisor holds a connection pool of K per service and
gives each call 30 s (waiting for a pooled connection included), as an HTTP client would. A call
that times out fails its session; the service may still finish it (an abandoned call, counted by the
service). Nothing is durable: no sessions in SQLite, no broker.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from agents.knowledge.catalog import Catalog
from agents.understanding import AliasIndex, understand
from benchmarks.latency import simulated_model_time
from bot.runtime import AgentKind, _agent_handler
from bot.schemas import WeatherReport
from bot.settings import load_settings
from bot.signals import wait_for_stop_signal
from bot.wire import (
    ResultMessage,
    ResultStatus,
    TaskMessage,
    TravelInput,
    WeatherInput,
    decode_result,
    decode_task,
    encode,
    new_task_id,
)

CALL_TIMEOUT_S = 30.0
KINDS: tuple[AgentKind, AgentKind] = ("weather", "travel")


@dataclass
class SyncFigures:
    """One burst through the synchronous design."""

    makespan: float
    times: list[float]  # seconds per completed session
    failures: int  # sessions lost to a timed-out or failed call
    abandoned: int  # calls the services finished after their caller had given up


# The service side: one process per agent.

async def serve(kind: AgentKind, latency_s: float, concurrency: int) -> None:
    """Serve POST /step (a task in, its result out) and GET /stats until SIGTERM; prints ``ready PORT``."""
    settings = load_settings()
    abandoned = inflight = 0
    slots = asyncio.Semaphore(concurrency)  # the agent's K steps at once, as with the bus
    async with _agent_handler(kind, settings) as plain:
        handler = simulated_model_time(latency_s)(plain)

        async def step(request: web.Request) -> web.Response:
            nonlocal abandoned, inflight
            task = decode_task(await request.read())
            inflight += 1
            try:
                async with slots:
                    output = await handler(task)
            finally:
                inflight -= 1
            if request.transport is None or request.transport.is_closing():
                abandoned += 1  # the caller timed out: the step's model time was spent for nobody
            result = ResultMessage(task_id=task.task_id, step_id=task.step_id, status=ResultStatus.OK,
                                   agent=kind, output=output)
            return web.Response(body=encode(result), content_type="application/json")

        async def stats(_request: web.Request) -> web.Response:
            return web.json_response({"inflight": inflight, "abandoned": abandoned})

        app = web.Application()
        app.add_routes([web.post("/step", step), web.get("/stats", stats)])
        # The handler keeps running when its caller disconnects (aiohttp's default since 3.9), as a
        # thread-per-request service would: that is what makes an abandoned call cost capacity.
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            print(f"ready {port}", flush=True)
            await wait_for_stop_signal()
        finally:
            await runner.cleanup()


@asynccontextmanager
async def _service(kind: AgentKind, latency_s: float, concurrency: int, log_file: Path) -> AsyncIterator[str]:
    with log_file.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks", "serve", kind, str(latency_s), str(concurrency),
            stdout=asyncio.subprocess.PIPE, stderr=sink, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        if not line.startswith("ready "):
            raise RuntimeError(f"the {kind} service did not start; see {log_file}")
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


# The Supervisor side: this process.

class SyncSupervisor:
    """Understands a request, then calls weather and travel in turn, waiting for each."""

    def __init__(self, urls: dict[str, str], sessions: dict[str, aiohttp.ClientSession], now: datetime) -> None:
        self._urls = urls
        self._http = sessions
        self._now = now
        self._places = AliasIndex(Catalog.load().aliases())
        self._timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)

    async def run(self, text: str) -> bool:
        """One session; False when a call failed or timed out."""
        request = understand(text, self._now, self._places)
        task_id = new_task_id()
        deadline = datetime.now(UTC) + timedelta(minutes=10)
        try:
            weather = await self._call("weather", TaskMessage(
                task_id=task_id, step_id="weather", input=WeatherInput(request=request), reply_lite_topic=task_id,
                deadline=deadline, language=request.language))
            report = weather.output if isinstance(weather.output, WeatherReport) else None
            travel = await self._call("travel", TaskMessage(
                task_id=task_id, step_id="travel", input=TravelInput(request=request, weather=report),
                reply_lite_topic=task_id, deadline=deadline, language=request.language))
        except (TimeoutError, aiohttp.ClientError):
            return False
        return travel.status == ResultStatus.OK

    async def _call(self, kind: str, task: TaskMessage) -> ResultMessage:
        async with self._http[kind].post(f"{self._urls[kind]}/step", data=encode(task), timeout=self._timeout) as r:
            r.raise_for_status()
            return decode_result(await r.read())

    async def abandoned_when_idle(self) -> int:
        """Calls the services finished for a caller that had given up, counted once they are idle."""
        while True:
            stats = [await self._stats(kind) for kind in self._urls]
            if all(s["inflight"] == 0 for s in stats):
                return sum(s["abandoned"] for s in stats)
            await asyncio.sleep(0.2)  # polling the services' own counters until they drain

    async def _stats(self, kind: str) -> dict[str, int]:
        async with self._http[kind].get(f"{self._urls[kind]}/stats") as r:
            stats: dict[str, int] = await r.json()
            return stats


@asynccontextmanager
async def sync_design(latency_s: float, concurrency: int, log_dir: Path, now: datetime
                      ) -> AsyncIterator[SyncSupervisor]:
    """Both services started, the Supervisor's client sessions open (a fair pool of K connections each)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        sessions: dict[str, aiohttp.ClientSession] = {}
        for kind in KINDS:
            urls[kind] = await stack.enter_async_context(
                _service(kind, latency_s, concurrency, log_dir / f"service-{kind}.log"))
            sessions[kind] = await stack.enter_async_context(aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency)))
        yield SyncSupervisor(urls, sessions, now)


async def burst(supervisor: SyncSupervisor, texts: list[str]) -> SyncFigures:
    """All sessions at once; returns when each has an answer or has failed and the services are idle."""
    times: list[float] = []
    failures = 0

    async def one(text: str) -> None:
        nonlocal failures
        t0 = time.perf_counter()
        if await supervisor.run(text):
            times.append(time.perf_counter() - t0)
        else:
            failures += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(text) for text in texts))
    makespan = time.perf_counter() - t0
    return SyncFigures(makespan, times, failures, await supervisor.abandoned_when_idle())


def bench_texts(texts: tuple[str, ...], count: int) -> list[str]:
    """The burst's requests, the same as the pipeline benchmark's."""
    return [texts[i % len(texts)] for i in range(count)]

