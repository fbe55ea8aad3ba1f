"""The ``tourguide`` command line: parses options, configures logging, loads the settings once and hands
over to the composition root (:mod:`bot.wiring`). A new command is a click function calling one ``run_*``."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from bot import grpc_env, loop
from bot.broker.errors import BrokerError as EmbeddedBrokerError
from bot.errors import TourGuideError
from bot.logs import configure
from bot.ops.cli import METRICS_PORT_HELP, ops_commands, with_metrics_port
from bot.realbroker.cli import rocketmq
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.runtime import AgentKind, AgentMode


async def _with_roomy_executor(coro: Coroutine[Any, Any, int | None]) -> int | None:
    # Blocking SDK calls (client start-up, shutdown, lite subscriptions, terminal input) go through
    # asyncio.to_thread; the default pool (cores + 4 threads) is small enough for them to queue up.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="io"))
    return await coro


def _run(coro: Coroutine[Any, Any, int | None]) -> None:
    try:
        code = loop.run(_with_roomy_executor(coro)) or 0
    except (TourGuideError, EmbeddedBrokerError) as exc:  # the embedded broker has its own errors
        click.echo(f"error: {exc}", err=True)
        code = 2
    except KeyboardInterrupt:
        code = 130
    _exit(code)


def _exit(code: int) -> None:
    """Leave without the interpreter's finalization, once everything of ours is closed.

    What is left running then is gRPC's native threads and the RocketMQ client's. One of gRPC's threads calling
    into Python while the interpreter was being torn down crashed a `tourguide ask` that had already answered
    (SIGSEGV in PyThreadState_New, once in a full test run); and the 5.1.2 client can leave threads retrying
    acks against an unreachable broker, for which the interpreter would wait forever. What the exit-time hooks
    would have done for us is done here: buffered spans sent, logs and output flushed.
    """
    from bot import tracing
    from bot.bus.client import abandoned_client_threads

    tracing.shutdown()

    if stuck := abandoned_client_threads():
        logging.getLogger("tourguide").warning("exiting past %d stuck client threads", len(stuck))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _with_settings(command: Callable[[Settings], Coroutine[Any, Any, int | None]]) -> None:
    """Load the settings once (exit 2 naming every invalid variable) and run ``command`` on them."""
    try:
        settings = load_settings()
    except TourGuideError as exc:
        click.echo(f"error: {exc}", err=True)
        _exit(2)
        return
    _run(command(settings))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tourguide")
@click.option("--log-level", default=None, help=(
              "DEBUG, INFO, WARNING or ERROR  [default: INFO; WARNING for chat, ask and bench, whose output is "
              "the answer or the figures]"))
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.pass_context
def main(ctx: click.Context, log_level: str | None, log_json: bool) -> None:
    """tourguide: an AI tour-guide chat bot whose agents talk over RocketMQ 5.

    With no configuration everything runs locally: an embedded RocketMQ broker, an offline
    planner and offline weather. Set DASHSCOPE_API_KEY / OPENAI_BASE_URL for an LLM,
    TOURGUIDE_WEATHER_ONLINE=1 for live forecasts, TOURGUIDE_ROCKETMQ_ENDPOINT for a real cluster.
    """
    # Everything we write (SQLite files, WAL, logs, the broker's store) holds conversations: owner only.
    os.umask(0o077)
    # Read when gRPC first starts, so before any client does, and inherited by the processes started here.
    grpc_env.apply()
    # chat and ask print the answer; bench prints figures, and its agents and broker log at WARNING too, as the
    # synchronous design it is compared with logs nothing per call.
    quiet = ctx.invoked_subcommand in ("chat", "ask", "bench")
    configure(log_level or ("WARNING" if quiet else "INFO"), json_lines=log_json)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8081, show_default=True, type=int, help="gRPC port (0 = any free port).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data directory for the SQLite store [default: $TOURGUIDE_DATA_DIR/broker].")
@click.option("--auto-create", is_flag=True, help="Create unknown topics and groups on first use (dev mode).")
@click.option("--lenient", is_flag=True, help="Do not enforce the proxy's batch / invisible-time limits.")
@click.option("--auth", "auth_pairs", multiple=True, metavar="AK:SK",
              help="Require this access key / secret key (repeatable); off when not given.")
@click.option("--metrics-port", type=int, default=None, help=METRICS_PORT_HELP)
def broker(host: str, port: int, data_dir: Path | None, auto_create: bool, lenient: bool,
           auth_pairs: tuple[str, ...], metrics_port: int | None) -> None:
    """Run the embedded RocketMQ 5 broker in the foreground (Ctrl-C or SIGTERM stops it).

    The project's topics and groups (see `tourguide topics list`) are created at start. With a metrics port,
    `tourguide_broker_rpcs_total` counts the calls received, by method.
    """
    from bot.broker_command import run_broker

    _with_settings(lambda settings: run_broker(with_metrics_port(settings, metrics_port), host, port, data_dir,
                                               auto_create=auto_create, strict=not lenient, auth_pairs=auth_pairs))


@main.group()
def topics() -> None:
    """The project's RocketMQ topics and consumer groups."""


@topics.command("list")
def topics_list() -> None:
    """Show the declared topics and groups."""
    from bot.resources import GROUPS, TOPICS

    for t in TOPICS:
        ttl = f" lite TTL {t.lite_ttl_minutes} min" if t.kind == "LITE" else ""
        click.echo(f"topic  {t.name:<34} {t.kind:<8} queues={t.queues}{ttl}")
    for g in GROUPS:
        mode = "LITE_SELECTIVE" if g.lite else ("FIFO" if g.fifo else "concurrent")
        click.echo(f"group  {g.name:<34} reads {g.reads} ({mode}, max attempts {g.max_attempts})")


@topics.command("apply")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Embedded broker data directory [default: $TOURGUIDE_DATA_DIR/broker].")
def topics_apply(data_dir: Path | None) -> None:
    """Create or update the declared topics and groups in the embedded broker's store.

    Run it while the broker is stopped (the broker also applies them itself at start).
    """
    from bot.wiring import apply_topics

    _with_settings(lambda settings: apply_topics(settings, data_dir))


@topics.command("mqadmin")
@click.option("--cluster", default="DefaultCluster", show_default=True)
@click.option("--namespace", default="")
def topics_mqadmin(cluster: str, namespace: str) -> None:
    """Print mqadmin commands that create the same resources on Apache RocketMQ 5.5+."""
    from bot.resources import mqadmin_commands

    for line in mqadmin_commands(cluster, namespace):
        click.echo(line)


@main.group()
def bench() -> None:
    """Benchmarks: print figures measured on this machine."""


@bench.command("broker")
@click.option("--messages", default=3000, show_default=True, help="Messages for the throughput run.")
@click.option("--lite-topics", default=10_000, show_default=True, help="Lite topics for the scale run.")
@click.option("--endpoint", default=None, metavar="HOST:PORT",
              help="Measure this broker instead (it must have BenchTopic, BenchLite, GID_bench, GID_bench_lite).")
@click.option("--with-apache", is_flag=True,
              help="Also start Apache RocketMQ 5.5 (Java + Maven) and print both side by side.")
def bench_broker(messages: int, lite_topics: int, endpoint: str | None, with_apache: bool) -> None:
    """Official client against a broker: throughput, hop latency, lite-topic scale."""
    from benchmarks.broker import run

    _run(run(messages, lite_topics, endpoint, with_apache))


_AGENTS_HELP = ("Where the Weather and Travel agents run: as child processes (process) or as tasks inside "
                "this process (inline, faster to start).")


@main.command("agent")
@click.argument("kind", type=click.Choice(["weather", "travel"]))
@click.option("--metrics-port", type=int, default=None, help=METRICS_PORT_HELP)
def agent_cmd(kind: str, metrics_port: int | None) -> None:
    """Run one worker agent (scale out by starting more: they share a consumer group)."""
    from bot.wiring import run_agent

    _with_settings(lambda settings: run_agent(with_metrics_port(settings, metrics_port), cast("AgentKind", kind)))


@main.command("supervisor")
@click.option("--with-agents", is_flag=True, help="Also run both agents in this process.")
@click.option("--metrics-port", type=int, default=None, help=METRICS_PORT_HELP)
def supervisor_cmd(with_agents: bool, metrics_port: int | None) -> None:
    """Run the Supervisor: resumes unfinished sessions and runs new ones from the database."""
    from bot.wiring import run_supervisor

    _with_settings(lambda settings: run_supervisor(with_metrics_port(settings, metrics_port), with_agents))


@main.command("ask")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of Markdown.")
@click.option("--now", default=None, metavar="ISO-8601", help="Fix the clock, e.g. 2026-11-23T09:00:00+08:00.")
@click.option("--agents", type=click.Choice(["process", "inline"]), default="process", show_default=True,
              help=_AGENTS_HELP)
def ask_cmd(text: str, as_json: bool, now: str | None, agents: str) -> None:
    """Plan one request and exit: 0 = answered, 3 = needs more detail, 1 = failed.

    Example: tourguide ask "帮我做一个下周三到下周日杭州周边自驾游方案"
    """
    from bot.wiring import run_ask

    _with_settings(lambda settings: run_ask(settings, text, as_json, now, cast("AgentMode", agents)))


@main.command("chat")
@click.option("--now", default=None, metavar="ISO-8601", help="Fix the clock for reproducible answers.")
@click.option("--agents", type=click.Choice(["process", "inline"]), default="process", show_default=True,
              help=_AGENTS_HELP)
def chat_cmd(now: str | None, agents: str) -> None:
    """Chat in the terminal (prompt `You >`); follow-ups like “改成3天” amend the last plan."""
    from bot.wiring import run_chat

    _with_settings(lambda settings: run_chat(settings, now, cast("AgentMode", agents)))


@bench.command("pipeline")
@click.option("--sessions", default=20, show_default=True, help="Sessions submitted at once.")
@click.option("--agent-latency", default=1.0, show_default=True, help="Simulated LLM seconds per agent step.")
@click.option("--agent-concurrency", default=4, show_default=True, help="Steps each agent runs at once.")
@click.option("--endpoint", default=None, metavar="HOST:PORT",
              help="Run on this broker instead (provisioned with `tourguide topics mqadmin`).")
@click.option("--with-apache", is_flag=True,
              help="Also run on Apache RocketMQ 5.5 (started here; Java + Maven) and print both.")
@click.option("--broker", "broker_topology", type=click.Choice(["process", "inline"]), default="process",
              show_default=True, help="The embedded broker in its own process or inside the Supervisor's.")
@click.option("--baseline", type=click.Choice(["sync"]), default=None,
              help="Also run the burst through a synchronous design (the Supervisor calling HTTP agents).")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Run every design this many times, taking turns, and report each one's median round.")
def bench_pipeline(sessions: int, agent_latency: float, agent_concurrency: int, endpoint: str | None,
                   with_apache: bool, broker_topology: str, baseline: str | None, rounds: int) -> None:
    """N sessions through the real agents (separate processes): makespan vs ideal, session times, CPU, RSS."""
    from benchmarks.pipeline import run

    _run(run(sessions, agent_latency, agent_concurrency, endpoint, with_apache, broker_topology, baseline, rounds))


@main.command("bot")
@click.option("--with-agents", is_flag=True, help="Also run the Weather and Travel agents in this process.")
@click.option("--metrics-port", type=int, default=None, help=METRICS_PORT_HELP)
def bot_cmd(with_agents: bool, metrics_port: int | None) -> None:
    """Run the chat bot: the Supervisor plus every adapter whose credentials are set.

    Slack: SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode,
    TOURGUIDE_SLACK_HTTP_PORT). DingTalk: DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET (Stream mode).
    Exits 2 with a hint when none is configured.
    """
    from bot.wiring import run_bot

    _with_settings(lambda settings: run_bot(with_metrics_port(settings, metrics_port), with_agents))


@main.command("trace")
@click.argument("task_id")
def trace_cmd(task_id: str) -> None:
    """Show every hop of one request (session, steps published, results, answer delivered)."""
    from bot.wiring import run_trace

    _with_settings(lambda settings: run_trace(settings, task_id))


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="HTTP port (0 = any free port).")
@click.option("--with-agents", is_flag=True, help="Also run the Weather and Travel agents in this process.")
def web_cmd(host: str, port: int, with_agents: bool) -> None:
    """Serve the web page: chat with live progress, day cards with weather, each task's message trace.

    TOURGUIDE_WEB_TOKEN makes every browser present an access token once (open /?token=...);
    TOURGUIDE_WEB_ADMIN_TOKEN lets its holder see every task's trace (a browser sees only its own).
    """
    from bot.web_cli import run_web

    _with_settings(lambda settings: run_web(settings, host, port, with_agents))


@bench.command("web")
@click.option("--clients", default=300, show_default=True, help="Browsers, each with an SSE stream and one request.")
@click.option("--agent-latency", default=1.0, show_default=True, help="Simulated model seconds per agent step.")
def bench_web(clients: int, agent_latency: float) -> None:
    """N concurrent SSE clients each running one request: all complete, p99 time to first progress, RSS."""
    from benchmarks.web import run

    _with_settings(lambda settings: run(settings, clients, agent_latency))


@bench.command("priority")
@click.option("--low", default=500, show_default=True, help="Low-priority steps queued before consumers start.")
@click.option("--high", default=50, show_default=True, help="High-priority steps arriving while they drain.")
@click.option("--step", "step_s", default=0.05, show_default=True, help="Simulated seconds per step.")
@click.option("--concurrency", default=4, show_default=True, help="Steps run at once.")
def bench_priority(low: int, high: int, step_s: float, concurrency: int) -> None:
    """Wait before start, p50/p99, of high- and low-priority steps behind a backlog: PRIORITY vs NORMAL topic."""
    from benchmarks.priority import run

    _run(run(low, high, step_s, concurrency))


@bench.command("plans")
def bench_plans() -> None:
    """Plan quality: the offline planner on every built-in destination, checked rule by rule."""
    from benchmarks.plans import run

    sys.exit(run())


main.add_command(rocketmq)
for _command in ops_commands(_with_settings):  # status, dlq
    main.add_command(_command)
