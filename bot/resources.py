"""The one declarative list of RocketMQ resources: topics, consumer groups and who reads what.

The same list provisions the embedded broker (``tourguide topics apply``), prints ``mqadmin``
commands for a self-hosted Apache RocketMQ 5.5+ cluster, and documents what to create on ApsaraMQ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

WEATHER_TASK_TOPIC = "WeatherAgentTask"
TRAVEL_TASK_TOPIC = "TravelAgentTask"
RESPONSE_TOPIC = "WorkerAgentResponse"
WEATHER_GROUP = "WeatherAgentTaskConsumerGroup"
TRAVEL_GROUP = "TravelAgentTaskConsumerGroup"
RESPONSE_GROUP = "WorkerAgentResponseConsumerGroup"
RESPONSE_LITE_QUOTA = 100_000  # lite topics (running sessions) per Supervisor process

TopicKind = Literal["NORMAL", "FIFO", "DELAY", "LITE", "PRIORITY"]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create; ``lite_ttl_minutes`` applies to LITE topics (-1 = never expire)."""

    name: str
    kind: TopicKind
    lite_ttl_minutes: int = -1
    queues: int = 2


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A consumer group and its retry policy; lite groups name their bind topic."""

    name: str
    reads: str  # the topic its consumers subscribe to
    max_attempts: int = 16
    backoff_s: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800)
    fifo: bool = False
    lite: bool = False
    lite_quota: int = 2000


# Task topics are PRIORITY topics (Apache RocketMQ 5.4+): a backlog is delivered highest level first, so
# follow-ups and weather questions overtake queued long itineraries (levels: agents/supervisor/priority.py).
# The level is the queue (queue id = min(priority, queues - 1)), so the topic has one queue per level.
# A result lite topic lives 12 h after its last message, long enough for a supervisor restart to collect
# results it missed.
PRIORITY_LEVELS = 10  # priorities 0-9
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(WEATHER_TASK_TOPIC, "PRIORITY", queues=PRIORITY_LEVELS),
    TopicSpec(TRAVEL_TASK_TOPIC, "PRIORITY", queues=PRIORITY_LEVELS),
    TopicSpec(RESPONSE_TOPIC, "LITE", lite_ttl_minutes=720, queues=1),
)

DLQ_PREFIX = "%DLQ%"
# `tourguide dlq` reads each task group's dead letters in a group of its own; a listing leaves them unacked,
# which counts as an attempt, so these groups allow many.
DLQ_READERS = {WEATHER_GROUP: "WeatherAgentTaskDlqReaderGroup", TRAVEL_GROUP: "TravelAgentTaskDlqReaderGroup"}

GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(WEATHER_GROUP, reads=WEATHER_TASK_TOPIC, max_attempts=5, backoff_s=(1, 5, 15, 30)),
    GroupSpec(TRAVEL_GROUP, reads=TRAVEL_TASK_TOPIC, max_attempts=5, backoff_s=(1, 5, 15, 30)),
    # A Supervisor process holds one lite subscription per running session: a burst of 5,000 sessions in
    # flight needs 5,000 (the default 2,000 refused the rest until others finished).
    GroupSpec(RESPONSE_GROUP, reads=RESPONSE_TOPIC, lite=True, max_attempts=16, backoff_s=(1, 2, 5, 10, 30),
              lite_quota=RESPONSE_LITE_QUOTA),
    *(GroupSpec(reader, reads=DLQ_PREFIX + group, max_attempts=1000, backoff_s=(1,))
      for group, reader in DLQ_READERS.items()),
)


def retry_policy_json(group: GroupSpec) -> str:
    """The group's back-off as Apache RocketMQ's ``groupRetryPolicy`` (CUSTOMIZED, milliseconds)."""
    policy = {"type": "CUSTOMIZED", "customizedRetryPolicy": {"next": [int(s * 1000) for s in group.backoff_s]}}
    return json.dumps(policy, separators=(",", ":"))


def mqadmin_commands(cluster: str = "DefaultCluster", namespace: str = "") -> list[str]:
    """Shell commands that create the same resources on a self-hosted RocketMQ 5.5+ cluster.

    Each line is shell syntax (the retry policy is single-quoted JSON): run it with ``sh -c`` or ``eval``.
    """
    prefix = f"{namespace}%" if namespace else ""
    lines = []
    for t in TOPICS:
        attrs = f"+message.type={t.kind}"
        if t.kind == "LITE":
            attrs += f",+lite.topic.expiration={t.lite_ttl_minutes}"
        lines.append(f"mqadmin updateTopic -c {cluster} -t {prefix}{t.name} -r {t.queues} -w {t.queues} -a {attrs}")
    for g in GROUPS:
        line = f"mqadmin updateSubGroup -c {cluster} -g {prefix}{g.name} -r {g.max_attempts - 1}"
        line += f" -p '{retry_policy_json(g)}'"
        if g.fifo:
            line += " -o true"
        if g.lite:
            line += f" --attributes +lite.bind.topic={prefix}{g.reads},+lite.sub.client.quota={g.lite_quota}"
        lines.append(line)
    return lines
