"""Apache RocketMQ 5.5 for the test suite: one cluster per test session, and a helper to choose brokers.

Which brokers a run uses: ``TOURGUIDE_TEST_BROKERS`` (``embedded``, ``apache`` or ``embedded,apache``; the
default is both). Without Java or Maven a laptop run skips the Apache RocketMQ cases with one line saying
why; under CI (``CI=true``) a missing tool, a failed download or a cluster that does not start fails them.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

from bot.errors import BrokerError
from bot.realbroker.admin import GroupDef, TopicDef, create_resources, run_batch
from bot.realbroker.cluster import ApacheRocketMQ, ClusterState
from bot.realbroker.maven import cache_root, resolve
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


@contextmanager
def one_start_at_a_time() -> Iterator[None]:
    """Hold a lock on this machine while a cluster starts: pytest-xdist workers each start their own.

    The first start resolves the jars into the shared Maven cache alone (a second ``mvn`` would rewrite
    them under the first cluster), and ``free_ports()`` cannot hand two clusters the same ports before
    their JVMs bind them.
    """
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / ".start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


class _Run:
    """The one cluster of this pytest process (of this xdist worker), or why there is none."""

    session: ApacheSession | None = None
    failure: str | None = None
    auth_session: ApacheSession | None = None


AUTH_ADMIN = ("tourguide-admin", "admin-secret-1")


def apache_auth_session() -> ApacheSession:
    """A second cluster with ACL 2.0 authentication on (admin user ``AUTH_ADMIN``), started on first use.

    It does not start the main cluster: under pytest-xdist its one test runs on a worker of its own.
    """
    if why_no_apache():
        _skip_or_fail(why_no_apache())
    if _Run.auth_session is None:
        workdir = Path(tempfile.mkdtemp(prefix="tourguide-rocketmq-auth-"))
        cluster = ApacheRocketMQ(workdir, admin=AUTH_ADMIN)
        atexit.register(cluster.stop)
        try:
            with one_start_at_a_time():
                _Run.auth_session = ApacheSession(cluster, cluster.start())
        except BrokerError as exc:
            _skip_or_fail(f"Apache RocketMQ with authentication did not start: {exc}")
    return _Run.auth_session


def _skip_or_fail(reason: str) -> NoReturn:
    """Skip a test that needs Apache RocketMQ on a laptop that cannot run it; fail it under CI."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


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
                with one_start_at_a_time():
                    _Run.session = ApacheSession(cluster, cluster.start())
            except BrokerError as exc:
                _Run.failure = f"Apache RocketMQ did not start: {exc}"
    if _Run.session is None:
        assert _Run.failure is not None
        _skip_or_fail(_Run.failure)
    return _Run.session


def stop_apache_session() -> None:
    """Stop the session's cluster (called once at the end of the run)."""
    for session in (_Run.session, _Run.auth_session):
        if session is not None:
            session.cluster.stop()
            shutil.rmtree(session.workdir, ignore_errors=True)
    _Run.session = _Run.auth_session = None
