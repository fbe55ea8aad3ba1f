"""The queue watch's notices rank every waiting step in one sort per kind; the ranks are the positions."""

from __future__ import annotations

import random

from agents.supervisor.queue import QueueWatch
from bot.models import Progress
from bot.wire import StepKind
from tests.ops.test_queue_position import _session


async def _drop(_event: Progress) -> None:
    return None


def test_one_sort_gives_every_step_the_position_a_walk_would() -> None:
    rng = random.Random(13)
    watch = QueueWatch(_drop, capacity=3)
    for i in range(300):
        kind = rng.choice([StepKind.WEATHER, StepKind.TRAVEL])
        watch.sent(_session(f"task-{i}"), kind.value, kind, rng.randint(0, 9))
    for i in range(0, 300, 7):
        watch.forget(f"task-{i}")
    ahead = watch._ahead_of_each()
    assert len(ahead) == 300 - len(range(0, 300, 7))
    for (task_id, step_id), rank in ahead.items():
        kind = StepKind(step_id)
        assert watch._standing(kind, rank) == watch.position(task_id, step_id)


def test_forgetting_a_session_forgets_only_its_own_steps() -> None:
    watch = QueueWatch(_drop)
    watch.sent(_session("task-a"), "weather", StepKind.WEATHER, 1)
    watch.sent(_session("task-a"), "travel", StepKind.TRAVEL, 1)
    watch.sent(_session("task-b"), "weather", StepKind.WEATHER, 1)
    watch.done("task-a", "weather")
    watch.forget("task-a")
    assert set(watch._ahead_of_each()) == {("task-b", "weather")}
