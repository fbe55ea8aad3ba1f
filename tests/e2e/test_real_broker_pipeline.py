"""The whole pipeline on Apache RocketMQ 5.5: the product pointed at a real proxy with one setting.

The same scenarios run on the embedded broker elsewhere in tests/e2e; here the endpoint is the session's
Apache RocketMQ cluster (tests/realbroker.py), provisioned with the commands ``tourguide topics mqadmin``
prints.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agents.knowledge.catalog import Catalog
from agents.supervisor.intake import Intake
from agents.understanding import AliasIndex
from bot.models import ConversationRef, InboundMessage, Session, SessionStatus, StepStatus
from bot.realbroker.maven import resolve
from bot.resources import GROUPS, TOPICS
from storage.database import Database
from storage.outbox import Outbox
from storage.sessions import SessionStore
from tests.processes import bot_process, clean_env
from tests.realbroker import ApacheSession, apache_session
from tests.standins.fake_slack import FakeSlack, PostedMessage
from tests.waiting import settled, until

pytestmark = [pytest.mark.slow, pytest.mark.apache]
NOW_ISO = "2026-11-23T09:00:00+08:00"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
REFERENCE = "帮我做一个下周三到下周日杭州周边自驾游方案"
DATES = [f"2026-12-0{d}" for d in range(2, 7)]


@pytest.fixture
async def apache() -> ApacheSession:
    """The session's cluster with the product's topics and groups."""
    session = apache_session()
    await asyncio.to_thread(session.provision_product)
    return session


def _env(apache: ApacheSession, data_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(TOURGUIDE_DATA_DIR=str(data_dir), TOURGUIDE_ROCKETMQ_ENDPOINT=apache.endpoint, **extra)


def _ask(apache: ApacheSession, data_dir: Path, text: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--log-level", "WARNING", "ask", text, "--json", "--now", NOW_ISO],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(apache, data_dir))


def _answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    answer: dict[str, Any] = json.loads(out)
    return answer


async def test_reference_request_through_ask(apache: ApacheSession, tmp_path: Path) -> None:
    answer = await asyncio.to_thread(_answer, _ask(apache, tmp_path, REFERENCE))
    assert answer["status"] == "completed"
    assert answer["request"]["destination"] == "Hangzhou"
    assert [w["date"] for w in answer["weather"]] == DATES
    assert [d["date"] for d in answer["itinerary"]] == DATES


async def test_two_supervisors_each_get_only_their_own_results(apache: ApacheSession, tmp_path: Path) -> None:
    # Two `ask` processes are two Supervisors (own data, own client ID) sharing the broker and the agents'
    # consumer groups; LITE_SELECTIVE delivers each task's results only to the one that subscribed them.
    env = _env(apache, tmp_path / "agents")
    with bot_process(["agent", "weather"], env, tmp_path / "agents.log"), \
            bot_process(["agent", "travel"], env, tmp_path / "agents.log"):
        first = _ask(apache, tmp_path / "a", "3 days in Kyoto next weekend")
        second = _ask(apache, tmp_path / "b", REFERENCE)
        answers = await asyncio.gather(asyncio.to_thread(_answer, first), asyncio.to_thread(_answer, second))
    assert [a["request"]["destination"] for a in answers] == ["Kyoto", "Hangzhou"]
    assert all(a["status"] == "completed" for a in answers)
    assert answers[0]["task_id"] != answers[1]["task_id"]


@asynccontextmanager
async def _intake(data_dir: Path) -> AsyncIterator[tuple[Intake, SessionStore, Outbox]]:
    async with Database(data_dir / "tourguide.sqlite3") as db:
        store, outbox = SessionStore(db), Outbox(db)

        async def supervisor_elsewhere(_session: Session) -> None:
            """The Supervisor runs in another process and adopts the new session."""

        yield Intake(store, supervisor_elsewhere, AliasIndex(Catalog.load().aliases()), lambda: NOW,
                     max_chars=2000), store, outbox


async def _submit(intake: Intake, event_id: str) -> str:
    ref = ConversationRef(platform="cli", channel="real-broker", user="u1")
    submitted = await intake.submit(InboundMessage(ref=ref, event_id=event_id, text=REFERENCE,
                                                   received_at=datetime.now(UTC)))
    return submitted.task_id


async def _finished_once(store: SessionStore, outbox: Outbox, task_id: str) -> None:
    async def finished() -> bool:
        session = await store.get(task_id)
        return session is not None and session.status != SessionStatus.RUNNING

    await until(finished, 120)
    reply = await outbox.get(task_id)
    assert reply is not None and reply.payload["status"] == "completed"
    assert [d["date"] for d in reply.payload["itinerary"]] == DATES
    done = [t for t in await store.traces(task_id) if t[1] == "session" and "finished" in t[2]]
    assert len(done) == 1, "the answer must be produced exactly once"


async def test_supervisor_killed_after_the_weather_result_resumes(apache: ApacheSession, tmp_path: Path) -> None:
    env, log = _env(apache, tmp_path), tmp_path / "test.log"
    async with _intake(tmp_path) as (intake, store, outbox):
        with bot_process(["agent", "weather"], env, log):
            task_id = await _submit(intake, "evt-kill")

            async def travel_sent() -> bool:
                session = await store.get(task_id)
                assert session is not None
                return {s.step_id: s.status for s in session.steps} == {"weather": StepStatus.OK,
                                                                          "travel": StepStatus.SENT}

            with bot_process(["supervisor"], env, log) as supervisor:
                await until(travel_sent, 90)
                supervisor.kill()  # SIGKILL right after the weather result was committed
                supervisor.wait(10)
            with bot_process(["agent", "travel"], env, log), bot_process(["supervisor"], env, log):
                await _finished_once(store, outbox, task_id)


async def test_broker_restarted_mid_session_loses_and_duplicates_nothing(
    apache: ApacheSession, tmp_path: Path
) -> None:
    env, log = _env(apache, tmp_path), tmp_path / "test.log"
    async with _intake(tmp_path) as (intake, store, outbox):
        with bot_process(["supervisor"], env, log), bot_process(["agent", "weather"], env, log):
            task_id = await _submit(intake, "evt-restart")

            async def weather_done() -> bool:
                session = await store.get(task_id)
                return session is not None and any(
                    s.step_id == "weather" and s.status == StepStatus.OK for s in session.steps)

            await until(weather_done, 90)
            # The travel task waits in the broker (no travel agent yet) while the broker goes down and up.
            await asyncio.to_thread(apache.cluster.stop_broker)
            await asyncio.to_thread(apache.cluster.start_broker)
            with bot_process(["agent", "travel"], env, log):
                await _finished_once(store, outbox, task_id)


def _answers(slack: FakeSlack) -> list[PostedMessage]:
    tagged = ((m, m.params.get("metadata") or {}) for m in slack.posted_messages)
    return [m for m, meta in tagged if meta.get("event_type") == "tourguide_answer"]


async def test_bot_with_agents_answers_one_slash_command_once(apache: ApacheSession, tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = _env(apache, tmp_path / "data", SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
                   SLACK_API_URL=slack.api_url)
        with (tmp_path / "bot.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "bot", "--with-agents", env=env, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=log)
            try:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 90)
                assert b"tourguide bot ready" in line, (tmp_path / "bot.log").read_text()[-3000:]
                await slack.wait_connected(timeout=30)
                await slack.push_slash_command("/trip", "3 days in Kyoto next weekend", user_id="U1")
                await slack.wait_for(lambda: len(_answers(slack)) == 1, timeout=120)
                await settled(tmp_path / "data")  # a (wrong) second answer would have been sent by now
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), 30)
    assert len(_answers(slack)) == 1
    assert "Kyoto" in _answers(slack)[0].text


async def test_deploy_apply_topics_creates_the_resources_with_mqadmin(apache: ApacheSession, tmp_path: Path) -> None:
    # deploy.sh runs each `tourguide topics mqadmin` line through MQADMIN; here that is RocketMQ's own
    # admin CLI from the same jars (what bin/mqadmin runs), against the session's NameServer.
    lib = resolve(apache.state.version)
    shim = tmp_path / "mqadmin"
    shim.write_text("#!/bin/sh\n"
                    f"ROCKETMQ_HOME={tmp_path} exec java -Xmx256m -Duser.home={tmp_path} -cp '{lib}/*' "
                    "org.apache.rocketmq.tools.command.MQAdminStartup \"$@\"\n", encoding="utf-8")
    shim.chmod(0o755)
    env = clean_env(ENV_FILE=str(tmp_path / "none.env"), MQADMIN=str(shim), NAMESRV_ADDR=apache.state.namesrv)
    root = Path(__file__).resolve().parents[2]
    done = await asyncio.to_thread(subprocess.run, [str(root / "deploy.sh"), "--apply-topics"], env=env,
                                   capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("create topic to") == len(TOPICS)
    assert done.stdout.count("create subscription group to") == len(GROUPS)  # agents, Supervisor, DLQ readers
    assert "customizedRetryPolicy=CustomizedRetryPolicy{next=[1000, 5000, 15000, 30000]}" in done.stdout
