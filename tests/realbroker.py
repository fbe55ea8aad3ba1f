"""Apache RocketMQ 5.5 for the test suite: one cluster per test session, and a helper to choose brokers.

Which brokers a run uses: ``TOURGUIDE_TEST_BROKERS`` (``embedded``, ``apache`` or ``embedded,apache``; the
default is both). Without Java or Maven a laptop run skips the Apache RocketMQ cases with one line saying
why; under CI (``CI=true``) a missing tool, a failed download or a cluster that does not start fails them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.errors import BrokerError
from bot.realbroker.admin import GroupDef, TopicDef, create_resources, run_batch
from bot.realbroker.cluster import ApacheRocketMQ, ClusterState
from bot.realbroker.maven import resolve
from bot.resources import mqadmin_commands


def why_no_apache() -> str:
    """Why this machine cannot run Apache RocketMQ (empty when it can)."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    return f"Apache RocketMQ tests skipped: {' and '.join(missing)} not on PATH" if missing else ""


def wanted_brokers() -> list[str]:
    """The broker kinds this run tests against (Apache RocketMQ is dropped on a laptop without Java/Maven)."""
    raw = os.environ.get("TOURGUIDE_TEST_BROKERS", "embedded,apache")
    kinds = [kind.strip() for kind in raw.split(",") if kind.strip()]
    if "apache" in kinds and why_no_apache() and not in_ci():
        kinds.remove("apache")
    return kinds


def in_ci() -> bool:
    """CI turns every reason to skip the real broker into a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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
        create_resources(resolve(self.state.version), self.state.namesrv, self.workdir, topics, groups)

    def provision_product(self) -> None:
        """Create the product's resources with exactly the commands ``tourguide topics mqadmin`` prints."""
        with self._lock:
            if self._product_ready:
                return
            run_batch(resolve(self.state.version), self.state.namesrv, mqadmin_commands(), self.workdir)
            self._product_ready = True


class _Run:
    """The one cluster of this test run (pytest runs in one process), or why there is none."""

    session: ApacheSession | None = None
    failure: str | None = None
    auth_session: ApacheSession | None = None


AUTH_ADMIN = ("tourguide-admin", "admin-secret-1")


def apache_auth_session() -> ApacheSession:
    """A second cluster with ACL 2.0 authentication on (admin user ``AUTH_ADMIN``), started on first use."""
    apache_session()  # skips or fails the same way when Apache RocketMQ cannot run here
    if _Run.auth_session is None:
        workdir = Path(tempfile.mkdtemp(prefix="tourguide-rocketmq-auth-"))
        cluster = ApacheRocketMQ(workdir, admin=AUTH_ADMIN)
        atexit.register(cluster.stop)
        try:
            _Run.auth_session = ApacheSession(cluster, cluster.start())
        except BrokerError as exc:
            pytest.fail(f"Apache RocketMQ with authentication did not start: {exc}")
    return _Run.auth_session


def apache_session() -> ApacheSession:
    """Start the cluster on first use (once per test session); skip or fail when it cannot run here."""
    if _Run.session is None and _Run.failure is None:
        if why_no_apache():
            _Run.failure = why_no_apache()
        else:
            workdir = Path(tempfile.mkdtemp(prefix="tourguide-rocketmq-"))
            cluster = ApacheRocketMQ(workdir)
            atexit.register(cluster.stop)  # also when the run ends without pytest_sessionfinish (Ctrl-C)
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
    for session in (_Run.session, _Run.auth_session):
        if session is not None:
            session.cluster.stop()
            shutil.rmtree(session.workdir, ignore_errors=True)
    _Run.session = _Run.auth_session = None
