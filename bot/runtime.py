"""Builds the running pieces from settings: broker endpoint, agents, Supervisor, intake.

Part of the composition root (with :mod:`bot.app`): the only place that chooses implementations.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from agents.knowledge.catalog import Catalog
from agents.llm import ChatModel
from agents.supervisor.intake import Intake, RateLimiter
from agents.supervisor.service import Supervisor
from agents.tools.climate import OfflineClimate
from agents.tools.open_meteo import OpenMeteo
from agents.travel.llm_planner import LLMPlanner
from agents.travel.offline_planner import OfflinePlanner
from agents.travel.service import TravelService
from agents.understanding import AliasIndex
from agents.weather.service import WeatherService
from agents.worker import StepHandler, Worker
from bot.broker.config import BrokerConfig
from bot.broker.server import EmbeddedBroker
from bot.bus import BusConfig, LiteSubscriber, Publisher, TaskConsumer
from bot.errors import BusError
from bot.resources import (
    GROUPS,
    RESPONSE_GROUP,
    RESPONSE_TOPIC,
    TRAVEL_GROUP,
    TRAVEL_TASK_TOPIC,
    WEATHER_GROUP,
    WEATHER_TASK_TOPIC,
)
from bot.settings import Settings
from bot.wire import StepKind
from storage.database import Database
from storage.outbox import Outbox
from storage.retention import DAY_S, Retention
from storage.sessions import SessionStore

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
    from bot.app import provision_broker

    config = BrokerConfig(port=0, data_dir=settings.data_dir / "broker")
    async with EmbeddedBroker(config) as broker:
        await provision_broker(broker, settings.rocketmq_namespace)
        yield broker.endpoint


def _max_attempts(group: str) -> int:
    return next(g.max_attempts for g in GROUPS if g.name == group)


@contextlib.asynccontextmanager
async def agent(kind: AgentKind, settings: Settings, bus: BusConfig) -> AsyncIterator[None]:
    """One worker agent consuming its task topic until the block exits."""
    topic, group = _AGENT_TOPICS[kind]
    async with contextlib.AsyncExitStack() as stack:
        publisher = await stack.enter_async_context(Publisher(bus, [RESPONSE_TOPIC]))
        handler = await stack.enter_async_context(_agent_handler(kind, settings))
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
            yield WeatherService(OfflineClimate(catalog), online, date.today, settings.simulated_llm_latency_s,
                                 catalog.local_name).handle
        return
    async with contextlib.AsyncExitStack() as stack:
        model = await stack.enter_async_context(chat_model(settings, settings.bailian_travel_app_id))
        llm = LLMPlanner(model) if model is not None else None
        yield TravelService(OfflinePlanner(catalog), llm, settings.simulated_llm_latency_s).handle


@contextlib.asynccontextmanager
async def chat_model(settings: Settings, bailian_app_id: str = "") -> AsyncIterator[ChatModel | None]:
    """The configured LLM: a Bailian app by ID, DashScope Qwen, an OpenAI-compatible endpoint, or None
    (the offline planner)."""
    from agents.llm import RetryPolicy

    provider = settings.llm_provider
    dashscope_key = settings.dashscope_api_key.get_secret_value()
    retry = RetryPolicy(max_attempts=settings.llm_max_attempts)
    if provider in ("auto", "dashscope") and dashscope_key and bailian_app_id:
        from agents.llm import BailianApp
        from agents.llm.bailian import BailianChat

        async with BailianApp(dashscope_key, bailian_app_id, settings.dashscope_base_url,
                              timeout_s=settings.llm_timeout_s, retry=retry) as app:
            yield BailianChat(app)
    elif provider in ("auto", "dashscope") and dashscope_key:
        from agents.llm import DashScopeChat

        async with DashScopeChat(dashscope_key, settings.dashscope_model, settings.dashscope_base_url,
                                 timeout_s=settings.llm_timeout_s, retry=retry) as model:
            yield model
    elif provider in ("auto", "openai") and settings.openai_base_url:
        from agents.llm import OpenAICompatChat

        async with OpenAICompatChat(settings.openai_base_url, settings.openai_api_key.get_secret_value(),
                                    settings.openai_model, timeout_s=settings.llm_timeout_s, retry=retry) as model:
            yield model
    else:
        yield None


@contextlib.asynccontextmanager
async def agent_processes(kinds: list[AgentKind], endpoint: str, log_dir: Path) -> AsyncIterator[None]:
    """Each agent as its own ``tourguide agent KIND`` process; stopped with SIGTERM on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for kind in kinds:
            procs.append(await _spawn_agent(kind, endpoint, log_dir / f"agent-{kind}.log"))
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


async def _spawn_agent(kind: AgentKind, endpoint: str, log_file: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "TOURGUIDE_ROCKETMQ_ENDPOINT": endpoint, "PYTHONUNBUFFERED": "1"}
    with log_file.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "agent", kind, env=env, stdout=asyncio.subprocess.PIPE, stderr=sink,
        )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
    except TimeoutError:
        line = b""
    if b"ready" not in line:
        proc.kill()
        raise BusError(f"the {kind} agent did not start; see {log_file}")
    return proc


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What front ends use: submit through the intake, read answers from the outbox."""

    intake: Intake
    outbox: Outbox
    sessions: SessionStore
    supervisor: Supervisor
    endpoint: str


@contextlib.asynccontextmanager
async def pipeline(settings: Settings, *, agents: AgentMode, clock: Callable[[], datetime]) -> AsyncIterator[Pipeline]:
    """Broker endpoint, agents, database, Supervisor and intake, all closed in reverse order."""
    async with contextlib.AsyncExitStack() as stack:
        endpoint = await stack.enter_async_context(broker_endpoint(settings))
        bus = bus_config(settings, endpoint)
        if agents == "process":
            logs = settings.data_dir / "logs"
            await stack.enter_async_context(agent_processes(["weather", "travel"], endpoint, logs))
        elif agents == "inline":
            await stack.enter_async_context(agent("weather", settings, bus))
            await stack.enter_async_context(agent("travel", settings, bus))
        db = await stack.enter_async_context(Database(settings.data_dir / "tourguide.sqlite3"))
        if settings.retention_days > 0:
            await stack.enter_async_context(Retention(db, settings.retention_days * DAY_S))
        store, outbox = SessionStore(db), Outbox(db)
        publisher = await stack.enter_async_context(Publisher(bus, list(TASK_TOPICS.values())))
        supervisor = await stack.enter_async_context(Supervisor(
            store, outbox, publisher, lambda handler: LiteSubscriber(bus, RESPONSE_TOPIC, RESPONSE_GROUP, handler),
            TASK_TOPICS, step_timeout_s=settings.step_timeout_s, slow_after_s=settings.slow_step_notice_s,
        ))
        catalog = Catalog.load()
        places = AliasIndex(catalog.aliases())
        # With an LLM configured, requests are read with structured extraction (dates still resolved by us).
        model = await stack.enter_async_context(chat_model(settings))
        understander = None
        if model is not None:
            from agents.understanding.llm_extract import LLMUnderstanding

            understander = functools.partial(LLMUnderstanding(model, places).understand,
                                             max_chars=settings.max_request_chars)
        intake = Intake(store, outbox, supervisor.start, places, clock,
                        max_chars=settings.max_request_chars, limiter=RateLimiter(settings.user_rate_per_minute),
                        local_name=catalog.local_name, understander=understander)
        await intake.recover()  # events acked before a crash cut off their processing
        yield Pipeline(intake, outbox, store, supervisor, endpoint)
