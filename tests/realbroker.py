"""Apache RocketMQ 5.5 for the test suite: one cluster per test session, and a helper to choose brokers.

Which brokers a run uses: ``TOURGUIDE_TEST_BROKERS`` (``embedded``, ``apache`` or ``embedded,apache``; the
default is both). Without Java or Maven a laptop run skips the Apache RocketMQ cases with one line saying
why; under CI (``CI=true``) a missing tool, a failed download or a cluster that does not start fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.errors import BrokerError
from bot.realbroker.admin import run_batch
from bot.realbroker.cluster import CLUSTER_NAME, ApacheRocketMQ, ClusterState
from bot.realbroker.maven import resolve
from bot.resources import mqadmin_commands


def wanted_brokers() -> list[str]:
    """The broker kinds this run tests against."""
    raw = os.environ.get("TOURGUIDE_TEST_BROKERS", "embedded,apache")
    return [kind.strip() for kind in raw.split(",") if kind.strip()]


def in_ci() -> bool:
    """CI turns every reason to skip the real broker into a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass(frozen=True, slots=True)
class TopicDef:
    """A topic for ``updateTopicList``; ``kind`` is the ``message.type`` attribute."""

    name: str
    kind: str = "NORMAL"
    queues: int = 1


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A group for ``updateSubGroupList``: attempts = retryMaxTimes + 1, backoff in seconds."""

    name: str
    max_attempts: int = 16
    backoff_s: tuple[float, ...] = (1.0,)
    fifo: bool = False
    lite_bind_topic: str = ""


class ApacheSession:
    """The session's running cluster, and resource creation with RocketMQ's admin CLI."""

    def __init__(self, cluster: ApacheRocketMQ, state: ClusterState) -> None:
        self.cluster = cluster
        self.state = state
        self.workdir = Path(state.workdir)
        self._lock = threading.Lock()
        self._serial = 0
        self._product_ready = False

    @property
    def endpoint(self) -> str:
        """The gRPC proxy endpoint."""
        return self.state.endpoint

    def next_suffix(self) -> str:
        """A fresh name suffix, so that each test gets topics and groups nobody used before."""
        with self._lock:
            self._serial += 1
            return f"_{self._serial}"

    def create(self, topics: Iterable[TopicDef], groups: Iterable[GroupDef]) -> None:
        """Create topics and groups in one admin JVM (``updateTopicList`` / ``updateSubGroupList``)."""
        stamp = self.next_suffix()
        lines = []
        topic_docs = [_topic_json(t) for t in topics]
        group_docs = [_group_json(g) for g in groups]
        if topic_docs:
            topic_file = self.workdir / f"topics{stamp}.json"
            topic_file.write_text(json.dumps(topic_docs), encoding="utf-8")
            lines.append(f"mqadmin updateTopicList -c {CLUSTER_NAME} -f {topic_file}")
        if group_docs:
            group_file = self.workdir / f"groups{stamp}.json"
            group_file.write_text(json.dumps(group_docs), encoding="utf-8")
            lines.append(f"mqadmin updateSubGroupList -c {CLUSTER_NAME} -f {group_file}")
        run_batch(resolve(self.state.version), self.state.namesrv, lines, self.workdir)

    def provision_product(self) -> None:
        """Create the product's resources with exactly the commands ``tourguide topics mqadmin`` prints."""
        with self._lock:
            if self._product_ready:
                return
            run_batch(resolve(self.state.version), self.state.namesrv, mqadmin_commands(), self.workdir)
            self._product_ready = True


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
    if g.lite_bind_topic:
        out["attributes"] = {"+lite.bind.topic": g.lite_bind_topic}
    return out


class _Run:
    """The one cluster of this test run (pytest runs in one process), or why there is none."""

    session: ApacheSession | None = None
    failure: str | None = None


def apache_session() -> ApacheSession:
    """Start the cluster on first use (once per test session); skip or fail when it cannot run here."""
    if _Run.session is None and _Run.failure is None:
        missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
        if missing:
            _Run.failure = f"Apache RocketMQ tests need {' and '.join(missing)} on PATH"
        else:
            workdir = Path(tempfile.mkdtemp(prefix="tourguide-rocketmq-"))
            cluster = ApacheRocketMQ(workdir)
            try:
                _Run.session = ApacheSession(cluster, cluster.start())
            except BrokerError as exc:
                _Run.failure = f"Apache RocketMQ did not start: {exc}"
    if _Run.session is None:
        assert _Run.failure is not None
        if in_ci():
            pytest.fail(_Run.failure)
        pytest.skip(_Run.failure)
    return _Run.session


def stop_apache_session() -> None:
    """Stop the session's cluster (called once at the end of the run)."""
    if _Run.session is not None:
        _Run.session.cluster.stop()
        shutil.rmtree(_Run.session.workdir, ignore_errors=True)
        _Run.session = None
