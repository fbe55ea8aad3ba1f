"""``tourguide bench web``: N browsers at once, each with an SSE stream open and one request.

The server (``python -m benchmarks.web_server``: the page, the Supervisor, the agents inline with a
simulated model time per step, the embedded broker) runs as its own process on a fresh data directory,
and its RSS is sampled while the clients run here on aiohttp. Every client first opens its stream, then
all post at once; for each: the time from its POST to its first progress event (STEP_STARTED) and to
the end of its run (RUN_FINISHED).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import psutil

from benchmarks.latency import LATENCY_ENV
from bot.settings import Settings

REQUEST = "帮我做一个下周三到下周日杭州周边自驾游方案"
AGENT_CONCURRENCY = 64  # steps each inline agent runs at once (the settings' maximum)


@dataclass(frozen=True, slots=True)
class Sample:
    """One client's request."""

    first_progress_s: float | None
    finished_s: float | None
    answer_events: int


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, object]]:
    data = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("data: "):
            data += line[6:]
        elif not line and data:
            yield json.loads(data)
            data = ""


async def _client(http: aiohttp.ClientSession, url: str, start: asyncio.Barrier) -> Sample:
    async with http.get(url + "api/session") as response:
        cookie = response.cookies["tg_session"].value
        csrf = (await response.json())["csrf"]
    headers = {"Cookie": f"tg_session={cookie}"}
    first = finished = None
    answers = 0
    async with http.get(url + "events", headers=headers) as stream:
        await start.wait()  # every stream is open: all post at once
        posted = time.perf_counter()
        async with http.post(url + "api/messages", json={"text": REQUEST},
                             headers={**headers, "X-CSRF-Token": csrf}) as response:
            await response.read()
        async for event in _events(stream):
            kind = event["type"]
            if kind == "STEP_STARTED" and first is None:
                first = time.perf_counter() - posted
            elif kind == "TEXT_MESSAGE_START":
                answers += 1
            elif kind in ("RUN_FINISHED", "RUN_ERROR"):
                finished = time.perf_counter() - posted
                break
    return Sample(first, finished, answers)


async def _peak_rss(pid: int, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while True:
        try:
            peak[0] = max(peak[0], process.memory_info().rss)
        except psutil.Error:
            return
        await asyncio.sleep(0.2)


async def _start_server(data_dir: str, latency_s: float) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "TOURGUIDE_DATA_DIR": data_dir, "TOURGUIDE_ROCKETMQ_ENDPOINT": "",
           "TOURGUIDE_AGENT_CONCURRENCY": str(AGENT_CONCURRENCY), LATENCY_ENV: str(latency_s)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "benchmarks.web_server", env=env,
                                                stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"the web server did not start: {line!r}")
    return proc, line.removeprefix("ready ")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(settings: Settings, clients: int, agent_latency: float) -> int:
    """Run the benchmark and print its figures; 1 when a client did not get exactly one answer."""
    with tempfile.TemporaryDirectory(prefix="tourguide-bench-web-") as data_dir:
        proc, url = await _start_server(data_dir, agent_latency)
        peak = [0]
        sampler = asyncio.create_task(_peak_rss(proc.pid, peak))
        try:
            connector = aiohttp.TCPConnector(limit=0)
            timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                             cookie_jar=aiohttp.DummyCookieJar()) as http:
                start = asyncio.Barrier(clients + 1)
                runs = [asyncio.create_task(_client(http, url, start)) for _ in range(clients)]
                async with asyncio.timeout(120):
                    await start.wait()
                idle_rss = psutil.Process(proc.pid).memory_info().rss
                started = time.perf_counter()
                samples = await asyncio.gather(*runs)
                makespan = time.perf_counter() - started
        finally:
            sampler.cancel()
            proc.terminate()
            await proc.wait()
    return _report(clients, agent_latency, samples, makespan, idle_rss, peak[0])


def _report(clients: int, latency: float, samples: list[Sample], makespan: float, idle_rss: int, peak: int) -> int:
    firsts = [s.first_progress_s for s in samples if s.first_progress_s is not None]
    ends = [s.finished_s for s in samples if s.finished_s is not None]
    once = sum(s.answer_events == 1 for s in samples)
    mib = 1024 * 1024
    print(f"tourguide bench web: {clients} browsers, one SSE stream and one request each "
          f"({latency:.1f} s simulated model time per step, {AGENT_CONCURRENCY} steps at once per agent)")
    print(f"  completed (exactly one answer)   {once} / {clients}")
    if firsts:
        print(f"  first progress event p50 / p99  {_p(firsts, .5) * 1000:.0f} / {_p(firsts, .99) * 1000:.0f} ms")
    if ends:
        print(f"  answer p50 / p99                {_p(ends, .5):.2f} / {_p(ends, .99):.2f} s "
              f"(mean {statistics.fmean(ends):.2f} s)")
    print(f"  all answered after              {makespan:.2f} s")
    print(f"  server RSS with streams open    {idle_rss / mib:.0f} MiB (peak {peak / mib:.0f} MiB)")
    return 0 if once == clients else 1
