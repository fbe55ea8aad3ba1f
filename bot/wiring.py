"""The composition root: the one place that chooses implementations and connects them.

It builds the broker endpoint, the agents, the database, the Supervisor and the intake
(:func:`pipeline`), then runs chat adapters on it (:func:`chat_services`, :func:`terminal`): for each
adapter, its outbox sender (answers out) and its progress listener. Chat platforms come from
:data:`PLATFORMS`, one line each; a platform's folder under ``adapters/`` holds everything else. The
``tourguide`` commands (``run_*``) are here too, except ``tourguide broker`` (:mod:`bot.broker_command`,
which needs none of this); :mod:`bot.cli` only parses options and loads the settings once. Everything is
owned by ``AsyncExitStack`` s and closed in reverse order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import sys
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import adapters.dingtalk
import adapters.slack
import adapters.web
from adapters.terminal.adapter import TerminalAdapter
from adapters.terminal.chat import ask_once, chat_loop, readable
from agents.knowledge.catalog import Catalog
from agents.llm.providers import chat_model
from agents.supervisor.intake import Intake, RateLimiter
from agents.supervisor.priority import PriorityPolicy, parse_rules
from agents.supervisor.service import Supervisor
from agents.understanding import AliasIndex
from agents.understanding.llm_extract import LLMUnderstanding
from agents.worker import StepHandler
from bot.broker.provision import provision_store
from bot.bus import LiteSubscriber, Publisher, hops
from bot.delivery import OutboxSender
from bot.ops.gauges import metrics_endpoint
from bot.ports import AnyPlatform, ChatAdapter, Traces
from bot.provisioning import broker_groups, broker_topics
from bot.resources import RESPONSE_GROUP, RESPONSE_TOPIC
from bot.retry import DELIVERY_RETRY, RetryPolicy
from bot.runtime import (
    TASK_TOPICS,
    AgentKind,
    AgentMode,
    agent,
    agent_processes,
    broker_endpoint,
    bus_config,
)
from bot.settings import Settings
from bot.signals import wait_for_stop_signal
from storage.database import Database
from storage.outbox import Outbox
from storage.retention import DAY_S, Retention
from storage.sessions import SessionStore
from storage.traces import FeedbackLog, TraceIndex, TraceWriter

log = logging.getLogger("tourguide")



@contextlib.asynccontextmanager
async def trace_store(data_dir: Path) -> AsyncIterator[TraceIndex]:
    """The core database's trace rows on a connection of their own (the web page's trace view)."""
    async with Database(data_dir / "tourguide.sqlite3") as db:
        yield TraceIndex(db)


@contextlib.asynccontextmanager
async def feedback_store(data_dir: Path) -> AsyncIterator[FeedbackLog]:
    """Answer feedback (Slack's thumbs up/down) as trace rows of the core database, on a connection of its own."""
    async with Database(data_dir / "tourguide.sqlite3") as db:
        yield FeedbackLog(db)


PLATFORMS: dict[str, AnyPlatform] = {
    "slack": adapters.slack.platform(feedback_store),
    "dingtalk": adapters.dingtalk.PLATFORM,
    "web": adapters.web.platform(trace_store),
}

HINT = ("no chat platform is configured. Set the variables of at least one:\n"
        + "\n".join(p.hint for p in PLATFORMS.values())
        + "\nTry `tourguide chat` for the terminal front end, which needs none of these.")


# -- the core ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The running core: the intake (requests in), the stores, the Supervisor, the broker endpoint."""

    intake: Intake
    outbox: Outbox
    sessions: SessionStore
    supervisor: Supervisor
    endpoint: str
    traces: Traces  # read-only: the hops of a request (the terminal's /trace)


@contextlib.asynccontextmanager
async def pipeline(settings: Settings, *, agents: AgentMode, clock: Callable[[], datetime],
                   wrap: Callable[[StepHandler], StepHandler] | None = None) -> AsyncIterator[Pipeline]:
    """Broker endpoint, agents, database, Supervisor and intake, all closed in reverse order.

    ``wrap`` decorates the step handlers of inline agents (see :func:`bot.runtime.agent`).
    """
    async with contextlib.AsyncExitStack() as stack:
        endpoint = await stack.enter_async_context(broker_endpoint(settings))
        bus = bus_config(settings, endpoint)
        if agents == "process":
            logs = settings.data_dir / "logs"
            await stack.enter_async_context(agent_processes(["weather", "travel"], endpoint, logs))
        elif agents == "inline":
            await stack.enter_async_context(agent("weather", settings, bus, wrap=wrap))
            await stack.enter_async_context(agent("travel", settings, bus, wrap=wrap))
        db = await stack.enter_async_context(Database(settings.data_dir / "tourguide.sqlite3"))
        # What the bus clients do with each message (published, delivered, acked...) joins the task's trace.
        writer = await stack.enter_async_context(TraceWriter(db))
        stack.enter_context(hops.observing(functools.partial(record_hop, writer)))
        if settings.retention_days > 0:
            await stack.enter_async_context(Retention(db, settings.retention_days * DAY_S))
        store, outbox = SessionStore(db), Outbox(db)
        publisher = await stack.enter_async_context(Publisher(bus, list(TASK_TOPICS.values())))
        supervisor = await stack.enter_async_context(Supervisor(
            store, publisher, lambda handler: LiteSubscriber(bus, RESPONSE_TOPIC, RESPONSE_GROUP, handler),
            TASK_TOPICS, step_timeout_s=settings.step_timeout_s, slow_after_s=settings.slow_step_notice_s,
            priority=PriorityPolicy(parse_rules(settings.priority_rules)), agent_capacity=settings.agent_concurrency,
        ))
        catalog = Catalog.load()
        places = AliasIndex(catalog.aliases())
        # With an LLM configured, requests are read with structured extraction (dates still resolved by us).
        model = await stack.enter_async_context(chat_model(settings))
        understander = None
        if model is not None:
            understander = functools.partial(LLMUnderstanding(model, places).understand,
                                             max_chars=settings.max_request_chars)
        intake = Intake(store, supervisor.run, places, clock,
                        max_chars=settings.max_request_chars, limiter=RateLimiter(settings.user_rate_per_minute),
                        local_name=catalog.local_name, understander=understander)
        await intake.recover()  # events acked before a crash cut off their processing
        yield Pipeline(intake, outbox, store, supervisor, endpoint, TraceIndex(db))


def record_hop(writer: TraceWriter, hop: hops.Hop) -> None:
    """A bus hop as a trace row of each task it belongs to (``bus:published``, ``bus:delivered``...)."""
    for task_id in hop.task_ids:
        writer.add(task_id, hop.at, f"bus:{hop.event}", hop.detail)


# -- chat adapters on the core ------------------------------------------------------------------------


@dataclass
class ChatServices:
    """The running chat adapters and their outbox senders, by platform."""

    adapters: dict[str, ChatAdapter] = field(default_factory=dict)
    senders: dict[str, OutboxSender] = field(default_factory=dict)

    @property
    def platforms(self) -> list[str]:
        """The platforms running."""
        return list(self.adapters)

    def url(self, platform: str) -> str:
        """Where a platform posts events to us (HTTP modes), else empty."""
        adapter = self.adapters.get(platform)
        return adapter.url if adapter is not None else ""


async def serve(stack: contextlib.AsyncExitStack, p: Pipeline, adapter: ChatAdapter, policy: RetryPolicy, *,
                channels: Callable[[], Collection[str]] | None = None) -> OutboxSender:
    """Run ``adapter`` on the core: started, told about progress, and given its answers by a sender.

    The sender is closed before the adapter (answers on the wire finish first).
    """
    await stack.enter_async_context(adapter)
    p.supervisor.add_listener(adapter.on_progress)
    return await stack.enter_async_context(OutboxSender(p.outbox, adapter, policy, channels=channels))


def load_platforms() -> dict[str, Any]:
    """Every registered platform's settings, read from the environment (ConfigError when invalid)."""
    return {name: platform.load() for name, platform in PLATFORMS.items()}


def configured_platforms(platform_settings: Mapping[str, Any]) -> list[str]:
    """The platforms whose credentials are set."""
    return [name for name, settings in platform_settings.items() if PLATFORMS[name].configured(settings)]


@contextlib.asynccontextmanager
async def chat_services(settings: Settings, p: Pipeline, platform_settings: Mapping[str, Any], *,
                        retry: RetryPolicy | None = None) -> AsyncIterator[ChatServices]:
    """Run the configured platforms' adapters and their outbox senders on ``p`` until the block exits."""
    policy = retry or dataclasses.replace(DELIVERY_RETRY, max_attempts=settings.outbox_max_attempts)
    services = ChatServices()
    async with contextlib.AsyncExitStack() as stack:
        for name in configured_platforms(platform_settings):
            adapter = PLATFORMS[name].build(platform_settings[name], p.intake, settings.data_dir)
            services.senders[name] = await serve(stack, p, adapter, policy)
            services.adapters[name] = adapter
        yield services


@contextlib.asynccontextmanager
async def terminal(p: Pipeline, progress_out: TextIO, *, answer_timeout_s: float,
                   retry: RetryPolicy | None = None) -> AsyncIterator[TerminalAdapter]:
    """A terminal conversation on ``p``: its answers are the rows of requests typed in it."""
    adapter = TerminalAdapter(p.intake, p.traces, progress_out, answer_timeout_s=answer_timeout_s)
    async with contextlib.AsyncExitStack() as stack:
        await serve(stack, p, adapter, retry or DELIVERY_RETRY, channels=adapter.conversations)
        yield adapter


# -- commands -----------------------------------------------------------------------------------------


def settings_clock(settings: Settings, now: str | None) -> Callable[[], datetime]:
    """A fixed clock for ``--now`` (reproducible runs), else the current time in the configured zone."""
    zone = ZoneInfo(settings.timezone)
    if now:
        fixed = datetime.fromisoformat(now)
        if fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=zone)
        return lambda: fixed
    return lambda: datetime.now(zone)


async def apply_topics(settings: Settings, data_dir: Path | None) -> int:
    """``tourguide topics apply``: write the declared resources into the broker's store."""
    path = data_dir or settings.data_dir / "broker"
    topics, groups = broker_topics(), broker_groups()
    await provision_store(path, topics, groups)
    print(f"applied {len(topics)} topics and {len(groups)} groups to {path}")
    return 0


async def run_agent(settings: Settings, kind: AgentKind) -> int:
    """``tourguide agent weather|travel``: one worker agent until SIGTERM / SIGINT."""
    async with (
        broker_endpoint(settings) as endpoint,
        agent(kind, settings, bus_config(settings, endpoint)),
        metrics_endpoint(settings),
    ):
        log.info("%s agent consuming from %s", kind, endpoint)
        print("ready", flush=True)
        await wait_for_stop_signal()
    return 0


async def run_supervisor(settings: Settings, with_agents: bool) -> int:
    """``tourguide supervisor``: resume and run sessions created by any front end on this database."""
    clock = settings_clock(settings, None)
    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=clock) as p,
        metrics_endpoint(settings),
    ):
        log.info("supervisor running on %s", p.endpoint)
        print("ready", flush=True)
        await wait_for_stop_signal()
    return 0


def _answer_timeout_s(settings: Settings) -> float:
    return 2 * settings.step_timeout_s + 30


async def run_ask(settings: Settings, text: str, as_json: bool, now: str | None, agents: AgentMode) -> int:
    """``tourguide ask``: one request through the whole pipeline; 2 for an argument that is not text."""
    if not readable(text):
        return 2
    async with (
        pipeline(settings, agents=agents, clock=settings_clock(settings, now)) as p,
        terminal(p, sys.stderr, answer_timeout_s=_answer_timeout_s(settings)) as term,
    ):
        return await ask_once(term, text, as_json=as_json)


async def run_chat(settings: Settings, now: str | None, agents: AgentMode) -> int:
    """``tourguide chat``: the interactive terminal."""
    async with (
        pipeline(settings, agents=agents, clock=settings_clock(settings, now)) as p,
        terminal(p, sys.stdout, answer_timeout_s=_answer_timeout_s(settings)) as term,
    ):
        return await chat_loop(term)


async def run_trace(settings: Settings, task_id: str) -> int:
    """``tourguide trace TASK_ID``: every recorded hop of one request, oldest first."""
    async with Database(settings.data_dir / "tourguide.sqlite3") as db:
        store = SessionStore(db)
        session = await store.get(task_id)
        if session is None:
            print(f"no task {task_id} in {settings.data_dir}")
            return 1
        ref = session.ref
        print(f"{task_id}  {session.status.value}  {ref.platform}:{ref.channel}:{ref.thread}  “{session.request.text}”")
        for step in session.steps:
            print(f"  step {step.step_id:<10} {step.kind.value:<8} {step.status.value:<8} {step.error}".rstrip())
        for at, hop, detail in await store.traces(task_id):
            stamp = datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]
            print(f"  {stamp}  {hop:<16} {detail}")
    return 0


async def run_bot(settings: Settings, with_agents: bool) -> int:
    """``tourguide bot``: serve until SIGTERM / SIGINT; 2 with a hint when no platform is configured."""
    platform_settings = load_platforms()
    if not configured_platforms(platform_settings):
        print(f"tourguide bot: {HINT}", file=sys.stderr)
        return 2
    clock = settings_clock(settings, None)
    async with (
        pipeline(settings, agents="inline" if with_agents else "none", clock=clock) as p,
        chat_services(settings, p, platform_settings) as services,
        metrics_endpoint(settings),
    ):
        urls = [f"{name} at {services.url(name)}" for name in services.platforms if services.url(name)]
        where = f" ({'; '.join(urls)})" if urls else ""
        print(f"tourguide bot ready: {', '.join(services.platforms)}{where}", flush=True)
        await wait_for_stop_signal()
    return 0
