"""Queue position: a request that will wait is told where it stands and roughly how long, at most every 15 s."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agents.supervisor.planner import plan_steps
from agents.supervisor.queue import QueueWatch
from agents.worker import StepHandler
from bot.models import ConversationRef, InboundMessage, Phase, Progress, Session, SessionStatus
from bot.schemas import Intent, Language, TripRequest
from bot.settings import load_settings
from bot.wire import StepKind, TaskMessage
from bot.wiring import pipeline
from bot.wording.queue import parse_queue_detail, queued_line

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_notice_in_both_languages() -> None:
    assert queued_line(Language.ZH, "12:40") == "… 排队中，前面还有 12 个请求，预计 40 秒"
    assert queued_line(Language.EN, "12:40") == "… You're 13th in line, about 40 s"
    assert queued_line(Language.EN, "0:150") == "… You're 1st in line, about 2 min"
    assert queued_line(Language.EN, "nonsense") == ""


def _session(task_id: str, language: Language = Language.EN) -> Session:
    request = TripRequest(intent=Intent.WEATHER, destination="Hangzhou", start_date=date(2026, 11, 24),
                          end_date=date(2026, 11, 24), language=language)
    return Session(task_id, ConversationRef(platform="cli", channel=task_id), request, SessionStatus.RUNNING,
                   time.time(), tuple(plan_steps(request)))


async def test_position_counts_higher_levels_and_earlier_sends_beyond_the_agents_capacity() -> None:
    now = [0.0]
    told: list[Progress] = []

    async def emit(event: Progress) -> None:
        told.append(event)

    watch = QueueWatch(emit, capacity=2, clock=lambda: now[0])
    for i in range(10):
        watch.sent(_session(f"low-{i}"), "weather", StepKind.WEATHER, 2)
    watch.sent(_session("high", Language.ZH), "weather", StepKind.WEATHER, 7)
    assert watch.position("high", "weather") == (0, None)  # ahead of every low one: next out
    assert watch.position("low-9", "weather")[0] == 9  # 10 ahead (the high one too), 2 being worked on
    await watch.tell()
    assert told == []  # no result yet: no rate, no guess
    for i in range(2):  # two results in 2 s: one a second
        now[0] += 1.0
        watch.done(f"low-{i}", "weather")
    await watch.tell()
    positions = {e.task_id: parse_queue_detail(e.detail) for e in told}
    assert positions["low-9"] == (7, 7)
    assert "low-6" not in positions  # 4 ahead: 4 s is not worth a message
    now[0] += 10.0
    await watch.tell()  # the rate fell: more of them now wait long enough, but nobody is told twice in 15 s
    assert len([e for e in told if e.task_id == "low-9"]) == 1
    now[0] += 6.0
    watch.done("low-2", "weather")
    await watch.tell()  # 16 s after the first notice, still waiting, a new estimate: told again
    assert len([e for e in told if e.task_id == "low-9"]) == 2


async def test_a_burst_tells_the_requests_at_the_back_where_they_stand(tmp_path: Path) -> None:
    """20 weather questions on one agent that takes 0.4 s a step: the last ones wait ~8 s and are told."""
    settings = load_settings(data_dir=tmp_path, rocketmq_endpoint="", retention_days=0, agent_concurrency=1)
    events: list[Progress] = []
    told_at: dict[str, list[float]] = {}

    def slow(handler: StepHandler) -> StepHandler:
        async def handle(task: TaskMessage) -> Any:
            await asyncio.sleep(0.4)
            return await handler(task)
        return handle

    async with pipeline(settings, agents="inline", clock=lambda: NOW, wrap=slow) as p:
        async def listen(event: Progress) -> None:
            events.append(event)
            if event.phase == Phase.QUEUED:
                told_at.setdefault(event.task_id, []).append(time.monotonic())

        p.supervisor.add_listener(listen)
        for i in range(20):
            ref = ConversationRef(platform="cli", channel=f"burst-{i}", user="u")
            await p.intake.submit(InboundMessage(ref=ref, event_id=f"b-{i}", text="明天杭州天气怎么样",
                                                 received_at=NOW))
        deadline = time.monotonic() + 60
        while sum(e.phase == Phase.FINISHED for e in events) < 20:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
    queued = [e for e in events if e.phase == Phase.QUEUED]
    assert queued, "the requests at the back were told they wait"
    for event in queued:
        parsed = parse_queue_detail(event.detail)
        assert parsed is not None and parsed[0] > 0 and parsed[1] >= 5
        assert queued_line(event.language, event.detail).startswith("… 排队中，前面还有")
    for times in told_at.values():  # told again at most every 15 s
        assert all(later - earlier >= 14.5 for earlier, later in itertools.pairwise(times))


def test_every_chat_surface_shows_where_a_waiting_step_stands() -> None:
    from adapters.dingtalk.card import render
    from adapters.slack.status import progress
    from bot.models import SessionStatus, StepState, StepStatus

    steps = [StepState(StepKind.WEATHER, StepStatus.SENT), StepState(StepKind.TRAVEL, StepStatus.PENDING)]
    slack = progress(steps, Language.EN, "U1", "3 days in Kyoto", show_request=False, queued={"weather": "12:40"})
    assert "• Weather: You're 13th in line, about 40 s" in slack
    card = render(SessionStatus.RUNNING, Language.ZH, steps, queued={"weather": "12:40"})
    assert "排队中，前面还有 12 个请求，预计 40 秒" in card.text
    done = [StepState(StepKind.WEATHER, StepStatus.OK)]  # once the step is out of the queue the note goes
    assert "line" not in progress(done, Language.EN, "U1", "x", show_request=False, queued={"weather": "12:40"})
