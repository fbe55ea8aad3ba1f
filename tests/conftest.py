"""Shared pytest configuration."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
from collections.abc import Iterator

import pytest

from bot import grpc_env
from tests.realbroker import in_ci, stop_apache_session, wanted_brokers, why_no_apache

grpc_env.apply()  # before any test module imports gRPC, which reads it once; processes tests start inherit it


def pytest_report_header(config: pytest.Config) -> str:
    """Say once which brokers this run tests, and why Apache RocketMQ is left out if it is."""
    line = f"brokers under test: {', '.join(wanted_brokers())}"
    if "apache" not in wanted_brokers() and why_no_apache() and not in_ci():
        line += f" ({why_no_apache()})"
    return line


# Under pytest-xdist (scripts/test: -n, --dist loadgroup) each group of Apache RocketMQ tests runs on one worker,
# which starts its own cluster (3 JVMs): the tests share the product's fixed topics and groups and one restarts
# the broker, so workers cannot share a cluster, and one cluster per worker would not fit on 2 cores. Measured
# serially (815 s in all), one group would be the whole run's critical path; these tests (the three longest, each
# waiting out Apache RocketMQ's timers) (339 s) form a second group of about the same length, and the ACL test gets the
# worker of its own that its own cluster needs anyway (tests/realbroker.py).
APACHE_GROUP_2 = frozenset({
    "test_push_consumer_killed_mid_message_releases_it_to_another",  # 134 s: the proxy expires the dead client
    "test_broker_restarted_mid_session_loses_and_duplicates_nothing",  # 126 s
    "test_deploy_apply_topics_creates_the_resources_with_mqadmin",  # 79 s
})
APACHE_AUTH = "test_auth_refuses_a_wrong_secret"


def apache_group(item: pytest.Item) -> str:
    """The xdist group of a test that uses Apache RocketMQ."""
    name = getattr(item, "originalname", item.name)
    return "apache-auth" if name == APACHE_AUTH else "apache-2" if name in APACHE_GROUP_2 else "apache-1"


def uses_apache(item: pytest.Item) -> bool:
    """Marked ``apache``, or a case of a test parametrized over the brokers (``target``, ``kind``) on Apache."""
    if item.get_closest_marker("apache") is not None:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(value == "apache" for value in callspec.params.values())


def join_group(config: pytest.Config, item: pytest.Item, group: str) -> None:
    """Put a test in an ``xdist_group``, as the mark would.

    pytest-xdist 3.8 tells the scheduler a test's group by appending ``@group`` to the legacy string id, which
    pytest 9.2's structured ids ignore, so the groups silently vanish (pytest-dev/pytest-xdist#1386); this
    appends it to the structured id on a worker, as the pending fix does. Older pytest: xdist's own suffix works.
    """
    item.add_marker(pytest.mark.xdist_group(group))
    if config.getoption("loadgroup", False) and hasattr(item, "_id") and not item.nodeid.endswith(f"@{group}"):
        item._id = type(item._id).parse(f"{item.nodeid}@{group}")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``apache`` run only when Apache RocketMQ is among the brokers under test; they are grouped.

    Longest first: Apache RocketMQ tests, then ``slow`` ones, then the rest (a stable sort, so a module's tests
    stay in their order). xdist hands tests out in this order, so the short ones fill the workers at the end
    instead of a 40 s test starting last.
    """
    if "apache" in wanted_brokers():
        if config.pluginmanager.hasplugin("xdist"):  # the marker is xdist's (unknown under -p no:xdist)
            for item in filter(uses_apache, items):
                join_group(config, item, apache_group(item))
    else:
        kept = [item for item in items if item.get_closest_marker("apache") is None]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    items.sort(key=lambda item: 0 if uses_apache(item) else 1 if item.get_closest_marker("slow") else 2)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the Apache RocketMQ cluster the run started, if any."""
    stop_apache_session()


@pytest.fixture(autouse=True)
def _dump_tasks_when_stuck() -> Iterator[None]:
    """A test still running after 200 s prints each pending asyncio task's stack: thread stacks hide awaits."""

    def dump() -> None:
        # Runs in a timer thread while other threads' loops (the RocketMQ client's) move their tasks on, so
        # a stack can change under print_stack; a diagnostic must never fail the test it diagnoses.
        try:
            tasks = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
            print(f"\n--- {len(tasks)} pending asyncio tasks after 200 s ---", file=sys.stderr)
            for task in tasks:
                task.print_stack(file=sys.stderr)
        except Exception as error:
            print(f"--- the task dump stopped: {error!r} ---", file=sys.stderr)

    timer = threading.Timer(200, dump)
    timer.name = "stuck-test-dump"
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
