"""Builds the agents and the broker endpoint from settings (used by the wiring and by benchmarks).

Worker agents inline or as child processes, the configured RocketMQ endpoint or an embedded broker
started for the duration, and each agent's step handler with its LLM (:mod:`agents.llm.providers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Literal

from agents.knowledge.catalog import Catalog
from agents.llm.providers import chat_model
from agents.tools.climate import OfflineClimate
from agents.tools.open_meteo import OpenMeteo
from agents.travel.llm_planner import LLMPlanner
from agents.travel.offline_planner import OfflinePlanner
from agents.travel.service import TravelService
from agents.weather.service import WeatherService
from agents.worker import StepHandler, Worker
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, Publisher, TaskConsumer
from bot.errors import BusError
from bot.provisioning import provision_broker
from bot.resources import (
    GROUPS,
    RESPONSE_TOPIC,
    TRAVEL_GROUP,
    TRAVEL_TASK_TOPIC,
    WEATHER_GROUP,
    WEATHER_TASK_TOPIC,
)
from bot.settings import Settings
from bot.wire import StepKind

log = logging.getLogger("tourguide")

AgentKind = Literal["weather", "travel"]
AgentMode = Literal["process", "inline", "none"]
TASK_TOPICS = {StepKind.WEATHER: WEATHER_TASK_TOPIC, StepKind.TRAVEL: TRAVEL_TASK_TOPIC}
_AGENT_TOPICS: dict[str, tuple[str, str]] = {"weather": (WEATHER_TASK_TOPIC, WEATHER_GROUP),
                                             "travel": (TRAVEL_TASK_TOPIC, TRAVEL_GROUP)}


def bus_config(settings: Settings, endpoint: str) -> BusConfig:
    """Client settings for the given endpoint."""
    return BusConfig(endpoint, settings.rocketmq_access_key, settings.rocketmq_secret_key.get_secret_value(),
                     settings.rocketmq_namespace)


@contextlib.asynccontextmanager
async def broker_endpoint(settings: Settings) -> AsyncIterator[str]:
    """The configured RocketMQ endpoint, or an embedded broker started for the duration."""
    if settings.rocketmq_endpoint:
        yield settings.rocketmq_endpoint
        return
    config = BrokerConfig(port=0, data_dir=settings.data_dir / "broker")
    async with EmbeddedBroker(config) as broker:
        await provision_broker(broker, settings.rocketmq_namespace)
        yield broker.endpoint


def _max_attempts(group: str) -> int:
    return next(g.max_attempts for g in GROUPS if g.name == group)


@contextlib.asynccontextmanager
async def agent(kind: AgentKind, settings: Settings, bus: BusConfig, *,
                wrap: Callable[[StepHandler], StepHandler] | None = None) -> AsyncIterator[None]:
    """One worker agent consuming its task topic until the block exits.

    ``wrap`` decorates the agent's step handler (the pipeline benchmark adds its simulated model time there).
    """
    topic, group = _AGENT_TOPICS[kind]
    async with contextlib.AsyncExitStack() as stack:
        publisher = await stack.enter_async_context(Publisher(bus, [RESPONSE_TOPIC]))
        handler = await stack.enter_async_context(_agent_handler(kind, settings))
        if wrap is not None:
            handler = wrap(handler)
        worker = Worker(kind, publisher, handler, max_attempts=_max_attempts(group))
        await stack.enter_async_context(
            TaskConsumer(bus, topic, group, worker, max_in_flight=settings.agent_concurrency,
                         handler_timeout_s=settings.step_timeout_s)
        )
        yield


@contextlib.asynccontextmanager
async def _agent_handler(kind: AgentKind, settings: Settings) -> AsyncIterator[StepHandler]:
    catalog = Catalog.load()
    if kind == "weather":
        async with contextlib.AsyncExitStack() as stack:
            online = None
            if settings.weather_online:
                online = await stack.enter_async_context(OpenMeteo(
                    settings.open_meteo_geocoding_url, settings.open_meteo_forecast_url,
                    settings.open_meteo_climate_url))
            yield WeatherService(OfflineClimate(catalog), online, date.today, catalog.local_name).handle
        return
    async with contextlib.AsyncExitStack() as stack:
        model = await stack.enter_async_context(chat_model(settings, settings.bailian_travel_app_id, agent="travel"))
        llm = LLMPlanner(model) if model is not None else None
        yield TravelService(OfflinePlanner(catalog), llm).handle


@contextlib.asynccontextmanager
async def agent_processes(kinds: list[AgentKind], endpoint: str, log_dir: Path,
                          module: str = "bot") -> AsyncIterator[None]:
    """Each agent as its own ``tourguide agent KIND`` process; stopped with SIGTERM on exit.

    ``module`` is what runs as ``python -m MODULE agent KIND`` (benchmarks run agents through their own).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for kind in kinds:
            procs.append(await _spawn_agent(kind, endpoint, log_dir / f"agent-{kind}.log", module))
        yield
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 15)
            if proc.returncode is None:
                proc.kill()


async def _spawn_agent(kind: AgentKind, endpoint: str, log_file: Path, module: str) -> asyncio.subprocess.Process:
    """Start one agent process; one more try when the first dies before it is ready.

    A start can die in native code (seen once under heavy load: a segfault in grpcio's event engine
    thread while the client connected); the work it would do waits in the broker, so a second start is
    the supervisor's job, as it would be systemd's. Two failures in a row are an error.
    """
    try:
        return await _spawn_agent_once(kind, endpoint, log_file, module)
    except BusError as first:
        log.warning("%s; starting it again", first)
        return await _spawn_agent_once(kind, endpoint, log_file, module)


async def _spawn_agent_once(kind: AgentKind, endpoint: str, log_file: Path,
                            module: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "TOURGUIDE_ROCKETMQ_ENDPOINT": endpoint, "PYTHONUNBUFFERED": "1"}
    with log_file.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, "agent", kind, env=env, stdout=asyncio.subprocess.PIPE, stderr=sink,
        )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
    except TimeoutError:
        line = b""
    if b"ready" not in line:
        if proc.returncode is None:
            proc.kill()
        code = await proc.wait()
        raise BusError(f"the {kind} agent did not start (exit code {code}); see {log_file}")
    return proc
