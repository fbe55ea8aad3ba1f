"""Backlog and dead letters on Apache RocketMQ, through its admin CLI (``mqadmin``).

``$MQADMIN`` (as for ``deploy.sh``) names the cluster's own ``mqadmin``; without it RocketMQ's admin classes
from the Maven cache (``tourguide rocketmq``) are used. Per group, ``consumerProgress -g GROUP -t TOPIC``
gives the lag (see :func:`parse_progress` for what it counts with proxy consumers), and ``topicStatus`` of
``%DLQ%<group>`` the dead-letter depth (max - min offset). The age of the oldest message is not offered there.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

from bot.broker.stats import GroupBacklog
from bot.errors import BrokerError
from bot.resources import DLQ_PREFIX, GROUPS

UNKNOWN = -1
_DIFF_TOTAL = re.compile(r"Consume Diff Total:\s*(-?\d+)")
_INFLIGHT_TOTAL = re.compile(r"Consume Inflight Total:\s*(-?\d+)")


def _mqadmin(namesrv: str, args: list[str], timeout_s: float = 60.0) -> str:
    if binary := os.environ.get("MQADMIN"):
        cmd = [*shlex.split(binary), *args, "-n", namesrv]
        env = dict(os.environ)
    else:
        from bot.realbroker.maven import cache_root, resolve

        lib = resolve()
        home = cache_root()
        cmd = ["java", "-Xmx256m", f"-Duser.home={home}", "-cp", f"{lib}/*",
               "org.apache.rocketmq.tools.command.MQAdminStartup", *args, "-n", namesrv]
        env = {**os.environ, "ROCKETMQ_HOME": str(home)}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrokerError(f"mqadmin {args[0]} failed: {exc}") from exc
    return done.stdout + done.stderr


def parse_progress(topic: str, group: str, output: str) -> GroupBacklog:
    """One group's backlog on one topic from ``consumerProgress -g <group> -t <topic>`` output; unknown (-1)
    without its totals.

    Measured on 5.5.0 with a group consumed through the gRPC proxy (pop): the consumer offset advances when a
    message is handed out, so ``Consume Diff Total`` counts the messages not handed out yet (waiting), and
    ``Consume Inflight Total`` stays 0; messages held by consumers or waiting for a retry are not shown.
    """
    diff_match, inflight_match = _DIFF_TOTAL.search(output), _INFLIGHT_TOTAL.search(output)
    if diff_match is None:
        return GroupBacklog(topic, group, UNKNOWN, UNKNOWN, UNKNOWN, None)
    diff = int(diff_match.group(1))
    in_flight = int(inflight_match.group(1)) if inflight_match else 0
    return GroupBacklog(topic, group, max(0, diff - in_flight), in_flight, 0, None)


def parse_dlq_depth(output: str) -> int:
    """Messages in a topic from ``topicStatus -t`` output (rows: broker, queue, min offset, max offset, ...)."""
    depth = 0
    for line in output.splitlines():
        cells = line.split()
        if len(cells) >= 4 and cells[1].isdigit() and cells[2].isdigit() and cells[3].isdigit():
            depth += int(cells[3]) - int(cells[2])
    return depth


def apache_backlog(namesrv: str, groups: list[str]) -> tuple[tuple[GroupBacklog, ...], dict[str, int]]:
    """Backlog of each group on the topic it reads, and each group's dead-letter depth."""
    reads = {g.name: g.reads for g in GROUPS}
    backlog = []
    dead = {}
    for group in groups:
        # with -t: the stats of that topic (without it the admin tool looks for a "%RETRY%<group>" topic, which a
        # group consumed through the proxy does not have)
        output = _mqadmin(namesrv, ["consumerProgress", "-g", group, "-t", reads[group]])
        backlog.append(parse_progress(reads[group], group, output))
        dead[group] = parse_dlq_depth(_mqadmin(namesrv, ["topicStatus", "-t", DLQ_PREFIX + group]))
    return tuple(backlog), dead
