"""The operator commands: ``tourguide status`` and ``tourguide dlq list|show|replay``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.settings import Settings


async def run_status(settings: Settings, broker_data: Path | None) -> int:
    """Print the status table once."""
    from bot.ops.status import collect, render

    print(render(await collect(settings, broker_data=broker_data)))
    return 0


async def run_dlq_list(settings: Settings, task_id: str | None, show: bool) -> int:
    """Print the dead letters (all, or one task's)."""
    from bot.bus import BusConfig
    from bot.ops.dlq import list_dead_letters
    from bot.ops.endpoint import operator_endpoint

    async with operator_endpoint(settings) as endpoint:
        bus = BusConfig(endpoint, settings.rocketmq_access_key, settings.rocketmq_secret_key.get_secret_value(),
                        settings.rocketmq_namespace)
        letters = [d for d in await list_dead_letters(bus) if task_id is None or d.task_id == task_id]
    for letter in letters:
        print(letter.line())
        if show:
            print(f"  group {letter.group}  tag {letter.tag}\n  {letter.body.decode(errors='replace')}")
    if not letters:
        print("no dead letters" + (f" for {task_id}" if task_id else ""))
    return 0 if letters or task_id is None else 1


async def run_dlq_replay(settings: Settings, task_id: str | None) -> int:
    """Replay dead letters; exit 1 when one was refused."""
    from agents.supervisor.priority import PriorityPolicy, parse_rules
    from bot.bus import BusConfig
    from bot.ops.dlq import replay
    from bot.ops.endpoint import operator_endpoint
    from storage.database import Database
    from storage.sessions import SessionStore

    policy = PriorityPolicy(parse_rules(settings.priority_rules))
    async with (
        operator_endpoint(settings) as endpoint,
        Database(settings.data_dir / "tourguide.sqlite3") as db,
    ):
        bus = BusConfig(endpoint, settings.rocketmq_access_key, settings.rocketmq_secret_key.get_secret_value(),
                        settings.rocketmq_namespace)
        outcomes = await replay(bus, SessionStore(db).get, policy.level, task_id=task_id)
    for outcome in outcomes:
        print(f"{outcome.letter.line()}  {'replayed' if outcome.sent else 'refused: ' + outcome.reason}")
    if not outcomes:
        print("no dead letters" + (f" for {task_id}" if task_id else ""))
    return 1 if any(not o.sent for o in outcomes) else 0


WithSettings = Callable[[Callable[["Settings"], Coroutine[Any, Any, int | None]]], None]


def ops_commands(with_settings: WithSettings) -> list[click.Command]:
    """``status`` and ``dlq``, running through ``with_settings`` (bot.cli's: settings loaded once, errors as
    exit codes); handed over rather than imported, so that this module does not import bot.cli back."""

    @click.command("status")
    @click.option("--broker-data", type=click.Path(path_type=Path), default=None,
                  help="The embedded broker's data directory [default: $TOURGUIDE_DATA_DIR/broker].")
    def status_cmd(broker_data: Path | None) -> None:
        """Backlog, in flight, retrying, dead letters and oldest message per topic and group; sessions running
        and answers unsent. Apache RocketMQ: set TOURGUIDE_ROCKETMQ_NAMESRV (and MQADMIN for its mqadmin)."""
        with_settings(lambda settings: run_status(settings, broker_data))

    @click.group("dlq")
    def dlq() -> None:
        """Task messages the agents gave up on (dead letters): inspect them, send them back after a fix."""

    @dlq.command("list")
    def dlq_list() -> None:
        """One line per dead letter: task, step, topic, message ID."""
        with_settings(lambda settings: run_dlq_list(settings, None, show=False))

    @dlq.command("show")
    @click.argument("task_id")
    def dlq_show(task_id: str) -> None:
        """A task's dead letters with their bodies."""
        with_settings(lambda settings: run_dlq_list(settings, task_id, show=True))

    @dlq.command("replay")
    @click.option("--task", "task_id", default=None, metavar="ID", help="Only this task's dead letters.")
    @click.option("--all", "everything", is_flag=True, help="Every dead letter.")
    def dlq_replay(task_id: str | None, everything: bool) -> None:
        """Publish dead letters back to their task topic. Refused (and kept) when the session has ended or the
        step already has a result."""
        if (task_id is None) == (not everything):
            raise click.UsageError("give --task ID or --all")
        with_settings(lambda settings: run_dlq_replay(settings, task_id))

    return [status_cmd, dlq]


METRICS_PORT_HELP = "Serve Prometheus metrics on this port [default: $TOURGUIDE_METRICS_PORT, 0 = off]."


def with_metrics_port(settings: Settings, port: int | None) -> Settings:
    """``settings`` with ``--metrics-port`` applied, when it was given."""
    return settings if port is None else settings.model_copy(update={"metrics_port": port})
