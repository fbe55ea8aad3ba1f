"""The composition root: the one place that builds implementations and wires them together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.broker.config import BrokerConfig
from bot.broker.provision import provision_store
from bot.broker.server import EmbeddedBroker
from bot.provisioning import broker_groups, broker_topics
from bot.settings import load_settings

log = logging.getLogger("tourguide")


def _broker_dir(data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else load_settings().data_dir / "broker"


def _parse_auth(pairs: tuple[str, ...]) -> dict[str, str]:
    auth = {}
    for pair in pairs:
        ak, _, sk = pair.partition(":")
        auth[ak] = sk
    return auth


async def run_broker(
    host: str, port: int, data_dir: Path | None, *, auto_create: bool, strict: bool, auth_pairs: tuple[str, ...]
) -> int:
    """``tourguide broker``: serve until SIGTERM / SIGINT."""
    from bot.cli import wait_for_stop_signal

    config = BrokerConfig(
        host=host, port=port, data_dir=_broker_dir(data_dir), auto_create=auto_create, strict=strict,
        auth=_parse_auth(auth_pairs),
    )
    async with EmbeddedBroker(config) as broker:
        await provision_broker(broker)
        print(f"tourguide broker listening on {broker.endpoint}", flush=True)
        await wait_for_stop_signal()
    return 0


async def provision_broker(broker: EmbeddedBroker, namespace: str = "") -> None:
    """Create the declared topics and groups on a running embedded broker."""
    await broker.provision(broker_topics(), broker_groups(), namespace)


async def apply_topics(data_dir: Path | None) -> int:
    """``tourguide topics apply``: write the declared resources into the broker's store."""
    path = _broker_dir(data_dir)
    topics, groups = broker_topics(), broker_groups()
    await provision_store(path, topics, groups)
    print(f"applied {len(topics)} topics and {len(groups)} groups to {path}")
    return 0


def _settings_clock(now: str | None) -> Callable[[], datetime]:
    """A fixed clock for ``--now`` (reproducible runs), else the current time in the configured zone."""
    settings = load_settings()
    if now:
        fixed = datetime.fromisoformat(now)
        if fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=ZoneInfo(settings.timezone))
        return lambda: fixed
    zone = ZoneInfo(settings.timezone)
    return lambda: datetime.now(zone)


async def run_agent(kind: str) -> int:
    """``tourguide agent weather|travel``: one worker agent until SIGTERM / SIGINT."""
    from bot.cli import wait_for_stop_signal
    from bot.runtime import agent, broker_endpoint, bus_config

    settings = load_settings()
    async with broker_endpoint(settings) as endpoint, agent(kind, settings, bus_config(settings, endpoint)):  # type: ignore[arg-type]
        log.info("%s agent consuming from %s", kind, endpoint)
        print("ready", flush=True)
        await wait_for_stop_signal()
    return 0


async def run_supervisor(with_agents: bool) -> int:
    """``tourguide supervisor``: resume and run sessions created by any front end on this database."""
    from bot.cli import wait_for_stop_signal
    from bot.runtime import pipeline

    settings = load_settings()
    async with pipeline(settings, agents="inline" if with_agents else "none", clock=_settings_clock(None)) as p:
        log.info("supervisor running on %s", p.endpoint)
        print("ready", flush=True)
        await wait_for_stop_signal()
    return 0


async def run_ask(text: str, as_json: bool, now: str | None, agents: str) -> int:
    """``tourguide ask``: one request through the whole pipeline."""
    from adapters.cli import ask_once
    from bot.runtime import pipeline

    settings = load_settings()
    async with pipeline(settings, agents=agents, clock=_settings_clock(now)) as p:  # type: ignore[arg-type]
        return await ask_once(p, text, as_json=as_json, timeout_s=2 * settings.step_timeout_s + 30)


async def run_chat(now: str | None, agents: str) -> int:
    """``tourguide chat``: the interactive terminal."""
    from adapters.cli import chat_loop
    from bot.runtime import pipeline

    settings = load_settings()
    async with pipeline(settings, agents=agents, clock=_settings_clock(now)) as p:  # type: ignore[arg-type]
        return await chat_loop(p, timeout_s=2 * settings.step_timeout_s + 30)


async def run_trace(task_id: str) -> int:
    """``tourguide trace TASK_ID``: every recorded hop of one request, oldest first."""
    from storage.database import Database
    from storage.sessions import SessionStore

    settings = load_settings()
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
