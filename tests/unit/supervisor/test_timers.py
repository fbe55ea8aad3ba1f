"""The Supervisor's timer heap on a real event loop: fires in time order, wakes early for an earlier timer."""

from __future__ import annotations

import time

from agents.supervisor.timers import Reminder, Timer, Timers
from tests.waiting import until


async def test_timers_fire_in_time_order_and_an_earlier_one_wakes_the_loop() -> None:
    fired: list[str] = []

    async def fire(timer: Timer) -> None:
        fired.append(timer.task_id)

    async with Timers(fire) as timers:
        now = time.time()
        timers.at(now + 30, "late", "weather", Reminder.DEADLINE)  # the loop now sleeps ~30 s ...
        timers.at(now + 0.2, "second", "weather", Reminder.DEADLINE)  # ... and must wake for this one
        timers.at(now - 1, "first", "weather", Reminder.SLOW)  # already due: fires at once
        await until(lambda: len(fired) == 2, 5, "the two due timers")
        assert fired == ["first", "second"]
        assert len(timers) == 1  # "late" is still waiting
        timers.at(time.time(), "now", "", Reminder.RETRY)
        await until(lambda: len(fired) == 3, 5, "a timer added while the loop sleeps")
    assert fired == ["first", "second", "now"]


async def test_a_failing_timer_does_not_stop_the_others() -> None:
    fired: list[str] = []

    async def fire(timer: Timer) -> None:
        if timer.task_id == "broken":
            raise RuntimeError("a session that cannot be handled")
        fired.append(timer.task_id)

    async with Timers(fire) as timers:
        timers.at(time.time(), "broken", "weather", Reminder.DEADLINE)
        timers.at(time.time(), "fine", "weather", Reminder.DEADLINE)
        await until(lambda: fired == ["fine"], 5, "the timer after a broken one")
