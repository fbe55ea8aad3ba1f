"""``tourguide rocketmq ...``: run Apache RocketMQ 5.5 from Maven Central on this machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.errors import BrokerError
from bot.realbroker.admin import run_batch, run_one
from bot.realbroker.cluster import ApacheRocketMQ, ClusterState, alive
from bot.realbroker.maven import DEFAULT_VERSION, cache_root, resolve
from bot.resources import mqadmin_commands

_DIR_HELP = "Working folder: configs, store, logs and the state file (default: a folder in the cache)."


def _default_dir() -> Path:
    return cache_root() / "run"


def _fail(exc: BrokerError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group("rocketmq")
def rocketmq() -> None:
    """Run Apache RocketMQ 5.5 (NameServer, Broker, gRPC Proxy) on 127.0.0.1 from Maven Central.

    Needs Java 17 and Maven; the jars are downloaded once into ~/.cache/tourguide/rocketmq
    (TOURGUIDE_ROCKETMQ_CACHE). Point tourguide at it with TOURGUIDE_ROCKETMQ_ENDPOINT.
    """


@rocketmq.command("start")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=None, help=_DIR_HELP)
@click.option("--version", default=DEFAULT_VERSION, show_default=True, help="Apache RocketMQ version.")
@click.option("--heap-mb", default=512, show_default=True, help="Broker heap (NameServer and Proxy get 256).")
@click.option("--provision/--no-provision", default=True, show_default=True,
              help="Create the topics and groups with the commands `tourguide topics mqadmin` prints.")
def start(workdir: Path | None, version: str, heap_mb: int, provision: bool) -> None:
    """Start the three JVMs in the background on free ports and wait until the gRPC proxy answers."""
    folder = workdir or _default_dir()
    try:
        if (folder / "cluster.json").exists() and _running(ClusterState.load(folder)):
            raise BrokerError(f"already running in {folder} (tourguide rocketmq stop first)")
        click.echo(f"starting Apache RocketMQ {version} in {folder} (first run downloads the jars)...", err=True)
        state = ApacheRocketMQ(folder, version, heap_mb).start()
        if provision:
            for result in run_batch(resolve(version), state.namesrv, mqadmin_commands(), folder):
                click.echo(f"  ok: {result.command}", err=True)
    except BrokerError as exc:
        _fail(exc)
    click.echo(f"gRPC endpoint {state.endpoint}, NameServer {state.namesrv}, logs {state.log_dir}", err=True)
    click.echo(f"export TOURGUIDE_ROCKETMQ_ENDPOINT={state.endpoint}")


@rocketmq.command("stop")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=None, help=_DIR_HELP)
def stop(workdir: Path | None) -> None:
    """Stop the JVMs started by `start` (SIGTERM, SIGKILL after 20 s). Data stays in the folder."""
    cluster = ApacheRocketMQ(workdir or _default_dir())
    try:
        cluster.state = ClusterState.load(cluster.workdir)
    except BrokerError as exc:
        _fail(exc)
    cluster.stop()
    click.echo("stopped", err=True)


def _running(state: ClusterState) -> bool:
    return any(pid and alive(pid) for pid in state.pids.values())


@rocketmq.command("status")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=None, help=_DIR_HELP)
def status(workdir: Path | None) -> None:
    """Say which JVMs run and where; exit 1 when none does."""
    try:
        state = ClusterState.load(workdir or _default_dir())
    except BrokerError as exc:
        _fail(exc)
    for role, pid in state.pids.items():
        click.echo(f"{role:8} pid {pid:<8} {'running' if alive(pid) else 'gone'}")
    click.echo(f"endpoint {state.endpoint}  namesrv {state.namesrv}  logs {state.log_dir}")
    sys.exit(0 if _running(state) else 1)


@rocketmq.command("provision")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=None, help=_DIR_HELP)
def provision(workdir: Path | None) -> None:
    """Create the topics and groups with exactly the commands `tourguide topics mqadmin` prints."""
    folder = workdir or _default_dir()
    try:
        state = ClusterState.load(folder)
        for result in run_batch(resolve(state.version), state.namesrv, mqadmin_commands(), folder):
            click.echo(f"ok: {result.command}")
    except BrokerError as exc:
        _fail(exc)


@rocketmq.command("mqadmin", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=None, help=_DIR_HELP)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def mqadmin(workdir: Path | None, args: tuple[str, ...]) -> None:
    """Run RocketMQ's admin CLI against the running NameServer, e.g. `mqadmin topicList`."""
    folder = workdir or _default_dir()
    try:
        state = ClusterState.load(folder)
        sys.exit(run_one(resolve(state.version), state.namesrv, list(args), folder))
    except BrokerError as exc:
        _fail(exc)
