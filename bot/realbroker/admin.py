"""Run ``mqadmin`` command lines with RocketMQ's own admin CLI (``MQAdminStartup`` from rocketmq-tools)."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import BrokerError

_BATCH = Path(__file__).with_name("AdminBatch.java")


@dataclass(frozen=True, slots=True)
class AdminResult:
    """One command line and what the admin CLI printed for it."""

    command: str
    output: str

    @property
    def ok(self) -> bool:
        """The CLI prints a stack trace (and no "success") when a command fails."""
        return "success" in self.output and "Exception" not in self.output


def _argv(line: str, namesrv: str) -> list[str]:
    args = shlex.split(line)
    if args and args[0] == "mqadmin":
        args = args[1:]
    return [*args, "-n", namesrv]


def run_one(lib: Path, namesrv: str, args: list[str], home: Path) -> int:
    """Run one mqadmin command in the foreground (output goes to the terminal); its exit code."""
    cmd = ["java", "-Xmx256m", f"-Duser.home={home}", "-cp", f"{lib}/*",
           "org.apache.rocketmq.tools.command.MQAdminStartup", *args, "-n", namesrv]
    return subprocess.run(cmd, env={**os.environ, "ROCKETMQ_HOME": str(home)}, check=False).returncode


def run_batch(lib: Path, namesrv: str, lines: list[str], home: Path, timeout_s: float = 180.0) -> list[AdminResult]:
    """Run mqadmin command lines (as printed by ``tourguide topics mqadmin``) in one JVM.

    Raises BrokerError when any command failed, with that command's output.
    """
    stdin = "".join("\t".join(_argv(line, namesrv)) + "\n" for line in lines)
    done = subprocess.run(
        ["java", "-Xmx256m", f"-Duser.home={home}", "-cp", f"{lib}/*", str(_BATCH)],
        input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False,
        env={**os.environ, "ROCKETMQ_HOME": str(home)},
    )
    outs = done.stdout.split("@@done")
    errs = done.stderr.split("@@done")
    results = [AdminResult(line, outs[i] + (errs[i] if i < len(errs) else "")) for i, line in enumerate(lines)
               if i < len(outs)]
    failed = [r for r in results if not r.ok]
    if done.returncode != 0 or len(results) != len(lines) or failed:
        detail = failed[0].output if failed else done.stderr[-3000:]
        raise BrokerError(f"mqadmin failed: {failed[0].command if failed else 'batch'}\n{detail[-3000:]}")
    return results


@dataclass(frozen=True, slots=True)
class TopicDef:
    """A topic for ``updateTopicList``; ``kind`` is its ``message.type`` attribute."""

    name: str
    kind: str = "NORMAL"
    queues: int = 1


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A group for ``updateSubGroupList``: attempts = retryMaxTimes + 1, back-off in seconds."""

    name: str
    max_attempts: int = 16
    backoff_s: tuple[float, ...] = (1.0,)
    fifo: bool = False
    lite_bind_topic: str = ""
    lite_quota: int = 0  # 0 = the broker's default


def _topic_json(t: TopicDef) -> dict[str, object]:
    return {"topicName": t.name, "readQueueNums": t.queues, "writeQueueNums": t.queues, "perm": 6,
            "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": False,
            "attributes": {"+message.type": t.kind}}


def _group_json(g: GroupDef) -> dict[str, object]:
    out: dict[str, object] = {
        "groupName": g.name, "consumeEnable": True, "consumeBroadcastEnable": False,
        "consumeMessageOrderly": g.fifo, "retryQueueNums": 1, "retryMaxTimes": g.max_attempts - 1,
        "groupRetryPolicy": {"type": "CUSTOMIZED",
                             "customizedRetryPolicy": {"next": [int(s * 1000) for s in g.backoff_s]}},
    }
    attributes = {}
    if g.lite_bind_topic:
        attributes["+lite.bind.topic"] = g.lite_bind_topic
    if g.lite_quota:
        attributes["+lite.sub.client.quota"] = str(g.lite_quota)
    if attributes:
        out["attributes"] = attributes
    return out


_files = itertools.count(1)


def create_resources(lib: Path, namesrv: str, workdir: Path, topics: Iterable[TopicDef],
                     groups: Iterable[GroupDef], cluster: str = "DefaultCluster") -> None:
    """Create many topics and groups in one admin JVM (``updateTopicList`` / ``updateSubGroupList``).

    Raises BrokerError when the admin CLI refused them.
    """
    lines = []
    stamp = f"{os.getpid()}-{next(_files)}"
    for kind, docs in (("topics", [_topic_json(t) for t in topics]), ("groups", [_group_json(g) for g in groups])):
        if not docs:
            continue
        path = workdir / f"{kind}-{stamp}.json"
        path.write_text(json.dumps(docs), encoding="utf-8")
        command = "updateTopicList" if kind == "topics" else "updateSubGroupList"
        lines.append(f"mqadmin {command} -c {cluster} -f {path}")
    if lines:
        run_batch(lib, namesrv, lines, workdir)
